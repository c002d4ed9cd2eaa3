/**
 * SYN proxy under a SYN flood (issue 10, item 4; claims 23, 24): 5 s of `hping3 --flood -S` at
 * the VIP's TCP echo from the client namespace, while persistent echo connections and new short
 * sessions run. The echo service has `syn_proxy: auto` (the default), so the receiver starts
 * answering SYNs with cookies once the flood is seen, and the new sessions that open meanwhile
 * go through the proxied handshake and the sequence translation. Nothing legitimate may be lost
 * and the flow table must not fill with half-open flows.
 */
import assert from "node:assert/strict";
import { requireLabTools, startTraffic, withLab } from "../mod/lab/harness.ts";
import { crash, labNamespaces } from "../mod/lab/topology.ts";
import { SYN_RATE_ON } from "../mod/engine/synproxy.ts";
import { assertSurvived, other, pairLab, settled, status } from "./pair_lab.ts";

const SKIP = requireLabTools("hping3");
if (SKIP) console.log(`skipping SYN proxy lab test: ${SKIP}`);

const FLOOD_MS = 5000;
const CONNS = 50;
/**
 * hping3's pace: `TANDEM_SYN_FLOOD=flood` sends as fast as it can (`--flood`, about 160k SYN/s
 * here), which on the lab's two shared cores overloads the whole host (client, units, servers)
 * rather than the flow table; the default, 10k SYN/s, is ten times `auto`'s threshold.
 */
const PACE = Deno.env.get("TANDEM_SYN_FLOOD") === "flood" ? ["--flood"] : ["-i", "u100"];

