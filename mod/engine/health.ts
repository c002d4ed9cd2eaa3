/**
 * Backend health checks, from the unit's self address on the backends' side (issue 9; as
 * keepalived's TCP_CHECK and HTTP_GET, or HAProxy's `check`). The unit has no kernel socket on
 * that segment, so a check is a tiny TCP client inside the engine:
 *
 *   kind tcp:  SYN → SYN-ACK is up, RST or silence until `timeout` is down; then RST.
 *   kind http: after the SYN-ACK, one segment `GET path HTTP/1.0`; the status line of the
 *              answer must carry `expect`; then RST (RFC 9293 §3.10.7: in-window, accepted).
 *
 * Both units check, so a standby that takes over already knows which backends are up; only
 * the receiver's view picks backends (`backends.ts`). Results go through rise/fall hysteresis.
 * Pure and deterministic: time and the initial sequence numbers are inputs.
 * @module
 */
import { RiseFall } from "../health/rise_fall.ts";
import {
  buildTcpData,
  buildTcpData6,
  ipv4ToString,
  ipv6ToString,
  TCP_ACK,
  TCP_FIN,
  TCP_PSH,
  TCP_RST,
  TCP_SYN,
} from "../wire/mod.ts";
import { resolve } from "./resolve.ts";
import { A_MAINTENANCE, H_DOWN, H_UP } from "./backends.ts";
import type { EngineCtx } from "./context.ts";
import { EV } from "./counters.ts";
import type { Packet } from "./packet.ts";

/** Source ports of checks on the self address (never a client's: self addresses serve none). */
export const CHECK_PORT_MIN = 61000;
export const CHECK_PORT_SPAN = 4096;
/** Receive window the checks advertise. */
const CHECK_WINDOW = 64240;
/** Bytes of an HTTP answer kept to find the status line. */
const STATUS_LINE_MAX = 64;

const PH_IDLE = 0;
/** Waiting for the backend's MAC. */
const PH_ARP = 1;
const PH_SYN = 2;
/** HTTP request sent, waiting for the status line. */
const PH_HTTP = 3;

interface Check {
  svc: number;
  backend: number;
  /** `ip:port` as the status shows it. */
  name: string;
  iface: number;
  /** The backend's IPv4 address, or the low word of its IPv6 one. */
  ip: number;
  /** The high words of an IPv6 backend's address (zeros for IPv4), and the whole address. */
  hi: Uint32Array;
  ip6: Uint32Array | undefined;
  port: number;
  kind: "tcp" | "http";
  intervalMs: number;
  timeoutMs: number;
  expect: number;
  request: Uint8Array;
  rf: RiseFall;
  phase: number;
  /** Next start (PH_IDLE) or the deadline of the check in flight. */
  at: number;
  started: number;
  sport: number;
  iss: number;
  /** The backend's initial sequence number + 1: where its data starts. */
  rcvStart: number;
  answer: string;
  ok: number;
  failed: number;
  /** Why the last check failed (or "ok"). */
  last: string;
}

/** A backend that went up or down on this unit. */
export interface HealthChange {
  svc: number;
  backend: number;
  up: boolean;
  why: string;
}

/** The status of one backend's checks on this unit. */
export interface CheckStatus {
  ok: number;
  failed: number;
  last: string;
}

const encoder = new TextEncoder();

export class HealthChecks {
  readonly #checks: Check[] = [];
  /** Check index per source port − CHECK_PORT_MIN, or -1. */
  readonly #byPort = new Int32Array(CHECK_PORT_SPAN).fill(-1);
  #nextPort = 0;
  /** Flips since the unit last read them (it logs and tells the peer). */
  changes: HealthChange[] = [];

