import assert from "node:assert/strict";
import { clampTimeout, MAX_POLL_FDS, Poller } from "./poller.ts";
import { openUdp } from "./udp.ts";
import { ip4 } from "./test_util.ts";

const LOOPBACK = ip4(127, 0, 0, 1);

Deno.test("clampTimeout keeps whole ms in [0, 1000], rounding up", () => {
  assert.equal(clampTimeout(-5), 0);
  assert.equal(clampTimeout(Number.NaN), 0);
  assert.equal(clampTimeout(0), 0);
  assert.equal(clampTimeout(0.2), 1);
  assert.equal(clampTimeout(9.01), 10);
  assert.equal(clampTimeout(1000), 1000);
  assert.equal(clampTimeout(5000), 1000);
  assert.equal(clampTimeout(Infinity), 1000);
});

Deno.test("Poller.wait resolves with the bit of the readable fd", async () => {
  const a = openUdp(LOOPBACK, 0);
  const b = openUdp(LOOPBACK, 0);
  try {
    const poller = new Poller([a.fd, b.fd]);
    const pending = poller.wait(1000);
    // The event loop stays free while poll(2) waits on another thread.
    await new Promise((r) => setTimeout(r, 20));
    const started = performance.now();
    assert.equal(a.sendTo(Uint8Array.of(1), 1, LOOPBACK, b.localPort), true);
    assert.equal(await pending, 0b10);
    assert.ok(performance.now() - started < 500, "woke on data, not on timeout");
    assert.equal(poller.waitSync(0), 0b10); // still unread
    assert.equal(b.recvFrom(new Uint8Array(8)), 1);
    assert.equal(poller.waitSync(0), 0);
  } finally {
    a.close();
    b.close();
  }
});

Deno.test("Poller.wait and waitSync resolve 0 on timeout, after roughly the timeout", async () => {
  const s = openUdp(LOOPBACK, 0);
  try {
    const poller = new Poller([s.fd]);
    let t = performance.now();
    assert.equal(await poller.wait(40), 0);
    let took = performance.now() - t;
    assert.ok(took >= 35 && took < 800, `wait took ${took} ms`);
    t = performance.now();
    assert.equal(poller.waitSync(20), 0);
    took = performance.now() - t;
    assert.ok(took >= 15 && took < 800, `waitSync took ${took} ms`);
  } finally {
    s.close();
  }
});

Deno.test("Poller: negative fds are skipped; a closed fd reports ready (POLLNVAL)", () => {
  const s = openUdp(LOOPBACK, 0);
  const fd = s.fd;
  s.close();
  // fd number is free now (nothing else opens fds synchronously in between).
  const poller = new Poller([-1, fd]);
  assert.equal(poller.waitSync(0), 0b10);
});

Deno.test("Poller: one wait at a time; at most 32 fds", async () => {
  const poller = new Poller([-1]);
  const first = poller.wait(30);
  await assert.rejects(() => poller.wait(0), /already in flight/);
  assert.throws(() => poller.waitSync(0), /already in flight/);
  assert.equal(await first, 0);
  assert.throws(() => new Poller(new Array(MAX_POLL_FDS + 1).fill(-1)), RangeError);
});
