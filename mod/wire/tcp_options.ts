/**
 * TCP options (RFC 9293 §3.2): walking the option area in place, timestamps (RFC 7323 §3) and
 * SACK blocks (RFC 2018). Everything works on offsets into the frame buffer and allocates
 * nothing: the NAT rewrites SACK edges and the tracker reads timestamps on every segment.
 * @module
 */

import { readU16, readU32, writeU32 } from "./bytes.ts";
import { adjust16, adjust32 } from "./checksum.ts";
import type { TcpSegment } from "./tcp.ts";

export const OPT_EOL = 0;
export const OPT_NOP = 1;
export const OPT_MSS = 2;
export const OPT_WSCALE = 3;
export const OPT_SACK_PERMITTED = 4;
export const OPT_SACK = 5;
export const OPT_TIMESTAMPS = 8;
/** Length of the timestamps option: kind, len, TSval, TSecr. */
export const OPT_TIMESTAMPS_LEN = 10;

/**
 * Offset (in `buf`) of the first option of `kind` in `buf[start, end)`, or -1. A malformed
 * option area (a length below 2 or past the end) ends the walk, as Linux's
 * `tcp_parse_options` does.
 */
export function findTcpOption(buf: Uint8Array, start: number, end: number, kind: number): number {
  let i = start;
  while (i < end) {
    const k = buf[i]!;
    if (k === OPT_EOL) return -1;
    if (k === OPT_NOP) {
      i++;
      continue;
    }
    if (i + 1 >= end) return -1;
    const len = buf[i + 1]!;
    if (len < 2 || i + len > end) return -1;
    if (k === kind) return i;
    i += len;
  }
  return -1;
}

/** Offset of TSval in `seg`'s options (TSecr follows 4 bytes later), or -1 without timestamps. */
export function timestampsAt(seg: TcpSegment): number {
  const at = findTcpOption(seg.buf, seg.optionsOff, seg.payloadOff, OPT_TIMESTAMPS);
  if (at < 0 || seg.buf[at + 1] !== OPT_TIMESTAMPS_LEN) return -1;
  return at + 2;
}

/**
 * Subtracts `delta` (mod 2^32) from every SACK block edge of `seg`, the way Linux's
 * `nf_ct_sack_adjust` does for a sequence-translated flow: SACK edges are sequence numbers of
 * the other direction, so they move with the acknowledgment number. With `fixChecksum` the
 * checksum is updated incrementally (RFC 1624); without, the caller's checksum is computed
 * later (a partial checksum completed on output). Returns the number of edges rewritten.
 */
export function shiftSackBlocks(seg: TcpSegment, delta: number, fixChecksum: boolean): number {
  const buf = seg.buf;
  const at = findTcpOption(buf, seg.optionsOff, seg.payloadOff, OPT_SACK);
  if (at < 0) return 0;
  const len = buf[at + 1]!;
  // A SACK option is 2 + 8n bytes (RFC 2018 §3); anything else is left alone.
  if (len < 10 || (len - 2) % 8 !== 0) return 0;
  let edges = 0;
  for (let p = at + 2; p < at + len; p += 4) {
    rewriteOptionU32(seg, p, (readU32(buf, p) - delta) >>> 0, fixChecksum);
    edges++;
  }
  return edges;
}

/**
 * Writes the u32 `value` at `buf[p]` inside `seg`'s options, updating the checksum
 * incrementally when `fixChecksum`. Options need not be word-aligned (a single NOP shifts
 * everything by one byte), so an odd offset updates the three 16-bit words the value straddles.
 */
export function rewriteOptionU32(
  seg: TcpSegment,
  p: number,
  value: number,
  fixChecksum: boolean,
): void {
  const buf = seg.buf;
  if (!fixChecksum) {
    writeU32(buf, p, value);
    return;
  }
  if (((p - seg.off) & 1) === 0) {
    seg.checksum = adjust32(seg.checksum, readU32(buf, p), value);
    writeU32(buf, p, value);
    return;
  }
  const w0 = readU16(buf, p - 1), w1 = readU16(buf, p + 1), w2 = readU16(buf, p + 3);
  writeU32(buf, p, value);
  let sum = seg.checksum;
  sum = adjust16(sum, w0, readU16(buf, p - 1));
  sum = adjust16(sum, w1, readU16(buf, p + 1));
  sum = adjust16(sum, w2, readU16(buf, p + 3));
  seg.checksum = sum;
}

/** Bytes of the options {@link writeSynOptions} writes. */
export function synOptionsLen(wscale: number, sack: boolean): number {
  return 4 + (wscale >= 0 ? 4 : 0) + (sack ? 4 : 0);
}

/**
 * Writes a SYN's options at `buf[o]`, each padded to a word: MSS; NOP + window scale when
 * `wscale` ≥ 0 (RFC 7323 §2); NOP, NOP, SACK-permitted when `sack` (RFC 2018). Returns the
 * offset after them.
 */
export function writeSynOptions(
  buf: Uint8Array,
  o: number,
  mss: number,
  wscale: number,
  sack: boolean,
): number {
  buf[o++] = OPT_MSS;
  buf[o++] = 4;
  buf[o++] = (mss >>> 8) & 0xff;
  buf[o++] = mss & 0xff;
  if (wscale >= 0) {
    buf[o++] = OPT_NOP;
    buf[o++] = OPT_WSCALE;
    buf[o++] = 3;
    buf[o++] = wscale;
  }
  if (sack) {
    buf[o++] = OPT_NOP;
    buf[o++] = OPT_NOP;
    buf[o++] = OPT_SACK_PERMITTED;
    buf[o++] = 2;
  }
  return o;
}

/** Writes NOP, NOP, timestamps (RFC 7323 §3) at `buf[o]`: 12 bytes. */
export function writeTimestampsOption(buf: Uint8Array, o: number, val: number, ecr: number): void {
  buf[o] = OPT_NOP;
  buf[o + 1] = OPT_NOP;
  buf[o + 2] = OPT_TIMESTAMPS;
  buf[o + 3] = OPT_TIMESTAMPS_LEN;
  writeU32(buf, o + 4, val);
  writeU32(buf, o + 8, ecr);
}
