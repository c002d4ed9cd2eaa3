import assert from "node:assert/strict";
import { createApp, parseLimit } from "./app.ts";
import { FakeUnit } from "./testdata/fixture.ts";

const TOKEN = "s3cret-token-value";

function setup(opts: { token?: string } = { token: TOKEN }) {
  const unit = new FakeUnit();
  const app = createApp(unit, opts);
  return { unit, app };
}

async function json(res: Response): Promise<Record<string, unknown>> {
  assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
  return await res.json();
}

Deno.test("app: GET /healthz is 200 while healthy and 503 when the loop stalls", async () => {
  const { unit, app } = setup();
  let res = await app.request("/healthz");
  assert.equal(res.status, 200);
  assert.deepEqual(await json(res), { ok: true });
  unit.isHealthy = false;
  res = await app.request("/healthz");
  assert.equal(res.status, 503);
  assert.deepEqual(await json(res), { ok: false });
});

Deno.test("app: GET /status returns the current snapshot", async () => {
  const { unit, app } = setup();
  const res = await app.request("/status");
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("cache-control"), "no-store");
  assert.deepEqual(await json(res), JSON.parse(JSON.stringify(unit.snap)));
  unit.snap = { ...unit.snap, state: "solo" };
  assert.equal((await (await app.request("/status")).json()).state, "solo");
});

Deno.test("app: GET /flows defaults to 20, honours limit, busiest first", async () => {
  const { unit, app } = setup();
  let body = await json(await app.request("/flows"));
  let flows = body.flows as { packets: number }[];
  assert.equal(flows.length, 20);
  assert.equal(unit.flowLimits.at(-1), 20);
  for (let i = 1; i < flows.length; i++) assert.ok(flows[i - 1]!.packets >= flows[i]!.packets);
  body = await json(await app.request("/flows?limit=3"));
  flows = body.flows as { packets: number }[];
  assert.equal(flows.length, 3);
  assert.equal(flows[0]!.packets, Math.max(...unit.allFlows.map((f) => f.packets)));
  // A unit that ignores the limit or returns unsorted flows is still answered correctly.
  unit.flows = () => [...unit.allFlows];
  flows = (await json(await app.request("/flows?limit=1000"))).flows as { packets: number }[];
  assert.equal(flows.length, 50);
  for (let i = 1; i < flows.length; i++) assert.ok(flows[i - 1]!.packets >= flows[i]!.packets);
});

Deno.test("app: GET /flows with a bad limit is 400 JSON", async () => {
  const { unit, app } = setup();
  for (const q of ["0", "1001", "-1", "abc", "", "1e3", "2.5", "99999", "%2D1", "%20 5", "0x10"]) {
    const res = await app.request(`/flows?limit=${q}`);
    assert.equal(res.status, 400, `limit=${q}`);
    assert.match(String((await json(res)).error), /limit/);
  }
  assert.equal(unit.flowLimits.length, 0, "the unit is not asked for bad limits");
  assert.equal(parseLimit("1000"), 1000);
  assert.equal(parseLimit(undefined), 20);
});

Deno.test("app: GET /metrics is Prometheus text", async () => {
  const { app } = setup();
  const res = await app.request("/metrics");
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  assert.match(text, /^tandem_flows 1234$/m);
  assert.match(text, /^tandem_drops_total\{reason="no_route"\} 7$/m);
});

Deno.test("app: GET / serves the dashboard with a strict CSP", async () => {
  const { app } = setup();
  const res = await app.request("/");
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/html/);
  const csp = res.headers.get("content-security-policy") ?? "";
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'sha256-[A-Za-z0-9+/]+=*'/);
  const html = await res.text();
  assert.match(html, /<title>tandem<\/title>/);
  assert.match(html, /new EventSource\("\/events"\)/);
  assert.doesNotMatch(html, /(src|href)="https?:/, "no external resources");
});

Deno.test("app: GET /events streams snapshots as server-sent events", async () => {
  const unit = new FakeUnit();
  const app = createApp(unit, { eventIntervalMs: 20 });
  const res = await app.request("/events");
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/);
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  try {
    // The first snapshot comes at once; change the unit and expect the next to follow it.
    while (!/data: .*\n\n/.test(text)) text += (await reader.read()).value ?? "";
    unit.snap = { ...unit.snap, state: "solo" };
    while (!/"state":"solo"/.test(text)) text += (await reader.read()).value ?? "";
  } finally {
    await reader.cancel();
  }
  const events = text.split("\n\n").filter((e) => e.includes("data: "));
  assert.ok(events.length >= 2);
  assert.match(events[0]!, /^(retry: 1000\n\n)?event: snapshot\nid: 0\ndata: \{/m);
  const first = JSON.parse(/data: (.*)/.exec(events[0]!)![1]!);
  assert.equal(first.state, "active");
});

