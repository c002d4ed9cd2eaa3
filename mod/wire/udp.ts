/**
 * UDP datagrams (RFC 768).
 *
 * Over IPv4 a checksum of 0 means "not computed": verification accepts it, incremental updates
 * leave it at 0, and a computed checksum of 0 is transmitted as 0xffff (RFC 768, RFC 1122
 * §4.1.3.4), which is the same value in one's complement.
 * @module
 */

import { readU16, writeU16 } from "./bytes.ts";
import { adjust16, adjust32, internetChecksum, pseudoHeaderSum } from "./checksum.ts";
import { PROTO_UDP } from "./ipv4.ts";

/** Length of the UDP header. */
export const UDP_HEADER_LEN = 8;

const SRC_PORT = 0;
const DST_PORT = 2;
const LENGTH = 4;
const CHECKSUM = 6;

/** Zero-copy view of a UDP datagram. */
export class UdpDatagram {
  /** The bytes as given (the IPv4 payload; may be longer than `length`). */
  readonly bytes: Uint8Array;

  /** Wraps `bytes` without checks; use {@link UdpDatagram.checked} on untrusted input. */
  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
  }

  /** A view, or undefined when < 8 bytes, length < 8, or length > the bytes (a lie). */
  static checked(bytes: Uint8Array): UdpDatagram | undefined {
    if (bytes.length < UDP_HEADER_LEN) return undefined;
    const length = readU16(bytes, LENGTH);
    if (length < UDP_HEADER_LEN || length > bytes.length) return undefined;
    return new UdpDatagram(bytes);
  }

  get srcPort(): number {
    return readU16(this.bytes, SRC_PORT);
  }
  set srcPort(port: number) {
    writeU16(this.bytes, SRC_PORT, port);
  }
  get dstPort(): number {
    return readU16(this.bytes, DST_PORT);
  }
  set dstPort(port: number) {
    writeU16(this.bytes, DST_PORT, port);
  }
  /** The UDP length field: header plus payload. */
  get length(): number {
    return readU16(this.bytes, LENGTH);
  }
  set length(value: number) {
    writeU16(this.bytes, LENGTH, value);
  }
  get checksum(): number {
    return readU16(this.bytes, CHECKSUM);
  }
  set checksum(value: number) {
    writeU16(this.bytes, CHECKSUM, value);
  }
  /** `bytes[8, length)`. */
  get payload(): Uint8Array {
    return this.bytes.subarray(UDP_HEADER_LEN, this.length);
  }

  /** True when the checksum is absent (0) or correct over pseudo-header + datagram. */
  verifyChecksum(src: number, dst: number): boolean {
    if (this.checksum === 0) return true;
    const length = this.length;
    const pseudo = pseudoHeaderSum(src, dst, PROTO_UDP, length);
    return internetChecksum(this.bytes, 0, length, pseudo) === 0;
  }
  /** Computes and stores the checksum; a computed 0 is stored as 0xffff. */
  fillChecksum(src: number, dst: number): void {
    this.checksum = 0;
    const length = this.length;
    const sum = internetChecksum(
      this.bytes,
      0,
      length,
      pseudoHeaderSum(src, dst, PROTO_UDP, length),
    );
    this.checksum = sum === 0 ? 0xffff : sum;
  }

  /** Sets the source port, updating a present checksum incrementally (RFC 1624). */
  rewriteSrcPort(port: number): void {
    this.adjust16(this.srcPort, port);
    this.srcPort = port;
  }
  /** Sets the destination port, updating a present checksum incrementally (RFC 1624). */
  rewriteDstPort(port: number): void {
    this.adjust16(this.dstPort, port);
    this.dstPort = port;
  }
  /** Updates a present checksum for an address rewritten in the enclosing IPv4 header. */
  adjustForAddress(oldAddr: number, newAddr: number): void {
    const checksum = this.checksum;
    if (checksum === 0) return;
    const next = adjust32(checksum, oldAddr, newAddr);
    this.checksum = next === 0 ? 0xffff : next;
  }

  private adjust16(oldWord: number, newWord: number): void {
    const checksum = this.checksum;
    if (checksum === 0) return;
    const next = adjust16(checksum, oldWord, newWord);
    this.checksum = next === 0 ? 0xffff : next;
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
    const datagram = new UdpDatagram(buf);
    datagram.srcPort = repr.srcPort;
    datagram.dstPort = repr.dstPort;
    datagram.length = length;
    buf.set(repr.payload, UDP_HEADER_LEN);
    datagram.fillChecksum(src, dst);
    return length;
  },
};
