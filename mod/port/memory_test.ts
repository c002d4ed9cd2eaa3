import assert from "node:assert/strict";
import { MemoryPort } from "./memory.ts";
import { OsError } from "./errors.ts";

Deno.test("MemoryPort: injected frames come out of recv in order, then 0", () => {
  const port = new MemoryPort("m0");
  assert.equal(port.fd, -1);
  const a = Uint8Array.of(1, 2, 3);
  port.inject(a);
  port.inject(Uint8Array.of(4, 5));
  a[0] = 99; // inject copies
  assert.equal(port.pending, 2);
  const buf = new Uint8Array(16).fill(0xa5);
  assert.equal(port.recv(buf), 3);
  assert.deepEqual(buf.subarray(0, 4), Uint8Array.of(1, 2, 3, 0xa5));
  assert.equal(port.recv(buf), 2);
  assert.deepEqual(buf.subarray(0, 2), Uint8Array.of(4, 5));
  assert.equal(port.recv(buf), 0);
  assert.equal(port.pending, 0);
});

Deno.test("MemoryPort: a short buffer truncates the frame", () => {
  const port = new MemoryPort();
  port.inject(Uint8Array.of(1, 2, 3, 4, 5));
  const buf = new Uint8Array(3);
  assert.equal(port.recv(buf), 3);
  assert.deepEqual(buf, Uint8Array.of(1, 2, 3));
});

Deno.test("MemoryPort: send keeps copies; capacity refuses like EAGAIN until taken", () => {
  const port = new MemoryPort("m1", { capacity: 2 });
  const f = Uint8Array.of(7, 7);
  assert.equal(port.send(f), true);
  f[0] = 8;
  assert.equal(port.send(f), true);
  assert.equal(port.send(f), false);
  assert.equal(port.refused, 1);
  assert.deepEqual(port.sent, [Uint8Array.of(7, 7), Uint8Array.of(8, 7)]);
  const taken = port.take();
  assert.equal(taken.length, 2);
  assert.equal(port.sent.length, 0);
  assert.equal(port.send(f), true);
});

Deno.test("MemoryPort: use after close throws OsError EBADF", () => {
  const port = new MemoryPort("m2");
  port.close();
  assert.throws(
    () => port.recv(new Uint8Array(4)),
    (e) => e instanceof OsError && e.code === "EBADF",
  );
  assert.throws(
    () => port.send(new Uint8Array(4)),
    (e) => e instanceof OsError && e.code === "EBADF",
  );
});
