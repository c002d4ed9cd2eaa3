import assert from "node:assert/strict";
import { FaultPort } from "./fault.ts";
import { MemoryPort } from "./memory.ts";

const frame = (i: number): Uint8Array => Uint8Array.of(i & 255, i >> 8);

Deno.test("FaultPort drops every Nth sent frame and counts both outcomes", () => {
  const inner = new MemoryPort("f0");
  const port = new FaultPort(inner, { dropEvery: 3 });
  for (let i = 1; i <= 9; i++) assert.equal(port.send(frame(i)), true);
  assert.equal(port.dropped, 3);
  assert.equal(port.passed, 6);
  assert.deepEqual(inner.sent.map((f) => f[0]), [1, 2, 4, 5, 7, 8]);
});

Deno.test("FaultPort random loss is seeded: same seed, same losses; rate near the percent", () => {
  const run = (seed: number): number[] => {
    const inner = new MemoryPort();
    const port = new FaultPort(inner, { dropPercent: 30, seed });
    for (let i = 0; i < 10_000; i++) port.send(frame(i));
    assert.equal(port.dropped + port.passed, 10_000);
    return inner.sent.map((f) => f[0]! | (f[1]! << 8));
  };
  const a = run(42);
  assert.deepEqual(run(42), a);
  assert.notDeepEqual(run(43), a);
  const lossRate = 1 - a.length / 10_000;
  assert.ok(lossRate > 0.27 && lossRate < 0.33, `loss ${lossRate}`);
});

Deno.test("FaultPort blackhole loses everything; recv, name and fd pass through", () => {
  const inner = new MemoryPort("f1");
  const port = new FaultPort(inner);
  port.blackhole = true;
  assert.equal(port.send(frame(1)), true);
  assert.equal(inner.sent.length, 0);
  assert.equal(port.dropped, 1);
  port.blackhole = false;
  assert.equal(port.send(frame(2)), true);
  assert.equal(inner.sent.length, 1);
  inner.inject(frame(5));
  const buf = new Uint8Array(8);
  assert.equal(port.recv(buf), 2);
  assert.equal(buf[0], 5);
  assert.equal(port.name, "f1");
  assert.equal(port.fd, -1);
});

Deno.test("FaultPort passes a full queue (false) through from the inner port", () => {
  const port = new FaultPort(new MemoryPort("f2", { capacity: 1 }));
  assert.equal(port.send(frame(1)), true);
  assert.equal(port.send(frame(2)), false);
});
