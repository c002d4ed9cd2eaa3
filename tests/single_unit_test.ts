/**
 * One unit end to end, with real traffic, in a lab of its own (prefix `ts1`, unit `a` alone,
 * mode active-forward): HTTP and TCP/UDP echo through the VIP, ping to the self and floating
 * addresses, refusals for ports nobody serves, and malformed frames written onto the front
 * segment, each dropped and counted under its reason while the unit keeps forwarding.
 */
import assert from "node:assert/strict";
import {
  clientRun,
  listNamespaces,
  requireLabTools,
  startTraffic,
  withLab,
} from "../mod/lab/harness.ts";
import { nsExec, nsRun, pidAlive, run } from "../mod/lab/netns.ts";
import { API_ADDR, LAB_ADDRESSES, labStateDir } from "../mod/lab/topology.ts";
import { DROP_REASONS } from "../mod/engine/counters.ts";
import { Engine } from "../mod/engine/engine.ts";
import { labEngineConfig, RecordingOutput } from "../mod/engine/testing.ts";
import { PcapWriter } from "../mod/port/pcap.ts";
import { parseIpv4, parseMac } from "../mod/wire/addr.ts";
import {
  counterDeltas,
  labPairTiming,
  type MalformedAddresses,
  malformedFrames,
  unitStatus,
  waitFor,
} from "./helpers.ts";
import type { UdpProbeReport } from "./udp_probe.ts";

const PREFIX = "ts1";
const SKIP = requireLabTools("ping");
if (SKIP) console.log(`skipping single-unit lab test: ${SKIP}`);

const VIP = LAB_ADDRESSES.vip;
const SELF_FRONT = LAB_ADDRESSES.units.a.front;
const SELF_BACK = LAB_ADDRESSES.units.a.back;
/** Injected frames come from an address and MAC no lab host uses. */
const INJECT_SRC = "198.51.100.66";
const INJECT_MAC = "02:00:00:00:66:01";
const INJECT_TAP = "tsinj0";
/** Copies of each malformed frame written. */
const COPIES = 3;

/** The repository root, whose deno.json the helper scripts run under. */
const ROOT = new URL("../", import.meta.url).pathname;

/** `deno run -A tests/<script>` inside namespace `ns`; parses the last stdout line as JSON. */
async function nsScript<T>(ns: string, script: string, args: string[]): Promise<T> {
  const r = await run([
    "ip",
    "netns",
    "exec",
    ns,
    Deno.execPath(),
    "run",
    "-A",
    `--config=${ROOT}deno.json`,
    `${ROOT}tests/${script}`,
    ...args,
  ]);
  const last = r.stdout.trim().split("\n").pop() ?? "";
  if (r.code !== 0 || !last.startsWith("{")) {
    throw new Error(`${script} in ${ns} exited ${r.code}: ${r.stderr.trim().slice(-1500)}`);
  }
  return JSON.parse(last) as T;
}

/** curl through the VIP from the client; returns status and body. */
async function curlVip(path = "/"): Promise<{ code: number; body: string }> {
  const r = await clientRun(PREFIX, [
    "curl",
    "-sS",
    "-m",
    "3",
    "-w",
    "\n%{http_code}",
    `http://${VIP}${path}`,
  ]);
  assert.equal(r.code, 0, `curl http://${VIP}${path} failed: ${r.stderr.trim()}`);
  const lines = r.stdout.split("\n");
  const code = Number(lines.pop());
  return { code, body: lines.join("\n") };
}

/** `ping -c count` from `ns`: how many replies came back, and ping's output for messages. */
async function ping(ns: string, to: string, count = 3): Promise<{ got: number; out: string }> {
  const r = await nsRun(ns, ["ping", "-n", "-c", String(count), "-i", "0.2", "-W", "1", to]);
  const m = /(\d+) (?:packets )?received/.exec(r.stdout);
  return { got: m ? Number(m[1]) : 0, out: `${r.stdout}${r.stderr}`.trim() };
}

async function assertPing(ns: string, to: string): Promise<void> {
  const p = await ping(ns, to);
  assert.equal(p.got, 3, `${ns} -> ${to}: 3 of 3 replies\n${p.out}`);
}

