/**
 * The decisions a receiver makes for a new flow (DESIGN.md "Determinism rule"): the backend,
 * the SNAT port, the TCP sequence offset. They are written into the flow table's staging row
 * and travel in the mirror record, so the peer never decides anything itself. Randomness comes
 * from `ctx.rng`, an input.
 * @module
 */
import { ST_TCP_SYN_SENT, ST_UDP_NEW } from "../flow/states.ts";
import { fmix32, hashTuple } from "../util/hash.ts";
import { PROTO_TCP } from "../wire/mod.ts";
import type { EngineCtx } from "./context.ts";
import { DROP, EV } from "./counters.ts";
import { persistedBackend } from "./persist.ts";

/** Ephemeral range for SNAT ports (RFC 6056 §2.1 suggests 1024-65535). */
export const SNAT_PORT_MIN = 1024;
const SNAT_PORT_SPAN = 65536 - SNAT_PORT_MIN;
/** Ports tried after the random start before the service counts its SNAT range exhausted. */
const SNAT_PROBES = 4096;
const replyHi = new Uint32Array(6);

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
  hi: Uint32Array,
): boolean {
  const ft = ctx.flows, c = ft.c, row = ft.stage;
  const s = ctx.cfg.services[svc]!;
  let backend = persistedBackend(ctx, svc, src, hi);
  if (backend >= 0) ctx.counters.add(EV.persistence_hits);
  else {
    // An IPv6 client's high words count too: clients of one /64 differ only in the low 64 bits.
    const key = (hi[0]! | hi[1]! | hi[2]!) === 0 ? src : src ^ fmix32(hi[1]! ^ fmix32(hi[2]!));
    backend = ctx.pools[svc]!.pick(hashTuple(proto, key, sport, dst, dport, 0));
  }
  const b = s.backends[backend]!;
  // The reply tuple's high words: backend → SNAT address or client (zeros for IPv4).
  const r = replyHi;
  const bh = b.ip6, sh = s.snatIp6;
  r[0] = bh ? bh[0]! : 0, r[1] = bh ? bh[1]! : 0, r[2] = bh ? bh[2]! : 0;
  if (sh) r[3] = sh[0]!, r[4] = sh[1]!, r[5] = sh[2]!;
  else r[3] = hi[0]!, r[4] = hi[1]!, r[5] = hi[2]!;
  let rDst = src, rDport = sport;
  if (s.snatIp !== 0) {
    // A random start, then a linear probe (RFC 6056 §3.3.1, algorithm 1).
    rDst = s.snatIp;
    rDport = -1;
    const start = ctx.rng() % SNAT_PORT_SPAN;
    for (let i = 0; i < SNAT_PROBES; i++) {
      const port = SNAT_PORT_MIN + ((start + i) % SNAT_PORT_SPAN);
      if (ft.lookup6(proto, b.ip, b.port, s.snatIp, port, r) < 0) {
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
  // IPv6: the high words (an IPv4 flow's stay as `clearRow` left them, zero).
  if ((hi[0]! | hi[1]! | hi[2]!) !== 0) {
    c.oSrcHi0[row] = hi[0]!, c.oSrcHi1[row] = hi[1]!, c.oSrcHi2[row] = hi[2]!;
    c.oDstHi0[row] = hi[3]!, c.oDstHi1[row] = hi[4]!, c.oDstHi2[row] = hi[5]!;
    c.rSrcHi0[row] = r[0]!, c.rSrcHi1[row] = r[1]!, c.rSrcHi2[row] = r[2]!;
    c.rDstHi0[row] = r[3]!, c.rDstHi1[row] = r[4]!, c.rDstHi2[row] = r[5]!;
  }
  // Claims 23, 24: a per-flow sequence offset, decided once and mirrored.
  c.seqOffset[row] = proto === PROTO_TCP && s.randomizeIsn ? ctx.rng() >>> 0 : 0;
  c.created[row] = now;
  c.lastSeen[row] = now;
  return true;
}
