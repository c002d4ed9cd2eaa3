import assert from "node:assert/strict";
import { createApp } from "./app.ts";
import {
  apiBaseUrl,
  controlCommand,
  type ControlCommandOptions,
  controlPath,
  type ControlRequest,
  formatDuration,
  formatStatus,
  statusCommand,
} from "./client.ts";
import { serveApi } from "./serve.ts";
import { FakeUnit, fixtureSnapshot } from "./testdata/fixture.ts";
import type { StatusSnapshot } from "./snapshot.ts";

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
    const table = c.out.join("\n").split("\n\n")[0]!;
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

Deno.test("status: config, fail-safe and per-service backend sections", () => {
  const text = formatStatus(fixtureSnapshot());
  const [table, ...services] = text.split("\n\n");
  assert.match(
    table!,
    /^config +digest 0123456789abcdef {2}loaded 2025-01-02T03:04:05\.000Z {2}\/etc\/tandem\/tandem\.yaml$/m,
  );
  assert.match(table!, /^last reload +none since start$/m);
  assert.match(table!, /^fail-safe +healthy {2}peer healthy {2}maintenance off {2}preempt off$/m);
  assert.match(table!, /^checks +front {2}link tnd-front {2}up$/m);
  assert.equal(services.length, 1);
  assert.deepEqual(services[0]!.split("\n"), [
    "service echo  198.51.100.10:7000/tcp  round-robin  health tcp every 1 s  1 of 2 up",
    "  backend            weight  admin     health  peer  state     flows",
    "  203.0.113.20:7000       1  enabled   up      up    up          800",
    "  203.0.113.21:7000       2  draining  down    up    draining    434",
  ]);
});

Deno.test("status: a failed reload, maintenance, failing checks and no peer read plainly", () => {
  const s = fixtureSnapshot();
  s.config = {
    ...s.config,
    path: null,
    lastReload: { at: Date.UTC(2025, 0, 2, 4, 0, 0), ok: false, message: "services[0]: bad port" },
  };
  s.failsafe = {
    maintenance: true,
    preempt: true,
    preemptDelayMs: 30_000,
    checks: [
      { name: "front", kind: "link", target: "tnd-front", up: true },
      { name: "gw", kind: "gateway", target: "203.0.113.254", up: false },
    ],
    healthy: false,
    peerHealthy: null,
  };
  const svc = s.services[0]!;
  s.services = [
    {
      ...svc,
      name: "dns",
      protocol: "udp",
      scheduler: "maglev",
      health: { kind: "none", intervalMs: 0 },
      persistenceMs: 300_000,
      backends: svc.backends.map((b) => ({ ...b, health: "unchecked", peerHealth: null })),
    },
    { ...svc, name: "empty", backendsUp: 0, backends: [] },
  ];
  const text = formatStatus(s);
  assert.match(text, /^config +digest 0123456789abcdef {2}loaded 2025-01-02T03:04:05\.000Z$/m);
  assert.match(
    text,
    /^last reload +FAILED {2}2025-01-02T04:00:00\.000Z {2}services\[0\]: bad port$/m,
  );
  assert.match(
    text,
    /^fail-safe +UNHEALTHY {2}peer – {2}maintenance ON {2}preempt on \(delay 30 s\)$/m,
  );
  assert.match(text, /^checks +front {2}link tnd-front {9}up$/m);
  assert.match(text, /^ +gw {5}gateway 203\.0\.113\.254 {2}DOWN$/m);
  assert.match(
    text,
    /^service dns {2}198\.51\.100\.10:7000\/udp {2}maglev {2}no health checks {2}persistence 300 s {2}1 of 2 up$/m,
  );
  assert.match(text, /^ {2}203\.0\.113\.20:7000 +1 {2}enabled {3}unchecked {2}– {5}up +800$/m);
  assert.match(text, /^service empty .*0 of 0 up\n {2}backend .*\n {2}\(no backends\)$/m);
});