Deno.test(
  "malformed frame catalogue: the engine drops each case under the reason the lab test expects",
  () => {
    const cfg = labEngineConfig("a");
    const engine = new Engine(cfg, new RecordingOutput(), () => 4);
    const cases = malformedFrames({
      dstMac: cfg.virtualMacs[0]!,
      srcMac: parseMac(INJECT_MAC)!,
      src: parseIpv4(INJECT_SRC)!,
      vip: parseIpv4(VIP)!,
      tcpPort: LAB_ADDRESSES.ports.tcpEcho,
      udpPort: LAB_ADDRESSES.ports.udpEcho,
    });
    assert.ok(cases.length >= 12);
    for (const c of cases) {
      const before = engine.counters.toRecord();
      engine.handle(Uint8Array.from(c.frame), 0, c.frame.length, 0, 1000);
      const after = engine.counters.toRecord();
      const moved = DROP_REASONS.filter((r) => after[`drop_${r}`] !== before[`drop_${r}`]);
      assert.deepEqual(moved, [c.reason], c.name);
      assert.equal(after[`drop_${c.reason}`], before[`drop_${c.reason}`]! + 1, c.name);
    }
    assert.equal(engine.counters.toRecord().flows_created, 0, "no malformed frame opened a flow");
  },
);

Deno.test({
  name: "single unit (lab ts1, unit a alone, active-forward): real traffic end to end",
  ignore: SKIP !== null,
  async fn(t) {
    const started: number[] = [];
    await withLab({ prefix: PREFIX, units: ["a"], mode: "active-forward" }, async (lab) => {
      started.push(...[lab.pids.a, lab.pids.servers].filter((p) => p !== undefined));
      const timing = labPairTiming(PREFIX, "active-forward");
      // Alone, the unit stops listening for its peer and serves solo: receiver and forwarder.
      const solo = await waitFor("unit a solo", async () => {
        const s = await unitStatus(PREFIX, "a");
        return s.state === "solo" && s.receiver && s.forwarder ? s : undefined;
      }, timing.settleMs(0));
      assert.equal(solo.mode, "active-forward");

      await t.step("curl through the VIP reaches both backends (round robin)", async () => {
        const seen = new Set<string>();
        for (let i = 0; i < 4; i++) {
          const r = await curlVip();
          assert.equal(r.code, 200);
          const m = /^tandem lab backend (203\.0\.113\.2[01])$/.exec(r.body.trim());
          assert.ok(m, `body names a backend: ${JSON.stringify(r.body)}`);
          seen.add(m[1]!);
        }
        assert.deepEqual([...seen].sort(), [...LAB_ADDRESSES.backends].sort());
      });

      await t.step("200 concurrent TCP echo connections, byte-exact", async () => {
        const run = await startTraffic(PREFIX, {
          conns: 200,
          durationMs: 3000,
          churnMs: 0,
          udp: 0,
          timeoutMs: 8000,
        });
        const r = await run.done;
        assert.equal(r.tcp.opened, 200, `opened (errors: ${r.errorSamples.join("; ")})`);
        assert.equal(r.tcp.completed, 200, `completed (errors: ${r.errorSamples.join("; ")})`);
        assert.equal(r.tcp.resets, 0, "resets");
        assert.equal(r.tcp.errors, 0, "errors");
        assert.equal(r.tcp.corruptBytes, 0, "corrupt bytes");
        assert.ok(r.tcp.messages >= 200, `every connection echoed (${r.tcp.messages} messages)`);
        assert.ok(r.tcp.bytes > 0);
      });

      await t.step("UDP echo through the VIP comes back byte-exact", async () => {
        const run = await startTraffic(PREFIX, {
          conns: 0,
          churnMs: 0,
          udp: 5,
          intervalMs: 50,
          durationMs: 1000,
        });
        const r = await run.done;
        assert.ok(r.udp.sent >= 5, `sent ${r.udp.sent}`);
        assert.equal(r.udp.received, r.udp.sent, "every datagram echoed");
        assert.equal(r.udp.corrupt, 0, "corrupt datagrams");
        // And from one socket: each reply equals what was sent and comes from the VIP:port.
        const p = await nsScript<UdpProbeReport>(lab.ns.client, "udp_probe.ts", [
          VIP,
          String(LAB_ADDRESSES.ports.udpEcho),
          "5",
          "3000",
        ]);
        assert.deepEqual(
          { sent: p.sent, echoed: p.echoed, mismatched: p.mismatched, error: p.error },
          { sent: 5, echoed: 5, mismatched: 0, error: null },
        );
      });

      await t.step("ping the self and floating addresses", async () => {
        const before = (await unitStatus(PREFIX, "a")).counters;
        await assertPing(lab.ns.client, SELF_FRONT);
        await assertPing(lab.ns.client, VIP);
        await assertPing(lab.ns.server, SELF_BACK);
        await assertPing(lab.ns.server, LAB_ADDRESSES.gateway);
        const after = (await unitStatus(PREFIX, "a")).counters;
        const d = counterDeltas(before, after, ["icmp_echo_replies"]);
        assert.ok(d.icmp_echo_replies! >= 12, `the unit answered (${d.icmp_echo_replies})`);
      });

      await t.step(
        "a VIP port with no service: TCP RST, ICMP port unreachable, counted",
        async () => {
          const before = (await unitStatus(PREFIX, "a")).counters;
          const t0 = performance.now();
          const r = await clientRun(PREFIX, [
            "curl",
            "-v",
            "-sS",
            "-m",
            "5",
            `http://${VIP}:7999/`,
          ]);
          const took = performance.now() - t0;
          // curl exit 7: could not connect. "Connection refused" (ECONNREFUSED) means a RST came
          // back: not a timeout, nor an ICMP unreachable ("No route to host").
          assert.equal(r.code, 7, `curl exit code (stderr: ${r.stderr.trim()})`);
          assert.match(r.stderr, /Connection refused/);
          assert.ok(took < 2000, `refused at once, not after a timeout (${Math.round(took)} ms)`);

          const p = await nsScript<UdpProbeReport>(lab.ns.client, "udp_probe.ts", [
            VIP,
            "7998",
            "1",
            "3000",
          ]);
          assert.equal(p.error, "ECONNREFUSED", `UDP to :7998 (${JSON.stringify(p)})`);
          assert.equal(p.echoed, 0);

          const after = await waitFor("no-service counters", async () => {
            const c = (await unitStatus(PREFIX, "a")).counters;
            return (c.drop_no_service ?? 0) - (before.drop_no_service ?? 0) >= 2 ? c : undefined;
          }, timing.turnMs);
          const d = counterDeltas(before, after, [
            "drop_no_service",
            "tcp_rst_sent",
            "icmp_errors_sent",
          ]);
          assert.ok(d.drop_no_service! >= 2, `drop_no_service rose by ${d.drop_no_service}`);
          assert.ok(d.tcp_rst_sent! >= 1, `tcp_rst_sent rose by ${d.tcp_rst_sent}`);
          assert.ok(d.icmp_errors_sent! >= 1, `icmp_errors_sent rose by ${d.icmp_errors_sent}`);
        },
      );

      await t.step(
        "malformed frames are dropped, counted exactly, and forwarding goes on",
        async () => {
          // The VIP's MAC as the client resolved it (the steps above made it resolve).
          await ping(lab.ns.client, VIP, 1);
          const neigh = JSON.parse(
            await nsExec(lab.ns.client, ["ip", "-j", "neigh", "show", VIP]),
          ) as { lladdr?: string }[];
          const vipMac = parseMac(neigh[0]?.lladdr ?? "");
          assert.ok(vipMac, `client resolved ${VIP}: ${JSON.stringify(neigh)}`);
          const addrs: MalformedAddresses = {
            dstMac: vipMac,
            srcMac: parseMac(INJECT_MAC)!,
            src: parseIpv4(INJECT_SRC)!,
            vip: parseIpv4(VIP)!,
            tcpPort: LAB_ADDRESSES.ports.tcpEcho,
            udpPort: LAB_ADDRESSES.ports.udpEcho,
          };
          const cases = malformedFrames(addrs);
          const pcap = new PcapWriter();
          for (let k = 0; k < COPIES; k++) for (const c of cases) pcap.write(c.frame, Date.now());
          const pcapFile = `${labStateDir(PREFIX)}/malformed.pcap`;
          await Deno.writeFile(pcapFile, pcap.bytes());

          // br_netfilter, when loaded, makes every bridge check IPv4 headers and drop bad ones
          // (br_validate_ipv4) before the unit sees them; a real switch does not. Off here.
          if (await Deno.stat("/proc/sys/net/bridge").then(() => true, () => false)) {
            for (const ns of [lab.ns.sw, lab.ns.a]) {
              await nsExec(ns, [
                "sysctl",
                "-qw",
                "net.bridge.bridge-nf-call-iptables=0",
                "net.bridge.bridge-nf-call-arptables=0",
              ]);
            }
          }
          // A TAP on the front bridge, next to the client's port: what it sends reaches the unit.
          await nsExec(lab.ns.sw, ["ip", "tuntap", "add", "dev", INJECT_TAP, "mode", "tap"]);
          await nsExec(lab.ns.sw, ["ip", "link", "set", INJECT_TAP, "master", "brf", "up"]);

          const expected: Record<string, number> = {};
          for (const c of cases) {
            expected[`drop_${c.reason}`] = (expected[`drop_${c.reason}`] ?? 0) + COPIES;
          }
          // Every reason a malformed frame could land in, plus what a frame let through would move.
          const watched = [
            ...new Set([
              ...Object.keys(expected),
              "drop_truncated_frame",
              "drop_not_for_us",
              "drop_unknown_ethertype",
              "drop_bad_arp",
              "drop_bad_icmp",
              "drop_ipv6",
              "drop_no_service",
              "drop_tcp_no_flow",
              "drop_no_flow",
              "flows_created",
              "tcp_rst_sent",
              "icmp_errors_sent",
            ]),
          ];
          const before = (await unitStatus(PREFIX, "a")).counters;
          const inj = await nsScript<{ written: number; refused: unknown[] }>(
            lab.ns.sw,
            "inject_frames.ts",
            [INJECT_TAP, pcapFile],
          );
          assert.deepEqual(inj, { written: cases.length * COPIES, refused: [] }, "all written");

          // Every injected frame is handled once the watched counters moved by as many as were
          // written; then compare exactly: a frame counted twice or under another reason shows.
          const total = Object.values(expected).reduce((x, n) => x + n, 0);
          const moved = (c: Record<string, number>): number =>
            watched.reduce((x, k) => x + (c[k] ?? 0) - (before[k] ?? 0), 0);
          const after = await waitFor("the unit to count every injected frame", async () => {
            const c = (await unitStatus(PREFIX, "a")).counters;
            return moved(c) >= total ? c : undefined;
          }, timing.turnMs).catch(async () => (await unitStatus(PREFIX, "a")).counters);
          const want = Object.fromEntries(watched.map((k) => [k, expected[k] ?? 0]));
          assert.deepEqual(counterDeltas(before, after, watched), want);

          // Still forwarding and healthy.
          const r = await curlVip();
          assert.equal(r.code, 200);
          assert.match(r.body, /^tandem lab backend 203\.0\.113\.2[01]/);
          const h = await nsRun(lab.ns.a, [
            "curl",
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "-m",
            "2",
            `http://${API_ADDR}/healthz`,
          ]);
          assert.equal(h.stdout, "200", "/healthz");
        },
      );
    });

    await t.step(
      "lab down removed every ts1-* namespace, its state and its processes",
      async () => {
        const left = (await listNamespaces()).filter((n) => n.startsWith(`${PREFIX}-`));
        assert.deepEqual(left, []);
        await assert.rejects(Deno.stat(labStateDir(PREFIX)), Deno.errors.NotFound);
        assert.equal(started.length, 2, "the unit and the servers were started");
        assert.deepEqual(started.filter(pidAlive), [], "no lab process is left running");
      },
    );
  },
});
