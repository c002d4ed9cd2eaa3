/**
 * Micro-benchmark of the peer link's CPU and wire cost per mirrored packet: encode, seal and
 * open MIRROR records carrying 100-byte frames. The bench harness calls it; it reads the
 * monotonic clock, so it is not pure logic.
 * @module
 */
import { FlowTable } from "../flow/table.ts";
import { ST_TCP_ESTABLISHED } from "../flow/states.ts";
import type { MirrorOut } from "../engine/output.ts";
import { BatchReader, BatchWriter } from "./batch.ts";
import type { MirrorRecordOut, PeerRecordIn } from "./records.ts";

export interface LinkCost {
  /** Encode + seal + open + decode, per record (ns). */
  nsPerRecord: number;
  /** Datagram bytes per record, header and MAC amortised over the batch. */
  bytesPerRecord: number;
}

/** Runs `n` MIRROR records (100-byte frames) through a writer and a reader. */
export function measureLinkCost(n: number, maxBytes?: number): LinkCost {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`n must be a positive integer: ${n}`);
  const key = new Uint8Array(32).fill(7);
  const writer = new BatchWriter(key, 1, maxBytes);
  const reader = new BatchReader(key);
  const frame = new Uint8Array(100);
  for (let i = 0; i < frame.length; i++) frame[i] = i;
  const flows = new FlowTable(1);
  const c = flows.c;
  c.proto[0] = 6;
  c.state[0] = ST_TCP_ESTABLISHED;
  c.oSrc[0] = 0xc0000201;
  c.oSport[0] = 40000;
  c.oDst[0] = 0xcb007101;
  c.oDport[0] = 80;
  c.rSrc[0] = 0xcb007114;
  c.rSport[0] = 7000;
  c.rDst[0] = 0xc0000201;
  c.rDport[0] = 40000;
  const out: MirrorOut = {
    flags: 1,
    time: 0,
    ingress: 0,
    egress: 1,
    nextHop: new Uint8Array([2, 0, 0, 0, 0, 1]),
    flows,
    flow: 0,
    frame,
    frameOff: 0,
    frameEnd: frame.length,
    vnet: new Uint8Array(10),
  };
  const rec: MirrorRecordOut = { type: "mirror", mseq: 0, rec: out };
  let bytes = 0, seen = 0;
  const count = (_r: PeerRecordIn): void => {
    seen++;
  };
  const open = (dg: Uint8Array): void => {
    bytes += dg.length;
    const res = reader.open(dg, count);
    if (!res.ok) throw new Error(`link cost: own batch rejected: ${res.reason}`);
  };
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    rec.mseq = i + 1;
    out.time = i;
    if (!writer.add(rec)) {
      open(writer.seal()!);
      writer.add(rec);
    }
  }
  const last = writer.seal();
  if (last) open(last);
  const t1 = performance.now();
  if (seen !== n) throw new Error(`link cost: ${seen} of ${n} records came back`);
  return { nsPerRecord: ((t1 - t0) * 1e6) / n, bytesPerRecord: bytes / n };
}
