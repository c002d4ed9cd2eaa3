/**
 * The unit's side of load balancing: what this unit's health checks found (logged, and told to
 * the peer so both views show), the operator's backend states (`tandem backend`, applied here
 * and on the peer), and the services as the status API shows them.
 *
 * Peer records (op codes in `peer/records.ts`):
 * - CTRL_HEALTH on the control lane, every second and on every change: `arg` = service index,
 *   `data` = one `H_*` byte per backend. Lost ones are simply superseded by the next.
 * - CTRL_BACKEND_ADMIN on the ordered, reliable data lane: `arg` packs service, backend and
 *   `A_*` state. Sent when the operator changes a state, and for every backend when this unit
 *   serves a bulk sync, so a unit that comes back holds the same states.
 * Indexes only mean the same on both units when their configs match, so records from a peer
 * whose config digest differs are ignored.
 * @module
 */
import type { BackendAdmin, BackendHealth, ServiceStatus } from "../api/snapshot.ts";
import {
  A_ENABLED,
  ADMIN_NAMES,
  H_DOWN,
  H_UNCHECKED,
  H_UP,
  HEALTH_NAMES,
  NO_BACKEND,
} from "../engine/backends.ts";
import type { Engine } from "../engine/engine.ts";
import type { HealthChange } from "../engine/health.ts";
import { ST_PERSIST } from "../flow/states.ts";
import { addrText, withPort } from "../wire/addr.ts";
import { parseEndpoint } from "../config/schema.ts";

/** `a.b.c.d:port`, or `[v6]:port` for an IPv6 address (RFC 5952 text, as the config's). */
export function endpointText(ip: number, ip6: ArrayLike<number> | undefined, port: number): string {
  return withPort(addrText(ip, ip6), port);
}

/** How often the health view is re-sent even without a change. */
export const HEALTH_SHARE_MS = 1000;
/** How long a count of each backend's flows is reused. */
export const FLOW_COUNT_MS = 1000;

/** `arg` of a CTRL_BACKEND_ADMIN record: service (16 bits), backend (8), state (2). */
export function packAdmin(svc: number, backend: number, admin: number): number {
  return ((svc & 0xffff) << 10 | (backend & 0xff) << 2 | (admin & 3)) >>> 0;
}

export function unpackAdmin(arg: number): { svc: number; backend: number; admin: number } {
  return { svc: arg >>> 10, backend: (arg >>> 2) & 0xff, admin: arg & 3 };
}

/** The outcome of an operator's backend change. */
export type AdminResult =
  | { ok: true; svc: number; backend: number; admin: number; changed: boolean; message: string }
  | { ok: false; reason: "unknown-service" | "unknown-backend"; message: string };

export class Balancer {
  readonly #engine: Engine;
  /** The peer's health bytes per service index, as it last said. */
  #peer: (Uint8Array | undefined)[] = [];
  #nextShare = 0;
  #counts: Float64Array[] = [];
  #countedAt = -Infinity;

  constructor(engine: Engine) {
    this.#engine = engine;
  }

  /** Health flips since the last call, for the log and the peer. */
  takeChanges(): HealthChange[] {
    const h = this.#engine.ctx.health;
    if (h.changes.length === 0) return h.changes;
    const out = h.changes;
    h.changes = [];
    return out;
  }

