import assert from "node:assert/strict";
import { createApp, parseLimit } from "./app.ts";
import { FakeUnit } from "./testdata/fixture.ts";
import type { ControlResult } from "./snapshot.ts";

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
    "/reload",
    "/maintenance",
    "/history",
    "/backends/echo/203.0.113.20:7000",
    "/backends/echo/203.0.113.20%3A7000",
    "/backends/echo",
    "/backends/%zz/%",
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
    "?since=",
    "?since=1e400",
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
  assert.equal(unit.reloadCalls, 0, "no junk request triggered a reload");
  assert.deepEqual(unit.backendCalls, [], "no junk request changed a backend");
  assert.deepEqual(unit.maintenanceCalls, [], "no junk request toggled maintenance");
});

// ------------------------------------------------------------------ issue 9 write routes

const AUTH = { Authorization: `Bearer ${TOKEN}` };
const BACKEND = "/backends/echo/203.0.113.20:7000";

function post(app: ReturnType<typeof createApp>, path: string, body?: unknown, auth = true) {
  return app.request(path, {
    method: "POST",
    headers: { ...(auth ? AUTH : {}), "Content-Type": "application/json" },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** Did nothing reach the unit? */
function untouched(unit: FakeUnit): void {
  assert.equal(unit.failoverCalls, 0);
  assert.equal(unit.reloadCalls, 0);
  assert.deepEqual(unit.backendCalls, []);
  assert.deepEqual(unit.maintenanceCalls, []);
}

Deno.test("app: every write route needs the bearer token, checked before the body", async () => {
  const { unit, app } = setup();
  const routes: [string, unknown][] = [
    ["/failover", undefined],
    ["/reload", undefined],
    [BACKEND, { admin: "draining" }],
    ["/maintenance", { on: true }],
  ];
  for (const [path, body] of routes) {
    for (const auth of [undefined, "Bearer wrong", `Basic ${btoa(TOKEN)}`]) {
      const res = await app.request(path, {
        method: "POST",
        headers: auth === undefined ? {} : { Authorization: auth },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      assert.equal(res.status, 401, `${path} ${auth}`);
      assert.match(res.headers.get("www-authenticate") ?? "", /^Bearer realm="tandem"$/);
      assert.deepEqual(await json(res), { error: "missing or wrong bearer token" });
    }
    // A bad body without a token is still 401: nothing about the body is revealed.
    assert.equal((await post(app, path, "{nope", false)).status, 401, path);
  }
  untouched(unit);
});

Deno.test("app: with no token none of the write routes exists", async () => {
  for (const token of [undefined, "", " "]) {
    const { unit, app } = setup({ token });
    for (const path of ["/failover", "/reload", BACKEND, "/maintenance"]) {
      const res = await post(app, path, { admin: "draining", on: true });
      assert.equal(res.status, 404, `${path} token ${JSON.stringify(token)}`);
      assert.deepEqual(await json(res), { error: "not found" });
      // Not even 405: a GET on an absent write route is a plain 404 too.
      assert.equal((await app.request(path)).status, 404, path);
    }
    untouched(unit);
    // Reading the history needs no token.
    assert.equal((await app.request("/history")).status, 200);
  }
});

Deno.test("app: POST /reload answers 200, 400 for a bad config, 409 for other refusals", async () => {
  const { unit, app } = setup();
  let res = await post(app, "/reload");
  assert.equal(res.status, 200);
  assert.deepEqual(await json(res), { ok: true, message: "reloaded" });
  assert.equal(unit.reloadCalls, 1);
  unit.reloadResult = {
    ok: false,
    reason: "invalid-config",
    message: "services[0].backends[1]: not an address",
  };
  res = await post(app, "/reload");
  assert.equal(res.status, 400);
  assert.deepEqual(await json(res), {
    ok: false,
    reason: "invalid-config",
    message: "services[0].backends[1]: not an address",
  });
  unit.reloadResult = { ok: false, reason: "node-changed", message: "node.name cannot change" };
  res = await post(app, "/reload");
  assert.equal(res.status, 409);
  assert.deepEqual(await json(res), {
    ok: false,
    reason: "node-changed",
    message: "node.name cannot change",
  });
  assert.equal(unit.reloadCalls, 3);
  unit.reload = () => Promise.reject(new Error("disk on fire"));
  res = await post(app, "/reload");
  assert.equal(res.status, 503);
  assert.deepEqual(await json(res), { error: "reload failed: disk on fire" });
});

Deno.test("app: a second POST /reload while one runs is 409", async () => {
  const { unit, app } = setup();
  let finish!: (r: ControlResult) => void;
  unit.reload = () => new Promise((r) => finish = r);
  const first = post(app, "/reload");
  await new Promise((r) => setTimeout(r, 0));
  const second = await post(app, "/reload");
  assert.equal(second.status, 409);
  assert.match(String((await json(second)).error), /already in progress/);
  finish({ ok: true, message: "reloaded" });
  assert.equal((await first).status, 200);
  unit.reload = () => Promise.resolve({ ok: true, message: "again" });
  assert.equal((await post(app, "/reload")).status, 200, "the guard is released");
});

Deno.test("app: POST /backends/:service/:address takes the address plain or percent-encoded", async () => {
  const { unit, app } = setup();
  for (
    const [path, admin] of [
      ["/backends/echo/203.0.113.20:7000", "draining"],
      ["/backends/echo/203.0.113.21%3A7000", "maintenance"],
      ["/backends/echo/203.0.113.21%3a7000", "enabled"],
      ["/backends/web%20v2/%5B2001%3Adb8%3A113%3A%3A20%5D%3A80", "draining"],
      // As the CLI encodes it: a `/` or `?` in a name stays inside its segment.
      ["/backends/a%2Fb%3F/1.2.3.4%3A80", "draining"],
    ] as const
  ) {
    const res = await post(app, path, { admin });
    assert.equal(res.status, 200, path);
    const body = await json(res);
    assert.equal(body.ok, true);
    assert.equal(typeof body.message, "string");
  }
  assert.deepEqual(unit.backendCalls, [
    ["echo", "203.0.113.20:7000", "draining"],
    ["echo", "203.0.113.21:7000", "maintenance"],
    ["echo", "203.0.113.21:7000", "enabled"],
    ["web v2", "[2001:db8:113::20]:80", "draining"],
    ["a/b?", "1.2.3.4:80", "draining"],
  ]);
});

Deno.test("app: POST /backends with a bad body is 400 and never reaches the unit", async () => {
  const { unit, app } = setup();
  for (
    const body of [
      "",
      "{",
      "draining",
      "null",
      "[]",
      '"draining"',
      "{}",
      '{"admin":"drain"}',
      '{"admin":"Draining"}',
      '{"admin":null}',
      '{"admin":1}',
      '{"admin":"draining","weight":3}',
      '{"state":"draining"}',
    ]
  ) {
    const res = await post(app, BACKEND, body);
    assert.equal(res.status, 400, body);
    assert.equal(
      (await json(res)).error,
      'body must be JSON {"admin": "enabled" | "draining" | "maintenance"}',
    );
  }
  assert.deepEqual(unit.backendCalls, []);
  // An oversize body is 413 here as on every route.
  const res = await post(
    app,
    BACKEND,
    JSON.stringify({ admin: "draining", pad: "x".repeat(5000) }),
  );
  assert.equal(res.status, 413);
  assert.deepEqual(unit.backendCalls, []);
});

Deno.test("app: backend refusals: unknown service or backend is 404, others 409", async () => {
  const { unit, app } = setup();
  const answers: Record<string, ControlResult> = {
    nope: { ok: false, reason: "unknown-service", message: 'no service "nope"' },
    echo: { ok: false, reason: "unknown-backend", message: "echo has no backend 192.0.2.9:1" },
    web: { ok: false, reason: "last-backend", message: "web: would leave no backend up" },
    udp: { ok: false, message: "refused without a reason" },
  };
  unit.setBackend = (service) => answers[service]!;
  for (
    const [service, status] of [["nope", 404], ["echo", 404], ["web", 409], ["udp", 409]] as const
  ) {
    const res = await post(app, `/backends/${service}/192.0.2.9:1`, { admin: "draining" });
    assert.equal(res.status, status, service);
    const want = answers[service]!;
    assert.deepEqual(await json(res), JSON.parse(JSON.stringify({ ...want, ok: false })));
  }
  unit.setBackend = () => {
    throw new Error("peer link down");
  };
  const res = await post(app, BACKEND, { admin: "draining" });
  assert.equal(res.status, 503);
  assert.deepEqual(await json(res), { error: "backend change failed: peer link down" });
});

Deno.test("app: POST /maintenance takes {on: boolean}", async () => {
  const { unit, app } = setup();
  let res = await post(app, "/maintenance", { on: true });
  assert.equal(res.status, 200);
  assert.deepEqual(await json(res), { ok: true, message: "maintenance on" });
  res = await post(app, "/maintenance", { on: false });
  assert.deepEqual(await json(res), { ok: true, message: "maintenance off" });
  assert.deepEqual(unit.maintenanceCalls, [true, false]);
  for (const body of ["", "true", "{}", '{"on":"true"}', '{"on":1}', '{"on":true,"x":1}', "[1]"]) {
    res = await post(app, "/maintenance", body);
    assert.equal(res.status, 400, body);
    assert.equal((await json(res)).error, 'body must be JSON {"on": true | false}');
  }
  assert.deepEqual(unit.maintenanceCalls, [true, false]);
  unit.maintenance = () =>
    Promise.resolve({ ok: false, reason: "no-peer", message: "no peer to take the addresses" });
  res = await post(app, "/maintenance", { on: true });
  assert.equal(res.status, 409);
  assert.deepEqual(await json(res), {
    ok: false,
    reason: "no-peer",
    message: "no peer to take the addresses",
  });
});

Deno.test("app: GET /history returns the unit's samples", async () => {
  const { unit, app } = setup();
  assert.deepEqual(await json(await app.request("/history")), { samples: [] });
  unit.samples = [
    {
      at: 1000,
      rxPps: 5,
      txBps: 4000,
      flows: 2,
      mirrorLagMs: null,
      heartbeatRttMs: 0.2,
      receiver: true,
    },
  ];
  const res = await app.request("/history");
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("cache-control"), "no-store");
  assert.deepEqual(await json(res), { samples: unit.samples });
  // ?since= gives only the newer samples; a bad value is 400.
  unit.samples = [1000, 2000, 3000].map((at) => ({ ...unit.samples[0]!, at }));
  const ats = async (q: string) =>
    ((await json(await app.request(`/history${q}`))).samples as { at: number }[]).map((x) => x.at);
  assert.deepEqual(await ats("?since=0"), [1000, 2000, 3000]);
  assert.deepEqual(await ats("?since=1000"), [2000, 3000]);
  assert.deepEqual(await ats("?since=2999.5"), [3000]);
  assert.deepEqual(await ats("?since=3000"), []);
  for (const q of ["", "-1", "1e3", "abc", "NaN", "1.2.3", "9".repeat(17)]) {
    const bad = await app.request(`/history?since=${q}`);
    assert.equal(bad.status, 400, q);
    assert.equal((await json(bad)).error, "since must be a Unix time in ms");
  }
});

Deno.test("app: the new paths answer a wrong method with 405 and Allow", async () => {
  const { app } = setup();
  for (
    const [method, path, allow] of [
      ["GET", "/reload", "POST"],
      ["PUT", "/maintenance", "POST"],
      ["GET", BACKEND, "POST"],
      ["DELETE", "/backends/echo/203.0.113.20%3A7000", "POST"],
      ["POST", "/history", "GET, HEAD"],
    ] as const
  ) {
    const res = await app.request(path, { method, headers: AUTH });
    assert.equal(res.status, 405, `${method} ${path}`);
    assert.equal(res.headers.get("allow"), allow, `${method} ${path}`);
    await json(res);
  }
  // A backend path with a segment missing or extra is not a route.
  assert.equal((await post(app, "/backends/echo", { admin: "draining" })).status, 404);
  assert.equal((await post(app, `${BACKEND}/x`, { admin: "draining" })).status, 404);
});
