/**
 * The unit feeds its history sampler from its own loop: a solo unit on memory ports and a clock
 * the test moves, so the samples and their rates are exact.
 * @module
 */
import assert from "node:assert/strict";
import { labEngineConfig, learnNeighbors, seeded } from "../engine/testing.ts";
import { MemoryPort } from "../port/memory.ts";
import { Unit } from "./unit.ts";

async function until(what: string, cond: () => boolean, limitMs = 2000): Promise<void> {
  const start = performance.now();
  while (!cond()) {
    if (performance.now() - start > limitMs) assert.fail(`not within ${limitMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

Deno.test("unit: history() holds one sample per second of the unit's clock", async () => {
  let now = 1_000_000;
  const front = new MemoryPort("front"), back = new MemoryPort("back");
  const u = new Unit(
    {
      node: "solo",
      mode: "standby-forward",
      role: "active",
      version: "test",
      engine: labEngineConfig("a"),
      configDigest: "0011223344556677",
      peer: null,
      clock: () => now,
      rng: seeded(7),
    },
    [front, back],
    null,
  );
  learnNeighbors(u.engine);
  assert.deepEqual(u.history(), []);
  // A frame waits before the loop starts: the first turn reads it before its timers take the
  // baseline, so the baseline is rx 1 however soon the loop turns.
  front.inject(new Uint8Array(60));
  const ctrl = new AbortController();
  const done = u.run(ctrl.signal);
  /** Injects `n` junk frames (read and counted, then dropped) and waits for the loop to count them. */
  const frames = async (n: number) => {
    const rx = u.snapshot().counters.rx_packets!;
    for (let i = 0; i < n; i++) front.inject(new Uint8Array(60));
    await until(`${n} frames`, () => u.snapshot().counters.rx_packets === rx + n);
  };
  try {
    await until("the first turn", () => u.snapshot().counters.rx_packets === 1);
    await frames(2); // still at +0: not a sample yet
    assert.deepEqual(u.history(), []);
    now += 1000;
    await frames(10); // read in the turn at +1 s, before its timers sample
    await until("a sample", () => u.history().length === 1);
    now += 2000;
    await frames(4);
    await until("a second sample", () => u.history().length === 2);
    const [a, b] = u.history();
    assert.equal(a!.at, 1_001_000);
    assert.equal(a!.rxPps, 12, "2 + 10 frames over the first second");
    assert.equal(b!.at, 1_003_000);
    assert.equal(b!.rxPps, 2, "4 frames over 2 s");
    assert.equal(b!.receiver, true);
    assert.equal(b!.heartbeatRttMs, null, "no peer");
    assert.equal(b!.mirrorLagMs, null, "no peer");
    assert.equal(b!.flows, 0);
  } finally {
    ctrl.abort();
    await done;
  }
});
