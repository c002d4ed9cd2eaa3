/**
 * Stage 2b, SYN proxy (RFC 4987 §3.6; claims 23, 24): a service under a SYN flood answers SYNs
 * itself with a cookie (`syncookie.ts`) and keeps nothing, so the flow table holds only
 * handshakes a client completed. Per service, `syn_proxy` is `off`, `on`, or `auto`: engaged
 * while new SYNs arrive faster than {@link SYN_RATE_ON} a second, released after
 * {@link CALM_WINDOWS} seconds below {@link SYN_RATE_OFF} (hysteresis), as Linux sends cookies
 * only when a listener's backlog overflows.
 *
 * A proxied connection:
 * 1. client SYN (ISN x) → cookie SYN-ACK (ISN c) from the VIP, no flow.
 * 2. client ACK (seq x+1, ack c+1), c valid → the flow is created, pending (`TB_PROXY`,
 *    `seqOffset` = c), and a SYN (ISN x, the options the cookie carries) goes to the backend as
 *    the flow's first frame: mirrored like any, so the peer holds the pending flow.
 * 3. backend SYN-ACK (ISN b, ack x+1) → `seqOffset` = c − b on the server's side
 *    (`TB_OFF_REPLY`), an ACK goes to the backend, and from then on `nat.ts` translates the
 *    server's sequence numbers and the client's acknowledgments and SACK edges for the life of
 *    the connection. The ACK's record carries the offset to the peer.
 *
 * The first data segment the client sends while step 3 is pending (a client writes as soon as
 * its connect returns) is held in one of {@link HELD_SLOTS} fixed slots and handled once the flow
 * is open; others, and any when the slots are taken, are dropped (counted) and the client
 * retransmits them (one RTO). Memory per half-open flow is what a flood exhausts, so the slots
 * are few and preallocated; only a completed handshake, not a SYN, can take one. A segment that
 * waits {@link SYN_RESEND_MS} re-sends the SYN to the backend in case it was lost. Data on the
 * handshake ACK itself is dropped.
 *
 * Both units hold the cookie secret (`CTRL_SECRET`), so a survivor completes handshakes the
 * dead unit began: it validates the cookies, and it finishes a pending flow when the backend's
 * SYN-ACK reaches it.
 *
 * Limits, as Linux's cookies and netfilter's SYNPROXY: proxied connections go without
 * timestamps (RFC 7323); the MSS is rounded down to one of 8 values; the window scale offered to
 * the client is {@link PROXY_WSCALE}, which the backend's own should match (Linux's default).
 * @module
 */
import { ST_TCP_ESTABLISHED, ST_TCP_SYN_SENT, TB_OFF_REPLY, TB_PROXY } from "../flow/states.ts";
import {
  buildTcpSegment,
  buildTcpSegment6,
  buildTcpSyn,
  buildTcpSyn6,
  findTcpOption,
  OPT_MSS,
  OPT_SACK_PERMITTED,
  OPT_WSCALE,
  TCP_ACK,
  TCP_FIN,
  TCP_RST,
  TCP_SYN,
  TcpSegment,
} from "../wire/mod.ts";
import type { EngineCtx } from "./context.ts";
import { DROP, EV } from "./counters.ts";
import { decideNewFlow } from "./decide.ts";
import { send } from "./deliver.ts";
import { resolve } from "./resolve.ts";
import { refuse } from "./local.ts";
import { MF_NEW_FLOW, NEXT, V_DROP, V_QUEUED, V_REPLY } from "./output.ts";
import type { Packet } from "./packet.ts";
import { rememberBackend } from "./persist.ts";
import {
  checkCookie,
  cookieMss,
  cookieSack,
  cookieWscale,
  makeCookie,
  mssIndex,
} from "./syncookie.ts";
import { trackSeq } from "./track.ts";

/** `auto`: new SYNs per second (for one service) above which cookies are sent. */
export const SYN_RATE_ON = 1000;
/** `auto`: below this many a second, for {@link CALM_WINDOWS} seconds running, they stop. */
export const SYN_RATE_OFF = 200;
export const CALM_WINDOWS = 10;
/** The window scale the cookie SYN-ACK offers (Linux's default for its default buffers). */
export const PROXY_WSCALE = 7;
/** Client segments held while backend handshakes are pending (one per flow, 1600 bytes each). */
export const HELD_SLOTS = 64;
export const HELD_SIZE = 1600;
/** A pending flow older than this re-sends its SYN to the backend at the client's next segment. */
export const SYN_RESEND_MS = 250;
/** RFC 9293 §3.7.1: the MSS assumed when a SYN carries none. */
const DEFAULT_MSS = 536;
const WINDOW_MS = 1000;

