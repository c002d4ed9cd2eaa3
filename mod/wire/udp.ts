/**
 * UDP datagrams (RFC 768).
 *
 * Over IPv4 a checksum of 0 means "not computed": verification accepts it, incremental updates
 * leave it at 0, and a computed checksum of 0 is transmitted as 0xffff (RFC 768, RFC 1122
 * §4.1.3.4), which is the same value in one's complement.
 * @module
 */

import { readU16, writeU16 } from "./bytes.ts";
import { internetChecksum, pseudoHeaderSum } from "./checksum.ts";
import { PROTO_UDP } from "./ipv4.ts";

/** Length of the UDP header. */
export const UDP_HEADER_LEN = 8;

const SRC_PORT = 0;
const DST_PORT = 2;
const LENGTH = 4;
const CHECKSUM = 6;

const EMPTY = new Uint8Array(0);

/**
 * View of a UDP datagram at `buf[off, end)` (`end` is the end of the IP packet and may lie past
 * `length`). Re-pointable with {@link UdpDatagram.check}: the data path keeps one view.
 */
export class UdpDatagram {
  buf: Uint8Array;
  off: number;
  end: number;

  /** Wraps `bytes[off, end)` without checks; use {@link UdpDatagram.checked} on untrusted input. */
  constructor(bytes: Uint8Array = EMPTY, off = 0, end = bytes.length) {
    this.buf = bytes;
    this.off = off;
    this.end = end;
  }

  /** A view, or undefined when < 8 bytes, length < 8, or length > the bytes (a lie). */
  static checked(bytes: Uint8Array): UdpDatagram | undefined {
    const v = new UdpDatagram();
    return v.check(bytes, 0, bytes.length) ? v : undefined;
  }

  /** Points the view at `buf[off, end)` when it holds a valid datagram (see `checked`). */
  check(buf: Uint8Array, off: number, end: number): boolean {
    if (end - off < UDP_HEADER_LEN) return false;
    const length = readU16(buf, off + LENGTH);
    if (length < UDP_HEADER_LEN || length > end - off) return false;
    this.buf = buf;
    this.off = off;
    this.end = end;
    return true;
  }

  /**
   * Points the view at the 8-byte header at `buf[off, end)` without holding the `length` field
   * to the bytes: for the first fragment of a datagram (RFC 791), which carries the header of a
   * datagram longer than itself. The length must still be a possible one (≥ 8).
   */
  checkHeader(buf: Uint8Array, off: number, end: number): boolean {
    if (end - off < UDP_HEADER_LEN || readU16(buf, off + LENGTH) < UDP_HEADER_LEN) return false;
    this.buf = buf;
    this.off = off;
    this.end = end;
    return true;
  }

  /** The bytes as given, as a subarray (allocates: not for the per-packet path). */
  get bytes(): Uint8Array {
    return this.buf.subarray(this.off, this.end);
  }
  get srcPort(): number {
    return readU16(this.buf, this.off + SRC_PORT);
  }
  set srcPort(port: number) {
    writeU16(this.buf, this.off + SRC_PORT, port);
  }
  get dstPort(): number {
    return readU16(this.buf, this.off + DST_PORT);
  }
  set dstPort(port: number) {
    writeU16(this.buf, this.off + DST_PORT, port);
  }
  /** The UDP length field: header plus payload. */
  get length(): number {
    return readU16(this.buf, this.off + LENGTH);
  }
  set length(value: number) {
    writeU16(this.buf, this.off + LENGTH, value);
  }
  get checksum(): number {
    return readU16(this.buf, this.off + CHECKSUM);
  }
  set checksum(value: number) {
    writeU16(this.buf, this.off + CHECKSUM, value);
  }
  /** `bytes[8, length)`. */
  get payload(): Uint8Array {
    return this.buf.subarray(this.off + UDP_HEADER_LEN, this.off + this.length);
  }

  /** True when the checksum is absent (0) or correct over pseudo-header + datagram. */
  verifyChecksum(src: number, dst: number): boolean {
    return this.verifyWithPseudo(pseudoHeaderSum(src, dst, PROTO_UDP, this.length));
  }
  /** {@link verifyChecksum} given the pseudo-header's sum (see `TcpSegment.verifyWithPseudo`). */
  verifyWithPseudo(pseudo: number): boolean {
    if (this.checksum === 0) return true;
    return internetChecksum(this.buf, this.off, this.off + this.length, pseudo) === 0;
  }
  /** Computes and stores the checksum; a computed 0 is stored as 0xffff. */
  fillChecksum(src: number, dst: number): void {
    this.fillChecksumWithPseudo(pseudoHeaderSum(src, dst, PROTO_UDP, this.length));
  }
  /**
   * {@link fillChecksum} given the pseudo-header's sum, folded or not: how IPv6 datagrams are
   * filled (RFC 8200 §8.1; over IPv6 the checksum is mandatory, so 0 is stored as 0xffff too).
   */
  fillChecksumWithPseudo(pseudo: number): void {
    this.checksum = 0;
    const sum = internetChecksum(this.buf, this.off, this.off + this.length, pseudo);
    this.checksum = sum === 0 ? 0xffff : sum;
  }
}

/** A UDP datagram as plain values; `payload` may alias the parsed bytes. */
export interface UdpRepr {
  srcPort: number;
  dstPort: number;
  payload: Uint8Array;
}

/** Parse/emit companion of {@link UdpRepr}. */
export const UdpRepr = {
  parse(datagram: UdpDatagram): UdpRepr {
    return { srcPort: datagram.srcPort, dstPort: datagram.dstPort, payload: datagram.payload };
  },
  /**
   * Writes header and payload at the start of `buf` (≥ 8 + payload bytes) and fills the
   * checksum for `src` → `dst`. Returns the datagram length.
   */
  emit(repr: UdpRepr, buf: Uint8Array, src: number, dst: number): number {
    const length = UDP_HEADER_LEN + repr.payload.length;
    const datagram = new UdpDatagram(buf, 0, length);
    datagram.srcPort = repr.srcPort;
    datagram.dstPort = repr.dstPort;
    datagram.length = length;
    buf.set(repr.payload, UDP_HEADER_LEN);
    datagram.fillChecksum(src, dst);
    return length;
  },
};
