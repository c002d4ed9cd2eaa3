/**
 * The decisions a receiver makes for a new flow (DESIGN.md "Determinism rule"): the backend,
 * the SNAT port, the TCP sequence offset. They are written into the flow table's staging row
 * and travel in the mirror record, so the peer never decides anything itself. Randomness comes
 * from `ctx.rng`, an input.
 * @module
 */
import { ST_TCP_SYN_SENT, ST_UDP_NEW } from "../flow/states.ts";
import { hashTuple } from "../util/hash.ts";
import { PROTO_TCP } from "../wire/mod.ts";
import type { EngineCtx } from "./context.ts";
import { DROP, EV } from "./counters.ts";
import { persistedBackend } from "./persist.ts";

/** Ephemeral range for SNAT ports (RFC 6056 §2.1 suggests 1024-65535). */
export const SNAT_PORT_MIN = 1024;
const SNAT_PORT_SPAN = 65536 - SNAT_PORT_MIN;
/** Ports tried after the random start before the service counts its SNAT range exhausted. */
const SNAT_PROBES = 4096;

/**
 * Builds the new flow of service `svc` for the packet `src:sport → dst:dport` in the staging
 * row. The backend: the client's persistence template's, else the scheduler's pick among the
 * backends that are up (the caller checked that one is). Returns false (counted) when no SNAT
 * port is free.
 */
export function decideNewFlow(
  ctx: EngineCtx,
  svc: number,
  proto: number,
  src: number,
  sport: number,
  dst: number,
  dport: number,
  now: number,
): boolean {
  const ft = ctx.flows, c = ft.c, row = ft.stage;
  const s = ctx.cfg.services[svc]!;
  let backend = persistedBackend(ctx, svc, src);
  if (backend >= 0) ctx.counters.add(EV.persistence_hits);
  else backend = ctx.pools[svc]!.pick(hashTuple(proto, src, sport, dst, dport, 0));
  const b = s.backends[backend]!;
  let rDst = src, rDport = sport;
  if (s.snatIp !== 0) {
    // A random start, then a linear probe (RFC 6056 §3.3.1, algorithm 1).
    rDst = s.snatIp;
    rDport = -1;
    const start = ctx.rng() % SNAT_PORT_SPAN;
    for (let i = 0; i < SNAT_PROBES; i++) {
      const port = SNAT_PORT_MIN + ((start + i) % SNAT_PORT_SPAN);
      if (ft.lookup(proto, b.ip, b.port, s.snatIp, port) < 0) {
        rDport = port;
        break;
      }
    }
    if (rDport < 0) {
      ctx.counters.drop(DROP.snat_ports_exhausted);
      return false;
    }
  }
  ft.clearRow(row);
  c.proto[row] = proto;
  c.state[row] = proto === PROTO_TCP ? ST_TCP_SYN_SENT : ST_UDP_NEW;
  c.service[row] = svc;
  c.backend[row] = backend;
  c.oSrc[row] = src;
  c.oSport[row] = sport;
  c.oDst[row] = dst;
  c.oDport[row] = dport;
  c.rSrc[row] = b.ip;
  c.rSport[row] = b.port;
  c.rDst[row] = rDst;
  c.rDport[row] = rDport;
  // Claims 23, 24: a per-flow sequence offset, decided once and mirrored.
  c.seqOffset[row] = proto === PROTO_TCP && s.randomizeIsn ? ctx.rng() >>> 0 : 0;
  c.created[row] = now;
  c.lastSeen[row] = now;
  return true;
}