/** Per service: the SYN rate of the current second and whether cookies are engaged. */
export class SynProxyState {
  windowStart: Float64Array;
  count: Uint32Array;
  /** The previous window's count, weighed into the rate (a sliding window, not fixed ones). */
  prev: Uint32Array;
  engaged: Uint8Array;
  calm: Uint8Array;

  constructor(services: number) {
    this.windowStart = new Float64Array(services);
    this.count = new Uint32Array(services);
    this.prev = new Uint32Array(services);
    this.engaged = new Uint8Array(services);
    this.calm = new Uint8Array(services);
  }

  /** Counts one new SYN of `svc` at `now`; returns whether `auto` answers it with a cookie. */
  syn(svc: number, now: number, ctx: EngineCtx): boolean {
    this.roll(svc, now, ctx);
    const n = ++this.count[svc]!;
    // The last second's SYNs: this window's, plus the part of the previous one still inside it
    // (a flood that starts late in a window engages within SYN_RATE_ON SYNs, not twice that).
    const rate = n + this.prev[svc]! * (1 - (now - this.windowStart[svc]!) / WINDOW_MS);
    if (this.engaged[svc] === 0 && rate > SYN_RATE_ON) {
      this.engaged[svc] = 1;
      this.calm[svc] = 0;
      ctx.counters.add(EV.syn_proxy_engaged);
    }
    return this.engaged[svc] === 1;
  }

  /** Closes the windows that ended before `now`; an engaged service may disengage. */
  roll(svc: number, now: number, ctx: EngineCtx): void {
    const start = this.windowStart[svc]!;
    if (now - start < WINDOW_MS) return;
    const windows = Math.floor((now - start) / WINDOW_MS);
    this.windowStart[svc] = start + windows * WINDOW_MS;
    const last = this.count[svc]!;
    this.count[svc] = 0;
    this.prev[svc] = windows === 1 ? last : 0;
    if (this.engaged[svc] === 0) return;
    // The window just closed, then any empty ones after it.
    let calm = last < SYN_RATE_OFF ? this.calm[svc]! + windows : windows - 1;
    if (calm >= CALM_WINDOWS) {
      this.engaged[svc] = 0;
      calm = 0;
      ctx.counters.add(EV.syn_proxy_disengaged);
    }
    this.calm[svc] = Math.min(calm, 255);
  }

  /** Services engaged right now (a gauge for the status API). */
  get engagedCount(): number {
    let n = 0;
    for (let i = 0; i < this.engaged.length; i++) n += this.engaged[i]!;
    return n;
  }
}

/**
 * The held segments: frame bytes, their offload header, and whose they are (flow id, created time
 * and client port, so a slot whose flow ended and whose id was reused is never released).
 */
export class HeldSegments {
  readonly buf: Uint8Array = new Uint8Array(HELD_SLOTS * HELD_SIZE);
  readonly vnet: Uint8Array = new Uint8Array(HELD_SLOTS * 10);
  readonly len: Uint16Array = new Uint16Array(HELD_SLOTS);
  readonly ingress: Uint8Array = new Uint8Array(HELD_SLOTS);
  readonly flow: Int32Array = new Int32Array(HELD_SLOTS).fill(-1);
  readonly created: Float64Array = new Float64Array(HELD_SLOTS);
  readonly sport: Uint16Array = new Uint16Array(HELD_SLOTS);
  /** A slot to hand back to the engine after the current packet, or -1. */
  release = -1;