/** hping3 at the VIP's TCP echo from the client namespace (the pid is hping3's own). */
function flood(prefix: string, vip: string): Deno.ChildProcess {
  const ns = labNamespaces(prefix).client;
  return new Deno.Command("ip", {
    args: ["netns", "exec", ns, "hping3", ...PACE, "-S", "-p", "7000", vip],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** Stops hping3 (SIGINT: it prints its statistics) and returns how many SYNs it sent. */
async function stopFlood(hping: Deno.ChildProcess): Promise<number> {
  try {
    hping.kill("SIGINT");
  } catch {
    // already gone
  }
  const out = await hping.output();
  const stats = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
  return Number(/(\d+) packets transmitted/.exec(stats)?.[1] ?? NaN);
}

Deno.test({
  name:
    "synproxy: a 5 s SYN flood at the VIP loses nothing legitimate and leaves no half-open flows",
  ignore: SKIP !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const prefix = "ts1";
    await withLab({ prefix, mode: "standby-forward" }, async (lab) => {
      const pair = pairLab(prefix, "standby-forward");
      const { active } = await settled(pair);
      const traffic = await startTraffic(prefix, {
        conns: CONNS,
        intervalMs: 20,
        churnMs: 20,
        udp: 0,
        durationMs: FLOOD_MS + 4000,
        timeoutMs: 8000,
      });
      await traffic.ready();
      const before = await status(prefix, active);
      const hping = flood(prefix, lab.addresses.vip);
      let sent = NaN;
      let maxFlows = 0;
      let flowsEarly = 0;
      let flowsLate = 0;
      const t0 = performance.now();
      try {
        while (performance.now() - t0 < FLOOD_MS) {
          await new Promise((r) => setTimeout(r, 250));
          const s = await status(prefix, active).catch(() => null);
          if (s === null) continue;
          maxFlows = Math.max(maxFlows, s.flows.count);
          if (performance.now() - t0 > FLOOD_MS / 2) flowsLate = Math.max(flowsLate, s.flows.count);
          else flowsEarly = Math.max(flowsEarly, s.flows.count);
        }
      } finally {
        sent = await stopFlood(hping);
      }
      const after = await status(prefix, active);
      const report = await traffic.done;
      const d = (k: string) => (after.counters[k] ?? 0) - (before.counters[k] ?? 0);
      console.log(
        `  hping3 ${PACE.join(" ")} sent ${sent} SYNs in ${FLOOD_MS} ms; receiver ${active}: ` +
          `syncookies_sent +${d("syncookies_sent")} ` +
          `(${Math.round(d("syncookies_sent") / (FLOOD_MS / 1000))}/s), ` +
          `syncookies_valid +${d("syncookies_valid")}, ` +
          `syn_proxy_established +${d("syn_proxy_established")}, ` +
          `syn_proxy_engaged +${d("syn_proxy_engaged")}, ` +
          `drop_syn_proxy_pending +${d("drop_syn_proxy_pending")}, ` +
          `drop_syncookie_invalid +${d("drop_syncookie_invalid")}, ` +
          `flows_created +${d("flows_created")}; flows max ${maxFlows}, ` +
          `max in the flood's first half ${flowsEarly}, second half ${flowsLate}`,
      );
      console.log(
        `  legitimate: ${report.tcp.completed}/${report.tcp.opened} persistent connections ` +
          `(longest stall ${report.tcp.maxStallMs} ms), churn ${report.churn.completed}/` +
          `${report.churn.opened} (longest stall ${report.churn.maxStallMs} ms)`,
      );
      assertSurvived(report, JSON.stringify(report.tcp));
      assert.equal(report.tcp.opened, CONNS);
      assert.ok(report.churn.opened > 0, "new sessions ran during the flood");
      assert.ok(d("syn_proxy_engaged") >= 1, "auto engaged");
      assert.ok(d("syncookies_sent") > 0, "SYNs were answered with cookies");
      assert.ok(d("syncookies_valid") > 0, "new sessions opened through the proxy");
      // Before engaging, at most one second's worth of flood SYNs created flows; after, none.
      const bound = 2 * SYN_RATE_ON + CONNS + 200;
      assert.ok(maxFlows < bound, `flows ${maxFlows} ≥ ${bound}`);
      // Engaged, the flood adds no flows: every flow created is a legitimate session's, or one
      // of the flood SYNs that came before `auto` engaged (about SYN_RATE_ON, the threshold of
      // a sliding one-second rate; the margin is for the sessions' own SYNs in it).
      const created = d("flows_created");
      assert.ok(
        created <= 1.5 * SYN_RATE_ON + report.churn.opened,
        `${created} flows created, ${report.churn.opened} of them sessions`,
      );
    });
  },
});

Deno.test({
  name: "synproxy: sessions opened through the proxy survive a crash of the receiver",
  ignore: SKIP !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const prefix = "ts1";
    await withLab({ prefix, mode: "standby-forward" }, async (lab) => {
      const pair = pairLab(prefix, "standby-forward");
      const { active } = await settled(pair);
      const survivor = other(active);
      // The flood first, so `auto` is engaged when the persistent connections open: each of
      // them is a proxied handshake with a server-side offset the peer must hold.
      const hping = flood(prefix, lab.addresses.vip);
      let sent = NaN;
      try {
        await new Promise((r) => setTimeout(r, 1500));
        const t0 = await status(prefix, active);
        const traffic = await startTraffic(prefix, {
          conns: CONNS,
          intervalMs: 20,
          churnMs: 20,
          udp: 0,
          durationMs: 5000,
          timeoutMs: 8000,
        });
        await traffic.ready();
        await new Promise((r) => setTimeout(r, 1000));
        const t1 = await status(prefix, active);
        const proxied = (t1.counters.syn_proxy_established ?? 0) -
          (t0.counters.syn_proxy_established ?? 0);
        const s0 = await status(prefix, survivor);
        await traffic.mark();
        await crash(prefix, active);
        const report = await traffic.done;
        sent = await stopFlood(hping);
        const s1 = await status(prefix, survivor);
        const d = (k: string) => (s1.counters[k] ?? 0) - (s0.counters[k] ?? 0);
        console.log(
          `  ${proxied} handshakes proxied by ${active} before its crash; hping3 sent ${sent}; ` +
            `survivor ${survivor}: syncookies_sent +${d("syncookies_sent")}, ` +
            `syncookies_valid +${d("syncookies_valid")}, syn_proxy_established ` +
            `+${d("syn_proxy_established")}, probes_sent +${d("probes_sent")}; legitimate: ` +
            `${report.tcp.completed}/${report.tcp.opened} persistent (longest stall ` +
            `${report.tcp.maxStallMs} ms), churn ${report.churn.completed}/${report.churn.opened}`,
        );
        assert.ok(proxied >= CONNS, `only ${proxied} handshakes proxied: auto did not engage`);
        assertSurvived(report, JSON.stringify(report.tcp));
        assert.equal(report.tcp.opened, CONNS);
        assert.ok(d("syncookies_sent") > 0, "the survivor answers the flood with cookies");
      } finally {
        if (Number.isNaN(sent)) await stopFlood(hping);
      }
    });
  },
});
