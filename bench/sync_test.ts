import assert from "node:assert/strict";
import { measureCodec, measurePair, syncResult } from "./sync.ts";
import { BATCH_HEADER_LEN, BATCH_MAC_LEN, MAX_BATCH } from "../mod/peer/batch.ts";
import { FLOW, RECORD_HEADER_LEN } from "../mod/peer/records.ts";

Deno.test("measureCodec moves a whole table through FLOW records into an identical one", () => {
  const c = measureCodec(20_000);
  assert.equal(c.flows, 20_000);
  assert.equal(c.identical, true);
  // A whole flow row + 3-byte record header, plus a batch header and MAC per full batch.
  const rec = RECORD_HEADER_LEN + FLOW.size;
  const perBatch = Math.floor((MAX_BATCH - BATCH_HEADER_LEN - BATCH_MAC_LEN) / rec);
  const want = rec + (BATCH_HEADER_LEN + BATCH_MAC_LEN) / perBatch;
  assert.ok(Math.abs(c.bytes / c.flows - want) < 0.1, `${c.bytes / c.flows} vs ${want}`);
  assert.ok(c.encodeSeconds > 0 && c.decodeSeconds > 0);
});

Deno.test({
  name: "measurePair: two units in workers sync a table over UDP on 127.0.0.1",
  // The workers' loops and sockets stay inside this test; it ends them before returning.
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const p = await measurePair(5_000, 15_000);
    assert.equal(p.error, undefined, p.error);
    assert.equal(p.identical, true, "the joiner's table equals the sender's");
    assert.equal(p.joinerCount, 5_000);
    assert.ok(p.syncSeconds !== undefined && p.syncSeconds >= 0 && p.syncSeconds < 15);
    assert.ok(p.joinSeconds! >= p.syncSeconds!, "the join includes the sync");
  },
});

Deno.test("syncResult reports a stalled run and explains it", () => {
  const r = syncResult(
    { flows: 1_000_000, encodeSeconds: 0.4, decodeSeconds: 0.8, bytes: 79e6, identical: true },
    {
      flows: 1_000_000,
      retries: 1,
      progressSamples: 5,
      received: 700_000,
      error: "stalled at 700 000/1 000 000 flows",
    },
    0,
  );
  const row = (m: RegExp) => r.rows.find((x) => m.test(x.metric))!;
  assert.equal(row(/codec \+ table: total/).tandem, "1.20");
  assert.equal(row(/sync start → complete/).tandem, "n/a");
  assert.equal(row(/entries at the joiner/).tandem, "700 000 / 1 000 000");
  assert.ok(r.notes.some((n) => /^Two-unit run failed: stalled/.test(n)));
  assert.ok(r.notes.some((n) => /^Why: the sender is not paced/.test(n)));
  assert.ok(r.notes.some((n) => /^1 resync/.test(n)));
});
