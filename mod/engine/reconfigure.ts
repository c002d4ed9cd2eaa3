/**
 * Live reload of the services (SIGHUP, `POST /reload`): new services, backends, weights and
 * health settings take effect for new flows at once, and no flow is lost.
 *
 * A flow keeps its NAT in its own tuples, so only its service and backend *indexes* need new
 * numbers: a flow belongs to the new service of the same name and the same listen address,
 * and to the backend of the same address (`NO_BACKEND` once that backend left). A service that
 * left but still has flows stays at the end of the list as `retired`: it matches no new packet
 * and its flows run until they end (or are reset, `on_service_removed: reset`). Health state
 * and operator state carry over for backends that stay.
 * @module
 */
import { ST_PERSIST } from "../flow/states.ts";
import { BackendPool, NO_BACKEND } from "./backends.ts";
import type { EngineConfig, EngineService } from "./config.ts";
import { type EngineCtx, vipHiOf } from "./context.ts";
import { HealthChecks } from "./health.ts";
import { SynProxyState } from "./synproxy.ts";

/** What a reload did, for its log line. */
export interface ReloadSummary {
  added: string[];
  removed: string[];
  changed: string[];
  /** Removed services kept for their flows. */
  retired: string[];
  /** Flows whose backend left the config. */
  orphaned: number;
}

/** The parts of the config a reload may not change (they need a restart). */
export function fixedPartsDiffer(a: EngineConfig, b: EngineConfig): string | undefined {
  const same = (x: unknown, y: unknown) =>
    JSON.stringify(x, (_k, v) => v instanceof Uint8Array ? [...v] : v) ===
      JSON.stringify(y, (_k, v) => v instanceof Uint8Array ? [...v] : v);
  if (!same(a.interfaces, b.interfaces)) return "interfaces";
  if (!same(a.floating, b.floating)) return "floating";
  if (a.capacity !== b.capacity) return "flows.capacity";
  if (!same(a.virtualMacs, b.virtualMacs)) return "peer.pair_id";
  return undefined;
}

const key = (s: EngineService) => `${s.name}|${s.proto}|${s.vip}|${s.port}`;

/** Applies `next` (same interfaces and floating addresses) to the running engine. */
export function reconfigure(ctx: EngineCtx, next: EngineConfig): ReloadSummary {
  const old = ctx.cfg, oldPools = ctx.pools;
  const ft = ctx.flows, c = ft.c;
  // Which old services still have flows (a retired one is kept only for them).
  const used = new Uint8Array(old.services.length);
  for (const f of ft.ids()) {
    const s = c.service[f]!;
    if (s < used.length && c.state[f] !== ST_PERSIST) used[s] = 1;
  }
  const services: EngineService[] = next.services.map((s) => ({ ...s }));
  const byKey = new Map(services.map((s, i) => [key(s), i]));
  const newIndex = old.services.map((s, i) => {
    const j = byKey.get(key(s));
    if (j !== undefined) return j;
    if (!used[i]) return -1;
    services.push({ ...s, retired: true });
    return services.length - 1;
  });
  const summary: ReloadSummary = {
    added: next.services.filter((s) => !old.services.some((o) => key(o) === key(s)))
      .map((s) => s.name),
    removed: old.services.filter((s) => !s.retired && !byKey.has(key(s))).map((s) => s.name),
    changed: next.services.filter((s) => {
      const o = old.services.find((x) => key(x) === key(s));
      return o !== undefined && JSON.stringify(o) !== JSON.stringify(s);
    }).map((s) => s.name),
    retired: services.filter((s) => s.retired).map((s) => s.name),
    orphaned: 0,
  };
  ctx.cfg = { ...next, services };
  ctx.vipHi = vipHiOf(services);
  ctx.pools = services.map((s) => new BackendPool(s));
  // SYN rates start over (indexes moved); the cookie secret stays.
  ctx.syn = new SynProxyState(services.length);
  // Operator states carry over by address.
  old.services.forEach((s, i) => {
    const j = newIndex[i]!;
    if (j < 0) return;
    const from = oldPools[i]!, to = ctx.pools[j]!;
    s.backends.forEach((b, k) => {
      const m = to.indexOf(b.ip, b.port);
      // An admin state the file now sets differently wins; else the run-time one stays.
      const fileSays = next.services[j]?.backends[m]?.admin ?? "enabled";
      const fileSaid = b.admin ?? "enabled";
      if (m >= 0 && fileSays === fileSaid) to.setAdmin(m, from.admin[k]!);
    });
  });
  // Health checks continue where they were (their rise/fall state and counts).
  ctx.health = new HealthChecks(ctx, ctx.health, old.services.map((s) => s.name));
  // Every flow and template gets its new numbers.
  for (const f of ft.ids()) {
    const i = c.service[f]!;
    const j = i < newIndex.length ? newIndex[i]! : -1;
    if (j < 0) {
      // A template of a service that left, or a flow whose service this unit never had.
      if (c.state[f] === ST_PERSIST) ft.remove(f);
      continue;
    }
    const ob = c.backend[f]!;
    const was = old.services[i]!.backends[ob];
    const nb = was === undefined ? -1 : ctx.pools[j]!.indexOf(was.ip, was.port);
    if (nb < 0) {
      if (c.state[f] === ST_PERSIST) {
        ft.remove(f);
        continue;
      }
      summary.orphaned++;
    }
    ft.relabel(f, j, nb < 0 ? NO_BACKEND : nb);
  }
  return summary;
}
