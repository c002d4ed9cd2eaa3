import assert from "node:assert/strict";
import {
  clientRun,
  listNamespaces,
  nsCurl,
  requireLabTools,
  startTraffic,
  trafficArgs,
  withLab,
} from "./harness.ts";
import { pidAlive, procState, sleep, spawnInNs } from "./netns.ts";
import { crash, kill, labNamespaces, labStateDir, readPid, restart, revive } from "./topology.ts";
import { parseTrafficArgs } from "./traffic.ts";

const skip = requireLabTools();
if (skip !== null) console.warn(`skipping lab harness tests: ${skip}`);

/**
 * Stands in for `tandem run` until main.ts exists: serves /healthz and echoes its argv, the path,
 * method and Authorization header as JSON on 127.0.0.1:9090 (the unit API address).
 */
const FAKE_UNIT = `
Deno.serve({ hostname: "127.0.0.1", port: 9090, onListen() {} }, (req) => {
  const path = new URL(req.url).pathname;
  if (path === "/healthz") return new Response("ok");
  return Response.json({ args: Deno.args, path, method: req.method,
    auth: req.headers.get("authorization") });
});
`;

Deno.test("trafficArgs renders flags that parseTrafficArgs reads back", () => {
  const opts = {
    target: "198.51.100.10",
    conns: 7,
    churnMs: 0,
    durationMs: 1234,
    markFile: "/tmp/m",
    udpPort: 7101,
  };
  const args = trafficArgs(opts);
  assert.deepEqual(args.slice(0, 2), ["--target", "198.51.100.10"]);
  assert.deepEqual(parseTrafficArgs(args), opts);
  assert.deepEqual(trafficArgs({}), []);
});

Deno.test({
  name: "withLab tears the lab down even when the test body throws",
  ignore: skip !== null,
  async fn() {
    const prefix = "tl4";
    await assert.rejects(
      withLab({ prefix, units: [], noServers: true }, async (lab) => {
        assert.ok((await listNamespaces()).includes(lab.ns.client));
        throw new Error("body failed");
      }),
      /body failed/,
    );
    const names = await listNamespaces();
    for (const n of Object.values(labNamespaces(prefix))) assert.ok(!names.includes(n), n);
    await assert.rejects(Deno.stat(labStateDir(prefix)), Deno.errors.NotFound, "state removed");
  },
});

Deno.test({
  name: "units: started with config/role/mode, API via nsCurl, crash freezes, kill, restart",
  ignore: skip !== null,
  async fn() {
    const prefix = "tl5";
    const dir = await Deno.makeTempDir();
    const fake = `${dir}/fake_unit.ts`;
    await Deno.writeTextFile(fake, FAKE_UNIT);
    const pids: number[] = [];
    try {
      await withLab({
        prefix,
        mode: "active-forward",
        noServers: true,
        extraArgs: ["--log-level", "debug"],
        unitCommand: [Deno.execPath(), "run", "-A", fake],
      }, async (lab) => {
        const state = labStateDir(prefix);
        const a = lab.pids.a!;
        const b = lab.pids.b!;
        pids.push(a, b);
        assert.ok(pidAlive(a) && pidAlive(b));
        assert.equal(await readPid(prefix, "a"), a);

        const sa = await nsCurl(prefix, "a", "/status") as { args: string[]; auth: null };
        assert.deepEqual(sa.args, [
          "run",
          "--config",
          `${state}/a.yaml`,
          "--role",
          "active",
          "--mode",
          "active-forward",
          "--log-level",
          "debug",
        ]);
        assert.equal(sa.auth, null);
        const sb = await nsCurl(prefix, "b", "failover", { method: "POST", auth: true }) as {
          args: string[];
          method: string;
          auth: string;
          path: string;
        };
        assert.equal(sb.args[4], "standby");
        assert.equal(sb.path, "/failover");
        assert.equal(sb.method, "POST");
        const token = (await Deno.readTextFile(`${state}/api.token`)).trim();
        assert.match(token, /^[0-9a-f]{32}$/);
        assert.equal(sb.auth, `Bearer ${token}`);
        assert.match((await Deno.readTextFile(`${state}/peer.key`)).trim(), /^[0-9a-f]{64}$/);

        await crash(prefix, "a");
        assert.equal(procState(a), "T", "crashed unit is frozen");
        await assert.rejects(nsCurl(prefix, "a", "/status", { timeoutMs: 500 }));
        await revive(prefix, "a");
        assert.notEqual(procState(a), "T");
        assert.ok(Array.isArray((await nsCurl(prefix, "a", "/status") as { args: unknown }).args));

        await kill(prefix, "b");
        assert.equal(pidAlive(b), false);
        assert.equal(await readPid(prefix, "b"), undefined);
        await crash(prefix, "a");
        const a2 = await restart(prefix, "a", "standby");
        pids.push(a2);
        assert.equal(pidAlive(a), false, "restart replaced the frozen process");
        const s2 = await nsCurl(prefix, "a", "/status") as { args: string[] };
        assert.equal(s2.args[4], "standby", "restarted with the new role");
        assert.equal(s2.args[6], "active-forward", "and the lab's mode");
      });
      for (const p of pids) assert.equal(pidAlive(p), false, `pid ${p} stopped by labDown`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "startTraffic runs the generator in the client namespace and records the mark",
  ignore: skip !== null,
  async fn() {
    const prefix = "tl6";
    await withLab({ prefix, units: [], noServers: true }, async (lab) => {
      // Echo servers on the client's own loopback: the client cannot reach P-server without units.
      const srv = await spawnInNs(
        lab.ns.client,
        [
          Deno.execPath(),
          "run",
          "-A",
          new URL("./servers.ts", import.meta.url).pathname,
          "--address",
          "127.0.0.1",
          "--http-port",
          "8080",
        ],
        `${lab.stateDir}/client-servers.log`,
      );
      for (let i = 0; i < 100; i++) {
        const r = await clientRun(prefix, [
          "curl",
          "-sf",
          "-o",
          "/dev/null",
          "http://127.0.0.1:8080/",
        ]);
        if (r.code === 0) break;
        await sleep(100);
      }
      const run = await startTraffic(prefix, {
        target: "127.0.0.1",
        conns: 5,
        churnMs: 5,
        udp: 2,
        intervalMs: 10,
        durationMs: 1500,
      });
      await run.ready();
      const marked = Date.now();
      await run.mark();
      const r = await run.done;
      assert.equal(r.tcp.completed, 5, JSON.stringify(r.errorSamples));
      assert.equal(r.tcp.corruptBytes, 0);
      assert.ok(r.udp.received > 0 && r.udp.received === r.udp.sent);
      assert.ok(r.opsAroundMark !== null, "mark seen");
      assert.ok(Math.abs(r.opsAroundMark.markAt - marked) < 1000, "the mark file's time");
      assert.equal(r.opsAroundMark.completed, r.opsAroundMark.opened);
      assert.ok(pidAlive(srv), "helper server still running until labDown");
    });
  },
});
