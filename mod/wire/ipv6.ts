/**
 * IPv6 headers (RFC 8200).
 *
 * Decisions:
 * - `check` walks the extension headers a forwarder must look past (hop-by-hop, routing,
 *   fragment, destination options; RFC 8200 §4.1 order not enforced) to the upper-layer
 *   header, bounded to {@link MAX_EXT_HEADERS}. `protocol` and `payloadOff` are the upper
 *   layer's; `nextHeader` stays the fixed header's field.
 * - A Fragment header (§4.5) is recorded (`fragOff`); fragments are not reassembled: the
 *   engine forwards those of a tracked flow with its NAT (`engine/fragments.ts`).
 * - `payload` ends at 40 + payloadLength, so Ethernet padding is excluded. Jumbograms
 *   (payload length 0, RFC 2675) are refused.
 * - Addresses are read and written as four 32-bit words in network order (`wire/addr.ts`).
 * @module
 */

import { readU16, readU32, writeU16, writeU32 } from "./bytes.ts";
import { fold, sum16 } from "./checksum.ts";

export const IPV6_HEADER_LEN = 40;
export const PROTO_ICMPV6 = 58;
export const EXT_HOP_BY_HOP = 0;
export const EXT_ROUTING = 43;
export const EXT_FRAGMENT = 44;
export const EXT_DEST_OPTS = 60;
export const NO_NEXT_HEADER = 59;
/** The minimum link MTU every IPv6 link carries (RFC 8200 §5). */
export const IPV6_MIN_MTU = 1280;
/** Extension headers walked before giving up (a chain longer than this is refused). */
export const MAX_EXT_HEADERS = 8;

const PAYLOAD_LEN = 4;
const NEXT_HEADER = 6;
const HOP_LIMIT = 7;
const SRC = 8;
const DST = 24;
const EMPTY = new Uint8Array(0);

/** View of an IPv6 packet at `buf[off, end)`; re-pointable with {@link Ipv6Packet.check}. */
export class Ipv6Packet {
  buf: Uint8Array = EMPTY;
  off = 0;
  end = 0;
  /** The upper-layer protocol after the extension headers. */
  protocol = NO_NEXT_HEADER;
  /** Offset of the upper-layer header. */
  payloadOff = 0;
  /** Offset of the Fragment header, or -1. */
  fragOff = -1;
  /** Offset of the byte that names the upper-layer protocol (next-header of the last ext). */
  protoFieldOff = 0;

  /** A view of `bytes`, or undefined when malformed (see {@link check}). */
  static checked(bytes: Uint8Array): Ipv6Packet | undefined {
    const v = new Ipv6Packet();
    return v.check(bytes, 0, bytes.length) ? v : undefined;
  }

  /**
   * Points the view at `buf[off, end)` when it holds a valid packet: version 6, a whole
   * header, a payload length that fits, and an extension-header chain that ends inside it.
   */
  check(buf: Uint8Array, off: number, end: number): boolean {
    if (!this.checkHeader(buf, off, end)) return false;
    const len = readU16(buf, off + PAYLOAD_LEN);
    if (len === 0 || IPV6_HEADER_LEN + len > end - off) return false;
    this.end = off + IPV6_HEADER_LEN + len;
    return this.#walk(this.end);
  }

  /**
   * Like {@link check} but trusts no length beyond the bytes: for the packet quoted inside an
   * ICMPv6 error (RFC 4443 §2.4 (c)), which is cut short.
   */
  checkHeader(buf: Uint8Array, off: number, end: number): boolean {
    if (end - off < IPV6_HEADER_LEN || buf[off]! >>> 4 !== 6) return false;
    this.buf = buf;
    this.off = off;
    this.end = end;
    this.protocol = buf[off + NEXT_HEADER]!;
    this.payloadOff = off + IPV6_HEADER_LEN;
    this.protoFieldOff = off + NEXT_HEADER;
    this.fragOff = -1;
    return true;
  }

  /** Walks the extension headers of a quoted packet (after {@link checkHeader}). */
  walkQuoted(): boolean {
    return this.#walk(this.end);
  }

