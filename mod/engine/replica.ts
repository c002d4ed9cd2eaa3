/**
 * The peer side of mirroring (determinism rule): a unit that did not receive a packet applies
 * the receiver's record of it verbatim. The flow is created or updated from the record's
 * decisions, the sequence state is tracked from the frame, the next hop is learned (so after a
 * takeover it is already known), and the frame is emitted when the record says this unit is
 * the forwarder for it (`MF_PEER_EMITS`). A state-only record may carry the frame's headers only
 * (`MF_HEADERS`): lengths then come from the IP header, never from the record's end.
 * @module
 */
import { decodeRow, MIRROR6_ROW, MIRROR_ROW } from "../flow/fields.ts";
import { ST_ICMP, ST_NONE } from "../flow/states.ts";
import { rememberBackend } from "./persist.ts";
import {
  ETHERNET_HEADER_LEN,
  ETHERTYPE_IPV4,
  ETHERTYPE_IPV6,
  Ipv4Packet,
  IPV6_HEADER_LEN,
  Ipv6Packet,
  PROTO_TCP,
  PROTO_UDP,
  readU16,
  TcpSegment,
  UDP_HEADER_LEN,
} from "../wire/mod.ts";
import { copyMac } from "../wire/ethernet.ts";
import type { EngineCtx } from "./context.ts";
import { DROP, EV } from "./counters.ts";
import { learnFragment, learnFragment6 } from "./fragments.ts";
import { MF_HEADERS, MF_NO_FLOW, MF_PEER_EMITS, MF_RELAY, V_FORWARD, V_MIRROR } from "./output.ts";
import { trackSeq } from "./track.ts";

/**
 * A mirror record as the peer link decoded it: fields, plus offsets into the datagram buffer
 * `buf` (viewed by `view`) where the flow row, the next hop, the offload header and the frame
 * are. The unit keeps one and refills it per record.
 */
export interface MirrorIn {
  flags: number;
  time: number;
  ingress: number;
  egress: number;
  buf: Uint8Array;
  view: DataView;
  /** Where the flow's mirrored fields (`MIRROR_ROW`) start. */
  rowOff: number;
  /** Where an IPv6 flow's high address words (`MIRROR6_ROW`) start; -1 for IPv4. */
  row6Off: number;
  nextHopOff: number;
  vnetOff: number;
  frameOff: number;
  frameEnd: number;
}

const ip = new Ipv4Packet();
const ip6 = new Ipv6Packet();
/** The record's frame is IPv6 (`ip6`), else IPv4 (`ip`); `hi` is its destination's high words. */
let v6 = false;
const hi = new Uint32Array(3);
const seg = new TcpSegment();
const vnet = new Uint8Array(10);

