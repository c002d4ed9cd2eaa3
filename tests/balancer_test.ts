/**
 * The pair as a load balancer (issue 9), in a lab of its own with real servers and real
 * traffic: a backend that stops accepting is taken out by the health checks with no session
 * lost; a SIGHUP that adds a service makes it reachable within a second with nothing lost, and
 * a bad file changes nothing; a drained backend takes no new connections while its own go on;
 * source-IP persistence holds across a failover.
 */
import assert from "node:assert/strict";
import { kill, labNamespaces, labStateDir, readPid, tandemCommand } from "../mod/lab/topology.ts";
import { clientRun, nsCurl, requireLabTools, startTraffic, withLab } from "../mod/lab/harness.ts";
import { nsRun } from "../mod/lab/netns.ts";
import type { FlowInfo, ServiceStatus } from "../mod/api/snapshot.ts";
import { waitFor } from "./helpers.ts";
import { assertSurvived, both, pairLab, settled, status, type U } from "./pair_lab.ts";

const SKIP = requireLabTools("nft");
if (SKIP) console.log(`skipping load-balancer tests: ${SKIP}`);

const BACKEND_A = "203.0.113.20";
const BACKEND_B = "203.0.113.21";
const CLIENT = "198.51.100.2";
/** The lab's checks: interval 1 s, timeout 500 ms, fall 3; plus a second of slack. */
const DETECT_MS = 3 * 1000 + 500 + 1000;

/**
 * An nftables table in the server namespace that counts the client's SYNs to each backend
 * port (proof of where new connections went) and, with `reject`, answers SYNs to `reject`
 * with a reset: a backend that stops accepting while its connections go on.
 */
async function serverFilter(prefix: string, reject?: string): Promise<void> {
  const rules = [
    `table inet t9 {`,
    `  chain in {`,
    `    type filter hook input priority 0;`,
    `    ip saddr ${CLIENT} ip daddr ${BACKEND_A} tcp flags & (syn|ack) == syn counter`,
    `    ip saddr ${CLIENT} ip daddr ${BACKEND_B} tcp flags & (syn|ack) == syn counter`,
    ...(reject
      ? [`    ip daddr ${reject} tcp dport 7000 tcp flags & (syn|ack) == syn reject with tcp reset`]
      : []),
    `  }`,
    `}`,
  ];
  const r = await nsRun(labNamespaces(prefix).server, ["nft", "-f", "-"], rules.join("\n") + "\n");
  assert.equal(r.code, 0, `nft: ${r.stderr}`);
}

/** The client's SYNs counted so far to backend A and backend B. */
async function synCounts(prefix: string): Promise<[number, number]> {
  const r = await nsRun(labNamespaces(prefix).server, ["nft", "list", "chain", "inet", "t9", "in"]);
  assert.equal(r.code, 0, `nft list: ${r.stderr}`);
  const n = [...r.stdout.matchAll(/counter packets (\d+)/g)].map((m) => Number(m[1]));
  return [n[0] ?? 0, n[1] ?? 0];
}

const echoService = (s: { services: ServiceStatus[] }) =>
  s.services.find((x) => x.name === "echo")!;
const backendState = (s: { services: ServiceStatus[] }, addr: string) =>
  echoService(s).backends.find((b) => b.address === `${addr}:7000`)!;

/** The receiver now. */
async function receiver(prefix: string): Promise<U> {
  const s = await both(prefix);
  return s.a.receiver ? "a" : "b";
}