  #walk(limit: number): boolean {
    const buf = this.buf;
    let nh = buf[this.off + NEXT_HEADER]!, at = this.off + IPV6_HEADER_LEN;
    let field = this.off + NEXT_HEADER;
    this.fragOff = -1;
    for (let n = 0;; n++) {
      if (
        nh !== EXT_HOP_BY_HOP && nh !== EXT_ROUTING && nh !== EXT_FRAGMENT &&
        nh !== EXT_DEST_OPTS
      ) break;
      // Hop-by-hop must come first (§4.3); anything past the bound is refused.
      if (n >= MAX_EXT_HEADERS || (nh === EXT_HOP_BY_HOP && n > 0)) return false;
      if (at + 8 > limit) return false;
      let len: number;
      if (nh === EXT_FRAGMENT) {
        if (this.fragOff >= 0) return false;
        this.fragOff = at;
        len = 8;
      } else len = (buf[at + 1]! + 1) * 8;
      if (at + len > limit) return false;
      field = at;
      nh = buf[at]!;
      at += len;
    }
    this.protocol = nh;
    this.payloadOff = at;
    this.protoFieldOff = field;
    return true;
  }

  get payloadLength(): number {
    return readU16(this.buf, this.off + PAYLOAD_LEN);
  }
  set payloadLength(v: number) {
    writeU16(this.buf, this.off + PAYLOAD_LEN, v);
  }
  get nextHeader(): number {
    return this.buf[this.off + NEXT_HEADER]!;
  }
  get hopLimit(): number {
    return this.buf[this.off + HOP_LIMIT]!;
  }
  set hopLimit(v: number) {
    this.buf[this.off + HOP_LIMIT] = v;
  }
  /** Word `i` (0..3) of the source address. */
  src(i: number): number {
    return readU32(this.buf, this.off + SRC + i * 4);
  }
  setSrc(i: number, v: number): void {
    writeU32(this.buf, this.off + SRC + i * 4, v);
  }
  /** Word `i` (0..3) of the destination address. */
  dst(i: number): number {
    return readU32(this.buf, this.off + DST + i * 4);
  }
  setDst(i: number, v: number): void {
    writeU32(this.buf, this.off + DST + i * 4, v);
  }
  /**
   * Copies the source address's four words into `out[at, at + 4)`. The per-packet path reads
   * addresses so: a word returned from a call V8 does not inline would be boxed.
   */
  copySrc(out: Uint32Array, at = 0): void {
    for (let i = 0; i < 4; i++) out[at + i] = readU32(this.buf, this.off + SRC + i * 4);
  }
  /** Copies the destination address's four words into `out[at, at + 4)` (see `copySrc`). */
  copyDst(out: Uint32Array, at = 0): void {
    for (let i = 0; i < 4; i++) out[at + i] = readU32(this.buf, this.off + DST + i * 4);
  }
  /** End of the packet (Ethernet padding excluded). */
  get packetEnd(): number {
    return this.end;
  }
  /** Bytes of the upper-layer header and data. */
  get upperLength(): number {
    return this.end - this.payloadOff;
  }

  /** The Fragment header's offset field in bytes (0 without one). */
  get fragmentOffset(): number {
    return this.fragOff < 0 ? 0 : readU16(this.buf, this.fragOff + 2) & 0xfff8;
  }
  /** The Fragment header's M flag. */
  get moreFragments(): boolean {
    return this.fragOff >= 0 && (this.buf[this.fragOff + 3]! & 1) === 1;
  }
  /** The Fragment header's identification. */
  get fragmentId(): number {
    return this.fragOff < 0 ? 0 : readU32(this.buf, this.fragOff + 4);
  }
  /** A fragment that is not the whole datagram (an atomic fragment, RFC 6946, is not). */
  get isFragment(): boolean {
    return this.fragOff >= 0 && (this.fragmentOffset !== 0 || this.moreFragments);
  }

  /**
   * The RFC 8200 §8.1 pseudo-header sum over the addresses, the upper-layer length and
   * protocol, unfolded: the L4 checksum starts from it.
   */
  pseudoSum(length: number, proto: number): number {
    const s = sum16(this.buf, this.off + SRC, this.off + DST + 16);
    return s + (length >>> 16) + (length & 0xffff) + proto;
  }
}

/** The RFC 8200 §8.1 pseudo-header sum for addresses given as words (folded to 16 bits). */
export function pseudoHeaderSum6(
  src: ArrayLike<number>,
  dst: ArrayLike<number>,
  proto: number,
  length: number,
): number {
  let s = 0;
  for (let i = 0; i < 4; i++) {
    s += (src[i]! >>> 16) + (src[i]! & 0xffff) + (dst[i]! >>> 16) + (dst[i]! & 0xffff);
  }
  return fold(s + (length >>> 16) + (length & 0xffff) + proto);
}

/** Writes a 40-byte header at `buf[off]` (traffic class and flow label zero). */
export function writeIpv6Header(
  buf: Uint8Array,
  off: number,
  payloadLen: number,
  nextHeader: number,
  hopLimit: number,
  src: ArrayLike<number>,
  dst: ArrayLike<number>,
): void {
  writeU32(buf, off, 0x60000000);
  writeU16(buf, off + PAYLOAD_LEN, payloadLen);
  buf[off + NEXT_HEADER] = nextHeader;
  buf[off + HOP_LIMIT] = hopLimit;
  for (let i = 0; i < 4; i++) {
    writeU32(buf, off + SRC + i * 4, src[i]!);
    writeU32(buf, off + DST + i * 4, dst[i]!);
  }
}
