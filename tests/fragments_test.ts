/**
 * Fragments through the pair (issue 10), IPv4 and IPv6: 4000-byte UDP datagrams from the client
 * to the VIP's UDP echo (198.51.100.10 or 2001:db8:100::10) leave the client in three fragments
 * each, reach a backend through the pair's
 * DNAT, and come back, again in fragments, through the un-DNAT. The active unit (the receiver
 * in standby-forward) is frozen in the middle; the survivor must go on translating fragments in
 * both directions. (That a survivor also finishes a datagram whose first fragment the frozen
 * unit handled is shown by `mod/engine/fragments_test.ts`: here that is a matter of timing.)
 *
 * A DF packet too big for the egress MTU is left to the engine's unit tests (`mtu_test.ts`):
 * with the lab's 1500-byte links everywhere, no host can send the unit such a packet (Linux
 * refuses to send a DF datagram bigger than its own link's MTU).
 */
import assert from "node:assert/strict";
import { crash } from "../mod/lab/topology.ts";
import { requireLabTools, withLab } from "../mod/lab/harness.ts";
import { run } from "../mod/lab/netns.ts";
import type { UdpBigReport } from "./udp_big.ts";
import { other, pairLab, settled, status } from "./pair_lab.ts";
import { VIP6 } from "../mod/lab/traffic.ts";

const SKIP = requireLabTools();
if (SKIP) console.log(`skipping fragment lab tests: ${SKIP}`);

const ROOT = new URL("../", import.meta.url).pathname;
const DURATION_MS = 6000;
const EVERY_MS = 20;
const FAIL_AT_MS = 2500;

for (const family of [4, 6] as const) {
  Deno.test({
    name:
      `fragments: 4000-byte UDP datagrams through the IPv${family} VIP come back whole, across a failover`,
    ignore: SKIP !== null,
    sanitizeOps: false,
    sanitizeResources: false,
    fn: async () => {
      const prefix = `tf${family}`;
      await withLab({ prefix, mode: "standby-forward" }, async (lab) => {
        const pair = pairLab(prefix, "standby-forward");
        const { active } = await settled(pair);
        const survivor = other(active);
        const client = run([
          "ip",
          "netns",
          "exec",
          lab.ns.client,
          Deno.execPath(),
          "run",
          "-A",
          `--config=${ROOT}deno.json`,
          `${ROOT}tests/udp_big.ts`,
          family === 6 ? VIP6 : lab.addresses.vip,
          "7001",
          "4000",
          String(DURATION_MS),
          String(EVERY_MS),
        ]);
        await new Promise((r) => setTimeout(r, FAIL_AT_MS));
        const before = await status(prefix, survivor);
        const crashedAt = Date.now();
        await crash(prefix, active);
        const r = await client;
        const last = r.stdout.trim().split("\n").pop() ?? "";
        assert.ok(r.code === 0 && last.startsWith("{"), `udp_big exited ${r.code}: ${r.stderr}`);
        const report = JSON.parse(last) as UdpBigReport;
        // The freeze, in the client's time (its clock starts after Deno has booted).
        const failAt = crashedAt - report.startedAt;
        const after = await status(prefix, survivor);
        const delta = (k: string) => (after.counters[k] ?? 0) - (before.counters[k] ?? 0);
        console.log(
          `  ${report.echoed}/${report.sent} datagrams of ${report.size} bytes echoed whole, ` +
            `${report.mismatched} mismatched, longest gap ${report.maxGapMs} ms, ` +
            `${report.lostAtMs.length} lost, sent at ${
              JSON.stringify(report.lostAtMs.slice(0, 8))
            } ms; ` +
            `frozen at ${failAt} ms; survivor ${survivor}: ` +
            `fragments_forwarded +${delta("fragments_forwarded")}, ` +
            `drop_fragment_no_first +${delta("drop_fragment_no_first")}, ` +
            `drop_fragment_table_full +${delta("drop_fragment_table_full")}, ` +
            `drop_bad_fragment +${delta("drop_bad_fragment")}`,
        );
        assert.equal(after.counters.drop_bad_fragment, 0, "the TAP's fragments are plain frames");
        assert.ok(report.sent >= 200, `sent ${report.sent}`);
        assert.equal(report.mismatched, 0, "nothing came back changed");
        // Datagrams can only be lost while the frozen unit was still the receiver: just before
        // the freeze (in flight through it) until the survivor took over, never elsewhere.
        for (const t of report.lostAtMs) {
          assert.ok(
            t >= failAt - 300 && t <= failAt + 1000,
            `a datagram sent at ${t} ms was lost, away from the failure at ${failAt} ms`,
          );
        }
        assert.ok(report.echoed >= report.sent - 50, `${report.echoed}/${report.sent} echoed`);
        // Every datagram after the takeover went through the survivor: three fragments each way,
        // two of them later fragments translated by their datagram's key.
        const afterTakeover = report.sent * (DURATION_MS - failAt - 1000) / DURATION_MS;
        assert.ok(
          delta("fragments_forwarded") >= 4 * afterTakeover,
          `the survivor forwarded ${delta("fragments_forwarded")} fragments`,
        );
      });
    },
  });
}
