/**
 * What a unit does when it takes over: it announces the floating addresses, replays the frames
 * its dead peer never confirmed emitting, and probes the endpoints of established flows so
 * segments lost with the other unit are sent again.
 * @module
 */
import { ST_TCP_ESTABLISHED, TB_OFF_REPLY, TB_TS_ORIG, TB_TS_REPLY } from "../flow/states.ts";
import {
  buildGratuitousArp,
  buildTcpSegment,
  buildTcpSegment6,
  buildUnsolicitedNeighborAdvert,
  PROTO_TCP,
  TCP_ACK,
} from "../wire/mod.ts";
import type { EngineCtx } from "./context.ts";
import { EV } from "./counters.ts";
import { MF_HEADERS, MF_PEER_EMITS, MF_RELAY } from "./output.ts";
import type { MirrorIn } from "./replica.ts";

/**
 * Gratuitous ARP for every IPv4 floating address (RFC 5227 §3) and an unsolicited neighbour
 * advertisement for every IPv6 one (RFC 4861 §7.2.6), from the virtual MAC.
 */
export function announce(ctx: EngineCtx): number {
  let n = announce6(ctx);
  for (const fl of ctx.cfg.floating) {
    if (fl.ip6 !== undefined) continue;
    const vmac = ctx.cfg.virtualMacs[fl.iface]!;
    ctx.emitScratch(fl.iface, buildGratuitousArp(ctx.scratch, vmac, fl.ip));
    ctx.counters.add(EV.garp_sent);
    n++;
  }
  return n;
}

/**
 * After a takeover, probes both endpoints of each recently active established TCP flow so
 * that whatever died with the lost unit is sent again at once, not on a retransmission timer.
 *
 * Each endpoint gets one zero-length segment in the RFC 9293 keep-alive form: SEQ = its
 * peer's next expected − 1, an old sequence number, carrying the last timestamps seen (RFC 7323,
 * so PAWS lets it through). An old segment is not acceptable, so the endpoint answers at once
 * with an ACK of its current state, SACK blocks included (RFC 9293 §3.10.7.4; Linux
 * `tcp_send_dupack`). That answer crosses the pair like any packet and tells the other
 * endpoint what is missing: a SACK-based sender (RACK, RFC 8985) retransmits right away. Plain
 * duplicate ACKs would not do: Linux senders ignore SACK-less duplicates.
 */
export function probe(ctx: EngineCtx, now: number, recentMs = 2000, maxFlows = 20_000): number {
  let sent = 0, flows = 0;
  const ft = ctx.flows, c = ft.c;
  for (const f of ft.ids()) {
    if (c.proto[f] !== PROTO_TCP || c.state[f] !== ST_TCP_ESTABLISHED) continue;
    // Only flows that moved just now can have segments in flight; the cap bounds the burst.
    if (now - c.lastSeen[f]! > recentMs || ++flows > maxFlows) continue;
    const bits = c.tcpBits[f]!;
    // The offset moved the client's sequence numbers (ISN randomisation), or the server's (SYN
    // proxy, `TB_OFF_REPLY`): the probes speak to each endpoint in its own terms.
    const offR = (bits & TB_OFF_REPLY) !== 0 ? c.seqOffset[f]! : 0;
    const off = offR === 0 ? c.seqOffset[f]! : 0;
    const tsO = (bits & TB_TS_ORIG) !== 0, tsR = (bits & TB_TS_REPLY) !== 0;
    // An IPv6 flow's probes go as IPv6: each from its direction's reply tuple reversed.
    const v6 = ft.isV6(f);
    if (v6) {
      ft.hiOf(f, false, origHi);
      ft.hiOf(f, true, replyHi);
    }
    // To the client, as from the VIP. Tracked values leave the pair, so they are already in
    // the client's terms: its last ack is its RCV.NXT.
    sent += keepalive(
      ctx,
      c.oDst[f]!,
      c.oDport[f]!,
      c.oSrc[f]!,
      c.oSport[f]!,
      (c.oAck[f]! + offR - 1) >>> 0,
      c.rAck[f]!,
      c.rWin[f]!,
      tsR,
      c.rTsVal[f]!,
      c.oTsVal[f]!,
      v6 ? origHi : null,
      3,
      0,
    );
    // To the server, as from the client (or the SNAT address), in the server's terms: the
    // server's last ack was shifted back by the offset on its way out.
    sent += keepalive(
      ctx,
      c.rDst[f]!,
      c.rDport[f]!,
      c.rSrc[f]!,
      c.rSport[f]!,
      (c.rAck[f]! + off - 1) >>> 0,
      c.oAck[f]!,
      c.oWin[f]!,
      tsO,
      c.oTsVal[f]!,
      c.rTsVal[f]!,
      v6 ? replyHi : null,
      3,
      0,
    );
  }
  ctx.counters.add(EV.probes_sent, sent);
  return sent;
}

/**
 * One probe from `src` to `dst`; for IPv6, `hi` holds the high words of `src` at `srcAt` and
 * of `dst` at `dstAt` (null for IPv4).
 */