Deno.test("status: a unit without the issue 9 sections still prints its table", () => {
  const s = fixtureSnapshot() as Partial<StatusSnapshot>;
  delete s.services;
  delete s.failsafe;
  delete s.config;
  const text = formatStatus(s as StatusSnapshot);
  assert.doesNotMatch(text, /^(config|fail-safe|service) /m);
  assert.match(text, /^uptime +1d 2h 3m 4s$/m);
});

// ------------------------------------------------------------------ control commands

const TOKEN = "t0ken-for-tests";

/** A live API on a free port with a token, and a token file the CLI reads. */
async function withApi(
  fn: (api: string, unit: FakeUnit, tokenFile: string) => Promise<void>,
  token = TOKEN,
): Promise<void> {
  const unit = new FakeUnit();
  const ac = new AbortController();
  const server = serveApi(createApp(unit, { token }), "127.0.0.1:0", ac.signal);
  const dir = await Deno.makeTempDir();
  const tokenFile = `${dir}/api.token`;
  await Deno.writeTextFile(tokenFile, `${TOKEN}\n`);
  try {
    await fn(`127.0.0.1:${server.addr.port}`, unit, tokenFile);
  } finally {
    ac.abort();
    await server.finished;
    await Deno.remove(dir, { recursive: true });
  }
}

async function run(
  api: string,
  req: ControlRequest,
  opts: ControlCommandOptions,
): Promise<{ code: number; out: string[]; err: string[] }> {
  const c = capture();
  const code = await controlCommand(api, req, { ...c.opts, env: () => undefined, ...opts });
  return { code, out: c.out, err: c.err };
}

Deno.test("control: backend, maintenance and reload reach the unit and exit 0", async () => {
  await withApi(async (api, unit, tokenFile) => {
    let r = await run(api, {
      kind: "backend",
      service: "echo",
      address: "203.0.113.20:7000",
      admin: "draining",
    }, { tokenFile });
    assert.deepEqual(r, { code: 0, out: ["echo 203.0.113.20:7000 draining"], err: [] });
    assert.deepEqual(unit.backendCalls, [["echo", "203.0.113.20:7000", "draining"]]);
    // The token file may come from the environment instead of the flag.
    r = await run(api, { kind: "maintenance", on: true }, {
      env: (n) => (n === "TANDEM_TOKEN_FILE" ? tokenFile : undefined),
    });
    assert.deepEqual(r, { code: 0, out: ["maintenance on"], err: [] });
    r = await run(api, { kind: "maintenance", on: false }, { tokenFile });
    assert.deepEqual(unit.maintenanceCalls, [true, false]);
    r = await run(api, { kind: "reload" }, { tokenFile });
    assert.deepEqual(r, { code: 0, out: ["reloaded"], err: [] });
    assert.equal(unit.reloadCalls, 1);
  });
});

Deno.test("control: a refusal prints the unit's message and exits 1", async () => {
  await withApi(async (api, unit, tokenFile) => {
    unit.reloadResult = {
      ok: false,
      reason: "invalid-config",
      message: "services[0].backends[1]: not an address",
    };
    let r = await run(api, { kind: "reload" }, { tokenFile });
    assert.deepEqual(r, {
      code: 1,
      out: [],
      err: ["tandem: services[0].backends[1]: not an address (invalid-config)"],
    });
    unit.setBackend = () => ({ ok: false, reason: "unknown-service", message: 'no service "x"' });
    r = await run(api, {
      kind: "backend",
      service: "x",
      address: "1.2.3.4:5",
      admin: "enabled",
    }, { tokenFile });
    assert.deepEqual(r.err, ['tandem: no service "x" (unknown-service)']);
    assert.equal(r.code, 1);
  });
});

Deno.test("control: a wrong token, or a unit without a write API, exits 1 with a clear line", async () => {
  await withApi(async (api, unit, tokenFile) => {
    const r = await run(api, { kind: "reload" }, { tokenFile });
    assert.deepEqual(r, { code: 1, out: [], err: [`tandem: ${api} refused the token (HTTP 401)`] });
    assert.equal(unit.reloadCalls, 0);
  }, "another-token");
  await withApi(async (api, _unit, tokenFile) => {
    const r = await run(api, { kind: "maintenance", on: true }, { tokenFile });
    assert.equal(r.code, 1);
    assert.deepEqual(r.err, [`tandem: ${api} has no write API (no api.token_file in its config?)`]);
  }, "");
});

