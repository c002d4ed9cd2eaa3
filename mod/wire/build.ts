/**
 * Frame builders for the replies the appliance originates: ICMP errors, TCP resets and echo
 * replies. Each writes into a caller-supplied buffer and returns the frame length (0 when no
 * frame may or can be built) and allocates nothing, so the data path can call them per packet.
 * The offending packet may live in the same buffer: every field is read before anything is
 * written.
 * @module
 */

import { ETHERNET_HEADER_LEN, ETHERTYPE_IPV4, writeEthernet } from "./ethernet.ts";
import { IPV4_HEADER_LEN, Ipv4Packet, PROTO_ICMP, PROTO_TCP, writeIpv4Header } from "./ipv4.ts";
import {
  ICMP_ECHO_REPLY,
  ICMP_ECHO_REQUEST,
  ICMP_HEADER_LEN,
  IcmpPacket,
  isIcmpError,
} from "./icmp.ts";
import { TCP_ACK, TCP_HEADER_LEN, TCP_RST, TcpSegment, writeTcpHeader } from "./tcp.ts";
import { synOptionsLen, writeSynOptions, writeTimestampsOption } from "./tcp_options.ts";
import { readU16, writeU32 } from "./bytes.ts";

/** TTL of originated packets (the Linux default, RFC 1700 recommends 64). */
export const DEFAULT_TTL = 64;
/** Largest IP datagram an ICMP error may make (RFC 1812 §4.3.2.3). */
export const ICMP_ERROR_MAX_IP_LEN = 576;
/** Precedence 6, "internetwork control", for ICMP errors (RFC 1812 §4.3.2.5). */
const TOS_INTERNETWORK_CONTROL = 0xc0;

const L3 = ETHERNET_HEADER_LEN;
const ICMP_AT = L3 + IPV4_HEADER_LEN;
const TCP_AT = L3 + IPV4_HEADER_LEN;
/** Length of a built RST frame: Ethernet + IPv4 + TCP, no options or payload. */
export const TCP_RST_FRAME_LEN: number = TCP_AT + TCP_HEADER_LEN;

/** True when `addr` cannot be a unique unicast host: 0/8, 127/8, 224/4 and 240/4 (incl. 255…). */
function notUnicastHost(addr: number): boolean {
  const first = addr >>> 24;
  return first === 0 || first === 127 || first >= 224;
}

/**
 * Whether RFC 1812 §4.3.2.7 (and RFC 1122 §3.2.2) allows an ICMP error about `packet`: not about
 * an ICMP error, a non-initial fragment, a multicast/broadcast destination, or a source that
 * does not name one host. (A link-layer broadcast is the caller's to check: it holds the frame.)
 */
export function mayReplyWithIcmpError(packet: Ipv4Packet): boolean {
  if (packet.fragmentOffset !== 0) return false;
  if (notUnicastHost(packet.src)) return false;
  const dstFirst = packet.dst >>> 24;
  if (dstFirst >= 224 && dstFirst < 240) return false;
  if (packet.dst === 0xffffffff) return false;
  if (packet.protocol === PROTO_ICMP) {
    const at = packet.payloadOff;
    if (at >= packet.packetEnd) return false;
    if (isIcmpError(packet.buf[at]!)) return false;
  }
  return true;
}

// Scratch views for the builders: JS runs one builder at a time, so one of each serves every
// call without allocating.
const origIp = new Ipv4Packet();
const origTcp = new TcpSegment();
const outTcp = new TcpSegment();
const outIcmp = new IcmpPacket();

/**
 * Builds Ethernet + IPv4 + ICMP error (`type`/`code`, `rest` = the 4 "rest of header" bytes,
 * e.g. the next-hop MTU for frag-needed) about the IPv4 packet at `original[off, end)`. The quote
 * holds the original header and as much payload as keeps the IP datagram within 576 bytes
 * (RFC 792, RFC 1812 §4.3.2.3). TTL 64, checksums filled. Returns the frame length, or 0 when the
 * original is not valid IPv4, RFC 1812 §4.3.2.7 forbids an error about it, or `buf` cannot hold
 * the header plus 8 bytes of quoted payload. `original` may alias `buf`.
 */
