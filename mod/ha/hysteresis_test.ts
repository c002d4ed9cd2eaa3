import assert from "node:assert/strict";
import { Hysteresis } from "./hysteresis.ts";

/** The verdict after each result of `seq` ("1" ok, "0" failed). */
function trace(h: Hysteresis, seq: string): string {
  return [...seq].map((c) => (h.observe(c === "1"), h.verdict[0])).join("");
}

Deno.test("the first result sets the verdict at once", () => {
  assert.equal(trace(new Hysteresis(2, 3), "0"), "d");
  assert.equal(trace(new Hysteresis(2, 3), "1"), "u");
});

Deno.test("fall failures in a row take it down; rise successes bring it up", () => {
  const h = new Hysteresis(2, 3);
  assert.equal(
    trace(h, "1" + "00" + "1" + "000" + "1" + "11"),
    "u" + "uu" + "u" + "uud" + "d" + "uu",
  );
});

Deno.test("a success breaks a run of failures, a failure breaks a run of successes", () => {
  const h = new Hysteresis(3, 2);
  assert.equal(trace(h, "0" + "11011" + "1"), "d" + "ddddd" + "u");
  assert.equal(h.results, 7);
  assert.equal(h.failures, 2);
});

Deno.test("observe says when the verdict changed", () => {
  const h = new Hysteresis(1, 1);
  assert.deepEqual([true, true, false].map((ok) => h.observe(ok)), [true, false, true]);
  assert.throws(() => new Hysteresis(0, 1), RangeError);
});
