/**
 * IPv4 headers (RFC 791).
 *
 * Decisions:
 * - `checked` validates the lengths a forwarder relies on but does not verify the header
 *   checksum: the engine counts a bad checksum as its own drop reason.
 * - Fragments (MF set or a non-zero offset) are not reassembled: the engine tracks them by
 *   (src, dst, id, protocol) and gives a later fragment, which carries no ports, its flow's
 *   address translation (`engine/fragments.ts`).
 * - Options are accepted and passed through unchanged; `payload` starts after them.
 * - `payload` ends at `totalLength`, so Ethernet padding of short frames is excluded.
 * @module
 */

import { readU16, readU32, writeU16, writeU32 } from "./bytes.ts";
import { adjust16, adjust32, internetChecksum } from "./checksum.ts";

export const PROTO_ICMP = 1;
export const PROTO_TCP = 6;
export const PROTO_UDP = 17;

/** Length of an IPv4 header without options. */
export const IPV4_HEADER_LEN = 20;

const VER_IHL = 0;
const DSCP_ECN = 1;
const TOTAL_LEN = 2;
const IDENT = 4;
const FLAGS_FRAG = 6;
const TTL = 8;
const PROTOCOL = 9;
const CHECKSUM = 10;
const SRC = 12;
const DST = 16;

const FLAG_DF = 0x4000;
const FLAG_MF = 0x2000;
const FRAG_MASK = 0x1fff;
const EMPTY = new Uint8Array(0);

/**
 * View of an IPv4 packet at `buf[off, end)` (`end` may run past `totalLength`, e.g. Ethernet
 * padding). Re-pointable with {@link Ipv4Packet.check}: the data path keeps one view.
 */
export class Ipv4Packet {
  buf: Uint8Array;
  off: number;
  end: number;

  /** Wraps `bytes[off, end)` without checks; use {@link Ipv4Packet.checked} on untrusted input. */
  constructor(bytes: Uint8Array = EMPTY, off = 0, end = bytes.length) {
    this.buf = bytes;
    this.off = off;
    this.end = end;
  }

  /**
   * A view, or undefined when: fewer than 20 bytes, version ≠ 4, IHL < 5, the header is longer
   * than the bytes, totalLength < header length, or totalLength > the bytes (a length that lies).
   */
  static checked(bytes: Uint8Array): Ipv4Packet | undefined {
    const v = new Ipv4Packet();
    return v.check(bytes, 0, bytes.length) ? v : undefined;
  }

  /**
   * Like {@link Ipv4Packet.checked} but trusts no length beyond the header: for the packet quoted
   * inside an ICMP error (RFC 792), whose totalLength describes the original, untruncated packet.
   */
  static checkedHeader(bytes: Uint8Array): Ipv4Packet | undefined {
    const v = new Ipv4Packet();
    return v.checkHeader(bytes, 0, bytes.length) ? v : undefined;
  }

  /** Points the view at `buf[off, end)` when it holds a valid packet (see `checked`). */
  check(buf: Uint8Array, off: number, end: number): boolean {
    if (!this.checkHeader(buf, off, end)) return false;
    const totalLength = readU16(buf, off + TOTAL_LEN);
    if (totalLength < this.headerLen || totalLength > end - off) return false;
    return true;
  }

  /** Points the view at `buf[off, end)` when a whole header is there (see `checkedHeader`). */
  checkHeader(buf: Uint8Array, off: number, end: number): boolean {
    if (end - off < IPV4_HEADER_LEN) return false;
    const verIhl = buf[off + VER_IHL]!;
    if (verIhl >>> 4 !== 4) return false;
    const headerLen = (verIhl & 0x0f) * 4;
    if (headerLen < IPV4_HEADER_LEN || headerLen > end - off) return false;
    this.buf = buf;
    this.off = off;
    this.end = end;
    return true;
  }

