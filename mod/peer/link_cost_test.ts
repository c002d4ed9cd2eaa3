import assert from "node:assert/strict";
import { measureLinkCost } from "./link_cost.ts";
import { MIRROR, RECORD_HEADER_LEN } from "./records.ts";
import { BATCH_HEADER_LEN, BATCH_MAC_LEN, DEFAULT_MAX_BATCH } from "./batch.ts";

/** Datagram bytes per record for `n` MIRROR records of 100-byte frames in `max`-byte batches. */
function expectedBytes(n: number, max: number): number {
  const rec = RECORD_HEADER_LEN + MIRROR.size + 100;
  const perBatch = Math.floor((max - BATCH_HEADER_LEN - BATCH_MAC_LEN) / rec);
  const batches = Math.ceil(n / perBatch);
  return (n * rec + batches * (BATCH_HEADER_LEN + BATCH_MAC_LEN)) / n;
}

Deno.test("measureLinkCost reports a positive time and the wire bytes per 100-byte frame", () => {
  const c = measureLinkCost(2000);
  assert.ok(Number.isFinite(c.nsPerRecord) && c.nsPerRecord > 0, `${c.nsPerRecord} ns`);
  // An IPv4 flow: 3 + 66 + 100 = 169 bytes of record; 48 fit in 8192 bytes (8148 / 169): 42
  // batches of 44 bytes overhead.
  assert.equal(c.bytesPerRecord, expectedBytes(2000, DEFAULT_MAX_BATCH));
  assert.equal(c.bytesPerRecord, (2000 * 169 + 42 * 44) / 2000);
  // Smaller batches pay the header and MAC more often.
  const small = measureLinkCost(500, 1500);
  assert.equal(small.bytesPerRecord, expectedBytes(500, 1500));
  assert.ok(small.bytesPerRecord > c.bytesPerRecord);
});

Deno.test("measureLinkCost of one record: one batch, its overhead all on that record", () => {
  assert.equal(measureLinkCost(1).bytesPerRecord, 169 + 44);
});

Deno.test("measureLinkCost rejects a non-positive or fractional count", () => {
  for (const n of [0, -1, 1.5]) assert.throws(() => measureLinkCost(n), RangeError, String(n));
});
