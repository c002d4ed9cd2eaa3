/**
 * ICMP errors about a tracked flow (RFC 5508 §4.2 for NAT behaviour; Linux
 * `nf_nat_icmp_reply_translation`): destination unreachable and time exceeded quote the packet
 * that caused them, which is a packet we translated. The quote's reversed tuple finds the flow,
 * and both the quoted header and the outer header are translated back, so the error reaches
 * the endpoint that sent the original in terms it knows.
 * @module
 */
import {
  ICMP_DEST_UNREACHABLE,
  ICMP_TIME_EXCEEDED,
  Ipv4Packet,
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
