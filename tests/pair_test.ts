/**
 * The HA pair in each of the three topologies, in a lab of its own: real
 * TCP/UDP traffic through the pair, real freezes (SIGSTOP plus dropped
 * traffic) and kills (SIGKILL) of each unit that is on the data path, and
 * byte-exact survival of every connection (DESIGN.md "Targets").
 */
import assert from "node:assert/strict";
import { crash, kill, labStateDir, readPid, restart, revive } from "../mod/lab/topology.ts";
import { nsCurl, requireLabTools, startTraffic, withLab } from "../mod/lab/harness.ts";
import { nsRun } from "../mod/lab/netns.ts";
import { readPcap } from "../mod/port/pcap.ts";
import type { Mode } from "../mod/api/snapshot.ts";
import { counterDeltas, waitFor } from "./helpers.ts";
import {
  assertSameTables,
  assertSurvived,
  both,
  other,
  type PairLab,
  pairLab,
  settled,
  status,
  TRAFFIC,
  type U,
} from "./pair_lab.ts";
import { DEFAULT_READY_TIMEOUT_MS, LAB_ADDRESSES } from "../mod/lab/topology.ts";

const SKIP = requireLabTools();
if (SKIP) console.log(`skipping pair tests: ${SKIP}`);
// The per-mode tests capture what each unit emits; the load test runs iperf3.
const SKIP_MODES = requireLabTools("tcpdump");
if (SKIP_MODES && !SKIP) console.log(`skipping the per-mode pair tests: ${SKIP_MODES}`);
const SKIP_IPERF = requireLabTools("iperf3", "ss") ??
  (Deno.env.get("TANDEM_SHORT") === "1" ? "TANDEM_SHORT=1 leaves the 60 s load test out" : null);
if (SKIP_IPERF && !SKIP) console.log(`skipping the pair load test: ${SKIP_IPERF}`);

/** Steady traffic before a failure: every connection is up, then this much of it flows. */
const BEFORE_FAILURE_MS = 1000;

/**
 * Runs traffic, fails `victim` once the traffic is steady (`stop`: SIGSTOP + dropped traffic;
 * `kill`: SIGKILL), checks every connection survived, reports detection and stall, then brings
 * the victim back and waits for the pair to settle with equal tables.
 */
async function failure(lab: PairLab, victim: U, how: "stop" | "kill"): Promise<void> {
  const prefix = lab.prefix;
  const survivor = other(victim);
  const before = await status(prefix, victim);
  const run = await startTraffic(prefix, TRAFFIC);
  run.done.catch(() => {}); // awaited below; a failed step must not leave it dangling
  await run.ready();
  await new Promise((r) => setTimeout(r, BEFORE_FAILURE_MS));
  const kept = await status(prefix, survivor);
  const t0 = Date.now();
  if (how === "stop") await crash(prefix, victim);
  else await kill(prefix, victim);
  const took = await waitFor("takeover", async () => {
    const s = await status(prefix, survivor);
    const e = s.events.find((e) =>
      e.kind === "role" && e.at >= t0 - 5 && /peer dead/.test(e.detail)
    );
    return s.state === "solo" && e ? e : undefined;
  }, lab.timing.takeoverMs);
  const report = await run.done;
  const what = `${how} of ${before.role} ${victim}`;
  console.log(
    `  ${what}: detection ${took.at - t0} ms, longest stall ${report.tcp.maxStallMs} ms ` +
      `(churn ${report.churn.maxStallMs} ms), tcp ${report.tcp.completed}/${report.tcp.opened}, ` +
      `churn ${report.churn.completed}/${report.churn.opened}, udp lost ${report.udp.lost}/${report.udp.sent}`,
  );
  assertSurvived(report, what);
  assert.ok(report.tcp.opened >= TRAFFIC.conns, "all persistent connections opened");
  // The survivor asked every endpoint where it stands (issue 8, item 3) and, where it was the
  // receiver handing frames to the victim, emitted those the victim never confirmed (item 2).
  const d = counterDeltas(kept.counters, (await status(prefix, survivor)).counters, [
    "probes_sent",
    "replayed",
  ]);
  console.log(`  ${what}: ${d.probes_sent} probes sent, ${d.replayed} frames replayed`);
  assert.ok(d.probes_sent! > 0, `${what}: the survivor probed the established flows`);
  if (before.forwarder && !before.receiver) {
    assert.ok(d.replayed! > 0, `${what}: the survivor replayed the frames the forwarder held`);
  }
  assert.ok(report.churn.opened > 100, "churn ran across the failure");
  // Bring the victim back: it joins as standby and receives the table (claims 20, 21).
  const back = Date.now();
  if (how === "stop") await revive(prefix, victim);
  else await restart(prefix, victim, "standby");
  const pair = await settled(lab, { rejoined: victim, since: back });
  assert.equal(pair.active, survivor, "the survivor stays active; the returning unit is standby");
  await assertSameTables(lab, `after ${what} and rejoin`);
}