Deno.test("control: no usable token is bad usage (exit 2), and nothing is sent", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/empty`, "  \n");
    await Deno.writeTextFile(`${dir}/two`, "a b\n");
    let sent = 0;
    const fetch: typeof globalThis.fetch = () => {
      sent++;
      return Promise.resolve(new Response("{}"));
    };
    for (
      const [opts, line] of [
        [
          {},
          "tandem: no API token: give --token-file FILE or set TANDEM_TOKEN_FILE " +
          "(no unit here recorded one for 127.0.0.1:9)",
        ],
        [
          { localTokenFile: (api: string) => `${dir}/missing-${api}` },
          `tandem: cannot read token file ${dir}/missing-127.0.0.1:9 (recorded by the unit): ` +
          "not found",
        ],
        [
          { tokenFile: `${dir}/missing` },
          `tandem: cannot read token file ${dir}/missing: not found`,
        ],
        [
          { env: () => `${dir}/missing` },
          `tandem: cannot read token file ${dir}/missing (from TANDEM_TOKEN_FILE): not found`,
        ],
        [{ tokenFile: dir }, `tandem: cannot read token file ${dir}: is a directory`],
        [{ tokenFile: `${dir}/empty` }, `tandem: token file ${dir}/empty is empty`],
        [{ tokenFile: `${dir}/two` }, `tandem: token file ${dir}/two holds more than one word`],
      ] as [ControlCommandOptions, string][]
    ) {
      const r = await run("127.0.0.1:9", { kind: "reload" }, { fetch, ...opts });
      assert.deepEqual(r, { code: 2, out: [], err: [line] }, line);
    }
    // The flag wins over the environment.
    await Deno.writeTextFile(`${dir}/good`, "tok");
    let auth = "";
    const r = await run("127.0.0.1:9", { kind: "reload" }, {
      tokenFile: `${dir}/good`,
      env: () => `${dir}/missing`,
      fetch: (_url, init) => {
        auth = new Headers(init?.headers).get("authorization") ?? "";
        return Promise.resolve(Response.json({ ok: true, message: "reloaded" }));
      },
    });
    assert.equal(r.code, 0);
    assert.equal(auth, "Bearer tok");
    assert.equal(sent, 0);
    const bad = await run("http://", { kind: "reload" }, { tokenFile: `${dir}/good` });
    assert.equal(bad.code, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("control: an unreachable unit or a foreign answer exits 1", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const opts = { readFile: () => "tok" };
  let r = await run(`127.0.0.1:${port}`, { kind: "reload" }, { ...opts, tokenFile: "x" });
  assert.deepEqual(r.err, [`tandem: cannot reach 127.0.0.1:${port}: connection refused`]);
  assert.equal(r.code, 1);
  r = await run("127.0.0.1:9", { kind: "reload" }, {
    ...opts,
    tokenFile: "x",
    fetch: () => Promise.resolve(new Response("<html>", { status: 502 })),
  });
  assert.deepEqual(r, { code: 1, out: [], err: ["tandem: bad answer from 127.0.0.1:9: HTTP 502"] });
  // 200 without {ok: true} is not success.
  r = await run("127.0.0.1:9", { kind: "reload" }, {
    ...opts,
    tokenFile: "x",
    fetch: () => Promise.resolve(Response.json({ hello: 1 })),
  });
  assert.equal(r.code, 1);
});

Deno.test("control: request paths encode the service and address", () => {
  assert.deepEqual(
    controlPath({ kind: "backend", service: "web/v2?", address: "1.2.3.4:80", admin: "draining" }),
    { path: "/backends/web%2Fv2%3F/1.2.3.4%3A80", body: '{"admin":"draining"}' },
  );
  assert.deepEqual(controlPath({ kind: "maintenance", on: false }), {
    path: "/maintenance",
    body: '{"on":false}',
  });
  assert.deepEqual(controlPath({ kind: "reload" }), { path: "/reload" });
});
