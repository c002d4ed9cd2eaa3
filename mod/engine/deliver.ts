/**
 * Stage 5, deliver: routes a translated packet to its egress interface and next hop, then
 * applies the rule of who emits (DESIGN.md "Roles and the three topologies"):
 * - forwarder with a peer: emit, and mirror asynchronously (`active-forward`, claims 25-27);
 *   a new flow's record is sent before its first packet, and with `hold_new_flows` that packet
 *   waits for the peer's ack; the record carries only the frame's headers (`MF_HEADERS`,
 *   `mirror_payload: headers`), since the peer only keeps state from it;
 * - forwarder alone (solo): emit;
 * - receiver that is not the forwarder: mirror with `MF_PEER_EMITS`, emit nothing
 *   (`standby-forward`, `standby-first`, claims 19-24): nothing leaves before both units have it.
 * A packet whose next hop is unresolved waits in the neighbour queue while ARP (or NDP for
 * IPv6) asks.
 * @module
 */
import {
  ETHERNET_HEADER_LEN,
  ETHERTYPE_IPV4,
  ETHERTYPE_IPV6,
  Ipv4Packet,
  Ipv6Packet,
  PROTO_TCP,
  PROTO_UDP,
  readU16,
  TcpSegment,
  UDP_HEADER_LEN,
} from "../wire/mod.ts";
import { copyMac } from "../wire/ethernet.ts";
import { resolve } from "./resolve.ts";
import type { EngineCtx } from "./context.ts";
import { DROP, EV } from "./counters.ts";
import {
  MF_HEADERS,
  MF_NEW_FLOW,
  MF_NO_FLOW,
  MF_PEER_EMITS,
  MF_WANT_ACK,
  V_FORWARD,
  V_MIRROR,
  V_QUEUED,
} from "./output.ts";
import type { Packet } from "./packet.ts";

/** Delivers the translated packet `p` of flow `p.flow` (or of none, -1). */
export function deliver(p: Packet, ctx: EngineCtx, flags = 0): number {
  // The translated destination: IPv4, or IPv6 with its high words read back from the header.
  const hi = p.hi, d6 = p.dst6;
  let dst: number;
  if (p.v6) {
    p.ip6.copyDst(d6);
    hi[3] = d6[0]!, hi[4] = d6[1]!, hi[5] = d6[2]!;
    dst = d6[3]!;
  } else dst = p.ip.dst;
  const egress = p.v6 ? ctx.route6(d6) : ctx.route(dst);
  if (egress < 0) return ctx.drop(DROP.no_route);
  p.egress = egress;
  const end = p.ipEnd;
  copyMac(ctx.cfg.interfaces[egress]!.mac, p.buf, p.off + 6);
  if (p.created) flags |= MF_NEW_FLOW;
  const nb = ctx.neighbors[egress]!;
  const mac = p.v6 ? nb.lookup6(d6) : nb.lookup(dst);
  if (!mac) {
    const q = ctx.neighbors[egress]!.enqueue(
      dst,
      {
        frame: p.buf.slice(p.off, end),
        vnet: p.vnet.slice(),
        flow: p.flow,
        flags,
        ingress: p.ingress,
        time: p.now,
      },
      p.now,
      hi,
      3,
    );
    if (q < 0) return ctx.drop(DROP.arp_queue_full);
    if (q > 0) resolve(ctx, egress, dst, hi, 3);
    return V_QUEUED;
  }
  return send(ctx, egress, p.buf, p.off, end, p.vnet, mac, p.flow, flags, p.ingress, p.now);
}

