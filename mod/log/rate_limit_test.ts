import assert from "node:assert/strict";
import { RateLimitedWarning } from "./rate_limit.ts";

Deno.test("rate limit: first event of a reason is reported at once", () => {
  const r = new RateLimitedWarning();
  assert.equal(r.observe(0, "bad_checksum"), "drops: bad_checksum +1");
});

Deno.test("rate limit: events within the interval are suppressed and summed into the next", () => {
  const r = new RateLimitedWarning({ intervalMs: 1000 });
  assert.ok(r.observe(0, "bad_checksum") !== undefined);
  for (let t = 1; t < 1000; t++) assert.equal(r.observe(t, "bad_checksum", 2), undefined);
  // 999 suppressed calls of 2 plus this one of 3.
  assert.equal(r.observe(1000, "bad_checksum", 3), "drops: bad_checksum +2001 in 1s");
  assert.equal(r.observe(1001, "bad_checksum"), undefined);
});

Deno.test("rate limit: reasons are limited independently", () => {
  const r = new RateLimitedWarning({ intervalMs: 1000, label: "peer records rejected" });
  assert.equal(r.observe(0, "bad_mac"), "peer records rejected: bad_mac +1");
  assert.equal(r.observe(10, "replay", 5), "peer records rejected: replay +5");
  assert.equal(r.observe(20, "bad_mac"), undefined);
  assert.equal(r.observe(1500, "bad_mac"), "peer records rejected: bad_mac +2 in 1.5s");
});

Deno.test("rate limit: flush reports held-back counts once the interval passed, then forgets", () => {
  const r = new RateLimitedWarning({ intervalMs: 1000 });
  r.observe(0, "no_route");
  r.observe(100, "no_route", 7);
  assert.deepEqual(r.flush(500), [], "interval not over yet");
  assert.deepEqual(r.flush(1200), ["drops: no_route +7 in 1.2s"]);
  assert.deepEqual(r.flush(2300), [], "nothing pending: reason forgotten");
  // Forgotten, so the next occurrence is news again and is reported at once.
  assert.equal(r.observe(2400, "no_route"), "drops: no_route +1");
});

Deno.test("rate limit: short spans print in ms", () => {
  const r = new RateLimitedWarning({ intervalMs: 200 });
  r.observe(0, "x");
  assert.equal(r.observe(250, "x", 4), "drops: x +4 in 250ms");
});