Deno.test("app: /events caps concurrent streams and frees a slot on cancel", async () => {
  const app = createApp(new FakeUnit(), { maxEventStreams: 1, eventIntervalMs: 10 });
  const a = await app.request("/events");
  assert.equal(a.status, 200);
  const b = await app.request("/events");
  assert.equal(b.status, 503);
  assert.ok("error" in await json(b));
  await a.body!.cancel();
  const c = await app.request("/events");
  assert.equal(c.status, 200);
  await c.body!.cancel();
  // HEAD does not open (and leak) a stream slot.
  assert.equal((await app.request("/events", { method: "HEAD" })).status, 200);
  const d = await app.request("/events");
  assert.equal(d.status, 200);
  await d.body!.cancel();
});

Deno.test("app: POST /failover needs the right bearer token", async () => {
  const { unit, app } = setup();
  const post = (headers: Record<string, string>) =>
    app.request("/failover", { method: "POST", headers });
  for (
    const headers of [
      {} as Record<string, string>,
      { Authorization: "" },
      { Authorization: "Bearer" },
      { Authorization: "Bearer wrong" },
      { Authorization: `Bearer ${TOKEN}x` },
      { Authorization: `Bearer ${TOKEN.slice(0, -1)}` },
      { Authorization: `Basic ${btoa(`x:${TOKEN}`)}` },
      { Authorization: TOKEN },
      { Authorization: `Bearer ${TOKEN} extra` },
    ]
  ) {
    const res = await post(headers);
    assert.equal(res.status, 401, JSON.stringify(headers));
    assert.match(res.headers.get("www-authenticate") ?? "", /^Bearer/);
    assert.ok("error" in await json(res));
  }
  assert.equal(unit.failoverCalls, 0);
  const res = await post({ Authorization: `Bearer ${TOKEN}` });
  assert.equal(res.status, 200);
  assert.deepEqual(await json(res), { ok: true, message: "switched" });
  assert.equal(unit.failoverCalls, 1);
  // The scheme name is case-insensitive (RFC 9110 §11.1).
  assert.equal((await post({ Authorization: `bearer ${TOKEN}` })).status, 200);
  assert.equal(unit.failoverCalls, 2);
});

Deno.test("app: a refused or failing failover is a 4xx/503 JSON answer", async () => {
  const { unit, app } = setup();
  const post = () =>
    app.request("/failover", { method: "POST", headers: { Authorization: `Bearer ${TOKEN}` } });
  unit.failoverResult = { ok: false, message: "peer is still syncing" };
  let res = await post();
  assert.equal(res.status, 409);
  assert.deepEqual(await json(res), { ok: false, message: "peer is still syncing" });
  unit.failoverResult = new Error("peer link down");
  res = await post();
  assert.equal(res.status, 503);
  assert.match(String((await json(res)).error), /peer link down/);
});

Deno.test("app: with no token there is no write endpoint at all", async () => {
  for (const token of [undefined, "", "  \n"]) {
    const { unit, app } = setup({ token });
    const res = await app.request("/failover", {
      method: "POST",
      headers: { Authorization: "Bearer " },
    });
    assert.equal(res.status, 404, `token ${JSON.stringify(token)}`);
    assert.deepEqual(await json(res), { error: "not found" });
    assert.equal(unit.failoverCalls, 0);
  }
});

Deno.test("app: oversize bodies are 413 JSON, with or without Content-Length", async () => {
  const { unit, app } = setup();
  const big = "x".repeat(4097);
  let res = await app.request("/failover", {
    method: "POST",
    body: big,
    headers: { Authorization: `Bearer ${TOKEN}` },
  });
  assert.equal(res.status, 413);
  assert.match(String((await json(res)).error), /4096/);
  // Chunked: no Content-Length, so the limit must count the bytes as they arrive.
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      for (let i = 0; i < 10; i++) c.enqueue(new Uint8Array(1000));
      c.close();
    },
  });
  res = await app.request(
    new Request("http://localhost/failover", {
      method: "POST",
      body: stream,
      headers: { Authorization: `Bearer ${TOKEN}` },
      duplex: "half",
    } as RequestInit),
  );
  assert.equal(res.status, 413);
  await json(res);
  assert.equal(unit.failoverCalls, 0);
  // A small body is fine.
  res = await app.request("/failover", {
    method: "POST",
    body: "{}",
    headers: { Authorization: `Bearer ${TOKEN}` },
  });
  assert.equal(res.status, 200);
});