  /**
   * A check per backend of every service whose health kind is not `none`. `prior` carries the
   * hysteresis state of checks that continue (same service name and backend) across a reload;
   * `oldNames` are the service names `prior` was built for.
   */
  constructor(ctx: EngineCtx, prior?: HealthChecks, oldNames: readonly string[] = []) {
    const keep = new Map((prior ? prior.#checks : []).map((c) => [`${c.svc}|${c.name}`, c]));
    ctx.cfg.services.forEach((s, svc) => {
      const h = s.health;
      if (h === undefined || h.kind === "none" || s.retired) return;
      s.backends.forEach((b, backend) => {
        const hi = b.ip6 ? b.ip6.slice(0, 3) : new Uint32Array(3);
        const host = b.ip6 ? `[${ipv6ToString(b.ip6)}]` : ipv4ToString(b.ip);
        const name = `${host}:${b.port}`;
        const iface = ctx.route(b.ip, hi, 0);
        // A backend no interface reaches (or an IPv6 one where the interface has no IPv6
        // self to check from) cannot be checked.
        if (iface < 0 || (b.ip6 && !ctx.cfg.interfaces[iface]!.ip6)) return;
        const port = h.port !== 0 ? h.port : b.port;
        const oldSvc = oldNames.indexOf(s.name);
        const before = keep.get(`${oldSvc}|${name}`);
        const rf = before && before.rf.rise === h.rise && before.rf.fall === h.fall
          ? before.rf
          : new RiseFall(h.rise, h.fall, before?.rf.up ?? true);
        ctx.pools[svc]!.setHealth(backend, rf.up ? H_UP : H_DOWN);
        this.#checks.push({
          svc,
          backend,
          name,
          iface,
          ip: b.ip,
          hi,
          ip6: b.ip6,
          port,
          kind: h.kind === "http" ? "http" : "tcp",
          intervalMs: h.intervalMs,
          timeoutMs: h.timeoutMs,
          expect: h.expect,
          request: encoder.encode(
            `GET ${h.path} HTTP/1.0\r\nHost: ${host}:${port}\r\n` +
              "User-Agent: tandem-check\r\nConnection: close\r\n\r\n",
          ),
          rf,
          phase: PH_IDLE,
          // Started on the first tick, spread over 10 ms steps so checks do not leave at once.
          at: NaN,
          started: 0,
          sport: 0,
          iss: 0,
          rcvStart: 0,
          answer: "",
          ok: before?.ok ?? 0,
          failed: before?.failed ?? 0,
          last: before?.last ?? "not checked yet",
        });
      });
    });
  }

  /** How backend `backend` of service `svc` is checked here, or undefined when it is not. */
  status(svc: number, backend: number): CheckStatus | undefined {
    const c = this.#checks.find((x) => x.svc === svc && x.backend === backend);
    return c && { ok: c.ok, failed: c.failed, last: c.last };
  }

  /** Starts due checks and fails late ones; returns when it wants to run again. */
  tick(ctx: EngineCtx, now: number): number {
    let next = Infinity;
    for (let i = 0; i < this.#checks.length; i++) {
      const c = this.#checks[i]!;
      if (Number.isNaN(c.at)) c.at = now + (i % 100) * 10;
      if (c.phase === PH_IDLE) {
        // A backend in maintenance is being worked on: no checks (HAProxy's MAINT does the same).
        if (ctx.pools[c.svc]!.admin[c.backend] === A_MAINTENANCE) {
          c.at = Math.max(c.at, now + c.intervalMs);
        } else if (now >= c.at) this.#start(ctx, c, i, now);
      } else if (now >= c.at) {
        this.#finish(ctx, c, false, "timeout", now);
      } else if (c.phase === PH_ARP && ctx.neighbors[c.iface]!.lookup(c.ip, c.hi) !== undefined) {
        this.#syn(ctx, c);
      }
      next = Math.min(next, c.phase === PH_ARP ? now + 5 : c.at);
    }
    return next;
  }

  /**
   * A TCP segment to a self address: consumed (true) when it answers a check in flight. Sets
   * the verdict on a SYN-ACK (tcp), a status line (http) or a reset.
   */
  reply(p: Packet, ctx: EngineCtx): boolean {
    const slot = p.dport - CHECK_PORT_MIN;
    if (slot < 0 || slot >= CHECK_PORT_SPAN) return false;
    const i = this.#byPort[slot]!;
    if (i < 0) return false;
    const c = this.#checks[i]!;
    const hi = p.hi;
    if (
      c.phase < PH_SYN || p.src !== c.ip || p.sport !== c.port || hi[0] !== c.hi[0] ||
      hi[1] !== c.hi[1] || hi[2] !== c.hi[2]
    ) return false;
    const seg = p.tcp, flags = p.tcpFlags;
    if (flags & TCP_RST) {
      this.#finish(ctx, c, false, "refused", p.now, false);
      return true;
    }
    if (c.phase === PH_SYN) {
      if ((flags & (TCP_SYN | TCP_ACK)) !== (TCP_SYN | TCP_ACK)) return true;
      if (seg.ackNumber !== ((c.iss + 1) >>> 0)) return true;
      c.rcvStart = (seg.seqNumber + 1) >>> 0;
      if (c.kind === "tcp") {
        this.#finish(ctx, c, true, "ok", p.now);
        return true;
      }
      this.#send(ctx, c, TCP_PSH | TCP_ACK, c.request);
      c.phase = PH_HTTP;
      return true;
    }
    // PH_HTTP: the answer's first bytes, in order; anything else waits for a retransmission.
    const off = (seg.seqNumber - c.rcvStart - c.answer.length) >>> 0;
    const data = seg.payload;
    if (off === 0 && data.length > 0 && c.answer.length < STATUS_LINE_MAX) {
      const take = Math.min(data.length, STATUS_LINE_MAX - c.answer.length);
      for (let k = 0; k < take; k++) c.answer += String.fromCharCode(data[k]!);
    }
    const m = /^HTTP\/\d\.\d (\d{3})[ \r]/.exec(c.answer);
    if (m) {
      const code = Number(m[1]);
      this.#finish(ctx, c, code === c.expect, code === c.expect ? "ok" : `http ${code}`, p.now);
    } else if (c.answer.length >= STATUS_LINE_MAX || c.answer.includes("\n")) {
      this.#finish(ctx, c, false, "not http", p.now);
    } else if (flags & TCP_FIN) {
      this.#finish(ctx, c, false, "closed before a status line", p.now);
    }
    return true;
  }

