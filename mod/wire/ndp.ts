/**
 * Neighbor Discovery for IPv6 over Ethernet (RFC 4861, RFC 2464): the Neighbor Solicitation and
 * Advertisement messages that replace ARP, their validation, and builders for the ones the
 * appliance originates (resolving a neighbour, answering for and announcing its addresses).
 *
 * Decisions:
 * - {@link NdpMessage.check} applies the RFC 4861 §7.1.1 / §7.1.2 rules that need only the
 *   ICMPv6 bytes; {@link validNdp} adds those that need the IPv6 header (hop limit 255, the
 *   checksum, the source and destination rules).
 * - A link-layer address option is taken only with length 1 (8 bytes), the Ethernet form
 *   (RFC 2464 §8); one of another length is skipped like an unknown option (RFC 4861 §4.6).
 *   When an option appears twice, the first is kept.
 * - Addresses are four 32-bit words in network order (`wire/addr.ts`).
 * @module
 */

import { readU32, writeU16, writeU32 } from "./bytes.ts";
import { copyMac, ETHERNET_HEADER_LEN, ETHERTYPE_IPV6 } from "./ethernet.ts";
import {
  IPV6_HEADER_LEN,
  Ipv6Packet,
  PROTO_ICMPV6,
  pseudoHeaderSum6,
  writeIpv6Header,
} from "./ipv6.ts";
import { Icmpv6Packet, NDP_NEIGHBOR_ADVERT, NDP_NEIGHBOR_SOLICIT } from "./icmpv6.ts";
import type { Ip6 } from "./addr.ts";

/** Router flag of a Neighbor Advertisement (RFC 4861 §4.4). */
export const NA_ROUTER = 0x80;
/** Solicited flag: the advertisement answers a solicitation. */
export const NA_SOLICITED = 0x40;
/** Override flag: the advertised link-layer address replaces a cached one. */
export const NA_OVERRIDE = 0x20;
/** Source Link-Layer Address option type (RFC 4861 §4.6.1). */
export const NDP_OPT_SOURCE_LL = 1;
/** Target Link-Layer Address option type (RFC 4861 §4.6.1). */
export const NDP_OPT_TARGET_LL = 2;
/** Hop limit of every Neighbor Discovery message: proof it was not forwarded (§7.1.1). */
export const NDP_HOP_LIMIT = 255;
/** Length of an NS or NA without options: header, reserved/flags, target (§4.3, §4.4). */
export const NDP_NS_NA_LEN = 24;
/** Length of an Ethernet link-layer address option (RFC 2464 §8). */
export const NDP_LL_OPT_LEN = 8;
/** Length of a built NS (with its option) or NA frame. */
export const NDP_FRAME_LEN: number = ETHERNET_HEADER_LEN + IPV6_HEADER_LEN + NDP_NS_NA_LEN +
  NDP_LL_OPT_LEN;

/** ff02::1, the all-nodes multicast address (RFC 4291 §2.7.1). */
export const ALL_NODES: Ip6 = new Uint32Array([0xff020000, 0, 0, 1]);
/** 33:33:00:00:00:01, the Ethernet address of {@link ALL_NODES} (RFC 2464 §7). */
export const ALL_NODES_MAC: Uint8Array = new Uint8Array([0x33, 0x33, 0, 0, 0, 1]);

const FLAGS = 4;
const TARGET = 8;
const OPTIONS = 24;

/**
 * The solicited-node multicast address of `target`, ff02::1:ff00:0/104 plus its low 24 bits
 * (RFC 4291 §2.7.1), written to `out` (a new array when absent).
 */
export function solicitedNodeMulticast(
  target: ArrayLike<number>,
  out: Ip6 = new Uint32Array(4),
): Ip6 {
  out[0] = 0xff020000;
  out[1] = 0;
  out[2] = 1;
  out[3] = (0xff000000 | (target[3]! & 0xffffff)) >>> 0;
  return out;
}

/**
 * The Ethernet address of the IPv6 multicast address `ip6`: 33:33 and its low 32 bits
 * (RFC 2464 §7), written at `out[outOff]` (a new 6-byte array when `out` is absent).
 */
export function multicastMac(
  ip6: ArrayLike<number>,
  out: Uint8Array = new Uint8Array(6),
  outOff = 0,
): Uint8Array {
  out[outOff] = 0x33;
  out[outOff + 1] = 0x33;
  writeU32(out, outOff + 2, ip6[3]!);
  return out;
}

/** True for ff00::/8 (RFC 4291 §2.7). */
function isMulticast(w0: number): boolean {
  return w0 >>> 24 === 0xff;
}

/**
 * View of a Neighbor Solicitation or Advertisement (the whole ICMPv6 message) at
 * `buf[off, end)`. Re-pointable with {@link NdpMessage.check}; the getters of
 * {@link Icmpv6Packet} apply.
 */