/**
 * Resolves once a line of `stream` matches `re`, then keeps reading (and dropping) the rest so
 * the writer never blocks; rejects if the stream ends first.
 */
function untilLine(stream: ReadableStream<Uint8Array>, re: RegExp): Promise<void> {
  return new Promise((resolve, reject) => {
    (async () => {
      const dec = new TextDecoder();
      let text = "";
      let seen = false;
      for await (const chunk of stream) {
        if (seen) continue;
        text += dec.decode(chunk, { stream: true });
        if (re.test(text)) {
          seen = true;
          resolve();
        }
      }
      if (!seen) reject(new Error(`stream ended without ${re}: ${text.trim().slice(-300)}`));
    })().catch(reject);
  });
}

/** `p`, or a rejection naming `what` after `ms`. */
async function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** What each unit emitted on its TAPs (frames the kernel received from tandem), over one run. */
async function captureDataFrames(prefix: string): Promise<Record<U, number>> {
  const dir = labStateDir(prefix);
  const caps: { u: U; file: string; child: Deno.ChildProcess; listening: Promise<void> }[] = [];
  for (const u of ["a", "b"] as U[]) {
    for (const tap of ["tnd-front", "tnd-back"]) {
      const file = `${dir}/cap-${u}-${tap}.pcap`;
      const child = new Deno.Command("ip", {
        args: [
          "netns",
          "exec",
          `${prefix}-${u}`,
          "tcpdump",
          "-i",
          tap,
          "-Q",
          "in",
          "-U",
          "-w",
          file,
        ],
        stdout: "null",
        stderr: "piped",
      }).spawn();
      caps.push({ u, file, child, listening: untilLine(child.stderr, /listening on/) });
    }
  }
  try {
    // tcpdump says "listening on" once its capture is open; nothing is missed after that.
    await withDeadline(
      Promise.all(caps.map((c) => c.listening)),
      DEFAULT_READY_TIMEOUT_MS,
      "tcpdump listening on every TAP",
    );
    const run = await startTraffic(prefix, { ...TRAFFIC, conns: 50, durationMs: 2000 });
    run.done.catch(() => {}); // awaited below; a failed step must not leave it dangling
    assertSurvived(await run.done, "capture run");
  } finally {
    for (const c of caps) {
      try {
        c.child.kill("SIGINT");
      } catch { /* gone */ }
      await c.child.status;
    }
  }
  const counts: Record<U, number> = { a: 0, b: 0 };
  for (const c of caps) {
    // Both units check the backends from their own self address: not data.
    const selves = Object.values(LAB_ADDRESSES.units[c.u]);
    for (const { frame } of readPcap(await Deno.readFile(c.file))) {
      // IPv4 TCP or UDP: a data packet toward a client or a server.
      if (frame[12] === 0x08 && frame[13] === 0x00 && (frame[23] === 6 || frame[23] === 17)) {
        const src = [...frame.subarray(26, 30)].join(".");
        if (!selves.includes(src as never)) counts[c.u]++;
      }
    }
  }
  return counts;
}

const EXPECT: Record<Mode, { receiver: U; forwarder: U; standbyOnPath: boolean }> = {
  "active-forward": { receiver: "a", forwarder: "a", standbyOnPath: false },
  "standby-forward": { receiver: "a", forwarder: "b", standbyOnPath: true },
  "standby-first": { receiver: "b", forwarder: "a", standbyOnPath: true },
};

