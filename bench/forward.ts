/**
 * The `forward` suite: traffic through ONE unit (tandem `active-forward` with only unit a up)
 * beside the Linux kernel doing the same job on the reference lab (`lab.sh` plus the pair's own
 * DNAT ruleset on `<P>-a`, no keepalived or conntrackd), then through the mirrored pair (tandem
 * `standby-forward` beside the Linux pair of `up.sh`). Measured from the client namespace:
 * iperf3 TCP throughput (1 and 8 streams), 64-byte UDP packets delivered per second, and TCP echo
 * round-trip times (the lab traffic generator's p50/p99).
 * @module
 */

import { labDown, labUp } from "../mod/lab/topology.ts";
import { nsCurl, startTraffic } from "../mod/lab/harness.ts";
import type { StatusSnapshot } from "../mod/api/snapshot.ts";
import {
  iperf,
  type IperfResult,
  labMissing,
  linuxLabDown,
  linuxLabUp,
  linuxMissing,
  linuxPairUp,
  linuxRouterDown,
  linuxRouterUp,
  startServers,
  type UdpRate,
  udpRate,
  waitFor,
} from "./labs.ts";
import { int, isoDate, NA, num, type Row, type SuiteResult } from "./report.ts";

/** Prefixes of the suite's own labs. */
const TANDEM_ONE = "bf1";
const TANDEM_PAIR = "bf2";
const LINUX = "lx1";

/** Seconds per iperf3 run and per UDP blast. */
const IPERF_SECONDS = 5;
const UDP_SECONDS = 3;

/** What one side (tandem or Linux) measured; undefined where a step failed. */
export interface ForwardSide {
  tcp1?: IperfResult;
  tcp8?: IperfResult;
  udp?: UdpRate;
  rtt?: Rtt;
  pairTcp1?: IperfResult;
  pairUdp?: UdpRate;
  pairRtt?: Rtt;
  errors: string[];
  skipped?: string;
}

/** TCP echo round trips in µs. */
export interface Rtt {
  p50: number;
  p99: number;
}

async function attempt<T>(
  side: ForwardSide,
  what: string,
  fn: () => Promise<T>,
): Promise<T | undefined> {
  try {
    return await fn();
  } catch (e) {
    side.errors.push(`${what}: ${(e as Error).message.split("\n")[0]}`);
    return undefined;
  }
}

/** p50/p99 of TCP echo RTT through the VIP: 10 persistent connections, one message per 10 ms. */
export async function echoRtt(prefix: string): Promise<Rtt> {
  const run = await startTraffic(prefix, {
    conns: 10,
    intervalMs: 10,
    churnMs: 0,
    udp: 0,
    durationMs: 3000,
    timeoutMs: 5000,
  });
  const timeout = new Promise<never>((_, rej) =>
    setTimeout(() => rej(new Error("traffic generator did not finish")), 20_000)
  );
  const r = await Promise.race([run.done, timeout]);
  if (r.tcp.completed < r.tcp.opened || r.tcp.opened === 0) {
    throw new Error(`echo connections failed: ${r.errorSamples.slice(0, 2).join("; ")}`);
  }
  return { p50: r.tcp.p50RttMs * 1000, p99: r.tcp.p99RttMs * 1000 };
}

async function status(prefix: string, u: "a" | "b"): Promise<StatusSnapshot> {
  return await nsCurl(prefix, u, "/status") as StatusSnapshot;
}

/** Measures one side's single-router figures on a lab that is up and serving the VIP. */
async function measureOne(prefix: string, side: ForwardSide): Promise<void> {
  side.rtt = await attempt(side, "echo RTT", () => echoRtt(prefix));
  side.tcp1 = await attempt(side, "iperf3 1 stream", () => iperf(prefix, 1, IPERF_SECONDS));
  side.tcp8 = await attempt(side, "iperf3 8 streams", () => iperf(prefix, 8, IPERF_SECONDS));
  side.udp = await attempt(side, "UDP 64 B", () => udpRate(prefix, UDP_SECONDS));
}

async function measurePair(prefix: string, side: ForwardSide): Promise<void> {
  side.pairRtt = await attempt(side, "pair echo RTT", () => echoRtt(prefix));
  side.pairTcp1 = await attempt(side, "pair iperf3", () => iperf(prefix, 1, IPERF_SECONDS));
  side.pairUdp = await attempt(side, "pair UDP 64 B", () => udpRate(prefix, UDP_SECONDS));
}

