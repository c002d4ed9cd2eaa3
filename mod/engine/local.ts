/**
 * Stage 2b, local: packets for the unit's own addresses. ICMP echo to a self address, or to a
 * floating one while receiver, is answered (RFC 792, RFC 4443 §4.2 for ICMPv6); anything else
 * to a self address is refused with a TCP RST (RFC 9293 §3.10.7.1) or ICMP port unreachable
 * (RFC 1122 §4.1.3.1; RFC 4443 §3.1 code 4).
 * Answers to the unit's own backend health checks go to `health.ts`.
 * Only the receiver handles data packets from the network at all: every other unit learns
 * them from the receiver's mirror records (determinism rule).
 * @module
 */
import {
  buildIcmpError,
  buildIcmpv6Error,
  buildTcpRst,
  buildTcpRst6,
  ICMP_CODE_PORT_UNREACHABLE,
  ICMP_DEST_UNREACHABLE,
  ICMP_ECHO_REQUEST,
  ICMPV6_CODE_PORT_UNREACHABLE,
  ICMPV6_DEST_UNREACHABLE,
  ICMPV6_ECHO_REQUEST,
  turnEchoReply,
  turnEchoReply6,
} from "../wire/mod.ts";
import { copyMac } from "../wire/ethernet.ts";
import type { EngineCtx } from "./context.ts";
import { DROP, EV } from "./counters.ts";
import { NEXT, V_DROP, V_LOCAL, V_REPLY } from "./output.ts";
import { K_ICMP, K_TCP, K_UDP, type Packet } from "./packet.ts";

/** Answers or refuses packets to our addresses; NEXT for everything else. */
export function local(p: Packet, ctx: EngineCtx): number {
  if (p.toSelf) {
    if (p.kind === K_ICMP) {
      return isEcho(p)
        ? echoReply(p, ctx, ctx.cfg.interfaces[p.ingress]!.mac)
        : ctx.drop(DROP.icmp_unhandled);
    }
    if (p.kind === K_TCP && ctx.health.reply(p, ctx)) return V_LOCAL;
    return refuse(p, ctx, DROP.local_unhandled);
  }
  // Data packets from the network are the receiver's alone.
  if (!ctx.roles.receiver) return ctx.drop(DROP.not_receiver);
  if (p.toFloating && p.kind === K_ICMP && isEcho(p)) {
    return echoReply(p, ctx, ctx.cfg.virtualMacs[p.ingress]!);
  }
  return NEXT;
}

/** RFC 792: swap addresses, type 0; the reply goes back to the sender's MAC from `mac`. */
function echoReply(p: Packet, ctx: EngineCtx, mac: Uint8Array): number {
  const end = p.ipEnd;
  if (!(p.v6 ? turnEchoReply6(p.buf, p.off, end) : turnEchoReply(p.buf, p.off, end))) {
    return ctx.drop(DROP.icmp_unhandled);
  }
  copyMac(mac, p.buf, p.off + 6);
  ctx.emit(p.ingress, p.buf, p.off, end, null);
  ctx.counters.add(EV.icmp_echo_replies);
  return V_REPLY;
}

/**
 * Answers a packet nobody serves, counted under `reason`: TCP RST (RFC 9293 §3.10.7.1) or ICMP
 * port unreachable for UDP (RFC 1122 §4.1.3.1); anything else is only counted.
 */
export function refuse(p: Packet, ctx: EngineCtx, reason: number): number {
  ctx.counters.drop(reason);
  if (p.v6) return refuse6(p, ctx);
  const srcMac = ctx.macFor(p.ip.dst, p.ingress);
  const dstMac = p.buf.slice(p.off + 6, p.off + 12);
  if (p.kind === K_TCP) {
    const n = buildTcpRst(ctx.scratch, srcMac, dstMac, p.buf, p.l3, p.ipEnd);
    if (n > 0) {
      ctx.emitScratch(p.ingress, n);
      ctx.counters.add(EV.tcp_rst_sent);
    }
  } else if (p.kind === K_UDP) {
    const n = buildIcmpError(
      ctx.scratch,
      srcMac,
      dstMac,
      p.ip.dst,
      p.ip.src,
      ICMP_DEST_UNREACHABLE,
      ICMP_CODE_PORT_UNREACHABLE,
      p.buf,
      0,
      p.l3,
      p.ipEnd,
    );
    if (n > 0) {
      ctx.emitScratch(p.ingress, n);
      ctx.counters.add(EV.icmp_errors_sent);
    }
  }
  return V_DROP;
}

function isEcho(p: Packet): boolean {
  return p.icmp.type === (p.v6 ? ICMPV6_ECHO_REQUEST : ICMP_ECHO_REQUEST);
}

/** {@link refuse} for IPv6: RST, or ICMPv6 port unreachable (RFC 4443 §3.1 code 4). */
function refuse6(p: Packet, ctx: EngineCtx): number {
  const ip = p.ip6, dst = p.dst6;
  for (let i = 0; i < 4; i++) dst[i] = ip.dst(i);
  const srcMac = ctx.macFor(dst[3]!, p.ingress, p.hi, 3);
  const dstMac = p.buf.slice(p.off + 6, p.off + 12);
  if (p.kind === K_TCP) {
    const n = buildTcpRst6(ctx.scratch, srcMac, dstMac, p.buf, p.l3, p.ipEnd);
    if (n > 0) {
      ctx.emitScratch(p.ingress, n);
      ctx.counters.add(EV.tcp_rst_sent);
    }
  } else if (p.kind === K_UDP) {
    const src = p.src6;
    for (let i = 0; i < 4; i++) src[i] = ip.src(i);
    const n = buildIcmpv6Error(
      ctx.scratch,
      srcMac,
      dstMac,
      dst,
      src,
      ICMPV6_DEST_UNREACHABLE,
      ICMPV6_CODE_PORT_UNREACHABLE,
      p.buf,
      0,
      p.l3,
      p.ipEnd,
    );
    if (n > 0) {
      ctx.emitScratch(p.ingress, n);
      ctx.counters.add(EV.icmp_errors_sent);
    }
  }
  return V_DROP;
}
