/**
 * The unit's fail-safe checks (DESIGN.md: "an experienced network engineer would expect"; the
 * model is keepalived's `track_interface` and `track_script`): the carrier of tracked NICs and
 * the ARP answers of tracked gateways, each turned into a verdict with rise/fall hysteresis
 * (`ha/hysteresis.ts`). The unit is healthy while no check is down. Carrier is read through a
 * small port so the logic is tested without devices; gateway probes go through the engine
 * (`engine/monitor.ts`).
 * @module
 */
import type { FailsafeStatus } from "../api/snapshot.ts";
import type { EngineCtx } from "../engine/context.ts";
import { GatewayMonitor } from "../engine/monitor.ts";
import { Hysteresis } from "../ha/hysteresis.ts";
import { ipv4ToString } from "../wire/addr.ts";

/** Reads whether a network device has carrier (false when it is down, absent or unreadable). */
export interface CarrierPort {
  carrier(device: string): boolean;
}

/**
 * Carrier from sysfs: `/sys/class/net/<dev>/carrier` reads 1 or 0, and fails (EINVAL) while the
 * device is administratively down. Under `ip netns exec` sysfs is the namespace's own, so a unit
 * in the lab sees its namespace's devices.
 */
export const sysfsCarrier: CarrierPort = {
  carrier(device: string): boolean {
    try {
      return Deno.readTextFileSync(`/sys/class/net/${device}/carrier`).trim() === "1";
    } catch {
      return false;
    }
  },
};

/** What the unit tracks (resolved config `track`). */
export interface TrackSetup {
  links: { interface: string; device: string }[];
  gateways: { interface: string; iface: number; ip: number }[];
  intervalMs: number;
  rise: number;
  fall: number;
}

type Check = FailsafeStatus["checks"][number] & { h: Hysteresis };

export class Failsafe {
  readonly intervalMs: number;
  readonly monitor: GatewayMonitor | null;
  readonly #links: Check[];
  readonly #gateways: Check[];
  readonly #carrier: CarrierPort;
  readonly #devices: string[];
  /** Links then gateways, for the verdicts (built once: the loop asks every turn). */
  readonly #all: Check[];
  #next = -Infinity;

  constructor(track: TrackSetup | null, carrier: CarrierPort = sysfsCarrier) {
    this.#carrier = carrier;
    this.intervalMs = track?.intervalMs ?? 1000;
    const mk = (kind: "link" | "gateway", name: string, target: string): Check => ({
      name,
      kind,
      target,
      up: true,
      h: new Hysteresis(track!.rise, track!.fall),
    });
    this.#links = (track?.links ?? []).map((l) => mk("link", `link ${l.interface}`, l.device));
    this.#devices = (track?.links ?? []).map((l) => l.device);
    this.#gateways = (track?.gateways ?? []).map((g) =>
      mk("gateway", `gateway ${g.interface}`, ipv4ToString(g.ip))
    );
    this.#all = [...this.#links, ...this.#gateways];
    this.monitor = track && track.gateways.length > 0
      ? new GatewayMonitor(track.gateways.map((g) => ({ iface: g.iface, ip: g.ip })))
      : null;
  }

  /** No check is down (a check still waiting for its first result counts as passing). */
  get healthy(): boolean {
    return this.#all.every((c) => c.h.verdict !== "down");
  }

  /** Every check has a verdict: preemption may trust `healthy`. */
  get settled(): boolean {
    return this.#all.every((c) => c.h.verdict !== "unknown");
  }

  /**
   * Runs the checks when due: links read now, gateways judged on the probe of the previous
   * interval and probed again. Returns true when a check's verdict changed.
   */
  tick(now: number, ctx: EngineCtx): boolean {
    if (now < this.#next || this.#all.length === 0) return false;
    this.#next = now + this.intervalMs;
    let changed = false;
    for (let i = 0; i < this.#links.length; i++) {
      changed = this.#observe(this.#links[i]!, this.#carrier.carrier(this.#devices[i]!)) ||
        changed;
    }
    if (this.monitor) {
      const r = this.monitor.probe(ctx, now);
      for (let i = 0; i < r.length; i++) {
        const ok = r[i];
        if (ok !== undefined) changed = this.#observe(this.#gateways[i]!, ok) || changed;
      }
    }
    return changed;
  }

  #observe(c: Check, ok: boolean): boolean {
    const changed = c.h.observe(ok);
    c.up = c.h.verdict !== "down";
    return changed;
  }

  /** When `tick` must run next (Infinity with nothing tracked). */
  nextDeadline(): number {
    return this.#all.length === 0 ? Infinity : this.#next;
  }

  /** The checks for the status API; the lines that changed are for the timeline. */
  checks(): FailsafeStatus["checks"] {
    return this.#all.map(({ name, kind, target, up }) => ({ name, kind, target, up }));
  }

  /** `name target: verdict` of every check, for a timeline line. */
  describe(): string {
    return this.#all.map((c) => `${c.name} ${c.target} ${c.h.verdict}`).join(", ");
  }

  /** Results observed and failures among them, over every check. */
  counts(): { results: number; failures: number } {
    let results = 0, failures = 0;
    for (const c of this.#all) {
      results += c.h.results;
      failures += c.h.failures;
    }
    return { results, failures };
  }
}
