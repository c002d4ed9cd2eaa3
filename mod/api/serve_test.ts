import assert from "node:assert/strict";
import { createApp } from "./app.ts";
import { DEFAULT_API_LISTEN, parseListen, serveApi } from "./serve.ts";
import { FakeUnit } from "./testdata/fixture.ts";

Deno.test("serve: parseListen accepts host:port and [v6]:port only", () => {
  assert.deepEqual(parseListen("127.0.0.1:9090"), { hostname: "127.0.0.1", port: 9090 });
  assert.deepEqual(parseListen("[::1]:0"), { hostname: "::1", port: 0 });
  assert.deepEqual(parseListen("localhost:80"), { hostname: "localhost", port: 80 });
  assert.deepEqual(parseListen(DEFAULT_API_LISTEN), { hostname: "127.0.0.1", port: 9090 });
  for (const bad of [":9090", "9090", "127.0.0.1", "127.0.0.1:65536", "::1:9090", "a b:1", ""]) {
    assert.equal(parseListen(bad), undefined, bad);
  }
});

Deno.test("serve: binds exactly the configured address; bad address throws naming it", async () => {
  const ac = new AbortController();
  const server = serveApi(createApp(new FakeUnit()), "127.0.0.1:0", ac.signal);
  try {
    assert.equal(server.addr.hostname, "127.0.0.1");
    const res = await fetch(`http://127.0.0.1:${server.addr.port}/healthz`);
    assert.deepEqual(await res.json(), { ok: true });
  } finally {
    ac.abort();
    await server.finished;
  }
  assert.throws(
    () => serveApi(createApp(new FakeUnit()), "0.0.0.0", new AbortController().signal),
    /api\.listen.*"0\.0\.0\.0"/,
  );
});

async function rawExchange(port: number, bytes: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(new TextEncoder().encode(bytes));
    const buf = new Uint8Array(4096);
    const n = await conn.read(buf);
    return new TextDecoder().decode(buf.subarray(0, n ?? 0));
  } finally {
    conn.close();
  }
}

Deno.test("serve: malformed HTTP on the wire gets a 4xx, never a 5xx", async () => {
  const ac = new AbortController();
  const server = serveApi(createApp(new FakeUnit(), { token: "t" }), "127.0.0.1:0", ac.signal);
  try {
    const port = server.addr.port;
    for (
      const junk of [
        "GARBAGE\r\n\r\n",
        "GET /status HTTP/9.9\r\n\r\n",
        "GET /flows?limit=%ZZ HTTP/1.1\r\nHost: x\r\n\r\n",
        "POST /failover HTTP/1.1\r\nHost: x\r\nContent-Length: 999999\r\n\r\n",
        "GET /status HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
      ]
    ) {
      const answer = await rawExchange(port, junk);
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(answer)?.[1]);
      assert.ok(status >= 400 && status < 500, `${JSON.stringify(junk)} → ${answer.slice(0, 40)}`);
    }
  } finally {
    ac.abort();
    await server.finished;
  }
});

Deno.test("serve: shutdown is prompt even with an /events stream open", async () => {
  const ac = new AbortController();
  const server = serveApi(createApp(new FakeUnit()), "127.0.0.1:0", ac.signal);
  const res = await fetch(`http://127.0.0.1:${server.addr.port}/events`);
  const reader = res.body!.getReader();
  try {
    await reader.read();
    const t0 = performance.now();
    ac.abort();
    await server.finished;
    assert.ok(performance.now() - t0 < 1000, "server finished within 1 s");
  } finally {
    await reader.cancel().catch(() => {});
  }
});
