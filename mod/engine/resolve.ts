/**
 * Asking for a next hop's MAC: an ARP request (RFC 826) for IPv4, a neighbour solicitation
 * (RFC 4861 §7.2.2) for IPv6. Both come from the interface's self address: only the receiver
 * may speak for a floating address (DESIGN.md "Losing a unit"). The answers are the `arp` and
 * `ndp` stages' to learn.
 * @module
 */
import { ARP_REQUEST, BROADCAST_MAC, buildArpFrame, buildNeighborSolicit } from "../wire/mod.ts";
import type { EngineCtx } from "./context.ts";
import { EV } from "./counters.ts";

const ZERO_MAC = new Uint8Array(6);
/** Scratch: the solicited target's four words. */
const target = new Uint32Array(4);

/**
 * Asks for a next hop's MAC: ARP for IPv4, a neighbour solicitation for IPv6 (`hi[at..]` not
 * all zero; RFC 4861 §7.2.2).
 */
export function resolve(
  ctx: EngineCtx,
  iface: number,
  ip: number,
  hi: Uint32Array,
  at: number,
): void {
  if ((hi[at]! | hi[at + 1]! | hi[at + 2]!) === 0) arpRequest(ctx, iface, ip);
  else solicit(ctx, iface, ip, hi, at);
}

/**
 * Asks who has `target` on `iface`. Requests always come from the self address: only the
 * receiver may speak for a floating address (DESIGN.md "Losing a unit").
 */
export function arpRequest(ctx: EngineCtx, iface: number, target: number): void {
  const me = ctx.cfg.interfaces[iface]!;
  ctx.emitScratch(
    iface,
    buildArpFrame(ctx.scratch, ARP_REQUEST, me.mac, me.ip, ZERO_MAC, target, BROADCAST_MAC),
  );
  ctx.counters.add(EV.arp_requests);
}

/**
 * Asks for the MAC of the IPv6 address (`ip`, `hi[at..]`) on `iface` (RFC 4861 §7.2.2), from
 * the interface's self address: only the receiver may speak for a floating one. Counted as
 * unresolvable when the interface has no IPv6 address.
 */
export function solicit(
  ctx: EngineCtx,
  iface: number,
  ip: number,
  hi: Uint32Array,
  at: number,
): void {
  const me = ctx.cfg.interfaces[iface]!;
  if (me.ip6 === undefined) return;
  target[0] = hi[at]!, target[1] = hi[at + 1]!, target[2] = hi[at + 2]!, target[3] = ip;
  ctx.emitScratch(iface, buildNeighborSolicit(ctx.scratch, me.mac, me.ip6, target));
  ctx.counters.add(EV.ndp_solicitations);
}
