/**
 * Frame builders for the replies the appliance originates: ICMP errors, TCP resets and echo
 * replies. Each writes into a caller-supplied buffer and returns the frame length (0 when no
 * frame may or can be built); nothing is allocated besides views. The offending packet may live
 * in the same buffer: every field is read before anything is written.
 * @module
 */

import { ETHERNET_HEADER_LEN, EthernetFrame, ETHERTYPE_IPV4 } from "./ethernet.ts";
import { IPV4_HEADER_LEN, Ipv4Packet, Ipv4Repr, PROTO_ICMP, PROTO_TCP } from "./ipv4.ts";
import {
  ICMP_ECHO_REPLY,
  ICMP_ECHO_REQUEST,
  ICMP_HEADER_LEN,
  IcmpPacket,
  isIcmpError,
} from "./icmp.ts";
import { TCP_ACK, TCP_HEADER_LEN, TCP_RST, TcpSegment } from "./tcp.ts";
import { writeU32 } from "./bytes.ts";

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
    const type = packet.payload[0];
    if (type === undefined || isIcmpError(type)) return false;
  }
  return true;
}

/**
 * Builds Ethernet + IPv4 + ICMP error (`type`/`code`, `rest` = the 4 "rest of header" bytes,
 * e.g. the next-hop MTU for frag-needed) about `original`, an IPv4 packet. The quote holds the
 * original header and as much payload as keeps the IP datagram within 576 bytes
 * (RFC 792, RFC 1812 §4.3.2.3). TTL 64, checksums filled. Returns the frame length, or 0 when
 * `original` is not valid IPv4, RFC 1812 §4.3.2.7 forbids an error about it, or `buf` cannot
 * hold the header plus 8 bytes of quoted payload.
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
): number {
  const orig = Ipv4Packet.checked(original);
  if (orig === undefined || !mayReplyWithIcmpError(orig)) return 0;
  const origLen = orig.totalLength;
  const room = Math.min(
    ICMP_ERROR_MAX_IP_LEN - IPV4_HEADER_LEN - ICMP_HEADER_LEN,
    buf.length - ICMP_AT - ICMP_HEADER_LEN,
  );
  const quoteLen = Math.min(origLen, room);
  if (quoteLen < Math.min(origLen, orig.headerLen + 8)) return 0;
  // Copy the quote first: `original` may alias `buf`, and TypedArray#set copes with overlap.
  buf.set(original.subarray(0, quoteLen), ICMP_AT + ICMP_HEADER_LEN);
  const icmpLen = ICMP_HEADER_LEN + quoteLen;
  const eth = new EthernetFrame(buf);
  eth.dst = dstMac;
  eth.src = srcMac;
  eth.etherType = ETHERTYPE_IPV4;
  Ipv4Repr.emit({
    src: srcIp,
    dst: dstIp,
    protocol: PROTO_ICMP,
    payloadLength: icmpLen,
    ttl: DEFAULT_TTL,
    dscpEcn: TOS_INTERNETWORK_CONTROL,
    ident: 0,
    dontFragment: false,
  }, buf.subarray(L3));
  const icmp = new IcmpPacket(buf.subarray(ICMP_AT, ICMP_AT + icmpLen));
  icmp.type = type;
  icmp.code = code;
  writeU32(icmp.bytes, 4, rest);
  icmp.fillChecksum();
  return ICMP_AT + icmpLen;
}

/**
 * Builds the reset RFC 9293 §3.10.7.1 prescribes for `offending` (an IPv4 packet carrying TCP),
 * with addresses and ports swapped: if it had ACK, `<SEQ=SEG.ACK><CTL=RST>`; otherwise
 * `<SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>` (SEG.LEN counts SYN and FIN). Returns the frame
 * length (54), or 0 when `offending` is not valid IPv4/TCP, is a fragment, is itself a RST
 * (a reset is never answered, RFC 9293 §3.10.7.1) or `buf` is too short.
 */
export function buildTcpRst(
  buf: Uint8Array,
  srcMac: Uint8Array,
  dstMac: Uint8Array,
  offending: Uint8Array,
): number {
  if (buf.length < TCP_RST_FRAME_LEN) return 0;
  const ip = Ipv4Packet.checked(offending);
  if (ip === undefined || ip.protocol !== PROTO_TCP || ip.isFragment) return 0;
  const seg = TcpSegment.checked(ip.payload);
  if (seg === undefined || seg.rst) return 0;
  const src = ip.dst;
  const dst = ip.src;
  const srcPort = seg.dstPort;
  const dstPort = seg.srcPort;
  const hadAck = seg.ack;
  const seq = hadAck ? seg.ackNumber : 0;
  const ack = hadAck ? 0 : (seg.seqNumber + seg.segmentLength) >>> 0;
  const eth = new EthernetFrame(buf);
  eth.dst = dstMac;
  eth.src = srcMac;
  eth.etherType = ETHERTYPE_IPV4;
  Ipv4Repr.emit({
    src,
    dst,
    protocol: PROTO_TCP,
    payloadLength: TCP_HEADER_LEN,
    ttl: DEFAULT_TTL,
    dscpEcn: 0,
    ident: 0,
    dontFragment: true,
  }, buf.subarray(L3));
  const rst = new TcpSegment(buf.subarray(TCP_AT, TCP_RST_FRAME_LEN));
  rst.srcPort = srcPort;
  rst.dstPort = dstPort;
  rst.seqNumber = seq;
  rst.ackNumber = ack;
  rst.bytes[12] = (TCP_HEADER_LEN / 4) << 4;
  rst.flags = hadAck ? TCP_RST : TCP_RST | TCP_ACK;
  rst.window = 0;
  rst.bytes[18] = 0;
  rst.bytes[19] = 0;
  rst.fillChecksum(src, dst);
  return TCP_RST_FRAME_LEN;
}

/**
 * Turns an Ethernet frame holding an ICMP echo request into the echo reply, in place (RFC 792):
 * MACs and IP addresses swapped, type 0, TTL reset to 64, both checksums updated incrementally
 * (RFC 1624; swapping the addresses leaves the IP checksum as it was). Returns false, touching
 * nothing, unless the frame is an unfragmented IPv4 ICMP echo request.
 */
export function turnEchoReply(frame: Uint8Array): boolean {
  const eth = EthernetFrame.checked(frame);
  if (eth === undefined || eth.etherType !== ETHERTYPE_IPV4) return false;
  const ip = Ipv4Packet.checked(eth.payload);
  if (ip === undefined || ip.protocol !== PROTO_ICMP || ip.isFragment) return false;
  const icmp = IcmpPacket.checked(ip.payload);
  if (icmp === undefined || icmp.type !== ICMP_ECHO_REQUEST) return false;
  for (let i = 0; i < 6; i++) {
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
