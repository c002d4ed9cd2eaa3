import assert from "node:assert/strict";
import { createApp } from "./app.ts";
import { apiBaseUrl, formatDuration, statusCommand } from "./client.ts";
import { serveApi } from "./serve.ts";
import { FakeUnit } from "./testdata/fixture.ts";

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, opts: { out: (s: string) => out.push(s), err: (s: string) => err.push(s) } };
}

Deno.test("status: prints an aligned table from a live server and exits 0", async () => {
  const unit = new FakeUnit();
  const ac = new AbortController();
  const server = serveApi(createApp(unit), "127.0.0.1:0", ac.signal);
  try {
    const c = capture();
    const code = await statusCommand(`127.0.0.1:${server.addr.port}`, c.opts);
    assert.equal(code, 0);
    assert.deepEqual(c.err, []);
    const table = c.out.join("\n");
    const lines = table.split("\n");
    // Every row is "key<spaces>value" with the values starting in one column.
    const col = lines[0]!.search(/(?<=^\S+\s\s+)\S/);
    assert.ok(col > 0);
    for (const line of lines) assert.match(line.slice(col - 2, col + 1), /^ {2}\S$/, line);
    const row = (k: string) => lines.find((l) => l.startsWith(k + " "))?.slice(col);
    assert.equal(row("node"), "a (tandem 0.1.0)");
    assert.equal(row("mode"), "standby-forward");
    assert.equal(row("role/state"), "active / active");
    assert.equal(row("duties"), "receiver");
    assert.equal(row("peer"), "up  192.0.2.2:4790  heartbeat 4.00 ms ago  rtt 210 µs");
    assert.equal(row("sync"), "sending  750/1000 (75%)");
    assert.equal(row("flows"), "1234 of 1048576  digest 9f3a6c01d2e4b587");
    assert.equal(row("uptime"), "1d 2h 3m 4s");
    // Top drop counters, largest first; zero counters are left out.
    assert.match(table, /^drops +not_forwarder +42$/m);
    assert.match(table, /^ +replayed +35$/m);
    assert.doesNotMatch(table, /bad_checksum/);
    assert.match(table, /^last event +2025-01-02T03:04:06\.000Z {2}peer-up: peer "b" <joined>$/m);
  } finally {
    ac.abort();
    await server.finished;
  }
});

Deno.test("status: an unreachable unit prints one line and exits 1", async () => {
  // Bind and release a port so nothing listens on it.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const c = capture();
  const code = await statusCommand(`127.0.0.1:${port}`, c.opts);
  assert.equal(code, 1);
  assert.deepEqual(c.out, []);
  assert.equal(c.err.length, 1);
  assert.match(
    c.err[0]!,
    new RegExp(`^tandem: cannot reach 127\\.0\\.0\\.1:${port}: connection refused$`),
  );
});

Deno.test("status: a silent unit times out with exit 1", async () => {
  // Accepts TCP but never answers HTTP.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const conns: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) conns.push(conn);
  })();
  try {
    const c = capture();
    const t0 = performance.now();
    const code = await statusCommand(`127.0.0.1:${port}`, { ...c.opts, timeoutMs: 300 });
    assert.equal(code, 1);
    assert.ok(performance.now() - t0 < 2000);
    assert.equal(c.err[0], `tandem: cannot reach 127.0.0.1:${port}: no answer within 0.3 s`);
  } finally {
    listener.close();
    await accepting.catch(() => {});
    for (const conn of conns) conn.close();
  }
});

Deno.test("status: a non-tandem answer exits 1; a bad address exits 2", async () => {
  const fake = (body: BodyInit, status = 200): typeof fetch => () =>
    Promise.resolve(new Response(body, { status }));
  for (
    const [f, msg] of [
      [fake("<html>", 200), /not JSON/],
      [fake('{"hello":1}'), /not a tandem status/],
      [fake("{}", 404), /HTTP 404/],
    ] as const
  ) {
    const c = capture();
    assert.equal(await statusCommand("127.0.0.1:9", { ...c.opts, fetch: f }), 1);
    assert.match(c.err[0]!, msg);
    assert.match(c.err[0]!, /^tandem: bad answer from 127\.0\.0\.1:9: /);
  }
  const c = capture();
  assert.equal(await statusCommand("http://", c.opts), 2);
  assert.match(c.err[0]!, /--api/);
});

Deno.test("status: address forms and durations", () => {
  assert.equal(apiBaseUrl("127.0.0.1:9090")?.href, "http://127.0.0.1:9090/");
  assert.equal(apiBaseUrl("[::1]:9090")?.href, "http://[::1]:9090/");
  assert.equal(apiBaseUrl("https://lb-a.example:8443")?.href, "https://lb-a.example:8443/");
  assert.equal(apiBaseUrl("a b:1"), undefined);
  assert.equal(formatDuration(0), "0s");
  assert.equal(formatDuration(61), "1m 1s");
  assert.equal(formatDuration(3600), "1h 0m 0s");
});