  #owns(ctx: EngineCtx, s: number, f: number): boolean {
    const c = ctx.flows.c;
    return this.flow[s] === f && ctx.flows.live(f) && c.created[f] === this.created[s] &&
      c.oSport[f] === this.sport[s];
  }

  /** The slot holding flow `f`'s segment, or -1. */
  find(ctx: EngineCtx, f: number): number {
    for (let s = 0; s < HELD_SLOTS; s++) if (this.#owns(ctx, s, f)) return s;
    return -1;
  }

  /** Holds `p` for flow `f`; false when the flow holds one already or no slot is free. */
  hold(ctx: EngineCtx, p: Packet, f: number): boolean {
    const n = p.end - p.off;
    if (n > HELD_SIZE) return false;
    let free = -1;
    for (let s = 0; s < HELD_SLOTS; s++) {
      const g = this.flow[s]!;
      if (g < 0) {
        if (free < 0) free = s;
      } else if (g === f && this.#owns(ctx, s, f)) return false;
      else if (!this.#owns(ctx, s, g) || (ctx.flows.c.tcpBits[g]! & TB_PROXY) === 0) {
        // Its flow ended or opened without releasing it: stale.
        this.flow[s] = -1;
        if (free < 0) free = s;
      }
    }
    if (free < 0) return false;
    this.buf.set(p.buf.subarray(p.off, p.end), free * HELD_SIZE);
    this.vnet.set(p.vnet, free * 10);
    this.len[free] = n;
    this.ingress[free] = p.ingress;
    this.flow[free] = f;
    this.created[free] = ctx.flows.c.created[f]!;
    this.sport[free] = ctx.flows.c.oSport[f]!;
    return true;
  }
}

const seg = new TcpSegment();
const macBuf = new Uint8Array(6);
const zeroVnet = new Uint8Array(10);
/** Placeholder destination MAC: `send` writes the next hop's. */
const noMac = new Uint8Array(6);

/**
 * Runs before conntrack for TCP: NEXT when the packet is none of the proxy's business, else
 * its verdict.
 */
export function synProxy(p: Packet, ctx: EngineCtx): number {
  if (p.firstFragment) return NEXT;
  const ft = ctx.flows, hi = p.hi;
  // Kept for conntrack: one lookup per packet, not two.
  const ref = p.ref = p.v6
    ? ft.lookupWords(p.proto, p.src6, p.sport, p.dst6, p.dport)
    : ft.lookup(p.proto, p.ip.src, p.sport, p.ip.dst, p.dport);
  if (ref >= 0) {
    const f = ref >> 1;
    return (ft.c.tcpBits[f]! & TB_PROXY) === 0 ? NEXT : pending(p, ctx, f, (ref & 1) === 1);
  }
  if (!p.toFloating) return NEXT;
  const src = p.src, dst = p.dst;
  const svc = ctx.serviceFor(p.proto, dst, p.dport, hi, 3);
  if (svc < 0) return NEXT;
  const mode = ctx.cfg.services[svc]!.synProxy;
  if (mode === undefined || mode === "off") return NEXT;
  const flags = p.tcpFlags & (TCP_SYN | TCP_ACK | TCP_RST | TCP_FIN);
  if (flags === TCP_SYN) {
    const engaged = ctx.syn.syn(svc, p.now, ctx);
    if (mode === "auto" && !engaged) return NEXT;
    // No backend up: conntrack refuses it, as without the proxy.
    if (ctx.pools[svc]!.upCount === 0) return NEXT;
    return answer(p, ctx);
  }
  if ((flags & (TCP_SYN | TCP_RST)) !== 0 || (flags & TCP_ACK) === 0) return NEXT;
  const t = p.tcp;
  const isn = (t.seqNumber - 1) >>> 0, cookie = (t.ackNumber - 1) >>> 0;
  if (checkCookie(ctx.synSecret, src, dst, p.sport, p.dport, isn, cookie, p.now, hi)) {
    return open(p, ctx, svc, isn, cookie);
  }
  if (mode === "on" || ctx.syn.engaged[svc] === 1) return ctx.drop(DROP.syncookie_invalid);
  return NEXT;
}

/** Step 1: the cookie SYN-ACK, from the VIP, straight back to the client. */
function answer(p: Packet, ctx: EngineCtx): number {
  const secret = ctx.synSecret;
  if (!secret.ready) {
    secret.rotate(ctx.rng, p.now);
    ctx.counters.add(EV.syn_secret_rotations);
  }
  const t = p.tcp, buf = t.buf, src = p.src, dst = p.dst;
  const mssAt = findTcpOption(buf, t.optionsOff, t.payloadOff, OPT_MSS);
  const mss = mssAt >= 0 && buf[mssAt + 1] === 4
    ? (buf[mssAt + 2]! << 8) | buf[mssAt + 3]!
    : DEFAULT_MSS;
  const wsAt = findTcpOption(buf, t.optionsOff, t.payloadOff, OPT_WSCALE);
  const ws = wsAt >= 0 && buf[wsAt + 1] === 3 ? buf[wsAt + 2]! : -1;
  const sack = findTcpOption(buf, t.optionsOff, t.payloadOff, OPT_SACK_PERMITTED) >= 0;
  const cookie = makeCookie(
    secret,
    src,
    dst,
    p.sport,
    p.dport,
    t.seqNumber,
    mssIndex(mss),
    ws,
    sack,
    p.now,
    p.hi,
  );
  // Our own MSS: what the VIP's interface carries (RFC 9293 §3.7.1; IPv6's header is 40).
  const ourMss = Math.min(ctx.mtus[p.ingress]! - (p.v6 ? 60 : 40), p.v6 ? 1440 : 1460);
  for (let i = 0; i < 6; i++) macBuf[i] = p.buf[p.off + 6 + i]!;
  const vmac = ctx.macFor(dst, p.ingress, p.hi, 3), ack = (t.seqNumber + 1) >>> 0;
  const wsOut = ws >= 0 ? PROXY_WSCALE : -1;
  let n: number;
  if (p.v6) {
    const ip = p.ip6, s6 = addrA, d6 = addrB;
    for (let i = 0; i < 4; i++) s6[i] = ip.src(i), d6[i] = ip.dst(i);
    n = buildTcpSyn6(
      ctx.scratch,
      macBuf,
      vmac,
      d6,
      s6,
      p.dport,
      p.sport,
      cookie,
      ack,
      TCP_SYN | TCP_ACK,
      65535,
      ourMss,
      wsOut,
      sack,
    );
  } else {
    n = buildTcpSyn(
      ctx.scratch,
      macBuf,
      vmac,
      dst,
      src,
      p.dport,
      p.sport,
      cookie,
      ack,
      TCP_SYN | TCP_ACK,
      65535,
      ourMss,
      wsOut,
      sack,
    );
  }
  if (n === 0) return ctx.drop(DROP.tx_full);
  ctx.emitScratch(p.ingress, n);
  ctx.counters.add(EV.syncookies_sent);
  return V_REPLY;
}

/** Step 2: a valid cookie opens the flow, pending, and its SYN goes to the backend. */
function open(p: Packet, ctx: EngineCtx, svc: number, isn: number, cookie: number): number {
  if (!ctx.roles.receiver) return NEXT;
  if (ctx.pools[svc]!.upCount === 0) return refuse(p, ctx, DROP.no_backend_up);
  const ft = ctx.flows, c = ft.c;
  if (!decideNewFlow(ctx, svc, p.proto, p.src, p.sport, p.dst, p.dport, p.now, p.hi)) {
    return V_DROP;
  }
  const row = ft.stage;
  c.state[row] = ST_TCP_SYN_SENT;
  c.tcpBits[row] = TB_PROXY | TB_OFF_REPLY;
  // Until the backend answers, the offset holds the cookie (its options, the client's ISN + 1
  // as the backend's ack) so either unit can finish the handshake.
  c.seqOffset[row] = cookie;
  const f = ft.add(row);
  if (f < 0) return ctx.drop(DROP.flow_table_full);
  ctx.counters.add(EV.flows_created);
  ctx.counters.add(EV.syncookies_valid);
  rememberBackend(ctx, f, p.now);
  ft.touch(f, p.ipEnd - p.l3, p.now);
  p.created = true;
  // Data on the handshake ACK is dropped: the client sends it again once the flow is open.
  if (p.tcp.payloadLength > 0) ctx.counters.drop(DROP.syn_proxy_pending);
  return backendSyn(p, ctx, f, isn, p.tcp.window, MF_NEW_FLOW);
}

/** The SYN to the backend, as the client's (or the SNAT address's): ISN `isn`, the cookie's options. */
function backendSyn(
  p: Packet,
  ctx: EngineCtx,
  f: number,
  isn: number,
  window: number,
  flags: number,
): number {
  const ft = ctx.flows, c = ft.c, cookie = c.seqOffset[f]!;
  const src = c.rDst[f]!, dst = c.rSrc[f]!;
  // The reply tuple reversed: from rDst (hi 3-5) to rSrc (hi 0-2).
  const hi = ft.hiOf(f, true, flowHi);
  const egress = ctx.route(dst, hi, 0);
  if (egress < 0) return ctx.drop(DROP.no_route);
  const me = ctx.cfg.interfaces[egress]!.mac;
  const mss = cookieMss(cookie), ws = cookieWscale(cookie), sack = cookieSack(cookie);
  const n = ft.isV6(f)
    ? buildTcpSyn6(
      ctx.synBuf,
      noMac,
      me,
      words(hi, 3, src, addrA),
      words(hi, 0, dst, addrB),
      c.rDport[f]!,
      c.rSport[f]!,
      isn,
      0,
      TCP_SYN,
      window,
      mss,
      ws,
      sack,
    )
    : buildTcpSyn(
      ctx.synBuf,
      noMac,
      me,
      src,
      dst,
      c.rDport[f]!,
      c.rSport[f]!,
      isn,
      0,
      TCP_SYN,
      window,
      mss,
      ws,
      sack,
    );
  return originate(p, ctx, f, egress, n, flags);
}

/** Sends the frame in `ctx.synBuf[0, n)` of flow `f` like a forwarded one: emitted and/or mirrored by role. */
function originate(
  p: Packet,
  ctx: EngineCtx,
  f: number,
  egress: number,
  n: number,
  flags: number,
): number {
  if (n === 0) return ctx.drop(DROP.tx_full);
  const buf = ctx.synBuf, ft = ctx.flows;
  // The TCP header follows a plain IPv4 or IPv6 header (the builders write no options).
  if (seg.check(buf, ft.isV6(f) ? 54 : 34, n)) trackSeq(ft, f, false, seg);
  const dst = ft.c.rSrc[f]!, hi = ft.hiOf(f, true, flowHi);
  const nb = ctx.neighbors[egress]!;
  const mac = nb.lookup(dst, hi, 0);
  if (!mac) {
    const q = nb.enqueue(
      dst,
      {
        frame: buf.slice(0, n),
        vnet: zeroVnet.slice(),
        flow: f,
        flags,
        ingress: p.ingress,
        time: p.now,
      },
      p.now,
      hi,
      0,
    );
    if (q < 0) return ctx.drop(DROP.arp_queue_full);
    if (q > 0) resolve(ctx, egress, dst, hi, 0);
    return V_QUEUED;
  }
  return send(ctx, egress, buf, 0, n, zeroVnet, mac, f, flags, p.ingress, p.now);
}

/** A segment of a pending flow: the backend's SYN-ACK completes it; the rest waits. */
function pending(p: Packet, ctx: EngineCtx, f: number, reply: boolean): number {
  if (!ctx.roles.receiver) return NEXT;
  const ft = ctx.flows, c = ft.c, t = p.tcp;
  const cookie = c.seqOffset[f]!;
  const isn = (c.oSeqNext[f]! - 1) >>> 0;
  if (!reply) {
    if (p.tcpFlags & TCP_RST) return close(ctx, f, DROP.syn_proxy_pending);
    // The SYN to the backend may have been lost (or died with the peer): send it again.
    if (p.now - c.created[f]! >= SYN_RESEND_MS) backendSyn(p, ctx, f, isn, t.window, 0);
    if (t.payloadLength > 0 && t.seqNumber === c.oSeqNext[f] && ctx.synHeld.hold(ctx, p, f)) {
      ctx.counters.add(EV.syn_proxy_held);
      return V_QUEUED;
    }
    return ctx.drop(DROP.syn_proxy_pending);
  }
  const flags = p.tcpFlags & (TCP_SYN | TCP_ACK | TCP_RST);
  if ((flags & TCP_RST) !== 0 && t.ackNumber === c.oSeqNext[f]) {
    // The backend refused: reset the client, which believes it is connected.
    resetClient(ctx, f, (cookie + 1) >>> 0);
    ctx.counters.add(EV.syn_proxy_backend_refused);
    return close(ctx, f, DROP.syn_proxy_pending);
  }
  if (flags !== (TCP_SYN | TCP_ACK) || t.ackNumber !== c.oSeqNext[f]) {
    return ctx.drop(DROP.syn_proxy_pending);
  }
  // Step 3. The client counts the server's bytes from the cookie, the backend from its ISN.
  const b = t.seqNumber;
  ft.setSeqOffset(f, (cookie - b) >>> 0);
  c.tcpBits[f] = (c.tcpBits[f]! & ~TB_PROXY) | TB_OFF_REPLY;
  ft.setState(f, ST_TCP_ESTABLISHED);
  ft.touch(f, p.ipEnd - p.l3, p.now);
  ctx.counters.add(EV.syn_proxy_established);
  const hi = ft.hiOf(f, true, flowHi);
  const egress = ctx.route(c.rSrc[f]!, hi, 0);
  if (egress < 0) return ctx.drop(DROP.no_route);
  // The ACK, with the client's window as its ACK gave it (scaled by the client's shift, which
  // the backend now applies; the SYN carried the same value unscaled).
  const me = ctx.cfg.interfaces[egress]!.mac;
  const n = ft.isV6(f)
    ? buildTcpSegment6(
      ctx.synBuf,
      noMac,
      me,
      words(hi, 3, c.rDst[f]!, addrA),
      words(hi, 0, c.rSrc[f]!, addrB),
      c.rDport[f]!,
      c.rSport[f]!,
      c.oSeqNext[f]!,
      (b + 1) >>> 0,
      TCP_ACK,
      c.oWin[f]!,
    )
    : buildTcpSegment(
      ctx.synBuf,
      noMac,
      me,
      c.rDst[f]!,
      c.rSrc[f]!,
      c.rDport[f]!,
      c.rSport[f]!,
      c.oSeqNext[f]!,
      (b + 1) >>> 0,
      TCP_ACK,
      c.oWin[f]!,
    );
  // The reply direction's tracking, in the client's terms (as if forwarded).
  c.rSeqNext[f] = (cookie + 1) >>> 0;
  c.rAck[f] = c.oSeqNext[f]!;
  c.rWin[f] = t.window;
  const v = originate(p, ctx, f, egress, n, 0);
  // The client's held segment goes on after the ACK (the engine handles it next).
  ctx.synHeld.release = ctx.synHeld.find(ctx, f);
  return v;
}

/** An RST to the client from the VIP at `seq` (RFC 9293 §3.10.7.3: in its window). */
function resetClient(ctx: EngineCtx, f: number, seq: number): void {
  const ft = ctx.flows, c = ft.c;
  // The original tuple reversed: from the VIP (hi 3-5) to the client (hi 0-2).
  const hi = ft.hiOf(f, false, flowHi);
  const client = c.oSrc[f]!, iface = ctx.route(client, hi, 0);
  if (iface < 0) return;
  const mac = ctx.neighbors[iface]!.lookup(client, hi, 0);
  if (!mac || !ctx.roles.forwarder) return;
  const vmac = ctx.macFor(c.oDst[f]!, iface, hi, 3);
  const n = ft.isV6(f)
    ? buildTcpSegment6(
      ctx.scratch,
      mac,
      vmac,
      words(hi, 3, c.oDst[f]!, addrA),
      words(hi, 0, client, addrB),
      c.oDport[f]!,
      c.oSport[f]!,
      seq,
      0,
      TCP_RST,
      0,
    )
    : buildTcpSegment(
      ctx.scratch,
      mac,
      vmac,
      c.oDst[f]!,
      client,
      c.oDport[f]!,
      c.oSport[f]!,
      seq,
      0,
      TCP_RST,
      0,
    );
  ctx.emitScratch(iface, n);
  ctx.counters.add(EV.tcp_rst_sent);
}

/** Ends a pending flow (the peer too) and counts the packet's drop. */
function close(ctx: EngineCtx, f: number, reason: number): number {
  if (ctx.roles.mirror) ctx.out.expire(ctx.flows, f);
  ctx.flows.remove(f);
  return ctx.drop(reason);
}

/** Scratch: a flow direction's high address words, and two whole IPv6 addresses. */
const flowHi = new Uint32Array(6);
const addrA = new Uint32Array(4);
const addrB = new Uint32Array(4);

/** The IPv6 address whose high words are `hi[at, at + 3)` and low word `lo`, into `out`. */
function words(hi: Uint32Array, at: number, lo: number, out: Uint32Array): Uint32Array {
  out[0] = hi[at]!, out[1] = hi[at + 1]!, out[2] = hi[at + 2]!, out[3] = lo;
  return out;
}
