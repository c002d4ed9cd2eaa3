/**
 * Seamless failover (issue 8) in the lab, with real traffic: a lossy peer link that the
 * reliable data lane repairs, planned switchovers in a row with no failure involved, a split
 * brain whose new flows are merged on heal, and a survivor that picks up flows it never saw.
 * Stall figures are printed here and measured by `deno task bench failover`, not asserted.
 */
import assert from "node:assert/strict";
import { kill, readPid } from "../mod/lab/topology.ts";
import { requireLabTools, startTraffic, withLab } from "../mod/lab/harness.ts";
import { nsExec } from "../mod/lab/netns.ts";
import type { StatusSnapshot } from "../mod/api/snapshot.ts";
import { counterDeltas, waitFor } from "./helpers.ts";
import {
  assertSameTables,
  assertSurvived,
  both,
  pairLab,
  settled,
  status,
  TRAFFIC,
  type U,
} from "./pair_lab.ts";

const SKIP = requireLabTools();
if (SKIP) console.log(`skipping failover tests: ${SKIP}`);

/** Loads an nftables ruleset into unit `u`'s namespace. */
function nft(prefix: string, u: U, rules: string): Promise<string> {
  return nsExec(`${prefix}-${u}`, ["nft", "-f", "-"], rules);
}

/** Drops `rule`-matching packets arriving on the peer interface ha0 (netdev ingress). */
const ha0Drop = (table: string, rule: string) =>
  `table netdev ${table} {\n  chain c {\n    type filter hook ingress device ha0 priority -400; policy accept;\n    ${rule}\n  }\n}\n`;

/** Every role and peer event of both units, in time order: what a failed assertion shows. */
function story(s: Record<U, StatusSnapshot>): string {
  return (["a", "b"] as U[]).flatMap((u) =>
    s[u].events.filter((e) => e.kind === "role" || e.kind === "peer")
      .map((e) => ({ at: e.at, line: `${u} ${e.at} ${e.kind}: ${e.detail}` }))
  ).sort((x, y) => x.at - y.at).map((e) => e.line).join("\n");
}

/** No unit declared its peer dead or down: no failover was involved. */
function assertNoFailover(s: Record<U, StatusSnapshot>, what: string): void {
  for (const u of ["a", "b"] as U[]) {
    const falls = s[u].events.filter((e) => /peer dead|down/.test(e.detail));
    assert.deepEqual(falls, [], `${what}: ${u} saw its peer fail\n${story(s)}`);
  }
}

const LINK_COUNTERS = [
  "peer_nacks_sent",
  "peer_batches_recovered",
  "peer_batches_resent",
  "drop_peer_batches_lost",
] as const;

Deno.test({
  name: "failover standby-forward: 5% loss each way on the peer link is repaired, no failover",
  ignore: SKIP !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const prefix = "tfl";
    await withLab({ prefix, mode: "standby-forward" }, async () => {
      const lab = pairLab(prefix, "standby-forward");
      await settled(lab);
      const start = await both(prefix);
      // Every peer datagram (data, control and heartbeat lanes) arriving at either unit.
      const loss = ha0Drop("tandem_loss", "udp dport 4790-4792 numgen random mod 100 < 5 drop");
      await nft(prefix, "a", loss);
      await nft(prefix, "b", loss);
      try {
        const run = await startTraffic(prefix, { ...TRAFFIC, durationMs: 4000 });
        run.done.catch(() => {}); // awaited below; a failed step must not leave it dangling
        const report = await run.done;
        console.log(
          `  5% peer-link loss: longest stall ${report.tcp.maxStallMs} ms ` +
            `(churn ${report.churn.maxStallMs} ms)`,
        );
        assertSurvived(report, "5% peer-link loss");
      } finally {
        await nft(prefix, "a", "delete table netdev tandem_loss");
        await nft(prefix, "b", "delete table netdev tandem_loss");
      }
      const end = await both(prefix);
      assertNoFailover(end, "5% peer-link loss");
      assert.equal(end.a.state, "active");
      assert.equal(end.b.state, "standby");
      const d = (u: U) => counterDeltas(start[u].counters, end[u].counters, LINK_COUNTERS);
      console.log(`  a: ${JSON.stringify(d("a"))}\n  b: ${JSON.stringify(d("b"))}`);
      // a receives every packet and hands each to b for emission: b asks again for what the
      // link lost, a resends it, and nothing is lost for good either way.
      assert.ok(d("b").peer_nacks_sent! > 0, "b asked for lost batches");
      assert.ok(d("b").peer_batches_recovered! > 0, "b recovered lost batches");
      assert.ok(d("a").peer_batches_resent! > 0, "a resent them");
      for (const u of ["a", "b"] as U[]) {
        assert.equal(d(u).drop_peer_batches_lost, 0, `${u}: a batch was lost for good`);
      }
      await assertSameTables(lab, "after 5% peer-link loss");
    });
  },
});