/** tandem: one unit, then the mirrored pair, each in a lab of its own. */
export async function forwardTandem(): Promise<ForwardSide> {
  const side: ForwardSide = { errors: [] };
  try {
    await labUp({ prefix: TANDEM_ONE, units: ["a"], mode: "active-forward", noServers: true });
    // Alone, unit a waits out its boot listen for a peer, then serves solo.
    await waitFor("unit a serving alone", async () => {
      return (await status(TANDEM_ONE, "a")).receiver ? true : undefined;
    }, 15_000);
    await startServers(TANDEM_ONE);
    await measureOne(TANDEM_ONE, side);
  } catch (e) {
    side.errors.push(`single unit lab: ${(e as Error).message.split("\n")[0]}`);
  } finally {
    await labDown(TANDEM_ONE);
  }
  try {
    await labUp({ prefix: TANDEM_PAIR, mode: "standby-forward", noServers: true });
    await waitFor("a settled pair", async () => {
      const [a, b] = [await status(TANDEM_PAIR, "a"), await status(TANDEM_PAIR, "b")];
      return a.state === "active" && b.state === "standby" ? true : undefined;
    }, 20_000);
    await startServers(TANDEM_PAIR);
    await measurePair(TANDEM_PAIR, side);
  } catch (e) {
    side.errors.push(`pair lab: ${(e as Error).message.split("\n")[0]}`);
  } finally {
    await labDown(TANDEM_PAIR);
  }
  return side;
}

/** Linux: the kernel as a single DNAT router, then the keepalived + conntrackd pair. */
export async function forwardLinux(): Promise<ForwardSide> {
  const side: ForwardSide = { errors: [] };
  const missing = linuxMissing();
  if (missing) return { errors: [], skipped: missing };
  try {
    await linuxLabUp(LINUX);
    await linuxRouterUp(LINUX);
    await startServers(LINUX);
    await measureOne(LINUX, side);
    await linuxRouterDown(LINUX);
    await linuxPairUp(LINUX, 0.1);
    await measurePair(LINUX, side);
  } catch (e) {
    side.errors.push(`Linux lab: ${(e as Error).message.split("\n")[0]}`);
  } finally {
    await linuxLabDown(LINUX);
  }
  return side;
}

const gbps = (r: IperfResult | undefined): string =>
  r ? `${num(r.gbps, 2)} (${int(r.retransmits)} retr)` : NA;
const pps = (u: UdpRate | undefined): string => (u ? int(u.pps) : NA);
const loss = (u: UdpRate | undefined): string => (u ? num(u.loss * 100, 1) : NA);
const offered = (u: UdpRate | undefined): string => (u ? int(u.sent / u.seconds) : NA);
const us = (x: number | undefined): string => num(x, 0);

