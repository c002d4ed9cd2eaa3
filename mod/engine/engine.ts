/**
 * The data-plane engine: a pure, deterministic function of frames, peer records and injected
 * time and randomness (smoltcp `Interface::poll`, Katran). `handle` reads as the data path:
 *
 *   classify → neighbours (ARP, NDP) / local → SYN proxy → conntrack → evict → MTU → NAT → track →
 *   deliver
 *
 * (deliver emits or mirrors)
 *
 * with ICMP errors of tracked flows translated on their own path, and a later IPv4 or IPv6
 * fragment finding its flow by its datagram instead of conntrack (`fragments.ts`). Each stage is
 * a file of its own. The peer side (`replica.ts`) applies another unit's decisions verbatim; the reaper and
 * the takeover actions (GARP, probes) run from `tick` and the unit's role changes.
 *
 * Roles (DESIGN.md, patent FIG 1-3): the *receiver* owns the floating addresses and makes
 * every decision about a packet; the *forwarder* emits it. The pair state machine sets them
 * (`roles`).
 * @module
 */
import type { FlowTable } from "../flow/table.ts";
import { arp } from "./arp.ts";
import { classify } from "./classify.ts";
import type { EngineConfig } from "./config.ts";
import { EngineCtx, type EngineRoles } from "./context.ts";
import { conntrack } from "./conntrack.ts";
import { type Counters, DROP, EV } from "./counters.ts";
import { deliver } from "./deliver.ts";
import { resolve } from "./resolve.ts";
import { evict } from "./evict.ts";
import { firstFragment, laterFragment } from "./fragments.ts";
import { icmpError } from "./icmp_error.ts";
import { local } from "./local.ts";
import { mtu } from "./mtu.ts";
import { nat } from "./nat.ts";
import type { Neighbors } from "./neighbors.ts";
import { type EngineOutput, MF_HEADERS, NEXT } from "./output.ts";
import { K_ARP, K_FRAGMENT, K_ICMP, K_IP_OTHER, K_NDP, K_TCP, Packet } from "./packet.ts";
import { ndp } from "./ndp.ts";
import { Reaper } from "./reaper.ts";
import { reconfigure, type ReloadSummary } from "./reconfigure.ts";
import { applyExpire, applyMirror, type ExpireTuple, type MirrorIn } from "./replica.ts";
import { announce, probe, replay } from "./takeover.ts";
import { HELD_SIZE, synProxy } from "./synproxy.ts";
import type { SynSecret } from "./syncookie.ts";
import { trackSeq } from "./track.ts";

export class Engine {
  readonly ctx: EngineCtx;
  /**
   * Offload header of the frames being handled (virtio_net_hdr from a TAP opened with
   * IFF_VNET_HDR): the runtime points it at the header in its receive buffer once; zeros mean
   * plain frames with full checksums. A GSO frame carries many segments and a partial L4
   * checksum that the kernel completes on output.
   */
  vnet: Uint8Array = new Uint8Array(10);
  readonly #p = new Packet();
  readonly #reaper = new Reaper();
  readonly #onExpire: (flow: number) => void;
  readonly #relayVnet = new Uint8Array(10);
  /** A persistence template's lifetime: its service's `persistence` (0 if gone: expire). */
  readonly #persistMs = (svc: number): number => this.ctx.cfg.services[svc]?.persistenceMs ?? 0;

