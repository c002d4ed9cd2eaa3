/**
 * ICMP for IPv4 (RFC 792): echo for pinging the appliance's own addresses, and the error
 * messages a router sends or must translate (destination unreachable, time exceeded).
 *
 * The 4 bytes after the checksum ("rest of header") are the echo identifier and sequence for
 * echo messages, unused for most errors, and the next-hop MTU for "fragmentation needed"
 * (RFC 1191). Errors quote the original IP header plus at least 8 bytes of its payload; that
 * quote is {@link IcmpPacket.embedded} (parse it with `Ipv4Packet.checkedHeader`, since the quoted
 * totalLength describes the untruncated original).
 * @module
 */

import { readU16, readU32, writeU16, writeU32 } from "./bytes.ts";
import { adjust16, internetChecksum } from "./checksum.ts";

export const ICMP_ECHO_REPLY = 0;
export const ICMP_DEST_UNREACHABLE = 3;
export const ICMP_ECHO_REQUEST = 8;
export const ICMP_TIME_EXCEEDED = 11;
/** Destination unreachable code 3: port unreachable. */
export const ICMP_CODE_PORT_UNREACHABLE = 3;
/** Destination unreachable code 4: fragmentation needed and DF set (RFC 1191). */
export const ICMP_CODE_FRAG_NEEDED = 4;
/** Time exceeded code 0: TTL exceeded in transit. */
export const ICMP_CODE_TTL_EXCEEDED = 0;

/** Length of the ICMP header: type, code, checksum, rest of header. */
export const ICMP_HEADER_LEN = 8;

const TYPE = 0;
const CODE = 1;
const CHECKSUM = 2;
const REST = 4;
const ECHO_ID = 4;
const ECHO_SEQ = 6;

/**
 * True for the ICMP error types (unreachable 3, source quench 4, redirect 5, time exceeded 11,
 * parameter problem 12). RFC 1122 §3.2.2 and RFC 1812 §4.3.2.7: never answer these with an error.
 */
export function isIcmpError(type: number): boolean {
  return type === 3 || type === 4 || type === 5 || type === 11 || type === 12;
}

const EMPTY = new Uint8Array(0);

/**
 * View of an ICMP message (the whole IPv4 payload) at `buf[off, end)`. Re-pointable with
 * {@link IcmpPacket.check}: the data path keeps one view.
 */
export class IcmpPacket {
  buf: Uint8Array;
  off: number;
  end: number;

  /** Wraps `bytes[off, end)` without checks; use {@link IcmpPacket.checked} on untrusted input. */
  constructor(bytes: Uint8Array = EMPTY, off = 0, end = bytes.length) {
    this.buf = bytes;
    this.off = off;
    this.end = end;
  }

  /** A view, or undefined when shorter than the 8-byte header. */
  static checked(bytes: Uint8Array): IcmpPacket | undefined {
    const v = new IcmpPacket();
    return v.check(bytes, 0, bytes.length) ? v : undefined;
  }

  /** Points the view at `buf[off, end)` when a whole header is there. */
  check(buf: Uint8Array, off: number, end: number): boolean {
    if (end - off < ICMP_HEADER_LEN) return false;
    this.buf = buf;
    this.off = off;
    this.end = end;
    return true;
  }

  /** The message as a subarray (allocates: not for the per-packet path). */
  get bytes(): Uint8Array {
    return this.buf.subarray(this.off, this.end);
  }
  get type(): number {
    return this.buf[this.off + TYPE]!;
  }
  set type(value: number) {
    this.buf[this.off + TYPE] = value;
  }
  get code(): number {
    return this.buf[this.off + CODE]!;
  }
  set code(value: number) {
    this.buf[this.off + CODE] = value;
  }
  get checksum(): number {
    return readU16(this.buf, this.off + CHECKSUM);
  }
  set checksum(value: number) {
    writeU16(this.buf, this.off + CHECKSUM, value);
  }
  /** Echo identifier (bytes 4-5). */
  get echoId(): number {
    return readU16(this.buf, this.off + ECHO_ID);
  }
  set echoId(value: number) {
    writeU16(this.buf, this.off + ECHO_ID, value);
  }
  /** Echo sequence number (bytes 6-7). */
  get echoSeq(): number {
    return readU16(this.buf, this.off + ECHO_SEQ);
  }
  set echoSeq(value: number) {
    writeU16(this.buf, this.off + ECHO_SEQ, value);
  }
  /** Next-hop MTU of a "fragmentation needed" error (bytes 6-7, RFC 1191). */
  get nextHopMtu(): number {
    return readU16(this.buf, this.off + ECHO_SEQ);
  }
  /** The 4 "rest of header" bytes (aliases the packet). */
  get rest(): Uint8Array {
    return this.buf.subarray(this.off + REST, this.off + REST + 4);
  }
  /** Offset in `buf` of the bytes after the header (echo data, or an error's quote). */
  get embeddedOff(): number {
    return this.off + ICMP_HEADER_LEN;
  }
  /** Bytes after the header: echo data, or the quoted original datagram of an error. */
  get embedded(): Uint8Array {
    return this.buf.subarray(this.off + ICMP_HEADER_LEN, this.end);
  }

  /** True when the checksum over the whole message is correct. */
  verifyChecksum(): boolean {
    return internetChecksum(this.buf, this.off, this.end) === 0;
  }
  /** Recomputes and stores the checksum over the whole message. */
  fillChecksum(): void {
    this.checksum = 0;
    this.checksum = internetChecksum(this.buf, this.off, this.end);
  }
  /** Sets type and code, updating the checksum incrementally (RFC 1624). */
  rewriteTypeCode(type: number, code: number): void {
    const oldWord = (this.type << 8) | this.code;
    this.checksum = adjust16(this.checksum, oldWord, ((type & 0xff) << 8) | (code & 0xff));
    this.type = type;
    this.code = code;
  }
}

/** An ICMP message as plain values; `payload` may alias the parsed bytes. */
export interface IcmpRepr {
  type: number;
  code: number;
  /** The 4 "rest of header" bytes as a u32 (echo: id << 16 | seq). */
  rest: number;
  payload: Uint8Array;
}

/** Parse/emit companion of {@link IcmpRepr}. */
export const IcmpRepr = {
  parse(packet: IcmpPacket): IcmpRepr {
    return {
      type: packet.type,
      code: packet.code,
      rest: readU32(packet.buf, packet.off + REST),
      payload: packet.embedded,
    };
  },
  /**
   * Writes the message at the start of `buf` (≥ 8 + payload bytes) and fills its checksum.
   * Returns the message length.
   */
  emit(repr: IcmpRepr, buf: Uint8Array): number {
    const length = ICMP_HEADER_LEN + repr.payload.length;
    const packet = new IcmpPacket(buf, 0, length);
    packet.type = repr.type;
    packet.code = repr.code;
    writeU32(buf, REST, repr.rest);
    buf.set(repr.payload, ICMP_HEADER_LEN);
    packet.fillChecksum();
    return length;
  },
};
