/**
 * The backends a service may send new flows to, and the scheduler over them. A backend takes
 * new flows while it is `up`: enabled by the operator, not failed by this unit's health checks
 * (`health/`), and of non-zero weight. The receiver's view alone picks (DESIGN.md "Determinism
 * rule"); the mirror record carries the pick, so the peer's own view never matters for a flow.
 * @module
 */
import { Maglev, RoundRobin } from "../sched/mod.ts";
import type { EngineService } from "./config.ts";

/** Health as this unit's checks see it. */
export const H_UNCHECKED = 0;
export const H_UP = 1;
export const H_DOWN = 2;
/** Operator state (`tandem backend drain|enable|maintenance`). */
export const A_ENABLED = 0;
export const A_DRAINING = 1;
export const A_MAINTENANCE = 2;

export const ADMIN_NAMES = ["enabled", "draining", "maintenance"] as const;
export const HEALTH_NAMES = ["unchecked", "up", "down"] as const;

/** `flow.backend` of a flow whose backend left the config (a reload removed it). */
export const NO_BACKEND = 0xffff;

export class BackendPool {
  readonly svc: EngineService;
  /** `H_*` per backend. */
  readonly health: Uint8Array;
  /** `A_*` per backend. */
  readonly admin: Uint8Array;
  #pick: (hash: number) => number = () => -1;
  #up = 0;

  constructor(svc: EngineService) {
    this.svc = svc;
    const n = svc.backends.length;
    // Checked backends start up, as HAProxy's do: a new service or a restarted unit carries
    // traffic at once, and a dead backend leaves after `fall` failed checks.
    this.health = new Uint8Array(n).fill(svc.health && svc.health.kind !== "none" ? H_UP : 0);
    this.admin = Uint8Array.from(
      svc.backends.map((b) => ADMIN_NAMES.indexOf(b.admin ?? "enabled")),
    );
    this.rebuild();
  }

  /** True when backend `b` takes new flows. */
  usable(b: number): boolean {
    return this.admin[b] === A_ENABLED && this.health[b] !== H_DOWN &&
      (this.svc.backends[b]!.weight ?? 1) > 0;
  }

  /** Backends in state `up`. */
  get upCount(): number {
    return this.#up;
  }

  /** Backend index for a new flow's tuple hash, or -1 when none is up. */
  pick(hash: number): number {
    return this.#pick(hash);
  }

  /** Sets backend `b`'s health; true when it changed (the scheduler is rebuilt then). */
  setHealth(b: number, h: number): boolean {
    if (this.health[b] === h) return false;
    this.health[b] = h;
    this.rebuild();
    return true;
  }

  /** Sets backend `b`'s operator state; true when it changed. */
  setAdmin(b: number, a: number): boolean {
    if (this.admin[b] === a) return false;
    this.admin[b] = a;
    this.rebuild();
    return true;
  }

  /** Index of the backend `ip:port`, or -1. */
  indexOf(ip: number, port: number): number {
    const bs = this.svc.backends;
    for (let i = 0; i < bs.length; i++) if (bs[i]!.ip === ip && bs[i]!.port === port) return i;
    return -1;
  }

  /**
   * A new scheduler over the usable backends, by weight. Maglev keeps every backend's name in
   * the table build so that one backend leaving moves only its own slots; round robin starts
   * its cycle over, which is all it promises.
   */
  rebuild(): void {
    const s = this.svc;
    const weights = s.backends.map((b, i) => this.usable(i) ? (b.weight ?? 1) : 0);
    this.#up = weights.filter((w) => w > 0).length;
    if (this.#up === 0) {
      this.#pick = () => -1;
    } else if (s.scheduler === "maglev") {
      const m = new Maglev(s.backends.map((b) => `${b.ip}:${b.port}`), undefined, weights);
      this.#pick = (h) => m.pick(h);
    } else {
      const rr = new RoundRobin(weights.length, weights);
      this.#pick = () => rr.pick();
    }
  }
}
