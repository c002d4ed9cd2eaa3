/**
 * Micro-benchmark of the peer link's CPU and wire cost per mirrored packet:
 * encode, seal and open MIRROR records carrying 100-byte frames. The bench
 * harness calls it; it reads the monotonic clock, so it is not pure logic.
 * @module
 */
import { BatchReader, BatchWriter } from "./batch.ts";
import type { MirrorRecord } from "./records.ts";

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
  const rec: MirrorRecord = {
    type: "mirror",
    mseq: 0,
    time: 0,
    ingress: 0,
    egress: 1,
    flags: 1,
    state: 3,
    service: 0,
    proto: 6,
    oSrc: 0xc0000201,
    oSport: 40000,
    oDst: 0xcb007101,
    oDport: 80,
    rSrc: 0xcb007114,
    rSport: 7000,
    rDst: 0xc0000201,
    rDport: 40000,
    seqOffset: 0,
    nextHop: new Uint8Array([2, 0, 0, 0, 0, 1]),
    frame,
  };
  let bytes = 0, seen = 0;
  const open = (dg: Uint8Array): void => {
    bytes += dg.length;
    const res = reader.open(dg);
    if (!res.ok) throw new Error(`link cost: own batch rejected: ${res.reason}`);
    seen += res.records.length;
  };
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    rec.mseq = i + 1;
    rec.time = i;
    if (!writer.add(rec)) {
      open(writer.flush()!);
      writer.add(rec);
    }
  }
  const last = writer.flush();
  if (last) open(last);
  const t1 = performance.now();
  if (seen !== n) throw new Error(`link cost: ${seen} of ${n} records came back`);
  return { nsPerRecord: ((t1 - t0) * 1e6) / n, bytesPerRecord: bytes / n };
}