/** Applies one mirror record; returns V_FORWARD (emitted here), V_MIRROR (state only) or a drop. */
export function applyMirror(ctx: EngineCtx, rec: MirrorIn): number {
  ctx.counters.add(EV.mirror_in);
  const buf = rec.buf, flags = rec.flags;
  const frameOff = rec.frameOff, frameEnd = rec.frameEnd;
  if (rec.egress >= ctx.cfg.interfaces.length || frameEnd - frameOff < ETHERNET_HEADER_LEN) {
    return ctx.drop(DROP.mirror_bad_record);
  }
  // A header-only frame is never emitted, and only a flow's packet is ever cut (`deliver.ts`).
  const headers = (flags & MF_HEADERS) !== 0;
  if (headers && (flags & (MF_PEER_EMITS | MF_NO_FLOW | MF_RELAY)) !== 0) {
    return ctx.drop(DROP.mirror_bad_record);
  }
  // The frame leaves as IPv4 or IPv6; `hi` gets an IPv6 destination's high words. `len` is the
  // IP packet's length and `end` where its segment ends, as the receiver computed them from
  // the whole frame: from the IP header's length fields for a header-only record, whose
  // payload stayed behind (so `end` lies past the record's bytes).
  const type = readU16(buf, frameOff + 12), l3 = frameOff + ETHERNET_HEADER_LEN;
  let dst: number, len: number, end: number;
  if (type === ETHERTYPE_IPV4 && ip.checkHeader(buf, l3, frameEnd)) {
    v6 = false;
    hi[0] = hi[1] = hi[2] = 0;
    dst = ip.dst;
    len = ip.totalLength;
    end = headers ? l3 + len : Math.min(ip.packetEnd, frameEnd);
  } else if (type === ETHERTYPE_IPV6 && ip6.checkHeader(buf, l3, frameEnd) && ip6.walkQuoted()) {
    v6 = true;
    hi[0] = ip6.dst(0), hi[1] = ip6.dst(1), hi[2] = ip6.dst(2);
    dst = ip6.dst(3);
    // A whole record's frame ends where the packet does (`deliver.ts` sends up to `ipEnd`).
    len = headers ? IPV6_HEADER_LEN + ip6.payloadLength : frameEnd - l3;
    end = l3 + len;
  } else return ctx.drop(DROP.mirror_bad_record);
  if ((flags & MF_NO_FLOW) === 0) {
    const v = applyFlow(ctx, rec, headers, len, end);
    if (v !== V_FORWARD) return v;
  }
  // Learn where the next hop lives: after a takeover we already know it.
  const nb = ctx.neighbors[rec.egress]!;
  nb.learn(dst, buf, rec.nextHopOff, rec.time, hi, 0);
  // The sender decides who emits, so a role change in flight never duplicates or loses a packet.
  if ((flags & MF_PEER_EMITS) === 0) return V_MIRROR;
  copyMac(nb.lookup(dst, hi, 0)!, buf, frameOff);
  copyMac(ctx.cfg.interfaces[rec.egress]!.mac, buf, frameOff + 6);
  for (let i = 0; i < 10; i++) vnet[i] = buf[rec.vnetOff + i]!;
  ctx.emit(rec.egress, buf, frameOff, frameEnd, vnet);
  ctx.counters.add(EV.forwarded);
  return V_FORWARD;
}

/**
 * A header-only record of a flow of protocol `proto` holds what the receiver tracked from the
 * whole frame: an unfragmented packet of that protocol whose L4 header (TCP with its options)
 * is whole in the record and within the packet `ip`'s headers describe (ending at `end`).
 */
function headersWhole(rec: MirrorIn, proto: number, end: number): boolean {
  const frameEnd = rec.frameEnd;
  if (frameEnd > end) return false;
  let l4: number;
  if (v6) {
    if (ip6.fragOff >= 0 || ip6.protocol !== proto || ip6.payloadLength === 0) return false;
    l4 = ip6.payloadOff;
  } else {
    if (ip.isFragment || ip.protocol !== proto) return false;
    l4 = ip.payloadOff;
  }
  if (proto === PROTO_UDP) return frameEnd - l4 >= UDP_HEADER_LEN;
  return seg.check(rec.buf, l4, frameEnd);
}

/**
 * Creates or updates the record's flow from a packet of `len` bytes whose segment ends at
 * `end`; V_FORWARD to go on, or a drop verdict.
 */
