/**
 * Stage 3, conntrack: finds the flow a TCP or UDP packet belongs to, creates it for the first
 * packet to a service, and advances its state (nf_conntrack's job). A packet of no flow is
 * refused when it is for a floating address and dropped otherwise; only a SYN opens a TCP flow,
 * unless the service allows mid-stream pickup.
 * @module
 */
import {
  ST_TCP_CLOSE,
  ST_TCP_ESTABLISHED,
  ST_TCP_SYN_SENT,
  ST_TCP_TIME_WAIT,
  ST_UDP_NEW,
  ST_UDP_STREAM,
  TB_FIN_ORIG,
  TB_FIN_REPLY,
} from "../flow/states.ts";
import { nextTcpState, opensTcpFlow } from "../flow/tcp_state.ts";
import {
  buildIcmpError,
  buildIcmpv6Error,
  ICMP_CODE_TTL_EXCEEDED,
  ICMP_TIME_EXCEEDED,
  ICMPV6_CODE_HOP_LIMIT,
  ICMPV6_TIME_EXCEEDED,
  TCP_FIN,
  TCP_RST,
  TCP_SYN,
} from "../wire/mod.ts";
import type { EngineCtx } from "./context.ts";
import { DROP, EV } from "./counters.ts";
import { decideNewFlow } from "./decide.ts";
import { rememberBackend } from "./persist.ts";
import { refuse } from "./local.ts";
import { noFlow } from "./split.ts";
import { NEXT, V_DROP } from "./output.ts";
import { K_TCP, type Packet } from "./packet.ts";

/** Sets `p.flow` and `p.reply`; returns NEXT, or a drop verdict. */
export function conntrack(p: Packet, ctx: EngineCtx): number {
  const ft = ctx.flows;
  const proto = p.proto, hi = p.hi;
  const tcp = p.kind === K_TCP;
  // The SYN proxy stage looked the tuple up already (nothing changed the table since).
  let ref = p.ref !== -2
    ? p.ref
    : p.v6
    ? ft.lookupWords(proto, p.src6, p.sport, p.dst6, p.dport)
    : ft.lookup(proto, p.ip.src, p.sport, p.ip.dst, p.dport);
  if (ref < 0) {
    const src = p.src, dst = p.dst;
    const svc = ctx.serviceFor(proto, dst, p.dport, hi, 3);
    if (svc < 0) {
      if (p.toFloating) return refuse(p, ctx, DROP.no_service);
      return noFlow(p, ctx, tcp ? DROP.tcp_no_flow : DROP.no_flow);
    }
    // Only a SYN opens a TCP flow; anything else without state is not ours to guess, unless
    // the service allows mid-stream pickup (its decisions follow from the tuple alone).
    let pickup = false;
    if (tcp && !opensTcpFlow(p.tcpFlags)) {
      if (!ctx.cfg.services[svc]!.pickup || (p.tcpFlags & (TCP_RST | TCP_SYN)) !== 0) {
        return noFlow(p, ctx, DROP.tcp_no_flow);
      }
      pickup = true;
    }
    // No backend up (health checks, drain, maintenance): refused, so the client learns at once.
    if (ctx.pools[svc]!.upCount === 0) return refuse(p, ctx, DROP.no_backend_up);
    if (!decideNewFlow(ctx, svc, proto, src, p.sport, dst, p.dport, p.now, hi)) return V_DROP;
    if (pickup) ft.c.state[ft.stage] = ST_TCP_ESTABLISHED;
    const f = ft.add(ft.stage);
    if (f < 0) return ctx.drop(DROP.flow_table_full);
    ctx.counters.add(EV.flows_created);
    rememberBackend(ctx, f, p.now);
    if (pickup) ctx.counters.add(EV.flows_picked_up);
    ref = f * 2;
    p.created = true;
  }
  const f = ref >> 1;
  const reply = (ref & 1) === 1;
  if (p.ttl <= 1) return ttlExceeded(p, ctx, f);
  p.flow = f;
  p.reply = reply;
  const c = ft.c;
  if (tcp) {
    // The receiver tracks state; the mirror record carries the result.
    let bits = c.tcpBits[f]!;
    if (p.tcpFlags & TCP_FIN) bits |= reply ? TB_FIN_REPLY : TB_FIN_ORIG;
    const prev = c.state[f]!;
    const next = nextTcpState(prev, reply, p.tcpFlags, bits);
    // A closed tuple reopened by a new SYN starts over.
    if ((prev === ST_TCP_TIME_WAIT || prev === ST_TCP_CLOSE) && next === ST_TCP_SYN_SENT) {
      bits &= ~(TB_FIN_ORIG | TB_FIN_REPLY);
    }
    c.tcpBits[f] = bits;
    ft.setState(f, next);
  } else if (reply && c.state[f] === ST_UDP_NEW) {
    ft.setState(f, ST_UDP_STREAM);
  }
  ft.touch(f, p.ipEnd - p.l3, p.now);
  return NEXT;
}

/**
 * RFC 1812 §5.3.1: a router that would forward a packet with TTL ≤ 1 drops it and sends time
 * exceeded, from its self address. A flow this packet just created goes with it.
 */
function ttlExceeded(p: Packet, ctx: EngineCtx, f: number): number {
  const iface = ctx.cfg.interfaces[p.ingress]!;
  const n = p.v6 ? timeExceeded6(p, ctx) : buildIcmpError(
    ctx.scratch,
    iface.mac,
    p.buf.slice(p.off + 6, p.off + 12),
    iface.ip,
    p.ip.src,
    ICMP_TIME_EXCEEDED,
    ICMP_CODE_TTL_EXCEEDED,
    p.buf,
    0,
    p.l3,
    p.ipEnd,
  );
  if (n > 0) {
    ctx.emitScratch(p.ingress, n);
    ctx.counters.add(EV.icmp_errors_sent);
  }
  if (p.created) ctx.flows.remove(f);
  return ctx.drop(DROP.ttl_exceeded);
}

/** RFC 4443 §3.3: hop limit exceeded in transit, from the ingress interface's IPv6 self. */
function timeExceeded6(p: Packet, ctx: EngineCtx): number {
  const iface = ctx.cfg.interfaces[p.ingress]!;
  if (iface.ip6 === undefined) return 0;
  const src = p.src6, ip = p.ip6;
  for (let i = 0; i < 4; i++) src[i] = ip.src(i);
  return buildIcmpv6Error(
    ctx.scratch,
    iface.mac,
    p.buf.slice(p.off + 6, p.off + 12),
    iface.ip6,
    src,
    ICMPV6_TIME_EXCEEDED,
    ICMPV6_CODE_HOP_LIMIT,
    p.buf,
    0,
    p.l3,
    p.ipEnd,
  );
}
