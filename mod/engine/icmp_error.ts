/**
 * ICMP errors about a tracked flow (RFC 5508 §4.2 for NAT behaviour; Linux
 * `nf_nat_icmp_reply_translation`): destination unreachable and time exceeded quote the packet
 * that caused them, which is a packet we translated. The quote's reversed tuple finds the flow,
 * and both the quoted header and the outer header are translated back, so the error reaches
 * the endpoint that sent the original in terms it knows. ICMPv6 destination unreachable, packet
 * too big and time exceeded (RFC 4443 §3) are translated the same way.
 * @module
 */
import {
  ICMP_DEST_UNREACHABLE,
  ICMP_TIME_EXCEEDED,
  ICMPV6_DEST_UNREACHABLE,
  ICMPV6_PACKET_TOO_BIG,
  ICMPV6_TIME_EXCEEDED,
  internetChecksum,
  Ipv4Packet,
  Ipv6Packet,
  PROTO_ICMPV6,
  PROTO_TCP,
  PROTO_UDP,
  readU16,
  writeU16,
} from "../wire/mod.ts";
import type { EngineCtx } from "./context.ts";
import { DROP } from "./counters.ts";
import { deliver } from "./deliver.ts";
import { MF_NO_FLOW } from "./output.ts";
import type { Packet } from "./packet.ts";

/** The quoted packet inside the error (a scratch view: one error is handled at a time). */
const inner = new Ipv4Packet();

/** Translates and delivers an ICMP error of a tracked flow; other ICMP is counted and dropped. */
export function icmpError(p: Packet, ctx: EngineCtx): number {
  if (p.v6) return icmpv6Error(p, ctx);
  const icmp = p.icmp;
  if (icmp.type !== ICMP_DEST_UNREACHABLE && icmp.type !== ICMP_TIME_EXCEEDED) {
    return ctx.drop(DROP.icmp_unhandled);
  }
  // The quote is truncated (RFC 792: header + 8 bytes), so its total length is not trusted;
  // the ports must be there.
  const end = p.ipEnd;
  if (!inner.checkHeader(p.buf, icmp.embeddedOff, end)) return ctx.drop(DROP.bad_icmp);
  const l4 = inner.payloadOff;
  if (end - l4 < 4) return ctx.drop(DROP.bad_icmp);
  const proto = inner.protocol;
  if (proto !== PROTO_TCP && proto !== PROTO_UDP) return ctx.drop(DROP.icmp_unhandled);
  const sport = readU16(p.buf, l4), dport = readU16(p.buf, l4 + 2);
  // The quoted packet went src → dst; the error travels back toward its source.
  const ref = ctx.flows.lookup(proto, inner.dst, dport, inner.src, sport);
  if (ref < 0) return ctx.drop(DROP.no_flow);
  const f = ref >> 1;
  const reply = (ref & 1) === 1;
  const c = ctx.flows.c;
  // The quote's reversed tuple is the other direction of the quoted packet. `reply`: the quote
  // is a packet we sent to a backend, so the error goes to the client (its original sender),
  // naming the VIP; otherwise it is a packet we sent to the client, so the error goes to the
  // backend, naming the address the backend talks to (the client, or the SNAT address).
  const toIp = reply ? c.oSrc[f]! : c.rSrc[f]!;
  const toPort = reply ? c.oSport[f]! : c.rSport[f]!;
  const peerIp = reply ? c.oDst[f]! : c.rDst[f]!;
  const peerPort = reply ? c.oDport[f]! : c.rDport[f]!;
  const ip = p.ip;
  if (ip.ttl <= 1) return ctx.drop(DROP.ttl_exceeded);
  // The quote, as the original's sender sent it: from toIp:toPort to peerIp:peerPort.
  inner.src = toIp;
  inner.dst = peerIp;
  writeU16(p.buf, l4, toPort);
  writeU16(p.buf, l4 + 2, peerPort);
  inner.fillChecksum();
  // The outer header: from the address the sender talked to, toward the sender.
  ip.rewriteTtl(ip.ttl - 1);
  ip.rewriteSrc(peerIp);
  ip.rewriteDst(toIp);
  icmp.fillChecksum();
  ctx.flows.touch(f, ip.totalLength, p.now);
  p.flow = -1;
  return deliver(p, ctx, MF_NO_FLOW);
}

