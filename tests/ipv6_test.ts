/**
 * The lab's dual stack (issue 10): the IPv6 VIP, selves and backends beside the IPv4 ones
 * (DESIGN.md "The lab"). Real clients speak IPv6 through the pair: ping6, curl, the traffic
 * generator's persistent echo connections, churn and UDP, beside the same traffic over IPv4.
 * The receiver is frozen mid-traffic; after it is revived it rejoins by bulk sync, and both
 * tables, IPv6 flows included, must be equal. A SIGKILL of the forwarder in `active-forward`
 * follows.
 */
import assert from "node:assert/strict";
import { crash, kill, revive } from "../mod/lab/topology.ts";
import { nsCurl, requireLabTools, startTraffic, withLab } from "../mod/lab/harness.ts";
import type { FlowInfo } from "../mod/api/snapshot.ts";
import { nsExec } from "../mod/lab/netns.ts";
import { VIP6 } from "../mod/lab/traffic.ts";
import { counterDeltas } from "./helpers.ts";
import { assertSameTables, assertSurvived, other, pairLab, settled, status } from "./pair_lab.ts";

const SKIP = requireLabTools();
if (SKIP) console.log(`skipping IPv6 lab tests: ${SKIP}`);

const TRAFFIC6 = {
  conns: 100,
  intervalMs: 20,
  churnMs: 10,
  udp: 10,
  durationMs: 4500,
  timeoutMs: 8000,
};

/** The client's neighbour entry (MAC) for `addr`, IPv4 or IPv6. */
async function neighbourMac(prefix: string, addr: string): Promise<string> {
  const out = await nsExec(`${prefix}-client`, ["ip", "-j", "neigh", "show", addr]);
  const rows = JSON.parse(out || "[]") as { lladdr?: string }[];
  return rows[0]?.lladdr ?? "";
}

Deno.test({
  name:
    "ipv6: ping6, HTTP and traffic of both families through the pair, across a freeze and a rejoin",
  ignore: SKIP !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const prefix = "t6a";
    await withLab({ prefix, mode: "standby-forward" }, async (lab) => {
      const pair = pairLab(prefix, "standby-forward");
      const { active } = await settled(pair);
      const survivor = other(active);
      const client = `${prefix}-client`;
      // The unit answers ICMPv6 echo for the VIP and for both front selves.
      for (const addr of [VIP6, "2001:db8:100::3", "2001:db8:100::4", lab.addresses.vip]) {
        const out = await nsExec(client, ["ping", "-c", "2", "-i", "0.2", "-W", "2", addr]);
        assert.match(out, / 0% packet loss/, `ping ${addr}`);
      }
      // HTTP over IPv6 reaches an IPv6 backend.
      const body = await nsExec(client, ["curl", "-sS", "-m", "5", "-g", `http://[${VIP6}]/`]);
      assert.match(body, /backend 2001:db8:113::2[01]/, body);
      // The VIP's two families answer NDP and ARP with the same virtual MAC (VRRP-like).
      const mac6 = await neighbourMac(prefix, VIP6),
        mac4 = await neighbourMac(prefix, lab.addresses.vip);
      assert.ok(mac6 !== "" && mac6 === mac4, `VIP MACs: IPv6 ${mac6}, IPv4 ${mac4}`);

      const before = await status(prefix, survivor);
      const v6 = await startTraffic(prefix, { ...TRAFFIC6, family: 6 });
      const v4 = await startTraffic(prefix, { ...TRAFFIC6, family: 4 });
      for (const r of [v6, v4]) r.done.catch(() => {}); // awaited below
      await Promise.all([v6.ready(), v4.ready()]);
      await new Promise((r) => setTimeout(r, 1500));
      await v6.mark();
      const frozenAt = Date.now();
      await crash(prefix, active);
      const [r6, r4] = await Promise.all([v6.done, v4.done]);
      const after = await status(prefix, survivor);
      const d = counterDeltas(before.counters, after.counters, [
        "unsolicited_na_sent",
        "garp_sent",
        "ndp_advertisements",
        "drop_bad_ipv6_header",
        "drop_bad_ndp",
      ]);
      console.log(
        `  IPv6: ${r6.tcp.completed}/${r6.tcp.opened} held, ${r6.churn.completed}/${r6.churn.opened} churn, ` +
          `udp ${r6.udp.received}/${r6.udp.sent}, longest stall ${r6.tcp.maxStallMs} ms; ` +
          `IPv4: ${r4.tcp.completed}/${r4.tcp.opened} held, ${r4.churn.completed}/${r4.churn.opened} churn, ` +
          `longest stall ${r4.tcp.maxStallMs} ms; survivor ${survivor}: ${JSON.stringify(d)}`,
      );
      assertSurvived(r6, "IPv6 across the freeze");
      assertSurvived(r4, "IPv4 across the freeze");
      assert.ok(r6.tcp.opened === TRAFFIC6.conns && r6.churn.opened > 100, "IPv6 traffic ran");
      // The takeover announced both IPv6 floating addresses, as it did the IPv4 ones by ARP.
      assert.ok(d.unsolicited_na_sent! >= 2, `unsolicited advertisements ${d.unsolicited_na_sent}`);
      assert.ok(d.garp_sent! >= 2);
      assert.equal(d.drop_bad_ipv6_header, 0);
      assert.equal(d.drop_bad_ndp, 0);
      // The frozen unit comes back and rejoins: bulk sync brings it every flow, IPv6 included.
      await revive(prefix, active);
      await settled(pair, { rejoined: active, since: frozenAt });
      await assertSameTables(pair, "after the rejoin");
      const { flows } = await nsCurl(prefix, active, "/flows?limit=1000") as { flows: FlowInfo[] };
      const flows6 = flows.filter((f) => f.client.startsWith("[2001:db8:100::2]:"));
      assert.ok(flows6.length > 0, "the rejoined unit holds IPv6 flows");
    });
  },
});

Deno.test({
  name: "ipv6: a SIGKILL of the forwarder in active-forward loses no IPv6 connection",
  ignore: SKIP !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const prefix = "t6k";
    await withLab({ prefix, mode: "active-forward" }, async () => {
      const pair = pairLab(prefix, "active-forward");
      const { active } = await settled(pair);
      const run = await startTraffic(prefix, { ...TRAFFIC6, family: 6 });
      run.done.catch(() => {});
      await run.ready();
      await new Promise((r) => setTimeout(r, 1500));
      await kill(prefix, active);
      const r = await run.done;
      console.log(
        `  IPv6 after SIGKILL of ${active}: ${r.tcp.completed}/${r.tcp.opened} held, ` +
          `${r.churn.completed}/${r.churn.opened} churn, longest stall ${r.tcp.maxStallMs} ms`,
      );
      assertSurvived(r, "IPv6 across a SIGKILL");
      const s = await status(prefix, other(active));
      assert.equal(s.state, "solo", "the survivor carries on alone");
    });
  },
});