  /** `rng` returns uniformly random unsigned 32-bit integers: randomness is an input. */
  constructor(cfg: EngineConfig, out: EngineOutput, rng: () => number) {
    const ctx = this.ctx = new EngineCtx(cfg, out, rng);
    this.#onExpire = (f) => {
      ctx.counters.add(EV.flows_expired);
      if (ctx.roles.mirror) ctx.out.expire(ctx.flows, f);
    };
  }

  get config(): EngineConfig {
    return this.ctx.cfg;
  }
  get flows(): FlowTable {
    return this.ctx.flows;
  }
  get counters(): Counters {
    return this.ctx.counters;
  }
  get neighbors(): Neighbors[] {
    return this.ctx.neighbors;
  }
  /** What this unit is in the pair; set from the pair state machine. */
  get roles(): EngineRoles {
    return this.ctx.roles;
  }

  /**
   * Handles the frame `buf[off, end)` received on interface `ingress` at `now` (ms). The frame
   * may be rewritten in place. Returns a verdict (`V_*` of `output.ts`); every drop is counted.
   */
  handle(buf: Uint8Array, off: number, end: number, ingress: number, now: number): number {
    const ctx = this.ctx, p = this.#p;
    p.reset(buf, off, end, ingress, now);
    p.vnet = this.vnet;
    ctx.counters.add(EV.rx_packets);
    ctx.counters.add(EV.rx_bytes, end - off);
    let v = classify(p, ctx);
    if (v !== NEXT) return v;
    if (p.kind === K_ARP) return arp(p, ctx);
    if (p.kind === K_NDP) return ndp(p, ctx);
    v = local(p, ctx);
    if (v !== NEXT) return v;
    if (p.kind === K_ICMP) return icmpError(p, ctx);
    if (p.kind === K_IP_OTHER) return ctx.drop(p.toFloating ? DROP.no_service : DROP.no_flow);
    if (p.kind === K_FRAGMENT) {
      v = laterFragment(p, ctx);
      if (v !== NEXT) return v;
      v = mtu(p, ctx);
      if (v !== NEXT) return v;
    } else {
      if (p.kind === K_TCP) {
        v = synProxy(p, ctx);
        if (v !== NEXT) {
          if (ctx.synHeld.release >= 0) this.#releaseHeld(now);
          return v;
        }
      }
      v = conntrack(p, ctx);
      if (v !== NEXT) return v;
      v = evict(p, ctx);
      if (v !== NEXT) return v;
      v = mtu(p, ctx);
      if (v !== NEXT) return v;
      if (p.firstFragment) {
        v = firstFragment(p, ctx);
        if (v !== NEXT) return v;
      }
    }
    nat(p, ctx);
    // A fragment's segment is not whole here: its sequence state is left to whole segments.
    if (p.kind === K_TCP && !p.firstFragment) trackSeq(ctx.flows, p.flow, p.reply, p.tcp);
    return deliver(p, ctx);
  }

  /**
   * Handles the client segment the SYN proxy held while its flow's backend handshake was
   * pending, now that it is open (`synproxy.ts`). The current packet is finished: `#p` is free.
   */
  #releaseHeld(now: number): void {
    const h = this.ctx.synHeld, s = h.release;
    h.release = -1;
    h.flow[s] = -1;
    const vnet = this.vnet, v = this.#relayVnet;
    for (let i = 0; i < 10; i++) v[i] = h.vnet[s * 10 + i]!;
    this.vnet = v;
    try {
      const off = s * HELD_SIZE;
      this.handle(h.buf, off, off + h.len[s]!, h.ingress[s]!, now);
    } finally {
      this.vnet = vnet;
    }
  }

  /** Applies a peer's mirror record (see `replica.ts`). */
  applyMirror(rec: MirrorIn): number {
    return applyMirror(this.ctx, rec);
  }

  /**
   * A frame the peer relayed unprocessed (`MF_RELAY`: it just handed this unit the receiver
   * role): handled as if it had arrived on the record's ingress port.
   */
  applyRelay(rec: MirrorIn, now: number): number {
    // A header-only frame is no packet to handle; the sender never cuts a relayed one.
    if (rec.flags & MF_HEADERS) return this.ctx.drop(DROP.mirror_bad_record);
    const vnet = this.vnet;
    const v = this.#relayVnet;
    for (let i = 0; i < 10; i++) v[i] = rec.buf[rec.vnetOff + i]!;
    this.vnet = v;
    try {
      return this.handle(rec.buf, rec.frameOff, rec.frameEnd, rec.ingress, now);
    } finally {
      this.vnet = vnet;
    }
  }

  /** Emits an own mirror record's frame the dead peer never confirmed (see `takeover.ts`). */
  replay(rec: MirrorIn): boolean {
    return replay(this.ctx, rec);
  }

  /** The receiver expired or closed a flow; drop ours too. */
  applyExpire(t: ExpireTuple): boolean {
    return applyExpire(this.ctx, t);
  }

  /**
   * Timers: ARP retries and timeouts, and the reaper (receiver only). Returns the time it
   * wants to run again.
   */
  tick(now: number): number {
    const ctx = this.ctx;
    let next = now + 1000;
    for (let i = 0; i < ctx.neighbors.length; i++) {
      const { expired, deadline } = ctx.neighbors[i]!.tick(
        now,
        (ip, hi) => resolve(ctx, i, ip, hi, 0),
      );
      if (expired > 0) ctx.counters.add(DROP.arp_unresolved, expired);
      if (deadline < next) next = deadline;
    }
    // Both units check their backends: a standby that takes over knows which are up.
    next = Math.min(next, ctx.health.tick(ctx, now));
    for (let s = 0; s < ctx.cfg.services.length; s++) ctx.syn.roll(s, now, ctx);
    // Only the receiver reaps: expiry is a decision (determinism rule); the peer follows.
    if (ctx.roles.receiver) {
      // The receiver replaces the cookie secret (once there is one); the unit sends it on.
      const sec = ctx.synSecret;
      if (sec.ready && now >= sec.nextRotate) {
        sec.rotate(ctx.rng, now);
        ctx.counters.add(EV.syn_secret_rotations);
      }
      if (sec.ready) next = Math.min(next, sec.nextRotate);
      const reap = this.#reaper.sweep(
        ctx.flows,
        ctx.cfg.timeouts,
        now,
        this.#onExpire,
        this.#persistMs,
      );
      next = Math.min(next, Math.max(reap, now + 1));
    }
    return next;
  }

  /** The SYN-cookie secret (current, previous) and its version: the unit sends it to the peer. */
  get synSecret(): SynSecret {
    return this.ctx.synSecret;
  }

  /**
   * The peer's own MAC per interface (`CTRL_MACS`, 6 bytes each in config order); false, and
   * nothing changed, when the count differs from ours (the units' interfaces do not match).
   */
  setPeerMacs(data: Uint8Array): boolean {
    const n = this.ctx.cfg.interfaces.length;
    if (data.length !== n * 6) return false;
    this.ctx.peerMacs = Array.from({ length: n }, (_, i) => data.slice(i * 6, i * 6 + 6));
    return true;
  }

  /** Our own MAC per interface, 6 bytes each in config order (what `CTRL_MACS` carries). */
  ownMacs(): Uint8Array {
    const ifs = this.ctx.cfg.interfaces, out = new Uint8Array(ifs.length * 6);
    ifs.forEach((i, k) => out.set(i.mac, k * 6));
    return out;
  }

  /** Installs the peer's cookie secret (`CTRL_SECRET`); false when malformed. */
  installSynSecret(data: Uint8Array, version: number, now: number): boolean {
    if (!this.ctx.synSecret.install(data, version, now)) return false;
    this.ctx.counters.add(EV.syn_secret_installed);
    return true;
  }

  /** Applies a reloaded config: new services and backends, every flow kept (`reconfigure.ts`). */
  reconfigure(next: EngineConfig): ReloadSummary {
    return reconfigure(this.ctx, next);
  }

  /** Gratuitous ARP for every floating address; returns how many were sent. */
  announce(): number {
    return announce(this.ctx);
  }

  /** Keep-alive probes to both endpoints of established flows after a takeover. */
  probe(now: number, recentMs?: number, maxFlows?: number): number {
    return probe(this.ctx, now, recentMs, maxFlows);
  }
}