function applyFlow(
  ctx: EngineCtx,
  rec: MirrorIn,
  headers: boolean,
  len: number,
  end: number,
): number {
  const ft = ctx.flows, c = ft.c, row = ft.stage;
  ft.clearRow(row);
  decodeRow(ft.cols, MIRROR_ROW, row, rec.view, rec.rowOff);
  if (rec.row6Off >= 0) decodeRow(ft.cols, MIRROR6_ROW, row, rec.view, rec.row6Off);
  const proto = c.proto[row]!, state = c.state[row]!;
  // The service and backend indexes are kept even when this unit's config does not have them
  // (the peer reloaded first): the flow's NAT lives in its tuples, and every reader of the
  // indexes checks them.
  if ((proto !== PROTO_TCP && proto !== PROTO_UDP) || state === ST_NONE || state > ST_ICMP) {
    return ctx.drop(DROP.mirror_bad_record);
  }
  // Checked before anything changes: a malformed record leaves the table as it was.
  if (headers && !headersWhole(rec, proto, end)) return ctx.drop(DROP.mirror_bad_record);
  let f = ft.lookupOrig(row);
  if (
    f >= 0 && (c.rSrc[f] !== c.rSrc[row] || c.rSport[f] !== c.rSport[row] ||
      c.rDst[f] !== c.rDst[row] || c.rDport[f] !== c.rDport[row])
  ) {
    // Our flow of that tuple decided differently (left over from before a split): the
    // receiver's decision wins.
    ft.remove(f);
    f = -1;
  }
  if (f < 0) {
    c.created[row] = rec.time;
    c.lastSeen[row] = rec.time;
    f = ft.add(row);
    if (f < 0) {
      return ctx.drop(ft.count >= ft.capacity ? DROP.flow_table_full : DROP.mirror_no_flow);
    }
    ctx.counters.add(EV.flows_created);
    rememberBackend(ctx, f, rec.time);
  } else {
    ft.setState(f, state);
    c.tcpBits[f] = c.tcpBits[row]!;
    // The SYN proxy decides the offset when the backend answers, after the flow exists.
    ft.setSeqOffset(f, c.seqOffset[row]!);
  }
  ft.touch(f, len, rec.time);
  if (v6) {
    if (ip6.isFragment) {
      learnFragment6(ctx, ip6, f, rec.time);
      return V_FORWARD;
    }
  } else {
    // A fragment's payload is no whole segment (a later one holds no L4 header at all): it
    // updates the datagrams this unit follows, never the sequence state.
    if (ip.isFragment) {
      learnFragment(ctx, ip, f, rec.time);
      return V_FORWARD;
    }
  }
  const l4 = v6 ? ip6.payloadOff : ip.payloadOff;
  // SEG.LEN (payload, SYN, FIN) comes from `end`: for a header-only record the view runs past
  // the record's bytes, and only header fields are read from it.
  if (proto === PROTO_TCP && seg.check(rec.buf, l4, end)) {
    // The frame is already translated: the reply direction leaves from the VIP (oDst:oDport).
    const reply = (v6 ? ip6.src(3) : ip.src) === c.oDst[f] && seg.srcPort === c.oDport[f] &&
      (!v6 ||
        (ip6.src(0) === c.oDstHi0[f] && ip6.src(1) === c.oDstHi1[f] &&
          ip6.src(2) === c.oDstHi2[f]));
    trackSeq(ft, f, reply, seg);
  }
  return V_FORWARD;
}

/** A flow's original tuple as an EXPIRE record carries it (high words zero for IPv4). */
export interface ExpireTuple {
  proto: number;
  srcIp: number;
  srcPort: number;
  dstIp: number;
  dstPort: number;
  srcHi0: number;
  srcHi1: number;
  srcHi2: number;
  dstHi0: number;
  dstHi1: number;
  dstHi2: number;
}

const expireHi = new Uint32Array(6);

/** The receiver expired or closed a flow: drop ours too (only by its original tuple). */
export function applyExpire(ctx: EngineCtx, t: ExpireTuple): boolean {
  const hi = expireHi;
  hi[0] = t.srcHi0, hi[1] = t.srcHi1, hi[2] = t.srcHi2;
  hi[3] = t.dstHi0, hi[4] = t.dstHi1, hi[5] = t.dstHi2;
  const ref = ctx.flows.lookup6(t.proto, t.srcIp, t.srcPort, t.dstIp, t.dstPort, hi);
  if (ref < 0 || (ref & 1) !== 0) return false;
  ctx.flows.remove(ref >> 1);
  ctx.counters.add(EV.flows_expired);
  return true;
}