export function buildIcmpError(
  buf: Uint8Array,
  srcMac: Uint8Array,
  dstMac: Uint8Array,
  srcIp: number,
  dstIp: number,
  type: number,
  code: number,
  original: Uint8Array,
  rest = 0,
  off = 0,
  end: number = original.length,
): number {
  if (!origIp.check(original, off, end) || !mayReplyWithIcmpError(origIp)) return 0;
  const origLen = origIp.totalLength;
  const room = Math.min(
    ICMP_ERROR_MAX_IP_LEN - IPV4_HEADER_LEN - ICMP_HEADER_LEN,
    buf.length - ICMP_AT - ICMP_HEADER_LEN,
  );
  const quoteLen = Math.min(origLen, room);
  if (quoteLen < Math.min(origLen, origIp.headerLen + 8)) return 0;
  // Copy the quote first: `original` may alias `buf`, and copyWithin/set cope with overlap.
  if (original === buf) buf.copyWithin(ICMP_AT + ICMP_HEADER_LEN, off, off + quoteLen);
  else buf.set(original.subarray(off, off + quoteLen), ICMP_AT + ICMP_HEADER_LEN);
  const icmpLen = ICMP_HEADER_LEN + quoteLen;
  writeEthernet(buf, 0, dstMac, srcMac, ETHERTYPE_IPV4);
  writeIpv4Header(
    buf,
    L3,
    srcIp,
    dstIp,
    PROTO_ICMP,
    icmpLen,
    DEFAULT_TTL,
    TOS_INTERNETWORK_CONTROL,
  );
  const icmp = outIcmp;
  icmp.check(buf, ICMP_AT, ICMP_AT + icmpLen);
  icmp.type = type;
  icmp.code = code;
  writeU32(buf, ICMP_AT + 4, rest);
  icmp.fillChecksum();
  return ICMP_AT + icmpLen;
}

/**
 * Builds the reset RFC 9293 §3.10.7.1 prescribes for the offending IPv4/TCP packet at
 * `offending[off, end)`, with addresses and ports swapped: if it had ACK, `<SEQ=SEG.ACK><CTL=RST>`;
 * otherwise `<SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>` (SEG.LEN counts SYN and FIN). Returns the
 * frame length (54), or 0 when the offending packet is not valid IPv4/TCP, is a fragment, is
 * itself a RST (a reset is never answered, RFC 9293 §3.10.7.1) or `buf` is too short.
 */
export function buildTcpRst(
  buf: Uint8Array,
  srcMac: Uint8Array,
  dstMac: Uint8Array,
  offending: Uint8Array,
  off = 0,
  end: number = offending.length,
): number {
  if (buf.length < TCP_RST_FRAME_LEN) return 0;
  const ip = origIp;
  if (!ip.check(offending, off, end) || ip.protocol !== PROTO_TCP || ip.isFragment) return 0;
  const seg = origTcp;
  if (!seg.check(offending, ip.payloadOff, ip.packetEnd) || seg.rst) return 0;
  const src = ip.dst;
  const dst = ip.src;
  const srcPort = seg.dstPort;
  const dstPort = seg.srcPort;
  const hadAck = seg.ack;
  const seq = hadAck ? seg.ackNumber : 0;
  const ack = hadAck ? 0 : (seg.seqNumber + seg.segmentLength) >>> 0;
  return buildTcpSegment(
    buf,
    dstMac,
    srcMac,
    src,
    dst,
    srcPort,
    dstPort,
    seq,
    ack,
    hadAck ? TCP_RST : TCP_RST | TCP_ACK,
    0,
  );
}

/**
 * Writes Ethernet + IPv4 (DF, TTL 64) + the fixed TCP header of a segment whose TCP part is
 * `tcpLen` bytes; the caller writes options or payload after it, then calls `finishTcp`.
 */
function startTcp(
  buf: Uint8Array,
  dstMac: Uint8Array,
  srcMac: Uint8Array,
  src: number,
  dst: number,
  srcPort: number,
  dstPort: number,
  seq: number,
  ack: number,
  flags: number,
  window: number,
  headerLen: number,
  tcpLen: number,
): void {
  writeEthernet(buf, 0, dstMac, srcMac, ETHERTYPE_IPV4);
  writeIpv4Header(buf, L3, src, dst, PROTO_TCP, tcpLen, DEFAULT_TTL, 0, 0, true);
  writeTcpHeader(buf, TCP_AT, srcPort, dstPort, seq, ack, flags, window, headerLen);
}