Deno.test("app: unknown path is 404 JSON, wrong method on a known path is 405 JSON", async () => {
  const { app } = setup();
  let res = await app.request("/nope");
  assert.equal(res.status, 404);
  assert.deepEqual(await json(res), { error: "not found" });
  res = await app.request("/status", { method: "DELETE" });
  assert.equal(res.status, 405);
  assert.equal(res.headers.get("allow"), "GET, HEAD");
  await json(res);
  res = await app.request("/failover");
  assert.equal(res.status, 405);
  assert.equal(res.headers.get("allow"), "POST");
  await json(res);
});

Deno.test("app: a unit that throws yields a JSON 500, not a crash", async () => {
  const { unit, app } = setup();
  unit.snapshot = () => {
    throw new Error("boom");
  };
  const res = await app.request("/status");
  assert.equal(res.status, 500);
  assert.deepEqual(await json(res), { error: "internal error" });
});

/** Deterministic PRNG (mulberry32) so a failing fuzz case is reproducible. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

Deno.test("app: 200 malformed requests never produce a 5xx", async () => {
  const { unit, app } = setup();
  const rand = rng(0x7a4d3);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const junk = (n: number): string => {
    let s = "";
    for (let i = 0; i < n; i++) s += String.fromCharCode(0x21 + Math.floor(rand() * 94));
    return s;
  };
  const methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "PROPFIND", "X-Y"];
  const paths = [
    "/",
    "/status",
    "/healthz",
    "/metrics",
    "/failover",
    "/events",
    "/flows",
    "//status",
    "/status/",
    "/status/..",
    "/%00",
    "/%",
    "/%zz",
    "/flows/",
    "/FLOWS",
    "/..%2f..%2fetc%2fpasswd",
    "/" + "a".repeat(5000),
  ];
  const queries = [
    "",
    "?",
    "?limit",
    "?limit=",
    "?limit=%",
    "?limit=%zz",
    "?limit=%ff%fe",
    "?limit=1&limit=2",
    "?limit=-0",
    "?limit=1e9",
    "?limit=NaN",
    "?limit=Infinity",
    "?limit[]=1",
    "?=&&&=",
    "?limit=" + "9".repeat(400),
    "?%00=%00",
  ];
  const auths = [
    undefined,
    "",
    "Bearer",
    "Bearer ",
    "bearer x",
    `Bearer ${TOKEN}${TOKEN}`,
    "Basic Og==",
    "Bearer \u00e9",
    "Bearer " + "x".repeat(3000),
  ];
  let served = 0;
  for (let i = 0; i < 200; i++) {
    const method = pick(methods);
    const url = "http://localhost" + pick(paths) + pick(queries);
    const headers = new Headers();
    const auth = pick(auths);
    if (auth !== undefined) {
      try {
        headers.set("Authorization", auth);
      } catch { /* not a legal header value: the client could not send it either */ }
    }
    for (let h = Math.floor(rand() * 4); h > 0; h--) {
      try {
        headers.set(pick(["Content-Type", "Accept", "X-" + junk(5), "Content-Length"]), junk(20));
      } catch { /* illegal header name: unsendable */ }
    }
    const init: RequestInit = { method, headers };
    if (method !== "GET" && method !== "HEAD" && rand() < 0.6) {
      init.body = new Uint8Array(Math.floor(rand() * 6000)).map(() => Math.floor(rand() * 256));
    }
    let req: Request;
    try {
      req = new Request(url, init);
    } catch {
      continue; // unrepresentable request: nothing reaches the server
    }
    const res = await app.request(req);
    served++;
    const where = `${method} ${url.slice(0, 120)}`;
    assert.ok(res.status < 500, `${where} → ${res.status}`);
    if (method === "HEAD" || res.status < 400) {
      await res.body?.cancel();
    } else {
      const body = await res.json();
      assert.equal(typeof body.error, "string", where);
    }
  }
  assert.ok(served >= 150, `served ${served} requests`);
  assert.equal(unit.failoverCalls, 0, "no junk request triggered a failover");
});
