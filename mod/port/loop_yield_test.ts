import assert from "node:assert/strict";
import { LoopYield } from "./loop_yield.ts";

Deno.test("loop yield: a synchronous loop that yields lets the event loop serve a connection", async () => {
  const y = await LoopYield.open();
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const port = (listener.addr as Deno.NetAddr).port;
    let accepted = false;
    const served = listener.accept().then((c) => {
      accepted = true;
      c.close();
    });
    const client = Deno.connect({ hostname: "127.0.0.1", port });
    // The loop never awaits anything but the yield, as the data plane's loop does.
    const end = performance.now() + 2000;
    let yields = 0;
    while (!accepted && performance.now() < end) {
      const t = performance.now();
      while (performance.now() - t < 1) { /* work */ }
      await y.yield();
      yields++;
    }
    assert.ok(accepted, `the accept ran within ${yields} yields`);
    (await client).close();
    await served;
  } finally {
    listener.close();
    y.close();
  }
});

Deno.test("loop yield: many yields leave no byte behind, and a closed one still yields", async () => {
  const y = await LoopYield.open();
  for (let i = 0; i < 1000; i++) await y.yield();
  let fired = false;
  setTimeout(() => fired = true, 0);
  y.close();
  // Closed: it falls back to a timer, so the timer queued before it has run when it returns.
  await y.yield();
  await y.yield();
  assert.ok(fired);
  y.close();
});
