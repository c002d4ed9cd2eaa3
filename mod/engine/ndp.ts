/**
 * Stage 2a for IPv6, neighbours: NDP (RFC 4861), as `arp.ts` is for IPv4. Learns neighbours
 * from solicitations and advertisements, answers solicitations for self addresses with the
 * unit's own MAC and for floating addresses with the virtual MAC, the latter only while
 * receiver (DESIGN.md "Losing a unit": one stray advertisement from a floating address moves it
 * in every neighbour's cache). Solicitations for next hops always come from the self address.
 * @module
 */
import {
  buildNeighborAdvert,
  buildUnsolicitedNeighborAdvert,
  NA_OVERRIDE,
  NA_ROUTER,
  NA_SOLICITED,
  NDP_NEIGHBOR_SOLICIT,
  NdpMessage,
  validNdp,
} from "../wire/mod.ts";
import type { EngineCtx } from "./context.ts";
import { DROP, EV } from "./counters.ts";
import { resolved } from "./deliver.ts";
import { V_REPLY } from "./output.ts";
import type { Packet } from "./packet.ts";
import { announce } from "./takeover.ts";

const msg = new NdpMessage();
/** Scratch addresses (four words): the target and the solicitation's source. */
const target = new Uint32Array(4);
const source = new Uint32Array(4);
const targetHi = new Uint32Array(3);
const sourceHi = new Uint32Array(3);

/** Handles a neighbour solicitation or advertisement (`K_NDP`). */
export function ndp(p: Packet, ctx: EngineCtx): number {
  const ip = p.ip6;
  if (!msg.check(p.buf, ip.payloadOff, ip.packetEnd) || !validNdp(ip, msg)) {
    return ctx.drop(DROP.bad_ndp);
  }
  for (let i = 0; i < 4; i++) target[i] = msg.target(i), source[i] = ip.src(i);
  targetHi.set(target.subarray(0, 3));
  sourceHi.set(source.subarray(0, 3));
  const iface = p.ingress, me = ctx.cfg.interfaces[iface]!;
  const forSelf = ctx.self6Iface(target) === iface;
  const forFloating = ctx.roles.receiver && ctx.floatingOn(target[3]!, iface, targetHi);
  const nb = ctx.neighbors[iface]!;
  if (msg.type === NDP_NEIGHBOR_SOLICIT) {
    const unspecified = (source[0]! | source[1]! | source[2]! | source[3]!) === 0;
    // §7.2.3: a solicitation with a source link-layer address creates or updates the sender's
    // entry when we are its target, and updates a known one otherwise.
    if (
      !unspecified && msg.sourceLlOff >= 0 &&
      (forSelf || forFloating || nb.has(source[3]!, sourceHi))
    ) {
      resolved(ctx, iface, source[3]!, p.buf, msg.sourceLlOff, p.now, sourceHi, 0);
    }
    if (!forSelf && !forFloating) return ctx.drop(DROP.not_for_us);
    // §7.2.4: solicited, override, and router (the unit forwards for the backends); to the
    // solicitation's source, or to all nodes when it came from the unspecified address (DAD).
    const mac = forSelf ? me.mac : ctx.cfg.virtualMacs[iface]!;
    const dstMac = p.buf.slice(p.off + 6, p.off + 12);
    const n = unspecified
      ? buildUnsolicitedNeighborAdvert(ctx.scratch, mac, target, target, true)
      : buildNeighborAdvert(
        ctx.scratch,
        mac,
        dstMac,
        target,
        source,
        target,
        NA_ROUTER | NA_SOLICITED | NA_OVERRIDE,
      );
    ctx.emitScratch(iface, n);
    ctx.counters.add(EV.ndp_advertisements);
    // As for ARP: a solo unit claims on every segment at once (see `arp.ts`).
    if (forFloating && !ctx.roles.mirror) announce(ctx);
    return V_REPLY;
  }
  // An advertisement: §7.2.5 updates an entry we have (an unsolicited one included, which is
  // how a takeover moves an address); one for an address we never asked about is ignored.
  const ll = msg.targetLlOff >= 0 ? msg.targetLlOff : p.off + 6;
  if (nb.known(target[3]!, targetHi) || (msg.solicited && p.toSelf)) {
    resolved(ctx, iface, target[3]!, p.buf, ll, p.now, targetHi, 0);
  }
  return V_REPLY;
}
