/**
 * ICMP for IPv6 (RFC 4443): echo for pinging the appliance's own addresses, the error messages
 * a router sends (destination unreachable, packet too big, time exceeded, parameter problem),
 * and the type numbers of Neighbor Discovery (RFC 4861, parsed in `ndp.ts`).
 *
 * Unlike ICMP for IPv4, the checksum covers the RFC 8200 §8.1 pseudo-header (RFC 4443 §2.3),
 * so {@link Icmpv6Packet.verifyChecksum} and {@link Icmpv6Packet.fillChecksum} take its sum:
 * `Ipv6Packet.pseudoSum(length, PROTO_ICMPV6)` or `pseudoHeaderSum6(src, dst, 58, length)`,
 * where `length` is the whole ICMPv6 message's. The 4 bytes after the checksum are the echo
 * identifier and sequence, the MTU of Packet Too Big, the pointer of Parameter Problem, or
 * unused; an error's quote of the offending packet starts at {@link Icmpv6Packet.embeddedOff}
 * (parse it with `Ipv6Packet.checkHeader`, since it is cut short).
 * @module
 */

import { readU16, readU32, writeU16, writeU32 } from "./bytes.ts";
import { adjust16, internetChecksum } from "./checksum.ts";
import { ETHERNET_HEADER_LEN, ETHERTYPE_IPV6 } from "./ethernet.ts";
import { IPV6_HEADER_LEN, Ipv6Packet, PROTO_ICMPV6 } from "./ipv6.ts";

/** Destination Unreachable (RFC 4443 §3.1). */
export const ICMPV6_DEST_UNREACHABLE = 1;
/** Destination Unreachable code 0: no route to destination. */
export const ICMPV6_CODE_NO_ROUTE = 0;
/** Destination Unreachable code 1: communication administratively prohibited. */
export const ICMPV6_CODE_ADMIN = 1;
/** Destination Unreachable code 3: address unreachable. */
export const ICMPV6_CODE_ADDR_UNREACHABLE = 3;
/** Destination Unreachable code 4: port unreachable. */
export const ICMPV6_CODE_PORT_UNREACHABLE = 4;
/** Packet Too Big (RFC 4443 §3.2); the MTU is in {@link Icmpv6Packet.rest}. */
export const ICMPV6_PACKET_TOO_BIG = 2;
/** Time Exceeded (RFC 4443 §3.3); code 0 is hop limit exceeded in transit. */
export const ICMPV6_TIME_EXCEEDED = 3;
/** Time Exceeded code 0: hop limit exceeded in transit. */
export const ICMPV6_CODE_HOP_LIMIT = 0;
/** Parameter Problem (RFC 4443 §3.4); the pointer is in {@link Icmpv6Packet.rest}. */
export const ICMPV6_PARAM_PROBLEM = 4;
/** Echo Request (RFC 4443 §4.1). */
export const ICMPV6_ECHO_REQUEST = 128;
/** Echo Reply (RFC 4443 §4.2). */
export const ICMPV6_ECHO_REPLY = 129;
/** Router Solicitation (RFC 4861 §4.1). */
export const NDP_ROUTER_SOLICIT = 133;
/** Router Advertisement (RFC 4861 §4.2). */
export const NDP_ROUTER_ADVERT = 134;
/** Neighbor Solicitation (RFC 4861 §4.3). */
export const NDP_NEIGHBOR_SOLICIT = 135;
/** Neighbor Advertisement (RFC 4861 §4.4). */
export const NDP_NEIGHBOR_ADVERT = 136;
/** Redirect (RFC 4861 §4.5). */
export const NDP_REDIRECT = 137;

/** Length of the ICMPv6 header: type, code, checksum, 4 bytes of message body. */
export const ICMPV6_HEADER_LEN = 8;
/** Hop limit of originated echo replies (as `build.ts` uses for IPv4). */
const REPLY_HOP_LIMIT = 64;

const TYPE = 0;
const CODE = 1;
const CHECKSUM = 2;
const REST = 4;
const ECHO_ID = 4;
const ECHO_SEQ = 6;
const EMPTY = new Uint8Array(0);

/** True for the ICMPv6 error types: the high-order bit of the type is 0 (RFC 4443 §2.1). */
export function isIcmpv6Error(type: number): boolean {
  return type < 128;
}

/**
 * View of an ICMPv6 message (the whole upper-layer payload) at `buf[off, end)`. Re-pointable
 * with {@link Icmpv6Packet.check}: the data path keeps one view.
 */
export class Icmpv6Packet {
  buf: Uint8Array;
  off: number;
  end: number;

  /** Wraps `bytes[off, end)` without checks; use {@link Icmpv6Packet.checked} on untrusted input. */
  constructor(bytes: Uint8Array = EMPTY, off = 0, end = bytes.length) {
    this.buf = bytes;
    this.off = off;
    this.end = end;
  }

  /** A view, or undefined when shorter than the 8-byte header. */
  static checked(bytes: Uint8Array): Icmpv6Packet | undefined {
    const v = new Icmpv6Packet();
    return v.check(bytes, 0, bytes.length) ? v : undefined;
  }

