/**
 * TCP segment headers (RFC 9293).
 *
 * Naming: the sequence and acknowledgment *numbers* are `seqNumber` / `ackNumber`; `ack` is the
 * ACK *flag*, like `syn` or `fin`. Keeping the numbers off the short name means a flag test can
 * never silently read a 32-bit number (or the reverse) and still type-check.
 *
 * Checksums cover the IPv4 pseudo-header, so they take the addresses; the segment length is the
 * length of this view, so wrap the IPv4 `payload` (which excludes Ethernet padding).
 * @module
 */

import { readU16, readU32, writeU16, writeU32 } from "./bytes.ts";
import { adjust16, adjust32, internetChecksum, pseudoHeaderSum } from "./checksum.ts";
import { PROTO_TCP } from "./ipv4.ts";

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;
export const TCP_URG = 0x20;
/** ECN-Echo (RFC 3168). */
export const TCP_ECE = 0x40;
/** Congestion Window Reduced (RFC 3168). */
export const TCP_CWR = 0x80;

/** Length of a TCP header without options. */
export const TCP_HEADER_LEN = 20;
/** Largest option area: data offset 15 × 4 − 20. */
export const TCP_MAX_OPTIONS_LEN = 40;

const SRC_PORT = 0;
const DST_PORT = 2;
const SEQ = 4;
const ACK = 8;
const DATA_OFF = 12;
const FLAGS = 13;
const WINDOW = 14;
const CHECKSUM = 16;
const URGENT = 18;

/** Zero-copy view of a TCP segment (header, options and payload). */
export class TcpSegment {
  /** The segment: the IPv4 payload, exactly. */
  readonly bytes: Uint8Array;

  /** Wraps `bytes` without checks; use {@link TcpSegment.checked} on untrusted input. */
  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
  }

  /** A view, or undefined when < 20 bytes, data offset < 5, or the header overruns the bytes. */
  static checked(bytes: Uint8Array): TcpSegment | undefined {
    if (bytes.length < TCP_HEADER_LEN) return undefined;
    const headerLen = (bytes[DATA_OFF]! >>> 4) * 4;
    if (headerLen < TCP_HEADER_LEN || headerLen > bytes.length) return undefined;
    return new TcpSegment(bytes);
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
  /** Sequence number, u32. */
  get seqNumber(): number {
    return readU32(this.bytes, SEQ);
  }
  set seqNumber(value: number) {
    writeU32(this.bytes, SEQ, value);
  }
  /** Acknowledgment number, u32 (meaningful only when the ACK flag is set). */
  get ackNumber(): number {
    return readU32(this.bytes, ACK);
  }
  set ackNumber(value: number) {
    writeU32(this.bytes, ACK, value);
  }
  /** Header length in bytes (data offset × 4), options included. */
  get headerLen(): number {
    return (this.bytes[DATA_OFF]! >>> 4) * 4;
  }
  /** The flags byte (CWR ECE URG ACK PSH RST SYN FIN); compare with the `TCP_*` constants. */
  get flags(): number {
    return this.bytes[FLAGS]!;
  }
  set flags(value: number) {
    this.bytes[FLAGS] = value;
  }
  get fin(): boolean {
    return (this.bytes[FLAGS]! & TCP_FIN) !== 0;
  }
  get syn(): boolean {
    return (this.bytes[FLAGS]! & TCP_SYN) !== 0;
  }
  get rst(): boolean {
    return (this.bytes[FLAGS]! & TCP_RST) !== 0;
  }
  get psh(): boolean {
    return (this.bytes[FLAGS]! & TCP_PSH) !== 0;
  }
  /** The ACK flag (the number is {@link TcpSegment.ackNumber}). */
  get ack(): boolean {
    return (this.bytes[FLAGS]! & TCP_ACK) !== 0;
  }
  get urg(): boolean {
    return (this.bytes[FLAGS]! & TCP_URG) !== 0;
  }
  get window(): number {
    return readU16(this.bytes, WINDOW);
  }
  set window(value: number) {
    writeU16(this.bytes, WINDOW, value);
  }
  get checksum(): number {
    return readU16(this.bytes, CHECKSUM);
  }
  set checksum(value: number) {
    writeU16(this.bytes, CHECKSUM, value);
  }
  get urgent(): number {
    return readU16(this.bytes, URGENT);
  }
  /** Option bytes (empty when the data offset is 5). */
  get options(): Uint8Array {
    return this.bytes.subarray(TCP_HEADER_LEN, this.headerLen);
  }
  get payload(): Uint8Array {
    return this.bytes.subarray(this.headerLen);
  }
  /** SEG.LEN of RFC 9293 §3.3.1: payload octets plus one each for SYN and FIN. */
  get segmentLength(): number {
    const f = this.bytes[FLAGS]!;
    return this.bytes.length - this.headerLen + (f & TCP_SYN ? 1 : 0) + (f & TCP_FIN ? 1 : 0);
  }

  /** True when the checksum over pseudo-header + segment is correct. */
  verifyChecksum(src: number, dst: number): boolean {
    const pseudo = pseudoHeaderSum(src, dst, PROTO_TCP, this.bytes.length);
    return internetChecksum(this.bytes, 0, this.bytes.length, pseudo) === 0;
  }
  /** Recomputes and stores the checksum for the given IPv4 addresses. */
  fillChecksum(src: number, dst: number): void {
    this.checksum = 0;
    const pseudo = pseudoHeaderSum(src, dst, PROTO_TCP, this.bytes.length);
    this.checksum = internetChecksum(this.bytes, 0, this.bytes.length, pseudo);
  }

  /** Sets the source port, updating the checksum incrementally (RFC 1624). */
  rewriteSrcPort(port: number): void {
    this.checksum = adjust16(this.checksum, this.srcPort, port);
    this.srcPort = port;
  }
  /** Sets the destination port, updating the checksum incrementally (RFC 1624). */
  rewriteDstPort(port: number): void {
    this.checksum = adjust16(this.checksum, this.dstPort, port);
    this.dstPort = port;
  }
  /** Sets the sequence number (e.g. a per-flow offset), updating the checksum incrementally. */
  rewriteSeqNumber(value: number): void {
    this.checksum = adjust32(this.checksum, this.seqNumber, value >>> 0);
    this.seqNumber = value;
  }
  /** Sets the acknowledgment number, updating the checksum incrementally. */
  rewriteAckNumber(value: number): void {
    this.checksum = adjust32(this.checksum, this.ackNumber, value >>> 0);
    this.ackNumber = value;
  }
  /**
   * Updates the checksum for an IPv4 address change made in the enclosing header (the address
   * is part of the pseudo-header, so NAT must call this for each address it rewrites).
   */
  adjustForAddress(oldAddr: number, newAddr: number): void {
    this.checksum = adjust32(this.checksum, oldAddr, newAddr);
  }
}