Deno.test({
  name: "balancer: a backend that stops accepting gets no new connections once its checks fail",
  ignore: SKIP !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const prefix = "t9hc";
    await withLab({ prefix }, async () => {
      const lab = pairLab(prefix, "standby-forward");
      await settled(lab, { active: "a" });
      await serverFilter(prefix);
      const held = await startTraffic(prefix, { conns: 60, churnMs: 0, udp: 0, durationMs: 9000 });
      held.done.catch(() => {});
      await held.ready();
      // Backend B answers new SYNs with a reset from now on; its connections go on.
      await nsRun(labNamespaces(prefix).server, ["nft", "delete", "table", "inet", "t9"]);
      await serverFilter(prefix, BACKEND_B);
      const t0 = Date.now();
      const rx = await receiver(prefix);
      await waitFor("backend B down on both units", async () => {
        const s = await both(prefix);
        return backendState(s.a, BACKEND_B).health === "down" &&
            backendState(s.b, BACKEND_B).health === "down"
          ? true
          : undefined;
      }, DETECT_MS);
      const detectedMs = Date.now() - t0;
      const s = await status(prefix, rx);
      assert.equal(backendState(s, BACKEND_B).state, "down");
      assert.equal(backendState(s, BACKEND_B).peerHealth, "down", "the peer's view shows too");
      assert.equal(backendState(s, BACKEND_A).state, "up");
      assert.equal(echoService(s).backendsUp, 1);
      assert.ok(
        s.events.some((e) => e.kind === "health" && /203\.0\.113\.21:7000 down/.test(e.detail)),
      );
      // New connections from now on: every one completes, none reaches backend B.
      const [, before] = await synCounts(prefix);
      const churn = await startTraffic(prefix, {
        conns: 0,
        churnMs: 10,
        udp: 0,
        durationMs: 2500,
      });
      const c = await churn.done;
      const [toA, after] = await synCounts(prefix);
      const h = await held.done;
      console.log(
        `  backend down after ${detectedMs} ms; churn ${c.churn.completed}/${c.churn.opened}, ` +
          `SYNs to B after detection ${after - before}, held ${h.tcp.completed}/${h.tcp.opened}`,
      );
      assert.ok(c.churn.opened > 100, `churn ran: ${c.churn.opened}`);
      assertSurvived(c, "churn after detection");
      assert.equal(after - before, 0, "no new connection went to backend B");
      assert.ok(toA > c.churn.opened / 2);
      assertSurvived(h, "connections held across the backend's failure");
    });
  },
});

/** Rewrites both units' config with `edit` and sends each unit SIGHUP. */
async function reloadBoth(prefix: string, edit: (text: string) => string): Promise<void> {
  const dir = labStateDir(prefix);
  for (const u of ["a", "b"] as const) {
    const file = `${dir}/${u}.yaml`;
    await Deno.writeTextFile(file, edit(await Deno.readTextFile(file)));
  }
  for (const u of ["a", "b"] as const) {
    const pid = await readPid(prefix, u);
    assert.ok(pid !== undefined, `pid of ${u}`);
    Deno.kill(pid, "SIGHUP");
  }
}

/** One round trip through the TCP echo at `port` of the VIP, from the client. */
async function echoOnce(prefix: string, port: number): Promise<boolean> {
  const script = `exec 3<>/dev/tcp/198.51.100.10/${port} && printf ping >&3 && ` +
    `timeout 1 head -c 4 <&3`;
  const r = await clientRun(prefix, ["timeout", "2", "bash", "-c", script]);
  return r.code === 0 && r.stdout === "ping";
}

const ADDED_SERVICE = [
  "  - name: echo-new",
  "    listen: 198.51.100.10:7002",
  "    protocol: tcp",
  "    backends: [203.0.113.20:7000, { address: 203.0.113.21:7000, weight: 2 }]",
  "    health: { kind: tcp, interval: 1s }",
].join("\n");

