/**
 * A frame of a flow this unit does not know, while it is alone after losing the peer link.
 *
 * In a split brain both units are alive and both own the floating addresses; the switches send
 * each frame to whichever announced or sent last. A flow whose SYN reached the active in the
 * instant of the cut is known to it alone (the mirror record died on the link), and once the
 * standby announces, that flow's frames reach the standby, which could only drop them: the
 * connection would stall until the heal, then until its endpoints' next retransmission
 * (up to twice the split). Instead the frame goes on over the LAN to the peer's own MAC, where
 * the unit that holds the flow forwards it. A frame that came to our own MAC is never sent on
 * (it was bounced to us already), so a frame crosses at most once; one neither unit knows is
 * dropped by the second. If the peer is really dead, the frame is lost, as it would have been.
 * @module
 */

import type { EngineCtx } from "./context.ts";
import { EV } from "./counters.ts";
import { V_BOUNCE } from "./output.ts";
import type { Packet } from "./packet.ts";

/** Sends `p` to the peer's own MAC on its ingress interface, or drops it as `reason`. */
export function noFlow(p: Packet, ctx: EngineCtx, reason: number): number {
  const peer = ctx.peerMacs[p.ingress];
  if (!ctx.roles.bounce || !p.viaVirtual || !peer) return ctx.drop(reason);
  const b = p.buf, at = p.off;
  // Ethernet destination, then source: our own MAC, so the switches learn nothing about the
  // floating one from this frame.
  b.set(peer, at);
  b.set(ctx.cfg.interfaces[p.ingress]!.mac, at + 6);
  ctx.emit(p.ingress, b, at, p.end, p.vnet);
  ctx.counters.add(EV.split_bounced);
  return V_BOUNCE;
}
