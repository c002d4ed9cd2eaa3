/**
 * Stage 3b, evict: a flow whose backend went down or left the config, where the service asks
 * for it (`on_backend_down: reset`, IPVS `expire_nodest_conn`), or whose service a reload
 * removed with `on_service_removed: reset`, ends at its next packet: the sender gets a TCP
 * RST (RFC 9293 §3.10.7.1), the flow is removed (and the peer told), the packet dropped. A UDP
 * flow just ends, so the client's next datagram opens a flow to a live backend. Only the
 * receiver gets here: ending a flow is a decision.
 * @module
 */
import { H_DOWN, NO_BACKEND } from "./backends.ts";
import type { EngineCtx } from "./context.ts";
import { DROP, EV } from "./counters.ts";
import { refuse } from "./local.ts";
import { NEXT } from "./output.ts";
import type { Packet } from "./packet.ts";

/** NEXT, or the drop verdict after ending the packet's flow. */
export function evict(p: Packet, ctx: EngineCtx): number {
  if (p.created) return NEXT;
  const f = p.flow, c = ctx.flows.c;
  const s = ctx.cfg.services[c.service[f]!];
  if (s === undefined) return NEXT;
  if (s.retired === true) {
    if (ctx.cfg.resetRemoved !== true) return NEXT;
  } else {
    if (s.resetOnDown !== true) return NEXT;
    const b = c.backend[f]!;
    if (
      b !== NO_BACKEND && b < s.backends.length && ctx.pools[c.service[f]!]!.health[b] !== H_DOWN
    ) {
      return NEXT;
    }
  }
  ctx.counters.add(EV.flows_expired);
  if (ctx.roles.mirror) ctx.out.expire(ctx.flows, f);
  ctx.flows.remove(f);
  return refuse(p, ctx, DROP.flow_reset_backend_gone);
}