Deno.test({
  name: "balancer: SIGHUP adds a service within a second, nothing lost; a bad file changes nothing",
  ignore: SKIP !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const prefix = "t9rl";
    // IPv4 only: the added service's index (services[3]) is part of what the test checks.
    await withLab({ prefix, ipv6: false }, async () => {
      const lab = pairLab(prefix, "standby-forward");
      await settled(lab, { active: "a" });
      const before = await both(prefix);
      assert.equal(await echoOnce(prefix, 7002), false, "no service on 7002 yet");
      const run = await startTraffic(prefix, {
        conns: 100,
        churnMs: 10,
        udp: 10,
        durationMs: 5000,
      });
      run.done.catch(() => {});
      await run.ready();
      const t0 = performance.now();
      await reloadBoth(prefix, (t) => t.replace(/^peer:/m, `${ADDED_SERVICE}\npeer:`));
      await waitFor(
        "the new service answers",
        async () => await echoOnce(prefix, 7002) || undefined,
        1000,
      );
      const tookMs = Math.round(performance.now() - t0);
      const report = await run.done;
      console.log(`  new service answered ${tookMs} ms after SIGHUP`);
      assertSurvived(report, "traffic across the reload");
      const after = await waitFor("both reloaded, configs match", async () => {
        const s = await both(prefix);
        return s.a.config.lastReload?.ok && s.b.config.lastReload?.ok &&
            s.a.peer.configMatch && s.b.peer.configMatch
          ? s
          : undefined;
      }, 3000);
      assert.notEqual(after.a.config.digest, before.a.config.digest);
      assert.equal(after.a.config.digest, after.b.config.digest);
      assert.ok(after.a.services.some((s) => s.name === "echo-new"));
      // A bad file: the running config stays, one clear line says why.
      await reloadBoth(prefix, (t) => t.replace("weight: 2", "weight: -2"));
      const bad = await waitFor("the bad reload refused", async () => {
        const s = await status(prefix, "a");
        return s.config.lastReload?.ok === false ? s : undefined;
      }, 3000);
      assert.match(
        bad.config.lastReload!.message,
        /services\[3\]\.backends\[1\]\.weight: -2 is out of range 0\.\.256/,
      );
      assert.ok(!bad.config.lastReload!.message.includes("\n"));
      assert.equal(bad.config.digest, after.a.config.digest);
      assert.ok(await echoOnce(prefix, 7002), "the service still works");
      assert.ok(await echoOnce(prefix, 7000));
      // Restore the file, so the units agree with it again.
      await reloadBoth(prefix, (t) => t.replace("weight: -2", "weight: 2"));
    });
  },
});

Deno.test({
  name: "balancer: a drained backend takes no new connections; its own go on",
  ignore: SKIP !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const prefix = "t9dr";
    await withLab({ prefix }, async () => {
      const lab = pairLab(prefix, "standby-forward");
      await settled(lab, { active: "a" });
      await serverFilter(prefix);
      const held = await startTraffic(prefix, { conns: 60, churnMs: 0, udp: 0, durationMs: 6000 });
      held.done.catch(() => {});
      await held.ready();
      // The operator drains B with the CLI on the standby's box, no token flag (the unit
      // recorded its token file for local root): both units apply it.
      const r = await nsRun(labNamespaces(prefix).b, [
        ...tandemCommand(),
        "backend",
        "drain",
        "echo",
        `${BACKEND_B}:7000`,
      ]);
      assert.equal(r.code, 0, `drain: ${r.stderr} ${r.stdout}`);
      assert.match(r.stdout, /echo 203\.0\.113\.21:7000: draining/);
      await waitFor("B draining on both", async () => {
        const s = await both(prefix);
        return backendState(s.a, BACKEND_B).state === "draining" &&
            backendState(s.b, BACKEND_B).state === "draining"
          ? true
          : undefined;
      }, 2000);
      // Each backend's flow count is at most a second old.
      await waitFor("B's connections counted", async () => {
        return backendState(await status(prefix, "a"), BACKEND_B).flows > 0 || undefined;
      }, 3000);
      const [, before] = await synCounts(prefix);
      const churn = await startTraffic(prefix, { conns: 0, churnMs: 10, udp: 0, durationMs: 2000 });
      const c = await churn.done;
      const [, after] = await synCounts(prefix);
      assertSurvived(c, "churn while B drains");
      assert.equal(after - before, 0, "no new connection went to the draining backend");
      assertSurvived(await held.done, "connections held while B drains");
      const flows = await nsCurl(prefix, "a", "/flows?limit=1000") as { flows: FlowInfo[] };
      assert.ok(flows.flows.length > 0);
    });
  },
});