  /** The bytes as given, as a subarray (allocates: not for the per-packet path). */
  get bytes(): Uint8Array {
    return this.buf.subarray(this.off, this.end);
  }
  get version(): number {
    return this.buf[this.off + VER_IHL]! >>> 4;
  }
  /** Header length in bytes (IHL × 4), options included. */
  get headerLen(): number {
    return (this.buf[this.off + VER_IHL]! & 0x0f) * 4;
  }
  /** The DSCP (high 6 bits) and ECN (low 2 bits) byte. */
  get dscpEcn(): number {
    return this.buf[this.off + DSCP_ECN]!;
  }
  get totalLength(): number {
    return readU16(this.buf, this.off + TOTAL_LEN);
  }
  set totalLength(value: number) {
    writeU16(this.buf, this.off + TOTAL_LEN, value);
  }
  get ident(): number {
    return readU16(this.buf, this.off + IDENT);
  }
  get dontFragment(): boolean {
    return (readU16(this.buf, this.off + FLAGS_FRAG) & FLAG_DF) !== 0;
  }
  get moreFragments(): boolean {
    return (readU16(this.buf, this.off + FLAGS_FRAG) & FLAG_MF) !== 0;
  }
  /** Fragment offset in bytes (the field counts 8-byte units). */
  get fragmentOffset(): number {
    return (readU16(this.buf, this.off + FLAGS_FRAG) & FRAG_MASK) * 8;
  }
  /** True for any fragment, first or later (MF set or offset ≠ 0). */
  get isFragment(): boolean {
    return (readU16(this.buf, this.off + FLAGS_FRAG) & (FLAG_MF | FRAG_MASK)) !== 0;
  }
  get ttl(): number {
    return this.buf[this.off + TTL]!;
  }
  set ttl(value: number) {
    this.buf[this.off + TTL] = value;
  }
  get protocol(): number {
    return this.buf[this.off + PROTOCOL]!;
  }
  get checksum(): number {
    return readU16(this.buf, this.off + CHECKSUM);
  }
  set checksum(value: number) {
    writeU16(this.buf, this.off + CHECKSUM, value);
  }
  /** Source address, u32. */
  get src(): number {
    return readU32(this.buf, this.off + SRC);
  }
  set src(addr: number) {
    writeU32(this.buf, this.off + SRC, addr);
  }
  /** Destination address, u32. */
  get dst(): number {
    return readU32(this.buf, this.off + DST);
  }
  set dst(addr: number) {
    writeU32(this.buf, this.off + DST, addr);
  }
  /** Option bytes between the fixed header and the payload (empty when IHL = 5). */
  get options(): Uint8Array {
    return this.buf.subarray(this.off + IPV4_HEADER_LEN, this.off + this.headerLen);
  }
  /** Offset of the payload (the L4 header) in `buf`. */
  get payloadOff(): number {
    return this.off + this.headerLen;
  }
  /** End of the packet in `buf` (`off + totalLength`): the payload ends here, before padding. */
  get packetEnd(): number {
    return this.off + this.totalLength;
  }
  /** `bytes[headerLen, totalLength)`: the L4 segment, without Ethernet padding. */
  get payload(): Uint8Array {
    return this.buf.subarray(this.payloadOff, this.packetEnd);
  }
  /** `bytes[0, totalLength)`: the packet itself, without trailing padding. */
  get packet(): Uint8Array {
    return this.buf.subarray(this.off, this.packetEnd);
  }

  /** True when the header checksum is correct (the header sums to 0xffff, RFC 1071). */
  verifyChecksum(): boolean {
    return internetChecksum(this.buf, this.off, this.off + this.headerLen) === 0;
  }
  /** Recomputes and stores the header checksum. */
  fillChecksum(): void {
    this.checksum = 0;
    this.checksum = internetChecksum(this.buf, this.off, this.off + this.headerLen);
  }
  /** Sets the source address and updates the header checksum incrementally (RFC 1624). */
  rewriteSrc(addr: number): void {
    this.checksum = adjust32(this.checksum, this.src, addr);
    this.src = addr;
  }
  /** Sets the destination address and updates the header checksum incrementally (RFC 1624). */
  rewriteDst(addr: number): void {
    this.checksum = adjust32(this.checksum, this.dst, addr);
    this.dst = addr;
  }
  /** Sets the TTL, updating the header checksum incrementally (TTL shares a word with protocol). */
  rewriteTtl(ttl: number): void {
    const proto = this.protocol;
    this.checksum = adjust16(this.checksum, (this.ttl << 8) | proto, ((ttl & 0xff) << 8) | proto);
    this.ttl = ttl;
  }
}

/** An option-less, unfragmented IPv4 header as plain values. */
export interface Ipv4Repr {
  src: number;
  dst: number;
  protocol: number;
  /** Bytes after the header: totalLength − headerLen. */
  payloadLength: number;
  ttl: number;
  dscpEcn: number;
  ident: number;
  dontFragment: boolean;
}

/** Parse/emit companion of {@link Ipv4Repr}. */
export const Ipv4Repr = {
  /** Reads the fields of `packet`; options and fragment fields are not represented. */
  parse(packet: Ipv4Packet): Ipv4Repr {
    return {
      src: packet.src,
      dst: packet.dst,
      protocol: packet.protocol,
      payloadLength: packet.totalLength - packet.headerLen,
      ttl: packet.ttl,
      dscpEcn: packet.dscpEcn,
      ident: packet.ident,
      dontFragment: packet.dontFragment,
    };
  },
  /** Writes a 20-byte header with its checksum at the start of `buf` (≥ 20 bytes); returns 20. */
  emit(repr: Ipv4Repr, buf: Uint8Array): number {
    return writeIpv4Header(
      buf,
      0,
      repr.src,
      repr.dst,
      repr.protocol,
      repr.payloadLength,
      repr.ttl,
      repr.dscpEcn,
      repr.ident,
      repr.dontFragment,
    );
  },
};

/**
 * Writes an option-less 20-byte IPv4 header with its checksum at `buf[at]`, allocating nothing
 * (for packets the appliance originates on the data path). Returns 20.
 */
export function writeIpv4Header(
  buf: Uint8Array,
  at: number,
  src: number,
  dst: number,
  protocol: number,
  payloadLength: number,
  ttl: number,
  dscpEcn = 0,
  ident = 0,
  dontFragment = false,
): number {
  buf[at + VER_IHL] = 0x45;
  buf[at + DSCP_ECN] = dscpEcn;
  writeU16(buf, at + TOTAL_LEN, IPV4_HEADER_LEN + payloadLength);
  writeU16(buf, at + IDENT, ident);
  writeU16(buf, at + FLAGS_FRAG, dontFragment ? FLAG_DF : 0);
  buf[at + TTL] = ttl;
  buf[at + PROTOCOL] = protocol;
  writeU16(buf, at + CHECKSUM, 0);
  writeU32(buf, at + SRC, src);
  writeU32(buf, at + DST, dst);
  writeU16(buf, at + CHECKSUM, internetChecksum(buf, at, at + IPV4_HEADER_LEN));
  return IPV4_HEADER_LEN;
}
