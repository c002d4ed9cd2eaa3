/**
 * Gateway fail-safe checks: each interval the unit asks every tracked gateway for its MAC (an
 * ARP request from the self address, RFC 826) and counts the probe answered when any ARP from
 * that address arrived on that interface since the previous probe: a reply, its own request or
 * a gratuitous announcement all show that it is alive and reachable through this unit's NIC.
 * This is keepalived's `track_interface` extended to the next hop, as its users do with an
 * `arping` track script. Pure: time comes in, frames go out through the engine context.
 * @module
 */
import { arpRequest } from "./resolve.ts";
import type { EngineCtx } from "./context.ts";

/** Told of every ARP packet the engine handles (sender address, interface, time). */
export interface ArpWatch {
  heard(iface: number, ip: number, now: number): void;
}

/** A tracked gateway: its address and the interface it sits on. */
export interface GatewayTarget {
  iface: number;
  ip: number;
}

export class GatewayMonitor implements ArpWatch {
  readonly targets: readonly GatewayTarget[];
  readonly #heardAt: Float64Array;
  readonly #probedAt: Float64Array;
  /** Reused result slots: true answered, false silent, undefined before a first probe. */
  readonly #results: (boolean | undefined)[];

  constructor(targets: readonly GatewayTarget[]) {
    this.targets = targets;
    this.#heardAt = new Float64Array(targets.length).fill(-Infinity);
    this.#probedAt = new Float64Array(targets.length).fill(-Infinity);
    this.#results = targets.map(() => undefined);
  }

  heard(iface: number, ip: number, now: number): void {
    const t = this.targets;
    for (let i = 0; i < t.length; i++) {
      if (t[i]!.ip === ip && t[i]!.iface === iface) this.#heardAt[i] = now;
    }
  }

  /**
   * Judges the previous probe of every target (answered since it went out?) and sends the next
   * one. Returns one result per target, in order; undefined for a target probed for the first
   * time. The array is reused by the next call.
   */
  probe(ctx: EngineCtx, now: number): readonly (boolean | undefined)[] {
    const t = this.targets;
    for (let i = 0; i < t.length; i++) {
      const last = this.#probedAt[i]!;
      this.#results[i] = last === -Infinity ? undefined : this.#heardAt[i]! >= last;
      this.#probedAt[i] = now;
      arpRequest(ctx, t[i]!.iface, t[i]!.ip);
    }
    return this.#results;
  }
}
