import assert from "node:assert/strict";
import {
  cmd,
  iperf,
  labMissing,
  linuxDnatRules,
  linuxLabDown,
  linuxLabUp,
  linuxMissing,
  linuxPairDir,
  linuxRouterUp,
  parseIperf,
  parseNftCounter,
  parseNotifyLog,
  startServers,
  udpRate,
  waitFor,
} from "./labs.ts";

Deno.test("parseIperf reads receiver throughput and sender retransmits from iperf3 -J", () => {
  const json = JSON.stringify({
    start: {},
    end: {
      sum_sent: { bits_per_second: 9.9e9, retransmits: 12 },
      sum_received: { bits_per_second: 9.5e9 },
    },
  });
  assert.deepEqual(parseIperf(json), { gbps: 9.5, retransmits: 12 });
});

Deno.test("parseIperf rejects errors, truncated output and missing figures", () => {
  assert.equal(parseIperf(JSON.stringify({ error: "unable to connect", end: {} })), undefined);
  assert.equal(parseIperf('{"end": {"sum_rec'), undefined);
  assert.equal(parseIperf(JSON.stringify({ end: { sum_sent: {} } })), undefined);
  assert.equal(parseIperf(""), undefined);
});

Deno.test("parseNftCounter finds the packet count of a named counter", () => {
  const json = JSON.stringify({
    nftables: [
      { metainfo: { version: "1.0.6" } },
      { counter: { family: "ip", name: "udp_in", table: "t", packets: 4321, bytes: 9 } },
    ],
  });
  assert.equal(parseNftCounter(json), 4321);
  assert.equal(parseNftCounter('{"nftables": [{"metainfo": {}}]}'), undefined);
  assert.equal(parseNftCounter("Error: No such file"), undefined);
});

Deno.test("parseNotifyLog returns the first primary transition at or after a time", () => {
  const log = "1700000000.100000000 backup\n1700000000.500000000 primary\n" +
    "1700000003.250000000 backup\n1700000005.125000000 primary\n";
  assert.equal(parseNotifyLog(log, 0), 1700000000500);
  assert.equal(parseNotifyLog(log, 1700000001000), 1700000005125);
  assert.equal(parseNotifyLog(log, 1700000006000), undefined);
  assert.equal(parseNotifyLog("", 0), undefined);
});

Deno.test("cmd reports exit codes, missing binaries and kills at its deadline", async () => {
  const ok = await cmd(["sh", "-c", "echo hi; exit 3"], 5000);
  assert.equal(ok.code, 3);
  assert.equal(ok.stdout, "hi\n");
  assert.equal(ok.timedOut, false);
  const missing = await cmd(["/nonexistent/tandem-bench-binary"], 5000);
  assert.equal(missing.code, 127);
  const t0 = performance.now();
  const slow = await cmd(["sleep", "10"], 200);
  assert.equal(slow.timedOut, true);
  assert.ok(performance.now() - t0 < 5000, "killed at the deadline, not after 10 s");
});

Deno.test("waitFor returns the first value and times out with the last error", async () => {
  let n = 0;
  assert.equal(await waitFor("three", () => Promise.resolve(++n >= 3 ? n : undefined), 2000), 3);
  await assert.rejects(
    waitFor("never", () => Promise.reject(new Error("boom")), 120),
    /timed out after 120 ms waiting for never: Error: boom/,
  );
});

const haveLinuxPair = linuxMissing() === null;

Deno.test({
  name: "the single-router DNAT rules are up.sh's own here-document",
  ignore: !haveLinuxPair,
  fn: async () => {
    const rules = await linuxDnatRules();
    assert.match(rules, /^table ip lb \{/);
    assert.match(rules, /dnat to numgen inc mod 2/);
    assert.ok(rules.trimEnd().endsWith("}"));
    assert.ok((await Deno.readTextFile(`${linuxPairDir()}/up.sh`)).includes(rules.trimEnd()));
  },
});
if (!haveLinuxPair) console.log(`skipping the Linux pair test: ${linuxMissing()}`);

const labSkip = labMissing() ?? linuxMissing();

Deno.test({
  name: "Linux router lab: iperf3 and the UDP counter work through the DNAT, and it is torn down",
  ignore: labSkip !== null,
  fn: async () => {
    const prefix = "lx9";
    try {
      await linuxLabUp(prefix);
      await linuxRouterUp(prefix);
      await startServers(prefix);
      const tcp = await iperf(prefix, 1, 1);
      assert.ok(tcp.gbps > 0, "iperf3 moved data through the router");
      const udp = await udpRate(prefix, 0.5);
      assert.ok(udp.sent > 0 && udp.received > 0, `UDP delivered: ${JSON.stringify(udp)}`);
      assert.ok(udp.received <= udp.sent + 1, "never more received than sent");
    } finally {
      await linuxLabDown(prefix);
    }
    const left = (await cmd(["ip", "netns", "list"], 5000)).stdout;
    assert.equal(/^lx9-/m.test(left), false, "every namespace of the lab is gone");
  },
});
if (labSkip) console.log(`skipping the Linux lab test: ${labSkip}`);