Deno.test({
  name: "failover standby-first: 20 planned switchovers in a row under traffic, none a failure",
  ignore: SKIP !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const prefix = "tfs";
    await withLab({ prefix, mode: "standby-first" }, async () => {
      const lab = pairLab(prefix, "standby-first");
      assert.equal((await settled(lab)).active, "a");
      const pids = { a: (await readPid(prefix, "a"))!, b: (await readPid(prefix, "b"))! };
      const run = await startTraffic(prefix, { ...TRAFFIC, durationMs: 60_000 });
      run.done.catch(() => {}); // awaited below; a failed step must not leave it dangling
      await run.ready();
      let active: U = "a";
      const took: number[] = [];
      try {
        for (let i = 0; i < 20; i++) {
          const t0 = performance.now();
          // SIGUSR1 asks the active unit to hand its role to the standby.
          Deno.kill(pids[active], "SIGUSR1");
          const next: U = active === "a" ? "b" : "a";
          assert.equal((await settled(lab, { active: next })).active, next, `switchover ${i + 1}`);
          took.push(Math.round(performance.now() - t0));
          active = next;
        }
      } finally {
        // Stop the traffic early: it has crossed every switchover.
        await run.stop();
      }
      const report = await run.done;
      console.log(
        `  20 switchovers: settled in ${took.join(" ")} ms; longest stall ` +
          `${report.tcp.maxStallMs} ms (churn ${report.churn.maxStallMs} ms)`,
      );
      assertSurvived(report, "20 planned switchovers");
      assertNoFailover(await both(prefix), "planned switchovers");
      await assertSameTables(lab, "after 20 switchovers");
    });
  },
});

Deno.test({
  name: "failover active-forward: churn across a 4 s peer-link cut loses no session; heal merges",
  ignore: SKIP !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const prefix = "tfx";
    await withLab({ prefix, mode: "active-forward" }, async () => {
      const lab = pairLab(prefix, "active-forward");
      await settled(lab);
      const start = await both(prefix);
      const run = await startTraffic(prefix, { ...TRAFFIC, conns: 50, durationMs: 6000 });
      run.done.catch(() => {}); // awaited below; a failed step must not leave it dangling
      await run.ready();
      await new Promise((r) => setTimeout(r, 500));
      const cut = ha0Drop("tandem_cut", "drop");
      await nft(prefix, "a", cut);
      await nft(prefix, "b", cut);
      try {
        await waitFor("both solo", async () => {
          const { a, b } = await both(prefix);
          return a.state === "solo" && b.state === "solo" ? true : undefined;
        }, lab.timing.takeoverMs);
        await new Promise((r) => setTimeout(r, 4000));
      } finally {
        await nft(prefix, "a", "delete table netdev tandem_cut");
        await nft(prefix, "b", "delete table netdev tandem_cut");
      }
      const healed = Date.now();
      const pair = await settled(lab, { rejoined: "b", since: healed });
      assert.equal(pair.active, "a", "the configured active keeps the addresses");
      const report = await run.done;
      console.log(
        `  4 s split: churn ${report.churn.completed}/${report.churn.opened}, longest stall ` +
          `${report.tcp.maxStallMs} ms (churn ${report.churn.maxStallMs} ms)`,
      );
      assertSurvived(report, "a 4 s split with churn");
      const end = await both(prefix);
      const d = counterDeltas(start.a.counters, end.a.counters, [
        "merged_flows",
        "merge_conflicts",
      ]);
      const bounced = (u: U) =>
        (end[u].counters.split_bounced ?? 0) - (start[u].counters.split_bounced ?? 0);
      console.log(
        `  a merged ${d.merged_flows} flows from b, ${d.merge_conflicts} conflicts; frames ` +
          `sent on to the peer over the LAN: a ${bounced("a")}, b ${bounced("b")}`,
      );
      // b served the flows that reached it during the split; a took them before b rejoined.
      assert.ok(d.merged_flows! > 0, `the winner merged the loser's flows\n${story(end)}`);
      await assertSameTables(lab, "after the heal");
    });
  },
});