/** The last step: set the next hop's MAC, then emit and/or mirror by role. */
export function send(
  ctx: EngineCtx,
  egress: number,
  buf: Uint8Array,
  off: number,
  end: number,
  vnet: Uint8Array,
  mac: Uint8Array,
  flow: number,
  flags: number,
  ingress: number,
  time: number,
): number {
  copyMac(mac, buf, off);
  const roles = ctx.roles;
  if (roles.forwarder) {
    if (roles.mirror) {
      const hold = roles.holdNewFlows && (flags & MF_NEW_FLOW) !== 0;
      if (hold) flags |= MF_WANT_ACK;
      // The peer only keeps state from this record (it never emits it, and takeover replays
      // only MF_PEER_EMITS frames): the headers are enough, the payload would only cost the
      // peer link. Frames without a flow (translated ICMP errors) go whole.
      let recEnd = end;
      if (ctx.cfg.mirrorPayload !== "full" && flow >= 0 && (flags & MF_NO_FLOW) === 0) {
        recEnd = headersEnd(buf, off, end);
        if (recEnd < end) {
          flags |= MF_HEADERS;
          ctx.counters.add(EV.mirror_headers_only);
        }
      }
      const mseq = mirror(
        ctx,
        flags,
        egress,
        buf,
        off,
        recEnd,
        vnet,
        mac,
        flow,
        ingress,
        time,
      );
      if (hold) {
        ctx.counters.add(EV.held_new_flows);
        ctx.out.hold(egress, buf, off, end, vnet, mseq);
        // The held copy is the whole frame: only the record was cut.
        return V_FORWARD;
      }
      // Write-ahead for a new flow: its record is in the kernel before its first frame leaves.
      // A forwarder killed after emitting still cannot take the flow's existence (and its NAT
      // decisions) with it; without this, a handshake finished inside one batching turn leaves a
      // client established with a flow the survivor never heard of, whose segments it drops.
      // Later records may still die with the unit: the flow's state is then only behind.
      if (flags & MF_NEW_FLOW) ctx.out.flush();
    }
    ctx.emit(egress, buf, off, end, vnet);
    ctx.counters.add(EV.forwarded);
    return V_FORWARD;
  }
  // The receiver alone, with the forwarder gone: nobody may emit (the pair goes solo next).
  if (!roles.mirror) return ctx.drop(DROP.no_forwarder);
  mirror(ctx, flags | MF_PEER_EMITS, egress, buf, off, end, vnet, mac, flow, ingress, time);
  return V_MIRROR;
}

const cut4 = new Ipv4Packet();
const cut6 = new Ipv6Packet();
const cutTcp = new TcpSegment();

/**
 * Where a header-only copy of the frame `buf[off, end)` ends: after its TCP header (data offset
 * × 4, options included) or its UDP header. `end` when there is nothing to cut or it cannot be
 * cut safely: another protocol, a fragment (a later one has no L4 header, and the peer follows
 * fragments by their lengths), or headers that do not add up.
 */
export function headersEnd(buf: Uint8Array, off: number, end: number): number {
  if (end - off < ETHERNET_HEADER_LEN) return end;
  const type = readU16(buf, off + 12), l3 = off + ETHERNET_HEADER_LEN;
  let proto: number, l4: number;
  if (type === ETHERTYPE_IPV4) {
    if (!cut4.check(buf, l3, end) || cut4.isFragment) return end;
    proto = cut4.protocol;
    l4 = cut4.payloadOff;
  } else if (type === ETHERTYPE_IPV6) {
    // Any Fragment header, even an atomic fragment's, goes whole.
    if (!cut6.check(buf, l3, end) || cut6.fragOff >= 0) return end;
    proto = cut6.protocol;
    l4 = cut6.payloadOff;
  } else return end;
  let cut: number;
  if (proto === PROTO_TCP) {
    if (!cutTcp.check(buf, l4, end)) return end;
    cut = l4 + cutTcp.headerLen;
  } else if (proto === PROTO_UDP) cut = l4 + UDP_HEADER_LEN;
  else return end;
  return cut < end ? cut : end;
}

function mirror(
  ctx: EngineCtx,
  flags: number,
  egress: number,
  buf: Uint8Array,
  off: number,
  end: number,
  vnet: Uint8Array,
  mac: Uint8Array,
  flow: number,
  ingress: number,
  time: number,
): number {
  const rec = ctx.rec;
  rec.flags = flags;
  rec.time = time;
  rec.ingress = ingress;
  rec.egress = egress;
  copyMac(mac, rec.nextHop, 0);
  rec.flow = flow;
  rec.frame = buf;
  rec.frameOff = off;
  rec.frameEnd = end;
  rec.vnet.set(vnet);
  ctx.counters.add(EV.mirror_out);
  return ctx.out.mirror(rec);
}

/**
 * The neighbour `ip` on `iface` is at the MAC in `buf[macOff, macOff + 6)`: learn it and send
 * what waited for it (a queued packet whose flow ended meanwhile is dropped).
 */
export function resolved(
  ctx: EngineCtx,
  iface: number,
  ip: number,
  buf: Uint8Array,
  macOff: number,
  now: number,
  hi?: Uint32Array,
  at = 0,
): void {
  const nb = ctx.neighbors[iface]!;
  const queued = nb.learn(ip, buf, macOff, now, hi, at);
  if (!queued) return;
  const mac = nb.lookup(ip, hi, at)!;
  for (const q of queued) {
    if (q.flow >= 0 && !ctx.flows.live(q.flow)) {
      ctx.counters.drop(DROP.no_flow);
      continue;
    }
    send(ctx, iface, q.frame, 0, q.frame.length, q.vnet, mac, q.flow, q.flags, q.ingress, q.time);
  }
}