for (const mode of Object.keys(EXPECT) as Mode[]) {
  const prefix =
    { "active-forward": "tpa", "standby-forward": "tpb", "standby-first": "tpc" }[mode];
  Deno.test({
    name: `pair ${mode}: roles, mirroring, and every connection survives each failure`,
    ignore: SKIP_MODES !== null,
    sanitizeOps: false,
    sanitizeResources: false,
    fn: async (t) => {
      await withLab({ prefix, mode }, async () => {
        const lab = pairLab(prefix, mode);
        const exp = EXPECT[mode];
        await t.step("roles follow the patent's flow for this mode", async () => {
          const pair = await settled(lab);
          assert.equal(pair.active, "a");
          const [a, b] = [await status(prefix, "a"), await status(prefix, "b")];
          const s = { a, b };
          assert.ok(s[exp.receiver].receiver, "receiver");
          assert.ok(s[exp.forwarder].forwarder, "forwarder");
          assert.equal(Number(a.receiver) + Number(b.receiver), 1, "exactly one receiver");
          assert.equal(Number(a.forwarder) + Number(b.forwarder), 1, "exactly one forwarder");
          assert.equal(a.peer.configMatch, true);
        });

        await t.step(
          "the unit that is not the forwarder emits no data packet (capture)",
          async () => {
            const counts = await captureDataFrames(prefix);
            const quiet = other(exp.forwarder);
            console.log(`  data frames emitted: a=${counts.a} b=${counts.b}`);
            assert.ok(counts[exp.forwarder] > 1000, "the forwarder carried the traffic");
            assert.equal(counts[quiet], 0, `${quiet} emitted data packets`);
            await assertSameTables(lab, "after mixed TCP/UDP traffic");
          },
        );

        await t.step("SIGSTOP of the active unit", () => failure(lab, "a", "stop"));
        // Roles swapped: b is active now.
        await t.step("SIGKILL of the active unit", () => failure(lab, "b", "kill"));
        if (exp.standbyOnPath) {
          // a is active again; the standby (b) is on the data path in this mode.
          await t.step("SIGSTOP of the standby unit", () => failure(lab, "b", "stop"));
          await t.step("SIGKILL of the standby unit", () => failure(lab, "b", "kill"));
        }
      });
    },
  });
}

Deno.test({
  name:
    "pair active-forward with hold_new_flows: first packets wait for the standby's ack, bounded",
  ignore: SKIP !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const prefix = "tph";
    await withLab({ prefix, mode: "active-forward", holdNewFlows: 20 }, async () => {
      const lab = pairLab(prefix, "active-forward");
      await settled(lab);
      const run = await startTraffic(prefix, { ...TRAFFIC, conns: 20, durationMs: 1500 });
      run.done.catch(() => {}); // awaited below; a failed step must not leave it dangling
      assertSurvived(await run.done, "held flows");
      const a = await status(prefix, "a");
      assert.ok(a.counters.held_new_flows! > 20, "new flows were held");
      // Under load an ack can miss the 20 ms bound; most must not.
      assert.ok(
        a.counters.hold_timeouts! * 10 < a.counters.held_new_flows!,
        "the standby acks in time",
      );
      // A frozen standby never acks: holds end at the bound, then the standby is declared dead.
      await crash(prefix, "b");
      const run2 = await startTraffic(prefix, { ...TRAFFIC, conns: 20, durationMs: 1500 });
      run2.done.catch(() => {}); // awaited below; a failed step must not leave it dangling
      assertSurvived(await run2.done, "held flows with a frozen standby");
      const a2 = await status(prefix, "a");
      assert.equal(a2.state, "solo");
      await revive(prefix, "b");
    });
  },
});

Deno.test({
  name: "pair standby-forward: 60 s of saturating iperf3 through the pair causes no false failover",
  ignore: SKIP_IPERF !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const prefix = "tpi";
    await withLab({ prefix, mode: "standby-forward", noServers: true }, async () => {
      const lab = pairLab(prefix, "standby-forward");
      await settled(lab);
      // The lab's port 80 service carries iperf3 here (no HTTP server in this lab).
      const server = new Deno.Command("ip", {
        args: [
          "netns",
          "exec",
          `${prefix}-server`,
          // Both backend addresses: iperf3's control and data connections are balanced separately.
          "iperf3",
          "-s",
          "-1",
          "-p",
          "80",
        ],
        stdout: "null",
        stderr: "null",
      }).spawn();
      try {
        await waitFor("iperf3 -s listening on port 80", async () => {
          const r = await nsRun(`${prefix}-server`, ["ss", "-Hltn", "sport = :80"]);
          return r.stdout.includes(":80") ? true : undefined;
        }, DEFAULT_READY_TIMEOUT_MS);
        const secs = Number(Deno.env.get("TANDEM_IPERF_SECONDS") ?? 60);
        const out = await nsRun(`${prefix}-client`, [
          "iperf3",
          "-c",
          "198.51.100.10",
          "-p",
          "80",
          "-t",
          String(secs),
          "-J",
        ]);
        assert.equal(out.code, 0, out.stderr);
        const bps = JSON.parse(out.stdout).end.sum_received.bits_per_second as number;
        console.log(`  iperf3 through the pair for ${secs} s: ${(bps / 1e9).toFixed(2)} Gbit/s`);
        const s = await both(prefix);
        // Every role change of both units, so a failure shows who moved first and why.
        const story = (["a", "b"] as U[]).flatMap((u) =>
          s[u].events.filter((e) => e.kind === "role" || e.kind === "peer" || e.kind === "stall")
            .map((e) => `${u} ${e.at} ${e.kind}: ${e.detail}`)
        ).sort((x, y) => Number(x.split(" ")[1]) - Number(y.split(" ")[1])).join("\n");
        for (const u of ["a", "b"] as U[]) {
          const falls = s[u].events.filter((e) => e.kind === "peer" && /down/.test(e.detail));
          assert.deepEqual(falls, [], `${u} saw its peer die under load:\n${story}`);
        }
        assert.equal(s.a.state, "active", story);
        assert.equal(s.b.state, "standby", story);
      } finally {
        try {
          server.kill("SIGKILL");
        } catch { /* exited */ }
        await server.status;
      }
    });
  },
});