/** The suite's table and interpretation from both sides' figures. */
export function forwardResult(t: ForwardSide, l: ForwardSide, now: number): SuiteResult {
  const diff = (a?: number, b?: number): number | undefined =>
    a === undefined || b === undefined ? undefined : a - b;
  const ratio = t.pairTcp1 && l.pairTcp1 ? (100 * t.pairTcp1.gbps) / l.pairTcp1.gbps : undefined;
  const mirrorAddedT = diff(t.pairRtt?.p50, t.rtt?.p50);
  const mirrorAddedL = diff(l.pairRtt?.p50, l.rtt?.p50);
  const rows: Row[] = [
    {
      metric: "one unit: TCP 1 stream, Gbit/s",
      tandem: gbps(t.tcp1),
      linux: gbps(l.tcp1),
      target: "",
    },
    {
      metric: "one unit: TCP 8 streams, Gbit/s",
      tandem: gbps(t.tcp8),
      linux: gbps(l.tcp8),
      target: "",
    },
    {
      metric: "one unit: UDP 64 B delivered, pkt/s",
      tandem: pps(t.udp),
      linux: pps(l.udp),
      target: "",
    },
    {
      metric: "one unit: UDP 64 B offered by the sender, pkt/s",
      tandem: offered(t.udp),
      linux: offered(l.udp),
      target: "",
    },
    { metric: "one unit: UDP 64 B loss, %", tandem: loss(t.udp), linux: loss(l.udp), target: "" },
    {
      metric: "one unit: TCP echo RTT p50, µs",
      tandem: us(t.rtt?.p50),
      linux: us(l.rtt?.p50),
      target: "",
    },
    {
      metric: "one unit: TCP echo RTT p99, µs",
      tandem: us(t.rtt?.p99),
      linux: us(l.rtt?.p99),
      target: "",
    },
    {
      metric: "one unit: RTT p50 added over Linux, µs",
      tandem: us(diff(t.rtt?.p50, l.rtt?.p50)),
      linux: "0",
      target: "",
    },
    {
      metric: "pair: TCP 1 stream, Gbit/s",
      tandem: gbps(t.pairTcp1),
      linux: gbps(l.pairTcp1),
      target: "≥ 50% of Linux pair",
    },
    {
      metric: "pair: tandem / Linux throughput, %",
      tandem: num(ratio, 0),
      linux: "100",
      target: "≥ 50",
    },
    {
      metric: "pair: UDP 64 B delivered, pkt/s",
      tandem: pps(t.pairUdp),
      linux: pps(l.pairUdp),
      target: "≥ 300k pkt/s",
    },
    {
      metric: "pair: UDP 64 B offered by the sender, pkt/s",
      tandem: offered(t.pairUdp),
      linux: offered(l.pairUdp),
      target: "",
    },
    {
      metric: "pair: UDP 64 B loss, %",
      tandem: loss(t.pairUdp),
      linux: loss(l.pairUdp),
      target: "",
    },
    {
      metric: "pair: TCP echo RTT p50, µs",
      tandem: us(t.pairRtt?.p50),
      linux: us(l.pairRtt?.p50),
      target: "",
    },
    {
      metric: "pair: TCP echo RTT p99, µs",
      tandem: us(t.pairRtt?.p99),
      linux: us(l.pairRtt?.p99),
      target: "",
    },
    {
      metric: "RTT p50 added by mirroring (pair − one unit), µs",
      tandem: us(mirrorAddedT),
      linux: us(mirrorAddedL),
      target: "≤ 100 µs",
    },
  ];
  const notes: string[] = [];
  if (l.skipped) notes.push(`Linux column not measured: ${l.skipped}.`);
  if (t.tcp1 && l.tcp1) {
    notes.push(
      `One unit, 1 stream: tandem carries ${num((100 * t.tcp1.gbps) / l.tcp1.gbps, 0)}% of the ` +
        "kernel's throughput: every GSO super-frame crosses user space twice (TAP read and write) " +
        "on one JS thread, where the kernel forwards it in softirq without a copy.",
    );
  }
  if (ratio !== undefined) {
    notes.push(
      ratio >= 50
        ? `Mirrored pair: ${num(ratio, 0)}% of the Linux pair, meeting the 50% target.`
        : `Mirrored pair: ${num(ratio, 0)}% of the Linux pair, short of 50%: each frame also ` +
          "crosses the peer link as a UDP datagram with an HMAC, and conntrackd mirrors only " +
          "connection state, not packets.",
    );
  }
  if (t.pairUdp) {
    const senderBound = t.pairUdp.loss < 0.02;
    notes.push(
      t.pairUdp.pps >= 300_000
        ? `Small packets through the pair: ${int(t.pairUdp.pps)}/s, meeting 300k.`
        : `Small packets through the pair: ${int(t.pairUdp.pps)}/s, below 300k` +
          (senderBound
            ? `; the sender itself only offered ${offered(t.pairUdp)}/s (one process on a ` +
              "2-core machine shared with both units), so this is a floor, not tandem's ceiling."
            : `; ${loss(t.pairUdp)}% lost in the pair: the unit's loop is saturated (see engine ` +
              "for its CPU cost per packet)."),
    );
  }
  if (mirrorAddedT !== undefined) {
    notes.push(
      mirrorAddedT <= 100
        ? `Mirroring adds ${us(mirrorAddedT)} µs to the p50 RTT, within 100 µs.`
        : `Mirroring adds ${us(mirrorAddedT)} µs to the p50 RTT, over 100 µs: each direction ` +
          "waits for a hop over the peer link and the other unit's loop to wake from poll().",
    );
  }
  for (const e of [...t.errors.map((e) => `tandem ${e}`), ...l.errors.map((e) => `Linux ${e}`)]) {
    notes.push(`Failed: ${e}.`);
  }
  return {
    suite: "forward",
    title: "Forwarding through one unit and the pair",
    date: isoDate(now),
    rows,
    notes,
  };
}

/** The `forward` suite (needs root; skips with a reason otherwise). */
export async function forwardSuite(): Promise<SuiteResult> {
  const missing = labMissing();
  if (missing) {
    return {
      suite: "forward",
      title: "Forwarding through one unit and the pair",
      date: isoDate(Date.now()),
      rows: [],
      notes: [],
      skipped: missing,
    };
  }
  const t = await forwardTandem();
  const l = await forwardLinux();
  return forwardResult(t, l, Date.now());
}