const inner6 = new Ipv6Packet();
const errHi = new Uint32Array(6);

/** {@link icmpError} for ICMPv6 (RFC 4443 §3.1-3.3; RFC 7915 has no part here: no NAT64). */
function icmpv6Error(p: Packet, ctx: EngineCtx): number {
  const icmp = p.icmp, t = icmp.type;
  if (t !== ICMPV6_DEST_UNREACHABLE && t !== ICMPV6_PACKET_TOO_BIG && t !== ICMPV6_TIME_EXCEEDED) {
    return ctx.drop(DROP.icmp_unhandled);
  }
  const buf = p.buf, end = p.ipEnd;
  // The quote is cut to fit 1280 bytes (RFC 4443 §2.4 (c)): its length is not trusted.
  if (!inner6.checkHeader(buf, icmp.embeddedOff, end) || !inner6.walkQuoted()) {
    return ctx.drop(DROP.bad_icmp);
  }
  const l4 = inner6.payloadOff;
  if (end - l4 < 4) return ctx.drop(DROP.bad_icmp);
  const proto = inner6.protocol;
  if (proto !== PROTO_TCP && proto !== PROTO_UDP) return ctx.drop(DROP.icmp_unhandled);
  const sport = readU16(buf, l4), dport = readU16(buf, l4 + 2);
  const hi = errHi;
  hi[0] = inner6.dst(0), hi[1] = inner6.dst(1), hi[2] = inner6.dst(2);
  hi[3] = inner6.src(0), hi[4] = inner6.src(1), hi[5] = inner6.src(2);
  const ft = ctx.flows;
  const ref = ft.lookup6(proto, inner6.dst(3), dport, inner6.src(3), sport, hi);
  if (ref < 0) return ctx.drop(DROP.no_flow);
  const f = ref >> 1, reply = (ref & 1) === 1, c = ft.c;
  const ip = p.ip6;
  if (ip.hopLimit <= 1) return ctx.drop(DROP.ttl_exceeded);
  // As for IPv4: the quote as its sender sent it (to → peer), and the outer header from peer
  // to the sender. `hiOf(f, !reply)` is the direction whose source is `to`.
  const th = ft.hiOf(f, !reply, hi);
  const to = reply ? c.oSrc[f]! : c.rSrc[f]!, peer = reply ? c.oDst[f]! : c.rDst[f]!;
  const toPort = reply ? c.oSport[f]! : c.rSport[f]!;
  const peerPort = reply ? c.oDport[f]! : c.rDport[f]!;
  for (let i = 0; i < 3; i++) {
    inner6.setSrc(i, th[i]!), inner6.setDst(i, th[3 + i]!);
    ip.setSrc(i, th[3 + i]!), ip.setDst(i, th[i]!);
  }
  inner6.setSrc(3, to), inner6.setDst(3, peer);
  ip.setSrc(3, peer), ip.setDst(3, to);
  writeU16(buf, l4, toPort);
  writeU16(buf, l4 + 2, peerPort);
  ip.hopLimit = ip.hopLimit - 1;
  // No header checksum in IPv6; the ICMPv6 checksum covers the new pseudo-header and quote.
  const at = ip.payloadOff;
  writeU16(buf, at + 2, 0);
  writeU16(buf, at + 2, internetChecksum(buf, at, end, ip.pseudoSum(end - at, PROTO_ICMPV6)));
  ft.touch(f, end - p.l3, p.now);
  p.flow = -1;
  return deliver(p, ctx, MF_NO_FLOW);
}