/** Fills the TCP checksum of the segment `startTcp` began; returns the frame length. */
function finishTcp(buf: Uint8Array, len: number, src: number, dst: number): number {
  outTcp.check(buf, TCP_AT, len);
  outTcp.fillChecksum(src, dst);
  return len;
}

/**
 * Builds Ethernet + IPv4 (DF, TTL 64) + a TCP segment without payload, allocating nothing: the
 * segments the appliance originates (resets, and the probes a survivor sends after a takeover).
 * With `tsVal`/`tsEcr` given, the segment carries NOP, NOP, timestamps (RFC 7323 Appendix A's
 * layout). Returns the frame length, or 0 when `buf` is too short.
 */
export function buildTcpSegment(
  buf: Uint8Array,
  dstMac: Uint8Array,
  srcMac: Uint8Array,
  src: number,
  dst: number,
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
  const len = TCP_AT + tcpLen;
  if (buf.length < len) return 0;
  startTcp(
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
  if (ts) writeTimestampsOption(buf, TCP_AT + TCP_HEADER_LEN, tsVal, tsEcr);
  return finishTcp(buf, len, src, dst);
}

/**
 * Builds Ethernet + IPv4 (DF, TTL 64) + a SYN or SYN-ACK without payload, allocating nothing:
 * the handshake segments a SYN proxy originates (RFC 4987 §3.6). Options, each padded to a
 * word: MSS; NOP + window scale when `wscale` ≥ 0 (RFC 7323 §2); NOP, NOP, SACK-permitted when
 * `sack` (RFC 2018). Returns the frame length, or 0 when `buf` is too short.
 */
export function buildTcpSyn(
  buf: Uint8Array,
  dstMac: Uint8Array,
  srcMac: Uint8Array,
  src: number,
  dst: number,
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
  const len = TCP_AT + tcpLen;
  if (buf.length < len) return 0;
  startTcp(
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
  writeSynOptions(buf, TCP_AT + TCP_HEADER_LEN, mss, wscale, sack);
  return finishTcp(buf, len, src, dst);
}

/**
 * Builds Ethernet + IPv4 (DF, TTL 64) + a TCP segment carrying `payload`, no options: the data
 * the appliance itself sends (an HTTP health check's request). Returns the frame length, or 0
 * when `buf` is too short.
 */
export function buildTcpData(
  buf: Uint8Array,
  dstMac: Uint8Array,
  srcMac: Uint8Array,
  src: number,
  dst: number,
  srcPort: number,
  dstPort: number,
  seq: number,
  ack: number,
  flags: number,
  window: number,
  payload: Uint8Array,
): number {
  const tcpLen = TCP_HEADER_LEN + payload.length;
  const len = TCP_AT + tcpLen;
  if (buf.length < len) return 0;
  startTcp(
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
  buf.set(payload, TCP_AT + TCP_HEADER_LEN);
  return finishTcp(buf, len, src, dst);
}

const echoIp = new Ipv4Packet();
const echoIcmp = new IcmpPacket();

/**
 * Turns the Ethernet frame at `frame[off, end)` holding an ICMP echo request into the echo reply,
 * in place (RFC 792): MACs and IP addresses swapped, type 0, TTL reset to 64, both checksums
 * updated incrementally (RFC 1624; swapping the addresses leaves the IP checksum as it was).
 * Returns false, touching nothing, unless the frame is an unfragmented IPv4 ICMP echo request.
 */
export function turnEchoReply(frame: Uint8Array, off = 0, end: number = frame.length): boolean {
  if (end - off < ETHERNET_HEADER_LEN || readU16(frame, off + 12) !== ETHERTYPE_IPV4) return false;
  const ip = echoIp;
  if (!ip.check(frame, off + ETHERNET_HEADER_LEN, end)) return false;
  if (ip.protocol !== PROTO_ICMP || ip.isFragment) return false;
  const icmp = echoIcmp;
  if (!icmp.check(frame, ip.payloadOff, ip.packetEnd) || icmp.type !== ICMP_ECHO_REQUEST) {
    return false;
  }
  for (let i = off; i < off + 6; i++) {
    const b = frame[i]!;
    frame[i] = frame[i + 6]!;
    frame[i + 6] = b;
  }
  const src = ip.src;
  ip.src = ip.dst;
  ip.dst = src;
  ip.rewriteTtl(DEFAULT_TTL);
  icmp.rewriteTypeCode(ICMP_ECHO_REPLY, icmp.code);
  return true;
}
