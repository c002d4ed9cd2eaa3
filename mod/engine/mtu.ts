/**
 * Stage 3c, MTU: a tracked packet that would leave bigger than its egress interface's MTU.
 * With DF set, the unit answers "fragmentation needed" (ICMP type 3 code 4) with the next-hop
 * MTU in the low 16 bits of the header's rest (RFC 1191 §4, RFC 1812 §5.2.7.1), from its self
 * address on the interface the packet came in by, quoting the packet as its sender sent it
 * (the check runs before the NAT, so the sender can match the quote to its socket). Without
 * DF the unit does not fragment (RFC 791 would allow it): the packet is dropped, counted as
 * `too_big` like the DF case, and its sender's retransmission or PMTU discovery must cope.
 *
 * IPv6 routers never fragment (RFC 8200 §5): every IPv6 packet too big for its egress gets
 * Packet Too Big (RFC 4443 §3.2) with the egress MTU, from the ingress interface's IPv6 self.
 *
 * GSO frames from a TAP with offload (virtio_net_hdr `gso_type` ≠ none) are exempt: they are
 * many segments in one and the kernel cuts them to size on output.
 * @module
 */
import {
  buildIcmpError,
  buildIcmpv6Error,
  ICMP_CODE_FRAG_NEEDED,
  ICMP_DEST_UNREACHABLE,
  ICMPV6_PACKET_TOO_BIG,
} from "../wire/mod.ts";
import type { EngineCtx } from "./context.ts";
import { DROP, EV } from "./counters.ts";
import { NEXT } from "./output.ts";
import type { Packet } from "./packet.ts";

/** Byte of the virtio_net_hdr holding `gso_type` (0 = VIRTIO_NET_HDR_GSO_NONE). */
const VNET_GSO_TYPE = 1;

/** NEXT when `p` (of flow `p.flow`, not yet translated) fits its egress; else a drop. */
export function mtu(p: Packet, ctx: EngineCtx): number {
  const len = p.ipEnd - p.l3;
  if (len <= ctx.minMtu || p.vnet[VNET_GSO_TYPE] !== 0) return NEXT;
  const ft = ctx.flows, c = ft.c, f = p.flow;
  // Where the translated packet goes: the reply direction to the client, the original to the
  // backend (the same route `deliver` takes; it counts a missing one).
  const hi = ft.hiOf(f, !p.reply, routeHi);
  const egress = ctx.route(p.reply ? c.oSrc[f]! : c.rSrc[f]!, hi, 0);
  if (egress < 0) return NEXT;
  const max = ctx.mtus[egress]!;
  if (len <= max) return NEXT;
  if (p.v6) packetTooBig(p, ctx, max);
  else if (p.ip.dontFragment) {
    const ip = p.ip;
    const iface = ctx.cfg.interfaces[p.ingress]!;
    const n = buildIcmpError(
      ctx.scratch,
      iface.mac,
      p.buf.subarray(p.off + 6, p.off + 12),
      iface.ip,
      ip.src,
      ICMP_DEST_UNREACHABLE,
      ICMP_CODE_FRAG_NEEDED,
      p.buf,
      max,
      p.l3,
      p.ipEnd,
    );
    if (n > 0) {
      ctx.emitScratch(p.ingress, n);
      ctx.counters.add(EV.icmp_errors_sent);
      ctx.counters.add(EV.frag_needed_sent);
    }
  }
  // The peer has not heard of a flow this packet created: it goes with the packet.
  if (p.created) ctx.flows.remove(f);
  return ctx.drop(DROP.too_big);
}

const routeHi = new Uint32Array(6);

/** RFC 4443 §3.2: Packet Too Big with the egress MTU, quoting the packet as it came. */
function packetTooBig(p: Packet, ctx: EngineCtx, max: number): void {
  const iface = ctx.cfg.interfaces[p.ingress]!;
  if (iface.ip6 === undefined) return;
  const src = p.src6, ip = p.ip6;
  for (let i = 0; i < 4; i++) src[i] = ip.src(i);
  const n = buildIcmpv6Error(
    ctx.scratch,
    iface.mac,
    p.buf.subarray(p.off + 6, p.off + 12),
    iface.ip6,
    src,
    ICMPV6_PACKET_TOO_BIG,
    0,
    p.buf,
    max,
    p.l3,
    p.ipEnd,
  );
  if (n > 0) {
    ctx.emitScratch(p.ingress, n);
    ctx.counters.add(EV.icmp_errors_sent);
    ctx.counters.add(EV.frag_needed_sent);
  }
}