function keepalive(
  ctx: EngineCtx,
  src: number,
  sport: number,
  dst: number,
  dport: number,
  seq: number,
  ack: number,
  win: number,
  ts: boolean,
  tsVal: number,
  tsEcr: number,
  hi: Uint32Array | null,
  srcAt: number,
  dstAt: number,
): number {
  const egress = hi === null ? ctx.route(dst) : ctx.route(dst, hi, dstAt);
  if (egress < 0) return 0;
  const nb = ctx.neighbors[egress]!;
  const mac = hi === null ? nb.lookup(dst) : nb.lookup(dst, hi, dstAt);
  if (!mac) return 0;
  const me = ctx.cfg.interfaces[egress]!.mac, b = ctx.scratch;
  let n: number;
  if (hi !== null) {
    const s6 = probeSrc, d6 = probeDst;
    for (let i = 0; i < 3; i++) s6[i] = hi[srcAt + i]!, d6[i] = hi[dstAt + i]!;
    s6[3] = src, d6[3] = dst;
    n = ts
      ? buildTcpSegment6(b, mac, me, s6, d6, sport, dport, seq, ack, TCP_ACK, win, tsVal, tsEcr)
      : buildTcpSegment6(b, mac, me, s6, d6, sport, dport, seq, ack, TCP_ACK, win);
  } else {
    n = ts
      ? buildTcpSegment(b, mac, me, src, dst, sport, dport, seq, ack, TCP_ACK, win, tsVal, tsEcr)
      : buildTcpSegment(b, mac, me, src, dst, sport, dport, seq, ack, TCP_ACK, win);
  }
  ctx.emitScratch(egress, n);
  return 1;
}

const origHi = new Uint32Array(6);
const replyHi = new Uint32Array(6);
const probeSrc = new Uint32Array(4);
const probeDst = new Uint32Array(4);

const replayVnet = new Uint8Array(10);

/**
 * Emits a frame this unit handed to its peer for emission (`MF_PEER_EMITS`) that the peer never
 * confirmed before it died: the survivor is the forwarder now, and the endpoints must not wait
 * on a retransmission timer for data the pair held (DESIGN.md "Losing a unit"). The frame in
 * the record is ready as sent (next hop and this unit's MAC).
 *
 * Only TCP is replayed. A segment the peer did emit just before dying goes out twice, which
 * TCP absorbs: the receiver acknowledges and drops a duplicate (RFC 9293 §3.10.7.4, with a
 * D-SACK, RFC 2883), and a duplicate SYN gets the same SYN-ACK again (§3.10.7.3). A UDP
 * datagram has no such guard, and an application sees a duplicate as a second request
 * (RFC 8085 §3.3 allows both loss and duplication; losing one is what UDP users plan for), so
 * UDP and other frames are counted as `replay_skipped` instead.
 */
export function replay(ctx: EngineCtx, rec: MirrorIn): boolean {
  // A header-only frame (`MF_HEADERS`) is never emitted; the sender never sets it beside
  // MF_PEER_EMITS, so this only refuses a record that lies.
  if ((rec.flags & (MF_PEER_EMITS | MF_RELAY | MF_HEADERS)) !== MF_PEER_EMITS) return false;
  const buf = rec.buf, at = rec.frameOff;
  if (rec.egress >= ctx.cfg.interfaces.length || rec.frameEnd - at < 34) return false;
  // IPv4 (ethertype 0x0800) carrying TCP: protocol byte at 14 + 9; IPv6 (0x86dd) carrying
  // TCP: next header at 14 + 6 (a frame the engine forwarded with extension headers is rare
  // enough to be skipped as not TCP).
  const v4Tcp = buf[at + 12] === 0x08 && buf[at + 13] === 0x00 && buf[at + 23] === PROTO_TCP;
  const v6Tcp = buf[at + 12] === 0x86 && buf[at + 13] === 0xdd && rec.frameEnd - at >= 74 &&
    buf[at + 20] === PROTO_TCP;
  if (!v4Tcp && !v6Tcp) {
    ctx.counters.add(EV.replay_skipped);
    return false;
  }
  for (let i = 0; i < 10; i++) replayVnet[i] = buf[rec.vnetOff + i]!;
  ctx.emit(rec.egress, buf, at, rec.frameEnd, replayVnet);
  ctx.counters.add(EV.replayed);
  return true;
}

/**
 * Unsolicited advertisements of every IPv6 floating address from the virtual MAC (RFC 4861
 * §7.2.6, override set): the IPv6 counterpart of gratuitous ARP. Returns how many were sent.
 */
export function announce6(ctx: EngineCtx): number {
  let n = 0;
  for (const fl of ctx.cfg.floating) {
    if (fl.ip6 === undefined) continue;
    const vmac = ctx.cfg.virtualMacs[fl.iface]!;
    ctx.emitScratch(
      fl.iface,
      buildUnsolicitedNeighborAdvert(ctx.scratch, vmac, fl.ip6, fl.ip6, true),
    );
    ctx.counters.add(EV.unsolicited_na_sent);
    n++;
  }
  return n;
}
