import assert from "node:assert/strict";
import { measureLinkCost } from "./link_cost.ts";

Deno.test("measureLinkCost reports a positive time and the wire bytes per 100-byte frame", () => {
  const c = measureLinkCost(2000);
  assert.ok(Number.isFinite(c.nsPerRecord) && c.nsPerRecord > 0, `${c.nsPerRecord} ns`);
  // 3 + 65 + 100 = 168 bytes of record, plus 36 bytes of header and MAC per
  // batch of 48 records (8192 bytes): 168.75 bytes per record.
  assert.ok(c.bytesPerRecord > 168 && c.bytesPerRecord < 169, `${c.bytesPerRecord} B`);
  // Smaller batches pay the header and MAC more often.
  assert.ok(measureLinkCost(500, 1500).bytesPerRecord > c.bytesPerRecord);
});

Deno.test("measureLinkCost rejects a non-positive count", () => {
  assert.throws(() => measureLinkCost(0), RangeError);
});
