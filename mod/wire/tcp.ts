/**
 * TCP segment headers (RFC 9293).
 *
 * Naming: the sequence and acknowledgment *numbers* are `seqNumber` / `ackNumber`; `ack` is the
 * ACK *flag*, like `syn` or `fin`. Keeping the numbers off the short name means a flag test can
 * never silently read a 32-bit number (or the reverse) and still type-check.
 *
 * Checksums cover the IPv4 pseudo-header, so they take the addresses; the segment length is the
 * length of this view, so wrap the IPv4 payload (which excludes Ethernet padding).
 * @module
 */

import { readU16, readU32, writeU16, writeU32 } from "./bytes.ts";
import { internetChecksum, pseudoHeaderSum } from "./checksum.ts";
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
const EMPTY = new Uint8Array(0);

/**
 * View of a TCP segment (header, options and payload) at `buf[off, end)`, where `end` is the end
 * of the IP packet. Re-pointable with {@link TcpSegment.check}: the data path keeps one view.
 */
export class TcpSegment {
  buf: Uint8Array;
  off: number;
  end: number;

  /** Wraps `bytes[off, end)` without checks; use {@link TcpSegment.checked} on untrusted input. */
  constructor(bytes: Uint8Array = EMPTY, off = 0, end = bytes.length) {
    this.buf = bytes;
    this.off = off;
    this.end = end;
  }

  /** A view, or undefined when < 20 bytes, data offset < 5, or the header overruns the bytes. */
  static checked(bytes: Uint8Array): TcpSegment | undefined {
    const v = new TcpSegment();
    return v.check(bytes, 0, bytes.length) ? v : undefined;
  }

  /** Points the view at `buf[off, end)` when it holds a valid header (see `checked`). */
  check(buf: Uint8Array, off: number, end: number): boolean {
    if (end - off < TCP_HEADER_LEN) return false;
    const headerLen = (buf[off + DATA_OFF]! >>> 4) * 4;
    if (headerLen < TCP_HEADER_LEN || headerLen > end - off) return false;
    this.buf = buf;
    this.off = off;
    this.end = end;
    return true;
  }

