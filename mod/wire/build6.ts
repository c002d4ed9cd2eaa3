/**
 * IPv6 counterparts of the `build.ts` frame builders: ICMPv6 errors and TCP segments the
 * appliance originates. Same conventions: each writes a whole Ethernet frame at offset 0 of a
 * caller-supplied buffer and returns its length (0 when no frame may or can be built),
 * allocating nothing; the offending packet may live in the same buffer, since every field is
 * read before anything is written. Addresses are `Ip6` words (`wire/addr.ts`); the TCP builders
 * keep the IPv4 ones' argument order.
 * @module
 */

import { ETHERNET_HEADER_LEN, ETHERTYPE_IPV6, writeEthernet } from "./ethernet.ts";
import {
  IPV6_HEADER_LEN,
  IPV6_MIN_MTU,
  Ipv6Packet,
  PROTO_ICMPV6,
  pseudoHeaderSum6,
  writeIpv6Header,
} from "./ipv6.ts";
import { PROTO_TCP } from "./ipv4.ts";
import {
  ICMPV6_HEADER_LEN,
  ICMPV6_PACKET_TOO_BIG,
  ICMPV6_PARAM_PROBLEM,
  Icmpv6Packet,
  isIcmpv6Error,
  NDP_REDIRECT,
} from "./icmpv6.ts";
import { TCP_ACK, TCP_HEADER_LEN, TCP_RST, TcpSegment, writeTcpHeader } from "./tcp.ts";
import { synOptionsLen, writeSynOptions, writeTimestampsOption } from "./tcp_options.ts";
import { DEFAULT_TTL } from "./build.ts";

const L3 = ETHERNET_HEADER_LEN;
const ICMP_AT = L3 + IPV6_HEADER_LEN;
/** Offset of the TCP header in a built IPv6 frame: Ethernet + the fixed IPv6 header. */
export const TCP6_AT: number = L3 + IPV6_HEADER_LEN;
/** Length of a built IPv6 RST frame: Ethernet + IPv6 + TCP, no options or payload. */
export const TCP_RST6_FRAME_LEN: number = TCP6_AT + TCP_HEADER_LEN;
/** Largest frame {@link buildIcmpv6Error} writes: Ethernet + the 1280-byte minimum MTU. */
export const ICMPV6_ERROR_MAX_FRAME_LEN: number = L3 + IPV6_MIN_MTU;
/** Parameter Problem code 2: unrecognized IPv6 option (RFC 4443 §3.4). */
const CODE_UNRECOGNIZED_OPTION = 2;

/** True for ff00::/8 (RFC 4291 §2.7). */
function multicast(w0: number): boolean {
  return w0 >>> 24 === 0xff;
}

/**
 * Whether RFC 4443 §2.4 (e) allows an ICMPv6 error of `type`/`code` about `packet`: not about an
 * ICMPv6 error or a Redirect (e.1, e.2); not from a source that names no single node, the
 * unspecified, loopback or a multicast address (e.6; ::1 never leaves a node, RFC 4291
 * §2.5.3); not about a packet to a multicast address (e.3) unless the error is Packet Too Big
 * or Parameter Problem code 2. A non-first fragment may get an error (RFC 8200 §4.5 sends some):
 * its payload starts mid-message, so it is not read as an ICMPv6 header. A link-layer multicast
 * or broadcast (e.4, e.5) and known anycast addresses (e.6) are the caller's to check.
 */
export function mayReplyWithIcmpv6Error(
  packet: Ipv6Packet,
  type = 0,
  code = 0,
): boolean {
  const s0 = packet.src(0), s1 = packet.src(1), s2 = packet.src(2), s3 = packet.src(3);
  if (multicast(s0)) return false;
  if ((s0 | s1 | s2) === 0 && (s3 === 0 || s3 === 1)) return false;
  if (multicast(packet.dst(0))) {
    const excepted = type === ICMPV6_PACKET_TOO_BIG ||
      (type === ICMPV6_PARAM_PROBLEM && code === CODE_UNRECOGNIZED_OPTION);
    if (!excepted) return false;
  }
  if (packet.protocol === PROTO_ICMPV6 && packet.fragmentOffset === 0) {
    const at = packet.payloadOff;
    if (at >= packet.packetEnd) return false;
    const t = packet.buf[at]!;
    if (isIcmpv6Error(t) || t === NDP_REDIRECT) return false;
  }
  return true;
}

// Scratch views and address words for the builders: JS runs one builder at a time, so one of
// each serves every call without allocating.
const origIp = new Ipv6Packet();
const origTcp = new TcpSegment();
const outTcp = new TcpSegment();
const outIcmp = new Icmpv6Packet();
const rstSrc = new Uint32Array(4);
const rstDst = new Uint32Array(4);