Deno.test({
  name: "balancer: source-IP persistence holds across a failover (templates are mirrored)",
  ignore: SKIP !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const prefix = "t9ps";
    await withLab({ prefix, persistence: "60s" }, async () => {
      const lab = pairLab(prefix, "standby-forward");
      await settled(lab, { active: "a" });
      await serverFilter(prefix);
      const first = await startTraffic(prefix, {
        conns: 10,
        churnMs: 20,
        udp: 0,
        durationMs: 1500,
      });
      assertSurvived(await first.done, "first clients");
      const [a1, b1] = await synCounts(prefix);
      assert.ok((a1 === 0) !== (b1 === 0), `one backend only: ${a1} / ${b1}`);
      const sticky = a1 > 0 ? 0 : 1;
      // The standby holds the same template, so after the active dies the client stays.
      const s = await both(prefix);
      assert.equal(s.a.flows.digest, s.b.flows.digest);
      await kill(prefix, "a");
      await waitFor(
        "b solo",
        async () => (await status(prefix, "b")).state === "solo" || undefined,
        lab.timing.takeoverMs,
      );
      const second = await startTraffic(prefix, {
        conns: 10,
        churnMs: 20,
        udp: 0,
        durationMs: 1500,
      });
      assertSurvived(await second.done, "clients after the failover");
      const [a2, b2] = await synCounts(prefix);
      console.log(`  SYNs to A/B before ${a1}/${b1}, after the failover ${a2}/${b2}`);
      assert.equal(sticky === 0 ? b2 : a2, 0, "every new connection went to the same backend");
    });
  },
});

Deno.test({
  name: "balancer: http checks against the lab's web servers; no backend up refuses new flows",
  ignore: SKIP !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const prefix = "t9ht";
    await withLab({ prefix }, async () => {
      const lab = pairLab(prefix, "standby-forward");
      await settled(lab, { active: "a" });
      const httpCheck = (path: string) =>
        `    health: { kind: http, path: ${path}, expect: 200, interval: 300ms, timeout: 200ms, fall: 2 }`;
      const webHealth = /(name: http\n(?:.*\n)*?) {4}health: .*\n/;
      await reloadBoth(prefix, (t) => t.replace(webHealth, `$1${httpCheck("/")}\n`));
      const web = (s: { services: ServiceStatus[] }) => s.services.find((x) => x.name === "http")!;
      const ok0 = (await status(prefix, "a")).counters.health_checks_ok!;
      await waitFor("http checks pass", async () => {
        const s = await status(prefix, "a");
        return web(s).health.kind === "http" && s.counters.health_checks_ok! > ok0 + 4 &&
            web(s).backendsUp === 2
          ? true
          : undefined;
      }, 5000);
      const page = await clientRun(prefix, ["curl", "-sS", "-m", "2", "http://198.51.100.10/"]);
      assert.match(page.stdout, /tandem lab backend 203\.0\.113\.2[01]/);
      // A path the servers answer 404: both backends fail, new flows are refused.
      await reloadBoth(prefix, (t) => t.replace(httpCheck("/"), httpCheck("/missing")));
      const down = await waitFor("both web backends down", async () => {
        const s = await status(prefix, "a");
        return web(s).backendsUp === 0 ? s : undefined;
      }, 5000);
      assert.ok(down.events.some((e) => e.kind === "health" && /down \(http 404\)/.test(e.detail)));
      const refused = await clientRun(prefix, ["curl", "-sS", "-m", "2", "http://198.51.100.10/"]);
      assert.notEqual(refused.code, 0);
      assert.equal(refused.code, 7, `curl: ${refused.stderr}`); // connection refused: our RST
      const s = await status(prefix, "a");
      assert.ok(s.counters.drop_no_backend_up! >= 1);
      assert.ok(await echoOnce(prefix, 7000), "the other services are untouched");
    });
  },
});