/** A TCP segment as plain values. `options` is a copy; `payload` may alias the parsed bytes. */
export interface TcpRepr {
  srcPort: number;
  dstPort: number;
  seqNumber: number;
  ackNumber: number;
  flags: number;
  window: number;
  urgent: number;
  /** Raw option bytes; emit pads them with zeros (End of Option List) to a multiple of 4. */
  options: Uint8Array;
  payload: Uint8Array;
}

/** Parse/emit companion of {@link TcpRepr}. */
export const TcpRepr = {
  parse(segment: TcpSegment): TcpRepr {
    return {
      srcPort: segment.srcPort,
      dstPort: segment.dstPort,
      seqNumber: segment.seqNumber,
      ackNumber: segment.ackNumber,
      flags: segment.flags,
      window: segment.window,
      urgent: segment.urgent,
      options: segment.options.slice(),
      payload: segment.payload,
    };
  },
  /** Bytes {@link TcpRepr.emit} writes for `repr`. */
  bufferLen(repr: TcpRepr): number {
    const optionsLen = Math.min(repr.options.length, TCP_MAX_OPTIONS_LEN);
    return TCP_HEADER_LEN + ((optionsLen + 3) & ~3) + repr.payload.length;
  },
  /**
   * Writes header, options (at most 40 bytes, zero-padded) and payload at the start of `buf`
   * and fills the checksum for `src` → `dst`. `buf` must hold {@link TcpRepr.bufferLen} bytes.
   * Returns the segment length.
   */
  emit(repr: TcpRepr, buf: Uint8Array, src: number, dst: number): number {
    const options = repr.options.subarray(0, TCP_MAX_OPTIONS_LEN);
    const headerLen = TCP_HEADER_LEN + ((options.length + 3) & ~3);
    const length = headerLen + repr.payload.length;
    const seg = new TcpSegment(buf.subarray(0, length));
    seg.srcPort = repr.srcPort;
    seg.dstPort = repr.dstPort;
    seg.seqNumber = repr.seqNumber;
    seg.ackNumber = repr.ackNumber;
    buf[DATA_OFF] = (headerLen / 4) << 4;
    seg.flags = repr.flags;
    seg.window = repr.window;
    writeU16(buf, URGENT, repr.urgent);
    buf.set(options, TCP_HEADER_LEN);
    buf.fill(0, TCP_HEADER_LEN + options.length, headerLen);
    buf.set(repr.payload, headerLen);
    seg.fillChecksum(src, dst);
    return length;
  },
};
