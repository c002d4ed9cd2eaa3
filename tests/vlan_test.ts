/**
 * An 802.1Q trunk in the lab (issue 10, item 2): the servers' segment is VLAN 113, tagged on
 * the wire, and the units' back interface is `vlan: 113` on its TAP. Real traffic through the
 * pair, a freeze of the active unit in the middle, and every connection surviving; frames on
 * the servers' wire are tagged, and a VLAN nobody configured is counted and dropped.
 */
import assert from "node:assert/strict";
import { crash, labCwd, labStateDir, labToolCommand } from "../mod/lab/topology.ts";
import { requireLabTools, startTraffic, withLab } from "../mod/lab/harness.ts";
import { nsExec, nsRun, spawnInNs } from "../mod/lab/netns.ts";
import { counterDeltas, waitFor } from "./helpers.ts";
import { assertSurvived, pairLab, settled, status, TRAFFIC } from "./pair_lab.ts";

const SKIP = requireLabTools("tcpdump", "timeout", "ping");
if (SKIP) console.log(`skipping the VLAN trunk lab test: ${SKIP}`);

const VLAN = 113;

/** A short capture on the switch port of the servers' cable: link-level lines (`tcpdump -e`). */
async function captureServerWire(prefix: string, frames: number): Promise<string[]> {
  const r = await nsRun(`${prefix}-sw`, [
    "timeout",
    "5",
    "tcpdump",
    "-i",
    "sb",
    "-nn",
    "-e",
    "-c",
    String(frames),
  ]);
  return r.stdout.split("\n").filter((l) => l.trim() !== "");
}

/**
 * Puts the server on a second VLAN that the units do not know: another pair of TAPs and
 * another tagger (the lab's kernel may lack 8021q), the trunk side on the server's bridge.
 */
async function otherVlanOnServer(prefix: string, vlan: number, address: string): Promise<void> {
  const ns = `${prefix}-server`, access = `v${vlan}`, trunk = `v${vlan}-trunk`;
  await nsExec(
    ns,
    ["ip", "-batch", "-"],
    [
      `tuntap add dev ${access} mode tap`,
      `tuntap add dev ${trunk} mode tap`,
      `link set ${trunk} master br0`,
      `link set ${trunk} up`,
      `addr add ${address} dev ${access}`,
      `link set ${access} up`,
    ].join("\n") + "\n",
  );
  const log = `${labStateDir(prefix)}/tagger-${vlan}.log`;
  await spawnInNs(
    ns,
    [...labToolCommand("vlan-tag"), "--access", access, "--trunk", trunk, "--vlan", String(vlan)],
    log,
    undefined,
    labCwd(prefix),
  );
  await waitFor(
    `the VLAN ${vlan} tagger`,
    () => Deno.readTextFile(log).then((t) => t.includes(`vlan ${vlan}:`) || undefined),
    20_000,
  );
}

Deno.test({
  name: "vlan trunk: traffic on VLAN 113 survives a freeze of the active unit; tags on the wire",
  ignore: SKIP !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const prefix = "tvl";
    const mode = "standby-forward";
    await withLab({ prefix, mode, vlan: VLAN }, async () => {
      const lab = pairLab(prefix, mode);
      await settled(lab, { active: "a" });
      const run = await startTraffic(prefix, TRAFFIC);
      run.done.catch(() => {}); // awaited below; a failed step must not leave it dangling
      await run.ready();

      // Every frame on the servers' cable carries VLAN 113's tag, both directions.
      const lines = await captureServerWire(prefix, 400);
      const shown = `\n${lines.slice(0, 8).join("\n")}`;
      assert.ok(
        lines.length >= 100,
        `captured ${lines.length} frames on the servers' wire${shown}`,
      );
      const untagged = lines.filter((l) => !l.includes(`vlan ${VLAN},`));
      assert.deepEqual(untagged, [], "untagged frames on the servers' wire");
      assert.ok(
        lines.some((l) => l.includes("> 203.0.113.2")),
        `frames toward the servers${shown}`,
      );
      assert.ok(lines.some((l) => l.includes(" 203.0.113.2")), `frames from the servers${shown}`);

      const kept = await status(prefix, "b");
      const t0 = Date.now();
      await crash(prefix, "a");
      await waitFor("b takes over", async () => {
        const s = await status(prefix, "b");
        return s.state === "solo" &&
            s.events.some((e) => e.at >= t0 - 5 && /peer dead/.test(e.detail))
          ? s
          : undefined;
      }, lab.timing.takeoverMs);
      const report = await run.done;
      console.log(
        `  freeze of a on a VLAN ${VLAN} trunk: longest stall ${report.tcp.maxStallMs} ms, ` +
          `tcp ${report.tcp.completed}/${report.tcp.opened}, ` +
          `churn ${report.churn.completed}/${report.churn.opened}, ` +
          `udp lost ${report.udp.lost}/${report.udp.sent}`,
      );
      assertSurvived(report, "freeze of a (VLAN trunk)");
      assert.ok(report.tcp.opened >= TRAFFIC.conns, "all persistent connections opened");
      assert.ok(report.churn.opened > 100, "churn ran across the failure");

      // A VLAN nobody configured: the server's ARP broadcasts on VLAN 114 reach b's trunk
      // and are counted, never answered or forwarded.
      const before = (await status(prefix, "b")).counters;
      assert.equal(
        before.drop_vlan_unknown,
        kept.counters.drop_vlan_unknown,
        "no frame of the traffic was taken for an unknown VLAN",
      );
      await otherVlanOnServer(prefix, 114, "198.18.0.1/24");
      const ping = await nsRun(`${prefix}-server`, ["ping", "-c", "1", "-W", "1", "198.18.0.2"]);
      assert.notEqual(ping.code, 0, "nobody answers on VLAN 114");
      const d = await waitFor("the unknown VLAN counted", async () => {
        const c = counterDeltas(before, (await status(prefix, "b")).counters, [
          "drop_vlan_unknown",
        ]);
        return c.drop_vlan_unknown! >= 1 ? c : undefined;
      }, 3000);
      console.log(`  VLAN 114 on the trunk: drop_vlan_unknown +${d.drop_vlan_unknown} on b`);
    });
  },
});