/**
 * Builds Ethernet + IPv6 + ICMPv6 error (`type`/`code`, `rest` = bytes 4-7, e.g. the MTU of
 * Packet Too Big or the pointer of Parameter Problem) about the IPv6 packet at
 * `original[off, end)`, quoting as much of it as keeps the error packet within the minimum MTU
 * of 1280 bytes (RFC 4443 §2.4 (c)). Hop limit 64, checksum filled. A packet whose
 * extension-header chain cannot be walked (the subject of a Parameter Problem) is still quoted
 * when its header and payload length are sound. Returns the frame length, or 0 when the
 * original is not IPv6, RFC 4443 §2.4 (e) forbids an error about it (see
 * {@link mayReplyWithIcmpv6Error}), or `buf` cannot hold the header plus 8 quoted payload bytes.
 * `original` may alias `buf`.
 */
export function buildIcmpv6Error(
  buf: Uint8Array,
  srcMac: Uint8Array,
  dstMac: Uint8Array,
  src6: ArrayLike<number>,
  dst6: ArrayLike<number>,
  type: number,
  code: number,
  original: Uint8Array,
  rest = 0,
  off = 0,
  end: number = original.length,
): number {
  const ip = origIp;
  if (!ip.check(original, off, end)) {
    if (!ip.checkHeader(original, off, end)) return 0;
    const payloadLen = ip.payloadLength;
    if (payloadLen === 0 || IPV6_HEADER_LEN + payloadLen > end - off) return 0;
    ip.end = off + IPV6_HEADER_LEN + payloadLen;
  }
  if (!mayReplyWithIcmpv6Error(ip, type, code)) return 0;
  const origLen = ip.packetEnd - off;
  const room = Math.min(
    IPV6_MIN_MTU - IPV6_HEADER_LEN - ICMPV6_HEADER_LEN,
    buf.length - ICMP_AT - ICMPV6_HEADER_LEN,
  );
  const quoteLen = Math.min(origLen, room);
  if (quoteLen < Math.min(origLen, IPV6_HEADER_LEN + 8)) return 0;
  // Copy the quote first: `original` may alias `buf`, and copyWithin/set cope with overlap.
  if (original === buf) buf.copyWithin(ICMP_AT + ICMPV6_HEADER_LEN, off, off + quoteLen);
  else buf.set(original.subarray(off, off + quoteLen), ICMP_AT + ICMPV6_HEADER_LEN);
  const icmpLen = ICMPV6_HEADER_LEN + quoteLen;
  writeEthernet(buf, 0, dstMac, srcMac, ETHERTYPE_IPV6);
  writeIpv6Header(buf, L3, icmpLen, PROTO_ICMPV6, DEFAULT_TTL, src6, dst6);
  const icmp = outIcmp;
  icmp.check(buf, ICMP_AT, ICMP_AT + icmpLen);
  icmp.type = type;
  icmp.code = code;
  icmp.rest = rest;
  icmp.fillChecksum(pseudoHeaderSum6(src6, dst6, PROTO_ICMPV6, icmpLen));
  return ICMP_AT + icmpLen;
}

/**
 * Builds the reset RFC 9293 §3.10.7.1 prescribes for the offending IPv6/TCP packet at
 * `offending[off, end)`, with addresses and ports swapped: if it had ACK, `<SEQ=SEG.ACK><CTL=RST>`;
 * otherwise `<SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>` (SEG.LEN counts SYN and FIN). Returns the
 * frame length (74), or 0 when the offending packet is not valid IPv6/TCP, is a fragment, is
 * itself a RST (a reset is never answered), has a multicast or unspecified source or a multicast
 * destination (RFC 1122 §4.2.3.10), or `buf` is too short.
 */
export function buildTcpRst6(
  buf: Uint8Array,
  srcMac: Uint8Array,
  dstMac: Uint8Array,
  offending: Uint8Array,
  off = 0,
  end: number = offending.length,
): number {
  if (buf.length < TCP_RST6_FRAME_LEN) return 0;
  const ip = origIp;
  if (!ip.check(offending, off, end) || ip.protocol !== PROTO_TCP || ip.isFragment) return 0;
  if (multicast(ip.src(0)) || multicast(ip.dst(0))) return 0;
  if ((ip.src(0) | ip.src(1) | ip.src(2) | ip.src(3)) === 0) return 0;
  const seg = origTcp;
  if (!seg.check(offending, ip.payloadOff, ip.packetEnd) || seg.rst) return 0;
  for (let i = 0; i < 4; i++) {
    rstSrc[i] = ip.dst(i);
    rstDst[i] = ip.src(i);
  }
  const srcPort = seg.dstPort;
  const dstPort = seg.srcPort;
  const hadAck = seg.ack;
  const seq = hadAck ? seg.ackNumber : 0;
  const ack = hadAck ? 0 : (seg.seqNumber + seg.segmentLength) >>> 0;
  return buildTcpSegment6(
    buf,
    dstMac,
    srcMac,
    rstSrc,
    rstDst,
    srcPort,
    dstPort,
    seq,
    ack,
    hadAck ? TCP_RST : TCP_RST | TCP_ACK,
    0,
  );
}

/**
 * Writes Ethernet + IPv6 (hop limit 64) + the fixed TCP header of a segment whose TCP part is
 * `tcpLen` bytes; the caller writes options or payload after it, then calls `finishTcp6`.
 */