  /** The segment as a subarray (allocates: not for the per-packet path). */
  get bytes(): Uint8Array {
    return this.buf.subarray(this.off, this.end);
  }
  /** Segment length in bytes: header, options and payload. */
  get length(): number {
    return this.end - this.off;
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
  /** Sequence number, u32. */
  get seqNumber(): number {
    return readU32(this.buf, this.off + SEQ);
  }
  set seqNumber(value: number) {
    writeU32(this.buf, this.off + SEQ, value);
  }
  /** Acknowledgment number, u32 (meaningful only when the ACK flag is set). */
  get ackNumber(): number {
    return readU32(this.buf, this.off + ACK);
  }
  set ackNumber(value: number) {
    writeU32(this.buf, this.off + ACK, value);
  }
  /** Header length in bytes (data offset × 4), options included. */
  get headerLen(): number {
    return (this.buf[this.off + DATA_OFF]! >>> 4) * 4;
  }
  /** The flags byte (CWR ECE URG ACK PSH RST SYN FIN); compare with the `TCP_*` constants. */
  get flags(): number {
    return this.buf[this.off + FLAGS]!;
  }
  set flags(value: number) {
    this.buf[this.off + FLAGS] = value;
  }
  get fin(): boolean {
    return (this.flags & TCP_FIN) !== 0;
  }
  get syn(): boolean {
    return (this.flags & TCP_SYN) !== 0;
  }
  get rst(): boolean {
    return (this.flags & TCP_RST) !== 0;
  }
  get psh(): boolean {
    return (this.flags & TCP_PSH) !== 0;
  }
  /** The ACK flag (the number is {@link TcpSegment.ackNumber}). */
  get ack(): boolean {
    return (this.flags & TCP_ACK) !== 0;
  }
  get urg(): boolean {
    return (this.flags & TCP_URG) !== 0;
  }
  get window(): number {
    return readU16(this.buf, this.off + WINDOW);
  }
  set window(value: number) {
    writeU16(this.buf, this.off + WINDOW, value);
  }
  get checksum(): number {
    return readU16(this.buf, this.off + CHECKSUM);
  }
  set checksum(value: number) {
    writeU16(this.buf, this.off + CHECKSUM, value);
  }
  get urgent(): number {
    return readU16(this.buf, this.off + URGENT);
  }
  /** Offset of the options in `buf`; they end at {@link TcpSegment.payloadOff}. */
  get optionsOff(): number {
    return this.off + TCP_HEADER_LEN;
  }
  /** Offset of the payload in `buf`. */
  get payloadOff(): number {
    return this.off + this.headerLen;
  }
  /** Payload bytes (without SYN/FIN). */
  get payloadLength(): number {
    return this.end - this.payloadOff;
  }
  /** Option bytes (empty when the data offset is 5). */
  get options(): Uint8Array {
    return this.buf.subarray(this.optionsOff, this.payloadOff);
  }
  get payload(): Uint8Array {
    return this.buf.subarray(this.payloadOff, this.end);
  }
  /** SEG.LEN of RFC 9293 §3.3.1: payload octets plus one each for SYN and FIN. */
  get segmentLength(): number {
    const f = this.flags;
    return this.payloadLength + (f & TCP_SYN ? 1 : 0) + (f & TCP_FIN ? 1 : 0);
  }

  /** True when the checksum over pseudo-header + segment is correct. */
  verifyChecksum(src: number, dst: number): boolean {
    return this.verifyWithPseudo(pseudoHeaderSum(src, dst, PROTO_TCP, this.length));
  }
  /**
   * {@link verifyChecksum} given the pseudo-header's sum: the data path computes it from the
   * address words itself, so no 32-bit address crosses a call (V8 would box it).
   */
  verifyWithPseudo(pseudo: number): boolean {
    return internetChecksum(this.buf, this.off, this.end, pseudo) === 0;
  }
  /** Recomputes and stores the checksum for the given IPv4 addresses. */
  fillChecksum(src: number, dst: number): void {
    this.fillChecksumWithPseudo(pseudoHeaderSum(src, dst, PROTO_TCP, this.length));
  }
  /**
   * {@link fillChecksum} given the pseudo-header's sum, folded or not: how IPv6 segments are
   * filled (RFC 8200 §8.1, from `Ipv6Packet.pseudoSum` or `pseudoHeaderSum6`).
   */
  fillChecksumWithPseudo(pseudo: number): void {
    this.checksum = 0;
    this.checksum = internetChecksum(this.buf, this.off, this.end, pseudo);
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
    writeTcpHeader(
      buf,
      0,
      repr.srcPort,
      repr.dstPort,
      repr.seqNumber,
      repr.ackNumber,
      repr.flags,
      repr.window,
      headerLen,
    );
    writeU16(buf, URGENT, repr.urgent);
    buf.set(options, TCP_HEADER_LEN);
    buf.fill(0, TCP_HEADER_LEN + options.length, headerLen);
    buf.set(repr.payload, headerLen);
    new TcpSegment(buf, 0, length).fillChecksum(src, dst);
    return length;
  },
};

/**
 * Writes the fixed TCP header at `buf[at]` (checksum and urgent pointer zero), allocating
 * nothing; the caller writes options, then fills the checksum over the whole segment.
 */
export function writeTcpHeader(
  buf: Uint8Array,
  at: number,
  srcPort: number,
  dstPort: number,
  seq: number,
  ack: number,
  flags: number,
  window: number,
  headerLen = TCP_HEADER_LEN,
): void {
  writeU16(buf, at + SRC_PORT, srcPort);
  writeU16(buf, at + DST_PORT, dstPort);
  writeU32(buf, at + SEQ, seq);
  writeU32(buf, at + ACK, ack);
  buf[at + DATA_OFF] = (headerLen / 4) << 4;
  buf[at + FLAGS] = flags;
  writeU16(buf, at + WINDOW, window);
  writeU16(buf, at + CHECKSUM, 0);
  writeU16(buf, at + URGENT, 0);
}