Deno.test({
  name:
    "pair standby-forward: planned switchover (POST /failover, SIGUSR1) swaps roles, nothing lost",
  ignore: SKIP !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const prefix = "tps";
    await withLab({ prefix, mode: "standby-forward" }, async () => {
      const lab = pairLab(prefix, "standby-forward");
      assert.equal((await settled(lab)).active, "a");
      const run = await startTraffic(prefix, { ...TRAFFIC, durationMs: 3000 });
      run.done.catch(() => {}); // awaited below; a failed step must not leave it dangling
      await new Promise((r) => setTimeout(r, 1000));
      const res = await nsCurl(prefix, "a", "/failover", { method: "POST", auth: true }) as {
        ok: boolean;
      };
      assert.equal(res.ok, true);
      const pair = await settled(lab, { active: "b" });
      assert.equal(pair.active, "b", "b took over");
      const report = await run.done;
      console.log(`  switchover: longest stall ${report.tcp.maxStallMs} ms`);
      assertSurvived(report, "planned switchover");
      for (const u of ["a", "b"] as U[]) {
        const s = await status(prefix, u);
        assert.ok(!s.events.some((e) => /peer dead/.test(e.detail)), `${u}: no failure involved`);
      }
      await assertSameTables(lab, "after the switchover");
      // SIGUSR1 to the active unit hands the roles back the same way.
      const run2 = await startTraffic(prefix, { ...TRAFFIC, durationMs: 2500 });
      run2.done.catch(() => {}); // awaited below
      await new Promise((r) => setTimeout(r, 800));
      Deno.kill((await readPid(prefix, "b"))!, "SIGUSR1");
      assert.equal((await settled(lab, { active: "a" })).active, "a", "a is active again");
      assertSurvived(await run2.done, "switchover by SIGUSR1");
      await assertSameTables(lab, "after the second switchover");
    });
  },
});

Deno.test({
  name:
    "pair active-forward: a cut peer link makes both serve, and healing leaves exactly one owner",
  ignore: SKIP !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const prefix = "tpl";
    const nft = async (u: U, rules: string) => {
      const child = new Deno.Command("ip", {
        args: ["netns", "exec", `${prefix}-${u}`, "nft", "-f", "-"],
        stdin: "piped",
        stdout: "null",
        stderr: "piped",
      }).spawn();
      const w = child.stdin.getWriter();
      await w.write(new TextEncoder().encode(rules));
      await w.close();
      const out = await child.output();
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    };
    await withLab({ prefix, mode: "active-forward" }, async () => {
      const lab = pairLab(prefix, "active-forward");
      await settled(lab);
      // Connections opened before the cut live on through the split and the heal.
      const run = await startTraffic(prefix, {
        ...TRAFFIC,
        churnMs: 0,
        udp: 0,
        conns: 50,
        durationMs: 4000,
      });
      run.done.catch(() => {}); // awaited below; a failed step must not leave it dangling
      await run.ready();
      const drop =
        "table netdev tandem_cut {\n  chain c {\n    type filter hook ingress device ha0 priority -400; policy drop;\n  }\n}\n";
      await nft("a", drop);
      await nft("b", drop);
      await waitFor("both solo", async () => {
        const { a, b } = await both(prefix);
        return a.state === "solo" && b.state === "solo" ? true : undefined;
      }, lab.timing.takeoverMs);
      const healed = Date.now();
      await nft("a", "delete table netdev tandem_cut");
      await nft("b", "delete table netdev tandem_cut");
      // The configured active (higher priority) keeps the addresses; b yields and resyncs.
      const pair = await settled(lab, { rejoined: "b", since: healed });
      assert.equal(pair.active, "a");
      const [a, b] = [await status(prefix, "a"), await status(prefix, "b")];
      assert.equal(Number(a.receiver) + Number(b.receiver), 1, "exactly one owner");
      assertSurvived(await run.done, "split brain and heal");
      await assertSameTables(lab, "after the heal");
    });
  },
});