export class NdpMessage extends Icmpv6Packet {
  /** Offset of the 6-byte Source Link-Layer Address, or -1 without the option. */
  sourceLlOff = -1;
  /** Offset of the 6-byte Target Link-Layer Address, or -1 without the option. */
  targetLlOff = -1;

  /** A view, or undefined when not a valid NS or NA (see {@link check}). */
  static override checked(bytes: Uint8Array): NdpMessage | undefined {
    const v = new NdpMessage();
    return v.check(bytes, 0, bytes.length) ? v : undefined;
  }

  /**
   * Points the view at `buf[off, end)` when it holds an NS or NA that passes the checks of
   * RFC 4861 §7.1.1 / §7.1.2 that need no IP header: code 0, at least 24 bytes, every option
   * of non-zero length and inside the message, and a target that is not multicast.
   */
  override check(buf: Uint8Array, off: number, end: number): boolean {
    if (end - off < NDP_NS_NA_LEN) return false;
    const type = buf[off]!;
    if (type !== NDP_NEIGHBOR_SOLICIT && type !== NDP_NEIGHBOR_ADVERT) return false;
    if (buf[off + 1] !== 0 || isMulticast(readU32(buf, off + TARGET))) return false;
    let src = -1, tgt = -1;
    for (let at = off + OPTIONS; at < end;) {
      if (at + 2 > end) return false;
      const len = buf[at + 1]! * 8;
      if (len === 0 || at + len > end) return false;
      if (len === NDP_LL_OPT_LEN) {
        if (buf[at] === NDP_OPT_SOURCE_LL && src < 0) src = at + 2;
        else if (buf[at] === NDP_OPT_TARGET_LL && tgt < 0) tgt = at + 2;
      }
      at += len;
    }
    this.buf = buf;
    this.off = off;
    this.end = end;
    this.sourceLlOff = src;
    this.targetLlOff = tgt;
    return true;
  }

  /** Word `i` (0..3) of the target address. */
  target(i: number): number {
    return readU32(this.buf, this.off + TARGET + i * 4);
  }
  /** The flags byte of an NA (R, S, O in the high bits; compare with the `NA_*` constants). */
  get flags(): number {
    return this.type === NDP_NEIGHBOR_ADVERT ? this.buf[this.off + FLAGS]! & 0xe0 : 0;
  }
  get router(): boolean {
    return (this.flags & NA_ROUTER) !== 0;
  }
  get solicited(): boolean {
    return (this.flags & NA_SOLICITED) !== 0;
  }
  get override(): boolean {
    return (this.flags & NA_OVERRIDE) !== 0;
  }
  /** The Source Link-Layer Address (allocates a view), or undefined without the option. */
  get sourceLinkAddr(): Uint8Array | undefined {
    const at = this.sourceLlOff;
    return at < 0 ? undefined : this.buf.subarray(at, at + 6);
  }
  /** The Target Link-Layer Address (allocates a view), or undefined without the option. */
  get targetLinkAddr(): Uint8Array | undefined {
    const at = this.targetLlOff;
    return at < 0 ? undefined : this.buf.subarray(at, at + 6);
  }
}

/**
 * The RFC 4861 checks that need the IPv6 header, for `msg` checked at `ip`'s upper layer: the
 * message is the whole ICMPv6 payload, the hop limit is 255 and the checksum is valid (§7.1.1,
 * §7.1.2), the source is not multicast (RFC 4291 §2.7); an NS from the unspecified address
 * (duplicate address detection) goes to a solicited-node multicast address and carries no
 * Source Link-Layer Address option (§7.1.1); an NA to a multicast address has S clear (§7.1.2).
 */
export function validNdp(ip: Ipv6Packet, msg: NdpMessage): boolean {
  if (ip.protocol !== PROTO_ICMPV6 || msg.buf !== ip.buf) return false;
  if (msg.off !== ip.payloadOff || msg.end !== ip.packetEnd) return false;
  if (ip.hopLimit !== NDP_HOP_LIMIT || isMulticast(ip.src(0))) return false;
  if (!msg.verifyChecksum(ip.pseudoSum(msg.length, PROTO_ICMPV6))) return false;
  if (msg.type === NDP_NEIGHBOR_SOLICIT) {
    if ((ip.src(0) | ip.src(1) | ip.src(2) | ip.src(3)) === 0) {
      if (msg.sourceLlOff >= 0) return false;
      const solicitedNode = ip.dst(0) === 0xff020000 && ip.dst(1) === 0 && ip.dst(2) === 1 &&
        ip.dst(3) >>> 24 === 0xff;
      if (!solicitedNode) return false;
    }
  } else if (isMulticast(ip.dst(0)) && msg.solicited) return false;
  return true;
}

const nsDst = new Uint32Array(4);
const outMsg = new Icmpv6Packet();
const L3 = ETHERNET_HEADER_LEN;
const ICMP_AT = L3 + IPV6_HEADER_LEN;