  /** Points the view at `buf[off, end)` when a whole header is there (RFC 4443 §2.1). */
  check(buf: Uint8Array, off: number, end: number): boolean {
    if (end - off < ICMPV6_HEADER_LEN) return false;
    this.buf = buf;
    this.off = off;
    this.end = end;
    return true;
  }

  /** The message as a subarray (allocates: not for the per-packet path). */
  get bytes(): Uint8Array {
    return this.buf.subarray(this.off, this.end);
  }
  /** Message length in bytes: the upper-layer length of the pseudo-header. */
  get length(): number {
    return this.end - this.off;
  }
  get type(): number {
    return this.buf[this.off + TYPE]!;
  }
  set type(value: number) {
    this.buf[this.off + TYPE] = value;
  }
  get code(): number {
    return this.buf[this.off + CODE]!;
  }
  set code(value: number) {
    this.buf[this.off + CODE] = value;
  }
  get checksum(): number {
    return readU16(this.buf, this.off + CHECKSUM);
  }
  set checksum(value: number) {
    writeU16(this.buf, this.off + CHECKSUM, value);
  }
  /** Bytes 4-7 as a u32: the MTU of Packet Too Big (§3.2), the pointer of Parameter Problem. */
  get rest(): number {
    return readU32(this.buf, this.off + REST);
  }
  set rest(value: number) {
    writeU32(this.buf, this.off + REST, value);
  }
  /** Echo identifier (bytes 4-5, RFC 4443 §4.1). */
  get echoId(): number {
    return readU16(this.buf, this.off + ECHO_ID);
  }
  set echoId(value: number) {
    writeU16(this.buf, this.off + ECHO_ID, value);
  }
  /** Echo sequence number (bytes 6-7). */
  get echoSeq(): number {
    return readU16(this.buf, this.off + ECHO_SEQ);
  }
  set echoSeq(value: number) {
    writeU16(this.buf, this.off + ECHO_SEQ, value);
  }
  /** Offset in `buf` of the bytes after the header (echo data, or an error's quote). */
  get embeddedOff(): number {
    return this.off + ICMPV6_HEADER_LEN;
  }
  /** Bytes after the header (allocates a view: not for the per-packet path). */
  get embedded(): Uint8Array {
    return this.buf.subarray(this.off + ICMPV6_HEADER_LEN, this.end);
  }

  /**
   * True when the checksum over pseudo-header + message is correct (RFC 4443 §2.3).
   * `pseudoSum` is the RFC 8200 §8.1 pseudo-header sum for this message's length, folded or not.
   */
  verifyChecksum(pseudoSum: number): boolean {
    return internetChecksum(this.buf, this.off, this.end, pseudoSum) === 0;
  }
  /** Recomputes and stores the checksum (see {@link verifyChecksum} for `pseudoSum`). */
  fillChecksum(pseudoSum: number): void {
    this.checksum = 0;
    this.checksum = internetChecksum(this.buf, this.off, this.end, pseudoSum);
  }
  /** Sets type and code, updating the checksum incrementally (RFC 1624). */
  rewriteTypeCode(type: number, code: number): void {
    const oldWord = (this.type << 8) | this.code;
    this.checksum = adjust16(this.checksum, oldWord, ((type & 0xff) << 8) | (code & 0xff));
    this.type = type;
    this.code = code;
  }
}

const echoIp = new Ipv6Packet();
const echoIcmp = new Icmpv6Packet();

/**
 * Turns the Ethernet frame at `frame[off, end)` holding an ICMPv6 echo request into the echo
 * reply, in place (RFC 4443 §4.2): MACs and addresses swapped, type 129, hop limit 64, checksum
 * updated incrementally (RFC 1624; the pseudo-header sum is symmetric in source and
 * destination, so only the type changes it). Returns false, touching nothing, unless the frame
 * is an IPv6 echo request without extension headers, to a unicast destination (a reply's source
 * must be unicast, §4.2) from a source that is neither unspecified nor multicast.
 */
export function turnEchoReply6(frame: Uint8Array, off = 0, end: number = frame.length): boolean {
  if (end - off < ETHERNET_HEADER_LEN || readU16(frame, off + 12) !== ETHERTYPE_IPV6) return false;
  const ip = echoIp;
  const l3 = off + ETHERNET_HEADER_LEN;
  if (!ip.check(frame, l3, end)) return false;
  if (ip.nextHeader !== PROTO_ICMPV6 || ip.payloadOff !== l3 + IPV6_HEADER_LEN) return false;
  if (ip.dst(0) >>> 24 === 0xff || ip.src(0) >>> 24 === 0xff) return false;
  if ((ip.src(0) | ip.src(1) | ip.src(2) | ip.src(3)) === 0) return false;
  const icmp = echoIcmp;
  if (!icmp.check(frame, ip.payloadOff, ip.packetEnd) || icmp.type !== ICMPV6_ECHO_REQUEST) {
    return false;
  }
  for (let i = off; i < off + 6; i++) {
    const b = frame[i]!;
    frame[i] = frame[i + 6]!;
    frame[i + 6] = b;
  }
  for (let i = 0; i < 4; i++) {
    const s = ip.src(i);
    ip.setSrc(i, ip.dst(i));
    ip.setDst(i, s);
  }
  ip.hopLimit = REPLY_HOP_LIMIT;
  icmp.rewriteTypeCode(ICMPV6_ECHO_REPLY, icmp.code);
  return true;
}