Deno.test({
  name: "failover active-forward: with pickup, the survivor carries flows it never saw",
  ignore: SKIP !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const prefix = "tfp";
    await withLab({ prefix, mode: "active-forward", pickup: true }, async () => {
      const lab = pairLab(prefix, "active-forward");
      await settled(lab);
      // b hears a's heartbeats but none of its data lane: it never learns the flows opened now.
      await nft(prefix, "b", ha0Drop("tandem_blind", "udp dport 4790 drop"));
      const run = await startTraffic(prefix, {
        ...TRAFFIC,
        conns: 40,
        churnMs: 0,
        udp: 0,
        durationMs: 3000,
      });
      run.done.catch(() => {}); // awaited below; a failed step must not leave it dangling
      await run.ready();
      await new Promise((r) => setTimeout(r, 500));
      const blind = await status(prefix, "b");
      await kill(prefix, "a");
      await waitFor("b solo", async () => {
        const s = await status(prefix, "b");
        return s.state === "solo" ? true : undefined;
      }, lab.timing.takeoverMs);
      const report = await run.done;
      const after = await status(prefix, "b");
      const d = counterDeltas(blind.counters, after.counters, ["flows_picked_up"]);
      console.log(
        `  pickup: ${d.flows_picked_up} flows picked up, tcp ${report.tcp.completed}/` +
          `${report.tcp.opened}, longest stall ${report.tcp.maxStallMs} ms`,
      );
      assert.ok(d.flows_picked_up! > 0, "b re-created flows from mid-stream segments");
      assertSurvived(report, "pickup of unseen flows");
    });
  },
});

/** Sends random datagrams of random lengths to `to`'s three peer ports, from inside `from`. */
function garbage(prefix: string, from: U, to: string, ms: number): Deno.ChildProcess {
  const code = `
    import dgram from "node:dgram";
    const s = dgram.createSocket("udp4");
    const end = Date.now() + ${ms};
    let n = 0;
    const burst = () => {
      for (let i = 0; i < 20; i++, n++) {
        const b = new Uint8Array(Math.floor(Math.random() * 1400));
        crypto.getRandomValues(b.subarray(0, Math.min(b.length, 65536)));
        s.send(b, 4790 + (n % 3), ${JSON.stringify(to)});
      }
      if (Date.now() < end) setTimeout(burst, 10); else s.close();
    };
    burst();`;
  return new Deno.Command("ip", {
    args: ["netns", "exec", `${prefix}-${from}`, Deno.execPath(), "eval", code],
    stdout: "null",
    stderr: "null",
  }).spawn();
}

Deno.test({
  name:
    "failover standby-forward: busy cores and garbage at the peer ports cause no false failover",
  ignore: SKIP !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const prefix = "tfb";
    await withLab({ prefix, mode: "standby-forward" }, async () => {
      const lab = pairLab(prefix, "standby-forward");
      await settled(lab);
      const start = await both(prefix);
      // One busy loop per core, at the default priority, for the whole run.
      const hogs = Array.from(
        { length: navigator.hardwareConcurrency },
        () => new Deno.Command("sh", { args: ["-c", "while :; do :; done"] }).spawn(),
      );
      const noise: Deno.ChildProcess[] = [];
      try {
        const run = await startTraffic(prefix, { ...TRAFFIC, conns: 50, durationMs: 5000 });
        run.done.catch(() => {}); // awaited below; a failed step must not leave it dangling
        await run.ready();
        // Each unit's peer ports get ~2000 random datagrams a second from the other's address.
        noise.push(
          garbage(prefix, "a", "192.0.2.2", 4000),
          garbage(prefix, "b", "192.0.2.1", 4000),
        );
        const report = await run.done;
        console.log(
          `  busy cores + garbage: longest stall ${report.tcp.maxStallMs} ms ` +
            `(churn ${report.churn.maxStallMs} ms)`,
        );
        assertSurvived(report, "busy cores and garbage at the peer ports");
      } finally {
        for (const p of [...hogs, ...noise]) {
          try {
            p.kill("SIGKILL");
          } catch { /* exited */ }
          await p.status;
        }
      }
      const end = await both(prefix);
      assertNoFailover(end, "busy cores and garbage");
      assert.equal(end.a.state, "active");
      assert.equal(end.b.state, "standby");
      for (const u of ["a", "b"] as U[]) {
        const d = counterDeltas(start[u].counters, end[u].counters, [
          "drop_peer_bad_record",
          "drop_peer_heartbeat_rejected",
        ]);
        console.log(`  ${u}: ${JSON.stringify(d)}`);
        // Every lane got its share; each datagram is a counted drop.
        assert.ok(d.drop_peer_bad_record! > 1000, `${u} counted the garbage at data and control`);
        assert.ok(d.drop_peer_heartbeat_rejected! > 500, `${u} counted the garbage at heartbeats`);
      }
      await assertSameTables(lab, "after busy cores and garbage");
    });
  },
});