/** Writes IPv6 (hop limit 255) + the NS/NA fixed part and option; fills the checksum. */
function writeNdp(
  buf: Uint8Array,
  src6: ArrayLike<number>,
  dst6: ArrayLike<number>,
  type: number,
  flags: number,
  target6: ArrayLike<number>,
  optType: number,
  mac: Uint8Array,
): number {
  const icmpLen = NDP_NS_NA_LEN + (optType === 0 ? 0 : NDP_LL_OPT_LEN);
  writeIpv6Header(buf, L3, icmpLen, PROTO_ICMPV6, NDP_HOP_LIMIT, src6, dst6);
  buf[ICMP_AT] = type;
  buf[ICMP_AT + 1] = 0;
  writeU32(buf, ICMP_AT + FLAGS, (flags & 0xe0) << 24);
  for (let i = 0; i < 4; i++) writeU32(buf, ICMP_AT + TARGET + i * 4, target6[i]!);
  if (optType !== 0) {
    buf[ICMP_AT + OPTIONS] = optType;
    buf[ICMP_AT + OPTIONS + 1] = 1;
    copyMac(mac, buf, ICMP_AT + OPTIONS + 2);
  }
  outMsg.check(buf, ICMP_AT, ICMP_AT + icmpLen);
  outMsg.fillChecksum(pseudoHeaderSum6(src6, dst6, PROTO_ICMPV6, icmpLen));
  return ICMP_AT + icmpLen;
}

/**
 * Builds Ethernet + IPv6 + a Neighbor Solicitation for `target6` (RFC 4861 §7.2.2): to its
 * solicited-node multicast address and that address's 33:33 MAC, hop limit 255, with the
 * Source Link-Layer Address option = `srcMac`, except from the unspecified address (duplicate
 * address detection, §7.2.2 and §4.3), which omits it. Returns the frame length (86, or 78
 * without the option), or 0 when `buf` is too short.
 */
export function buildNeighborSolicit(
  buf: Uint8Array,
  srcMac: Uint8Array,
  src6: ArrayLike<number>,
  target6: ArrayLike<number>,
): number {
  const unspecified = (src6[0]! | src6[1]! | src6[2]! | src6[3]!) === 0;
  const len = NDP_FRAME_LEN - (unspecified ? NDP_LL_OPT_LEN : 0);
  if (buf.length < len) return 0;
  const dst6 = solicitedNodeMulticast(target6, nsDst);
  multicastMac(dst6, buf, 0);
  copyMac(srcMac, buf, 6);
  writeU16(buf, 12, ETHERTYPE_IPV6);
  return writeNdp(
    buf,
    src6,
    dst6,
    NDP_NEIGHBOR_SOLICIT,
    0,
    target6,
    unspecified ? 0 : NDP_OPT_SOURCE_LL,
    srcMac,
  );
}

/**
 * Builds Ethernet + IPv6 + a Neighbor Advertisement for `target6` (RFC 4861 §7.2.4), hop limit
 * 255, `flags` from {@link NA_ROUTER} | {@link NA_SOLICITED} | {@link NA_OVERRIDE}, with the
 * Target Link-Layer Address option = `srcMac`. Returns the frame length (86), or 0 when `buf`
 * is too short or S is set towards a multicast `dst6` (invalid, §7.1.2).
 */
export function buildNeighborAdvert(
  buf: Uint8Array,
  srcMac: Uint8Array,
  dstMac: Uint8Array,
  src6: ArrayLike<number>,
  dst6: ArrayLike<number>,
  target6: ArrayLike<number>,
  flags: number,
): number {
  if (buf.length < NDP_FRAME_LEN) return 0;
  if ((flags & NA_SOLICITED) !== 0 && isMulticast(dst6[0]!)) return 0;
  copyMac(dstMac, buf, 0);
  copyMac(srcMac, buf, 6);
  writeU16(buf, 12, ETHERTYPE_IPV6);
  return writeNdp(
    buf,
    src6,
    dst6,
    NDP_NEIGHBOR_ADVERT,
    flags,
    target6,
    NDP_OPT_TARGET_LL,
    srcMac,
  );
}

/**
 * Builds the unsolicited Neighbor Advertisement that announces `target6` at `srcMac` after a
 * takeover (RFC 4861 §7.2.6): to {@link ALL_NODES}, S clear, O set, R when `router`.
 */
export function buildUnsolicitedNeighborAdvert(
  buf: Uint8Array,
  srcMac: Uint8Array,
  src6: ArrayLike<number>,
  target6: ArrayLike<number>,
  router = false,
): number {
  const flags = NA_OVERRIDE | (router ? NA_ROUTER : 0);
  return buildNeighborAdvert(buf, srcMac, ALL_NODES_MAC, src6, ALL_NODES, target6, flags);
}