function startTcp6(
  buf: Uint8Array,
  dstMac: Uint8Array,
  srcMac: Uint8Array,
  src: ArrayLike<number>,
  dst: ArrayLike<number>,
  srcPort: number,
  dstPort: number,
  seq: number,
  ack: number,
  flags: number,
  window: number,
  headerLen: number,
  tcpLen: number,
): void {
  writeEthernet(buf, 0, dstMac, srcMac, ETHERTYPE_IPV6);
  writeIpv6Header(buf, L3, tcpLen, PROTO_TCP, DEFAULT_TTL, src, dst);
  writeTcpHeader(buf, TCP6_AT, srcPort, dstPort, seq, ack, flags, window, headerLen);
}

/** Fills the TCP checksum (RFC 8200 §8.1 pseudo-header) of the segment `startTcp6` began. */
function finishTcp6(
  buf: Uint8Array,
  len: number,
  src: ArrayLike<number>,
  dst: ArrayLike<number>,
): number {
  outTcp.check(buf, TCP6_AT, len);
  outTcp.fillChecksumWithPseudo(pseudoHeaderSum6(src, dst, PROTO_TCP, len - TCP6_AT));
  return len;
}

/**
 * Builds Ethernet + IPv6 (hop limit 64) + a TCP segment without payload, allocating nothing:
 * the IPv6 `buildTcpSegment`. With `tsVal`/`tsEcr` given, the segment carries NOP, NOP,
 * timestamps (RFC 7323 Appendix A's layout). Returns the frame length, or 0 when `buf` is too
 * short.
 */
export function buildTcpSegment6(
  buf: Uint8Array,
  dstMac: Uint8Array,
  srcMac: Uint8Array,
  src: ArrayLike<number>,
  dst: ArrayLike<number>,
  srcPort: number,
  dstPort: number,
  seq: number,
  ack: number,
  flags: number,
  window: number,
  tsVal?: number,
  tsEcr?: number,
): number {
  const ts = tsVal !== undefined && tsEcr !== undefined;
  const tcpLen = TCP_HEADER_LEN + (ts ? 12 : 0);
  const len = TCP6_AT + tcpLen;
  if (buf.length < len) return 0;
  startTcp6(
    buf,
    dstMac,
    srcMac,
    src,
    dst,
    srcPort,
    dstPort,
    seq,
    ack,
    flags,
    window,
    tcpLen,
    tcpLen,
  );
  if (ts) writeTimestampsOption(buf, TCP6_AT + TCP_HEADER_LEN, tsVal, tsEcr);
  return finishTcp6(buf, len, src, dst);
}

/**
 * Builds Ethernet + IPv6 (hop limit 64) + a SYN or SYN-ACK without payload, allocating nothing:
 * the IPv6 `buildTcpSyn` (RFC 4987 §3.6). Options, each padded to a word: MSS; NOP + window
 * scale when `wscale` ≥ 0 (RFC 7323 §2); NOP, NOP, SACK-permitted when `sack` (RFC 2018).
 * Returns the frame length, or 0 when `buf` is too short.
 */
export function buildTcpSyn6(
  buf: Uint8Array,
  dstMac: Uint8Array,
  srcMac: Uint8Array,
  src: ArrayLike<number>,
  dst: ArrayLike<number>,
  srcPort: number,
  dstPort: number,
  seq: number,
  ack: number,
  flags: number,
  window: number,
  mss: number,
  wscale: number,
  sack: boolean,
): number {
  const tcpLen = TCP_HEADER_LEN + synOptionsLen(wscale, sack);
  const len = TCP6_AT + tcpLen;
  if (buf.length < len) return 0;
  startTcp6(
    buf,
    dstMac,
    srcMac,
    src,
    dst,
    srcPort,
    dstPort,
    seq,
    ack,
    flags,
    window,
    tcpLen,
    tcpLen,
  );
  writeSynOptions(buf, TCP6_AT + TCP_HEADER_LEN, mss, wscale, sack);
  return finishTcp6(buf, len, src, dst);
}

/**
 * Builds Ethernet + IPv6 (hop limit 64) + a TCP segment carrying `payload`, no options: the
 * IPv6 `buildTcpData`. Returns the frame length, or 0 when `buf` is too short.
 */
export function buildTcpData6(
  buf: Uint8Array,
  dstMac: Uint8Array,
  srcMac: Uint8Array,
  src: ArrayLike<number>,
  dst: ArrayLike<number>,
  srcPort: number,
  dstPort: number,
  seq: number,
  ack: number,
  flags: number,
  window: number,
  payload: Uint8Array,
): number {
  const tcpLen = TCP_HEADER_LEN + payload.length;
  const len = TCP6_AT + tcpLen;
  if (buf.length < len) return 0;
  startTcp6(
    buf,
    dstMac,
    srcMac,
    src,
    dst,
    srcPort,
    dstPort,
    seq,
    ack,
    flags,
    window,
    TCP_HEADER_LEN,
    tcpLen,
  );
  buf.set(payload, TCP6_AT + TCP_HEADER_LEN);
  return finishTcp6(buf, len, src, dst);
}
