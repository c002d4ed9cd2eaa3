/**
 * Stage 2a, neighbours: ARP (RFC 826). Learns senders, answers for self addresses with the
 * unit's own MAC and for floating addresses with the virtual MAC, only while receiver: one
 * stray ARP from a floating address moves it in every neighbour's cache (DESIGN.md).
 * @module
 */
import { ARP_REPLY, ARP_REQUEST, buildArpFrame } from "../wire/mod.ts";
import type { EngineCtx } from "./context.ts";
import { DROP, EV } from "./counters.ts";
import { resolved } from "./deliver.ts";
import { V_REPLY } from "./output.ts";
import type { Packet } from "./packet.ts";
import { announce } from "./takeover.ts";

/** Handles a checked ARP packet. */
export function arp(p: Packet, ctx: EngineCtx): number {
  const a = p.arp;
  const iface = ctx.cfg.interfaces[p.ingress]!;
  const spa = a.spa, tpa = a.tpa;
  const forSelf = tpa === iface.ip;
  const forFloating = ctx.roles.receiver && ctx.floatingOn(tpa, p.ingress);
  if (spa !== 0 && ctx.arpWatch !== null) ctx.arpWatch.heard(p.ingress, spa, p.now);
  // RFC 826: update the sender's entry if we have one; add it when we are the target.
  if (spa !== 0 && (forSelf || forFloating || ctx.neighbors[p.ingress]!.has(spa))) {
    resolved(ctx, p.ingress, spa, a.buf, a.shaOff, p.now);
  }
  // A gratuitous ARP (sender = target, RFC 5227 §3) announces; it asks nothing. Answering one
  // would have two solo units answer each other's announcements forever.
  if (a.op === ARP_REQUEST && spa !== tpa && (forSelf || forFloating)) {
    const mac = forSelf ? iface.mac : ctx.cfg.virtualMacs[p.ingress]!;
    const sha = p.buf.slice(a.shaOff, a.shaOff + 6);
    ctx.emitScratch(p.ingress, buildArpFrame(ctx.scratch, ARP_REPLY, mac, tpa, sha, spa, sha));
    ctx.counters.add(EV.arp_replies);
    // Without a peer (solo: perhaps a split, where the other unit answers too), a claim on one
    // segment is made on all: switches then send both directions of a flow to the same unit.
    // Otherwise the client's side could learn one unit and the servers' side the other, and a
    // connection opened during the split would lose every SYN-ACK until the link heals.
    if (forFloating && !ctx.roles.mirror) announce(ctx);
    return V_REPLY;
  }
  return a.op === ARP_REPLY || forSelf || forFloating ? V_REPLY : ctx.drop(DROP.not_for_us);
}