  /** True when the health view should go to the peer now (`changed`: something flipped). */
  shareDue(now: number, changed: boolean): boolean {
    if (!changed && now < this.#nextShare) return false;
    this.#nextShare = now + HEALTH_SHARE_MS;
    return true;
  }

  /** When the next unprompted share is due. */
  get nextShare(): number {
    return this.#nextShare;
  }

  /** Service `svc`'s health bytes (one `H_*` per backend). */
  healthBytes(svc: number): Uint8Array {
    return this.#engine.ctx.pools[svc]!.health.slice();
  }

  /** The live (not retired) service indexes that have health checks. */
  checkedServices(): number[] {
    const out: number[] = [];
    this.#engine.config.services.forEach((s, i) => {
      if (!s.retired && s.health && s.health.kind !== "none") out.push(i);
    });
    return out;
  }

  /** The peer's health view of service `svc`, from a CTRL_HEALTH record. */
  onPeerHealth(svc: number, data: Uint8Array, configMatch: boolean | null): void {
    const s = this.#engine.config.services[svc];
    if (configMatch !== true || s === undefined || data.length !== s.backends.length) return;
    for (const b of data) if (b > H_DOWN) return;
    this.#peer[svc] = data.slice();
  }

  /** Forgets the peer's view (it restarted, or its config changed). */
  forgetPeer(): void {
    this.#peer = [];
  }

  /** Sets the state of `address` (`a.b.c.d:port` or `[v6]:port`) of service `name` on this unit. */
  setAdmin(name: string, address: string, admin: BackendAdmin): AdminResult {
    const services = this.#engine.config.services;
    const svc = services.findIndex((s) => s.name === name && !s.retired);
    if (svc < 0) {
      return { ok: false, reason: "unknown-service", message: `no service named ${name}` };
    }
    const s = services[svc]!;
    // Any spelling of an IPv6 address finds its backend: compare canonical text.
    const want = parseEndpoint(address)?.text ?? address;
    const backend = s.backends.findIndex((b) => endpointText(b.ip, b.ip6, b.port) === want);
    if (backend < 0) {
      return {
        ok: false,
        reason: "unknown-backend",
        message: `service ${name} has no backend ${address}`,
      };
    }
    const code = ADMIN_NAMES.indexOf(admin);
    const changed = this.#engine.ctx.pools[svc]!.setAdmin(backend, code);
    return {
      ok: true,
      svc,
      backend,
      admin: code,
      changed,
      message: `${name} ${address}: ${admin}${changed ? "" : " (already)"}`,
    };
  }

  /** Applies a CTRL_BACKEND_ADMIN from the peer; returns the event detail, or undefined. */
  onPeerAdmin(arg: number, configMatch: boolean | null): string | undefined {
    if (configMatch !== true) return undefined;
    const { svc, backend, admin } = unpackAdmin(arg);
    const s = this.#engine.config.services[svc];
    if (s === undefined || backend >= s.backends.length || admin >= ADMIN_NAMES.length) {
      return undefined;
    }
    if (!this.#engine.ctx.pools[svc]!.setAdmin(backend, admin)) return undefined;
    const b = s.backends[backend]!;
    return `${s.name} ${endpointText(b.ip, b.ip6, b.port)}: ${ADMIN_NAMES[admin]} (from the peer)`;
  }

  /** Every backend's state as CTRL_BACKEND_ADMIN arguments (what a joining peer needs). */
  adminArgs(): number[] {
    const out: number[] = [];
    this.#engine.ctx.pools.forEach((p, svc) => {
      if (p.svc.retired) return;
      p.admin.forEach((a, b) => out.push(packAdmin(svc, b, a)));
    });
    return out;
  }

  /** A readable line for a health flip. */
  describe(c: HealthChange): string {
    const s = this.#engine.config.services[c.svc]!, b = s.backends[c.backend]!;
    return `${s.name} ${endpointText(b.ip, b.ip6, b.port)} ${c.up ? "up" : `down (${c.why})`}`;
  }

  /**
   * Flows per backend of each service. Counting scans the whole table (a million slots is a
   * few ms that the loop cannot serve packets in), so a count is reused for a second: the
   * status and dashboard may poll many times a second.
   */
  #flowCounts(now: number): Float64Array[] {
    if (
      now - this.#countedAt < FLOW_COUNT_MS &&
      this.#counts.length === this.#engine.config.services.length
    ) {
      return this.#counts;
    }
    const e = this.#engine, ft = e.flows, c = ft.c;
    const counts = e.config.services.map((s) => new Float64Array(s.backends.length));
    const state = c.state, service = c.service, backend = c.backend;
    for (let f = 0; f < ft.capacity; f++) {
      const st = state[f]!;
      if (st === 0 || st === ST_PERSIST) continue;
      const b = backend[f]!;
      const n = counts[service[f]!];
      if (n !== undefined && b !== NO_BACKEND && b < n.length) n[b]!++;
    }
    this.#counts = counts;
    this.#countedAt = now;
    return counts;
  }

  /** The services as the status API shows them (flow counts at most a second old). */
  services(peered: boolean, now: number): ServiceStatus[] {
    const e = this.#engine;
    const counts = this.#flowCounts(now);
    return e.config.services.flatMap((s, svc): ServiceStatus[] => {
      if (s.retired) return [];
      const pool = e.ctx.pools[svc]!, peer = this.#peer[svc];
      return [{
        name: s.name,
        listen: endpointText(s.vip, s.vip6, s.port),
        protocol: s.proto === 6 ? "tcp" : "udp",
        scheduler: s.scheduler,
        health: { kind: s.health?.kind ?? "none", intervalMs: s.health?.intervalMs ?? 0 },
        persistenceMs: s.persistenceMs ? s.persistenceMs : null,
        backendsUp: pool.upCount,
        backends: s.backends.map((b, i) => ({
          address: endpointText(b.ip, b.ip6, b.port),
          weight: b.weight ?? 1,
          admin: ADMIN_NAMES[pool.admin[i]!]!,
          health: healthName(pool.health[i]!),
          peerHealth: !peered ? null : peer === undefined ? null : healthName(peer[i]!),
          state: pool.admin[i] !== A_ENABLED
            ? ADMIN_NAMES[pool.admin[i]!] as "draining" | "maintenance"
            : pool.usable(i)
            ? "up"
            : pool.health[i] === H_DOWN
            ? "down"
            : "draining",
          flows: counts[svc]?.[i] ?? 0,
        })),
      }];
    });
  }
}

function healthName(h: number): BackendHealth {
  return HEALTH_NAMES[h === H_UP || h === H_DOWN ? h : H_UNCHECKED]!;
}
