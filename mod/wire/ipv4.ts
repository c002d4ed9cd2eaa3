/**
 * IPv4 headers (RFC 791).
 *
 * Decisions:
 * - `checked` validates the lengths a forwarder relies on but does not verify the header
 *   checksum: the engine counts a bad checksum as its own drop reason.
 * - Fragments (MF set or a non-zero offset) are counted and dropped by the engine as
 *   `ipv4_fragment`: an L4 NAT cannot translate a fragment that carries no ports.
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

/** Zero-copy view of an IPv4 packet. */
export class Ipv4Packet {
  /** The bytes as given (may extend past `totalLength`, e.g. Ethernet padding). */
  readonly bytes: Uint8Array;

  /** Wraps `bytes` without checks; use {@link Ipv4Packet.checked} on untrusted input. */
  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
  }

  /**
   * A view, or undefined when: fewer than 20 bytes, version ≠ 4, IHL < 5, the header is longer
   * than the bytes, totalLength < header length, or totalLength > the bytes (a length that lies).
   */
  static checked(bytes: Uint8Array): Ipv4Packet | undefined {
    if (bytes.length < IPV4_HEADER_LEN) return undefined;
    const verIhl = bytes[VER_IHL]!;
    if (verIhl >>> 4 !== 4) return undefined;
    const headerLen = (verIhl & 0x0f) * 4;
    if (headerLen < IPV4_HEADER_LEN || headerLen > bytes.length) return undefined;
    const totalLength = readU16(bytes, TOTAL_LEN);
    if (totalLength < headerLen || totalLength > bytes.length) return undefined;
    return new Ipv4Packet(bytes);
  }

  /**
   * Like {@link Ipv4Packet.checked} but trusts no length beyond the header: for the packet quoted
   * inside an ICMP error (RFC 792), whose totalLength describes the original, untruncated packet.
   * Undefined when < 20 bytes, version ≠ 4, IHL < 5 or the header overruns the bytes.
   */
  static checkedHeader(bytes: Uint8Array): Ipv4Packet | undefined {
    if (bytes.length < IPV4_HEADER_LEN) return undefined;
    const verIhl = bytes[VER_IHL]!;
    if (verIhl >>> 4 !== 4) return undefined;
    const headerLen = (verIhl & 0x0f) * 4;
    if (headerLen < IPV4_HEADER_LEN || headerLen > bytes.length) return undefined;
    return new Ipv4Packet(bytes);
  }

  get version(): number {
    return this.bytes[VER_IHL]! >>> 4;
  }
  /** Header length in bytes (IHL × 4), options included. */
  get headerLen(): number {
    return (this.bytes[VER_IHL]! & 0x0f) * 4;
  }
  /** The DSCP (high 6 bits) and ECN (low 2 bits) byte. */
  get dscpEcn(): number {
    return this.bytes[DSCP_ECN]!;
  }
  get totalLength(): number {
    return readU16(this.bytes, TOTAL_LEN);
  }
  set totalLength(value: number) {
    writeU16(this.bytes, TOTAL_LEN, value);
  }
  get ident(): number {
    return readU16(this.bytes, IDENT);
  }
  get dontFragment(): boolean {
    return (readU16(this.bytes, FLAGS_FRAG) & FLAG_DF) !== 0;
  }
  get moreFragments(): boolean {
    return (readU16(this.bytes, FLAGS_FRAG) & FLAG_MF) !== 0;
  }
  /** Fragment offset in bytes (the field counts 8-byte units). */
  get fragmentOffset(): number {
    return (readU16(this.bytes, FLAGS_FRAG) & FRAG_MASK) * 8;
  }
  /** True for any fragment, first or later (MF set or offset ≠ 0). */
  get isFragment(): boolean {
    return (readU16(this.bytes, FLAGS_FRAG) & (FLAG_MF | FRAG_MASK)) !== 0;
  }
  get ttl(): number {
    return this.bytes[TTL]!;
  }
  set ttl(value: number) {
    this.bytes[TTL] = value;
  }
  get protocol(): number {
    return this.bytes[PROTOCOL]!;
  }
  get checksum(): number {
    return readU16(this.bytes, CHECKSUM);
  }
  set checksum(value: number) {
    writeU16(this.bytes, CHECKSUM, value);
  }
  /** Source address, u32. */
  get src(): number {
    return readU32(this.bytes, SRC);
  }
  set src(addr: number) {
    writeU32(this.bytes, SRC, addr);
  }
  /** Destination address, u32. */
  get dst(): number {
    return readU32(this.bytes, DST);
  }
  set dst(addr: number) {
    writeU32(this.bytes, DST, addr);
  }
  /** Option bytes between the fixed header and the payload (empty when IHL = 5). */
  get options(): Uint8Array {
    return this.bytes.subarray(IPV4_HEADER_LEN, this.headerLen);
  }
  /** `bytes[headerLen, totalLength)`: the L4 segment, without Ethernet padding. */
  get payload(): Uint8Array {
    return this.bytes.subarray(this.headerLen, this.totalLength);
  }
  /** `bytes[0, totalLength)`: the packet itself, without trailing padding. */
  get packet(): Uint8Array {
    return this.bytes.subarray(0, this.totalLength);
  }

  /** True when the header checksum is correct (the header sums to 0xffff, RFC 1071). */
  verifyChecksum(): boolean {
    return internetChecksum(this.bytes, 0, this.headerLen) === 0;
  }
  /** Recomputes and stores the header checksum. */
  fillChecksum(): void {
    this.checksum = 0;
    this.checksum = internetChecksum(this.bytes, 0, this.headerLen);
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
  /**
   * Decrements the TTL by one with an incremental checksum update (RFC 1812 §5.3.1, RFC 1624)
   * and returns the new TTL. A TTL already 0 or 1 is left alone and returned as 0: the caller
   * must drop the packet and may send ICMP time exceeded.
   */
  decrementTtl(): number {
    const ttl = this.ttl;
    if (ttl <= 1) return 0;
    this.rewriteTtl(ttl - 1);
    return ttl - 1;
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
    buf[VER_IHL] = 0x45;
    buf[DSCP_ECN] = repr.dscpEcn;
    writeU16(buf, TOTAL_LEN, IPV4_HEADER_LEN + repr.payloadLength);
    writeU16(buf, IDENT, repr.ident);
    writeU16(buf, FLAGS_FRAG, repr.dontFragment ? FLAG_DF : 0);
    buf[TTL] = repr.ttl;
    buf[PROTOCOL] = repr.protocol;
    writeU32(buf, SRC, repr.src);
    writeU32(buf, DST, repr.dst);
    new Ipv4Packet(buf).fillChecksum();
    return IPV4_HEADER_LEN;
  },
};
