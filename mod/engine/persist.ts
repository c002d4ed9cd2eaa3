/**
 * Source-IP persistence (affinity): a client's new flows to a service go to the backend its
 * last one went to, for `persistence` after that last new flow (HAProxy's `stick on src`, F5's
 * source-address persistence, IPVS `-p`). The affinity is a row of the flow table, as IPVS
 * keeps its persistence templates among its connections, so mirroring, bulk sync, the digest
 * and expiry need nothing new:
 *
 *   proto 0, state ST_PERSIST, original tuple (client, 0 → VIP, port), reply tuple its mirror
 *   image (VIP, port → client, 0), `service` and `backend` the affinity.
 *
 * The receiver writes a template when it creates a flow; the peer writes the same template
 * when it applies that flow's mirror record (it follows from the record alone), and drops it
 * when the receiver's reaper expires it.
 * @module
 */
import { ST_PERSIST } from "../flow/states.ts";
import type { EngineCtx } from "./context.ts";

/** The protocol number of a template row: 0 is never a tracked flow's. */
export const PROTO_PERSIST = 0;

const templateHi = new Uint32Array(6);

/**
 * The backend service `svc` should give `client`'s next flow: its template's, when there is
 * one and that backend takes new flows; else -1 (the scheduler picks).
 */
export function persistedBackend(
  ctx: EngineCtx,
  svc: number,
  client: number,
  hi: Uint32Array,
): number {
  const s = ctx.cfg.services[svc]!;
  if (!s.persistenceMs) return -1;
  const ref = ctx.flows.lookup6(PROTO_PERSIST, client, 0, s.vip, s.port, hi);
  if (ref < 0 || (ref & 1) !== 0) return -1;
  const b = ctx.flows.c.backend[ref >> 1]!;
  return b < s.backends.length && ctx.pools[svc]!.usable(b) ? b : -1;
}

/**
 * Writes or refreshes the template of flow `f`'s client after `f` was created (the receiver)
 * or applied from a mirror record (the peer). Nothing for a service without persistence.
 */
export function rememberBackend(ctx: EngineCtx, f: number, now: number): void {
  const ft = ctx.flows, c = ft.c;
  const svc = c.service[f]!;
  const s = ctx.cfg.services[svc];
  if (s === undefined || !s.persistenceMs) return;
  const client = c.oSrc[f]!, backend = c.backend[f]!;
  // The template's key is the flow's original tuple's addresses (client → VIP), either family.
  const hi = ft.hiOf(f, false, templateHi);
  const ref = ft.lookup6(PROTO_PERSIST, client, 0, s.vip, s.port, hi);
  if (ref >= 0 && (ref & 1) === 0) {
    const t = ref >> 1;
    if (c.backend[t] === backend && c.service[t] === svc) {
      c.lastSeen[t] = now;
      return;
    }
    // A new affinity: replaced whole, so the table digest stays the XOR of its rows.
    ft.remove(t);
  }
  const row = ft.stage;
  ft.clearRow(row);
  c.proto[row] = PROTO_PERSIST;
  c.state[row] = ST_PERSIST;
  c.service[row] = svc;
  c.backend[row] = backend;
  c.oSrc[row] = client;
  c.oDst[row] = s.vip;
  c.oDport[row] = s.port;
  c.rSrc[row] = s.vip;
  c.rSport[row] = s.port;
  c.rDst[row] = client;
  c.oSrcHi0[row] = c.rDstHi0[row] = hi[0]!;
  c.oSrcHi1[row] = c.rDstHi1[row] = hi[1]!;
  c.oSrcHi2[row] = c.rDstHi2[row] = hi[2]!;
  c.oDstHi0[row] = c.rSrcHi0[row] = hi[3]!;
  c.oDstHi1[row] = c.rSrcHi1[row] = hi[4]!;
  c.oDstHi2[row] = c.rSrcHi2[row] = hi[5]!;
  c.created[row] = now;
  c.lastSeen[row] = now;
  // A full table only costs the affinity, never the flow.
  ft.add(row);
}