  #start(ctx: EngineCtx, c: Check, i: number, now: number): void {
    // A fresh source port and sequence number each time, so a late segment of an earlier
    // check can never be taken for this one.
    if (c.sport !== 0 && this.#byPort[c.sport - CHECK_PORT_MIN] === i) {
      this.#byPort[c.sport - CHECK_PORT_MIN] = -1;
    }
    c.sport = CHECK_PORT_MIN + this.#nextPort;
    this.#nextPort = (this.#nextPort + 1) % CHECK_PORT_SPAN;
    this.#byPort[c.sport - CHECK_PORT_MIN] = i;
    c.iss = ctx.rng() >>> 0;
    c.answer = "";
    c.started = now;
    c.at = now + c.timeoutMs;
    if (ctx.neighbors[c.iface]!.lookup(c.ip, c.hi) === undefined) {
      c.phase = PH_ARP;
      resolve(ctx, c.iface, c.ip, c.hi, 0);
      return;
    }
    this.#syn(ctx, c);
  }

  #syn(ctx: EngineCtx, c: Check): void {
    c.phase = PH_SYN;
    this.#emit(ctx, c, c.iss, 0, TCP_SYN, EMPTY);
  }

  /** Sends a segment of the check's connection with the next sequence number. */
  #send(ctx: EngineCtx, c: Check, flags: number, payload: Uint8Array): void {
    const seq = (c.iss + 1 + (c.phase === PH_HTTP ? c.request.length : 0)) >>> 0;
    this.#emit(ctx, c, seq, (c.rcvStart + c.answer.length) >>> 0, flags, payload);
  }

  /** One segment from the self address to the backend; none while its MAC is unknown. */
  #emit(
    ctx: EngineCtx,
    c: Check,
    seq: number,
    ack: number,
    flags: number,
    payload: Uint8Array,
  ): void {
    const me = ctx.cfg.interfaces[c.iface]!;
    const mac = ctx.neighbors[c.iface]!.lookup(c.ip, c.hi);
    if (mac === undefined) return;
    const n = c.ip6 !== undefined
      ? buildTcpData6(
        ctx.scratch,
        mac,
        me.mac,
        me.ip6!,
        c.ip6,
        c.sport,
        c.port,
        seq,
        ack,
        flags,
        CHECK_WINDOW,
        payload,
      )
      : buildTcpData(
        ctx.scratch,
        mac,
        me.mac,
        me.ip,
        c.ip,
        c.sport,
        c.port,
        seq,
        ack,
        flags,
        CHECK_WINDOW,
        payload,
      );
    ctx.emitScratch(c.iface, n);
  }

  /** Records a result; closes an open connection with a reset unless the backend did. */
  #finish(ctx: EngineCtx, c: Check, ok: boolean, why: string, now: number, reset = true): void {
    if (reset && (c.phase === PH_HTTP || (c.phase === PH_SYN && ok))) {
      this.#send(ctx, c, TCP_RST | TCP_ACK, EMPTY);
    }
    c.phase = PH_IDLE;
    c.at = c.started + c.intervalMs;
    if (c.at <= now) c.at = now + 1;
    c.last = why;
    if (ok) c.ok++;
    else c.failed++;
    ctx.counters.add(ok ? EV.health_checks_ok : EV.health_checks_failed);
    if (c.rf.record(ok)) {
      ctx.pools[c.svc]!.setHealth(c.backend, c.rf.up ? H_UP : H_DOWN);
      ctx.counters.add(c.rf.up ? EV.backends_up : EV.backends_down);
      this.changes.push({ svc: c.svc, backend: c.backend, up: c.rf.up, why });
    }
  }
}

const EMPTY = new Uint8Array(0);
