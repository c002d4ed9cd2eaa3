/**
 * The `engine` suite: CPU cost of `Engine.handle` per packet, with no I/O, for the packets that
 * make up real traffic (an established TCP flow in each direction, a new flow's SYN, a UDP
 * datagram), forwarded alone and forwarded + mirrored (each mirror record encoded into a peer
 * batch, as the unit does, sealed with its MAC when full); what each packet leaves for the
 * garbage collector (bytes allocated and minor GCs per million packets); and the peer link's
 * cost per mirrored record (`measureLinkCost`). The Linux kernel has no comparable figure, so
 * its column is n/a.
 *
 * Each case copies a pristine frame into a work buffer and hands it to the engine (which
 * rewrites it in place); the copy alone is timed separately and subtracted.
 * @module
 */

import { Engine } from "../mod/engine/engine.ts";
import { VNET_DATA_VALID, VNET_HDR_LEN } from "../mod/engine/config.ts";
import { type EngineOutput, type MirrorOut, V_FORWARD } from "../mod/engine/output.ts";
import {
  a6,
  CLIENT,
  CLIENT_MAC,
  clientSegment,
  clientSyn,
  config6,
  data6,
  labEngineConfig,
  learnNeighbors,
  SERVER_MAC,
  serverSegment,
  udpFrame,
  VIP,
  VIP6,
} from "../mod/engine/testing.ts";
import { measureLinkCost } from "../mod/peer/link_cost.ts";
import { CRYPTO_SIZES, type CryptoCost, measureLinkCrypto } from "./link_crypto.ts";
import { BatchWriter, MAX_BATCH } from "../mod/peer/batch.ts";
import type { MirrorRecordOut } from "../mod/peer/records.ts";
import { Arena } from "../mod/unit/arena.ts";
import { xorshift32 } from "../mod/util/prng.ts";
import { Ipv4Packet, TcpSegment } from "../mod/wire/mod.ts";
import { int, isoDate, NA, num, type Row, type SuiteResult } from "./report.ts";

/** An output that drops everything: only the engine's own work is measured. */
class NullOutput implements EngineOutput {
  #mseq = 0;
  emit(): void {}
  mirror(_rec: MirrorOut): number {
    return ++this.#mseq;
  }
  flush(): void {}
  hold(): void {}
  expire(): void {}
  relay(): void {}
}

/**
 * An output that mirrors as the unit does (`PeerLink.mirror` and `PeerChannel.queue`): each
 * record becomes a MIRROR in a batch of the data lane's size, sealed with its MAC when full.
 * The batch lives in the same arena as the work buffer, as in the unit. Only `sendto` is
 * missing.
 */
class BatchOutput extends NullOutput {
  readonly writer: BatchWriter;
  readonly #rec: MirrorRecordOut = {
    type: "mirror",
    mseq: 0,
    rec: undefined as unknown as MirrorOut,
  };
  #mseq = 0;
  datagrams = 0;
  constructor(batch: Uint8Array) {
    super();
    this.writer = new BatchWriter(new Uint8Array(32).fill(7), 1, MAX_BATCH, batch);
  }
  override mirror(rec: MirrorOut): number {
    const r = this.#rec;
    r.mseq = ++this.#mseq;
    r.rec = rec;
    if (!this.writer.add(r)) {
      this.writer.seal();
      this.datagrams++;
      this.writer.add(r);
    }
    return r.mseq;
  }
  override flush(): void {
    if (this.writer.seal()) this.datagrams++;
  }
}

const NOW = 1_000;
const CLIENT_PORT = 40000;
const MSS_PAYLOAD = 1448;
/** New-flow clients: 198.51.100.100 and up, clear of the lab's own addresses. */
const SYN_CLIENT = CLIENT + 98;
/** Packets between two heap samples when counting allocation. */
const SAMPLE_EVERY = 1000;

/** Offload header as the lab's TAPs deliver a received frame: checksum already verified. */
const DATA_VALID = (() => {
  const v = new Uint8Array(VNET_HDR_LEN);
  v[0] = VNET_DATA_VALID;
  return v;
})();

function makeEngine(
  out: EngineOutput,
  capacity: number,
  offload: boolean,
  mirror: boolean,
): Engine {
  const e = new Engine(labEngineConfig("a", { capacity }), out, xorshift32(1));
  learnNeighbors(e);
  e.vnet = offload ? DATA_VALID : new Uint8Array(VNET_HDR_LEN);
  e.roles.mirror = mirror;
  return e;
}

/** Opens one TCP flow through `e` (SYN, SYN-ACK, ACK) and returns the backend it went to. */
function establish(e: Engine, sport: number): number {
  const cfg = e.config;
  const run = (f: Uint8Array, ingress: number, what: string) => {
    if (e.handle(f, 0, f.length, ingress, NOW) !== V_FORWARD) {
      throw new Error(`engine bench: ${what}`);
    }
  };
  run(clientSyn(cfg, sport, 100), 0, "SYN not forwarded");
  const f = e.flows.lookup(6, CLIENT, sport, VIP, 7000) >> 1;
  const backend = e.flows.c.rSrc[f]!;
  run(
    serverSegment(cfg, backend, sport, { flags: 0x12, seq: 5000, ack: 101 }),
    1,
    "SYN-ACK dropped",
  );
  run(clientSegment(cfg, sport, { seq: 101, ack: 5001 }), 0, "ACK dropped");
  return backend;
}

/** One measured case: frames (all the same length) fed in turn on `ingress`. */
interface Case {
  name: string;
  engine: Engine;
  ingress: number;
  frames: Uint8Array[];
  /** The work buffer the frames are copied into (in the arena for mirrored cases). */
  work: Uint8Array;
  /** An established flow's packets: its allocation is reported. */
  established: boolean;
  /** Called between rounds, untimed (e.g. empty the table before more SYNs). */
  reset?: () => void;
}

/** Nanoseconds per packet for `n` packets of case `c` (copy into the work buffer included). */
function timeCase(c: Case, n: number, handle: boolean): number {
  const frames = c.frames, count = frames.length, e = c.engine, ing = c.ingress, work = c.work;
  const len = frames[0]!.length;
  let sink = 0;
  const t0 = performance.now();
  for (let i = 0, j = 0; i < n; i++) {
    work.set(frames[j]!);
    if (handle) sink += e.handle(work, 0, len, ing, NOW);
    else sink += work[20]!;
    if (++j === count) j = 0;
  }
  const t1 = performance.now();
  if (handle && sink !== n * V_FORWARD) {
    throw new Error(`engine bench: ${c.name}: not every packet was forwarded`);
  }
  return ((t1 - t0) * 1e6) / n;
}

/** Best of `rounds` (the least disturbed by other work on the machine), copy cost subtracted. */
function measure(c: Case, n: number, rounds: number): number {
  let best = Infinity, copy = Infinity;
  c.reset?.();
  timeCase(c, Math.min(n, c.frames.length), true); // warm-up (JIT)
  for (let r = 0; r < rounds; r++) {
    c.reset?.();
    best = Math.min(best, timeCase(c, n, true));
    copy = Math.min(copy, timeCase(c, n, false));
  }
  return Math.max(0, best - copy);
}

/**
 * What `n` packets of `c` leave for the garbage collector: the heap is sampled every
 * `SAMPLE_EVERY` packets; growth is allocation, a drop is a collection. The sampling's own
 * garbage is measured the same way without the engine and subtracted.
 */
function allocation(c: Case, n: number): { bytesPerPacket: number; gcsPerMillion: number } {
  const heap = () => Deno.memoryUsage().heapUsed;
  const run = (handle: boolean) => {
    let allocated = 0, gcs = 0, prev = heap();
    for (let i = 0; i < n; i += SAMPLE_EVERY) {
      timeCase(c, SAMPLE_EVERY, handle);
      const now = heap();
      if (now < prev) gcs++;
      else allocated += now - prev;
      prev = now;
    }
    return { allocated, gcs };
  };
  const base = run(false), got = run(true);
  return {
    bytesPerPacket: Math.max(0, got.allocated - base.allocated) / n,
    gcsPerMillion: (Math.max(0, got.gcs - base.gcs) * 1e6) / n,
  };
}

/** Raw figures of the engine suite. */
export interface EngineFigures {
  cases: { name: string; ns: number; bytesPerPacket?: number; gcsPerMillion?: number }[];
  link: { nsPerRecord: number; bytesPerRecord: number };
  /** Tagging a batch with the link's tag and the alternatives (issue 11); absent: skipped. */
  crypto?: CryptoCost[];
}

/** Builds every case, by name, in the order the suite reports them. */
function buildCases(n: number): Map<string, () => Case> {
  const cases = new Map<string, () => Case>();
  const cfg = labEngineConfig("a");
  const payload = new Uint8Array(MSS_PAYLOAD).map((_, i) => i);
  const WORK = 2048;

  const tcpCase = (name: string, mirror: boolean, offload: boolean, reply: boolean) => {
    cases.set(name, () => {
      const arena = new Arena([["work", WORK], ["batch", MAX_BATCH]]);
      const out = mirror ? new BatchOutput(arena.region("batch")) : new NullOutput();
      const e = makeEngine(out, 1024, offload, false);
      const backend = establish(e, CLIENT_PORT);
      e.roles.mirror = mirror;
      const frame = reply
        ? serverSegment(cfg, backend, CLIENT_PORT, { flags: 0x18, seq: 5001, ack: 101, payload })
        : clientSegment(cfg, CLIENT_PORT, { flags: 0x18, seq: 101, ack: 5001, payload });
      return {
        name,
        engine: e,
        ingress: reply ? 1 : 0,
        frames: [frame],
        work: arena.region("work"),
        established: true,
      };
    });
  };
  tcpCase(`TCP data ${MSS_PAYLOAD} B, client→server`, false, true, false);
  tcpCase(`TCP data ${MSS_PAYLOAD} B, server→client`, false, true, true);
  tcpCase(`TCP data ${MSS_PAYLOAD} B, checksum verified in software`, false, false, false);
  tcpCase(`TCP data ${MSS_PAYLOAD} B, forwarded + mirrored`, true, true, false);

  // New flows: distinct client tuples, the table emptied between rounds.
  cases.set("TCP SYN, new flow", () => {
    const syns = Math.min(n, 100_000);
    const synEngine = makeEngine(new NullOutput(), 1 << 17, true, false);
    const synFrames: Uint8Array[] = [];
    for (let i = 0; i < syns; i++) {
      const f = clientSyn(cfg, 1024 + (i & 0x3fff), i);
      const ip = new Ipv4Packet(f, 14);
      ip.src = SYN_CLIENT + (i >>> 14);
      ip.fillChecksum();
      new TcpSegment(f, 34, f.length).fillChecksum(ip.src, VIP);
      synFrames.push(f);
    }
    return {
      name: "TCP SYN, new flow",
      engine: synEngine,
      ingress: 0,
      frames: synFrames,
      work: new Uint8Array(WORK),
      established: false,
      reset: () => synEngine.flows.clear(),
    };
  });

  const udpCase = (name: string, mirror: boolean) => {
    cases.set(name, () => {
      const arena = new Arena([["work", WORK], ["batch", MAX_BATCH]]);
      const out = mirror ? new BatchOutput(arena.region("batch")) : new NullOutput();
      const e = makeEngine(out, 1024, true, false);
      const dgram = udpFrame({
        dstMac: cfg.virtualMacs[0]!,
        src: CLIENT,
        dst: VIP,
        sport: CLIENT_PORT,
        dport: 7001,
        payload: new Uint8Array(64),
      });
      const first = dgram.slice();
      e.handle(first, 0, first.length, 0, NOW);
      e.roles.mirror = mirror;
      return {
        name,
        engine: e,
        ingress: 0,
        frames: [dgram],
        work: arena.region("work"),
        established: true,
      };
    });
  };
  udpCase("UDP 64 B, existing flow", false);
  udpCase("UDP 64 B, forwarded + mirrored", true);

  // IPv6: the same established TCP flow over IPv6 (the lab's IPv6 half), client → server, a
  // full segment of a 1500-byte link (its header is 20 bytes longer than IPv4's).
  const payload6 = new Uint8Array(MSS_PAYLOAD - 8).map((_, i) => i);
  const v6Name = `IPv6 TCP data ${payload6.length} B, client→server`;
  cases.set(v6Name, () => {
    // Addresses as real ones look: a client's random interface identifier and backends whose
    // low words exceed V8's small integers (a word passed to a call that is not inlined would
    // be boxed), and, as the IPv4 cases, no sequence offset.
    const client = a6("2001:db8:100::8a2e:370:c0de:7334");
    const backends = [a6("2001:db8:113::c000:20"), a6("2001:db8:113::c000:21")];
    const base6 = config6("a", { capacity: 1024 });
    const cfg6 = {
      ...base6,
      services: base6.services.map((s) => ({
        ...s,
        randomizeIsn: false,
        backends: s.vip6 ? backends.map((b) => ({ ip: b[3]!, ip6: b, port: s.port })) : s.backends,
      })),
    };
    const e = new Engine(cfg6, new NullOutput(), xorshift32(1));
    e.neighbors[0]!.learn(client[3]!, CLIENT_MAC, 0, 0, client, 0);
    for (const b of backends) e.neighbors[1]!.learn(b[3]!, SERVER_MAC, 0, 0, b, 0);
    e.vnet = DATA_VALID;
    const run = (f: Uint8Array, ingress: number, what: string) => {
      if (e.handle(f, 0, f.length, ingress, NOW) !== V_FORWARD) {
        throw new Error(`engine bench: IPv6 ${what}`);
      }
    };
    const vmac = cfg6.virtualMacs[0]!, me = cfg6.interfaces[1]!.mac;
    run(data6(vmac, CLIENT_MAC, client, VIP6, CLIENT_PORT, 7000, 100, 0, 0x02), 0, "SYN");
    const f = [...e.flows.ids()][0]!, c = e.flows.c;
    const backend = backends[c.backend[f]!]!;
    run(
      data6(me, SERVER_MAC, backend, client, 7000, CLIENT_PORT, 5000, 101, 0x12),
      1,
      "SYN-ACK dropped",
    );
    run(data6(vmac, CLIENT_MAC, client, VIP6, CLIENT_PORT, 7000, 101, 5001, 0x10), 0, "ACK");
    return {
      name: v6Name,
      engine: e,
      ingress: 0,
      frames: [
        data6(vmac, CLIENT_MAC, client, VIP6, CLIENT_PORT, 7000, 101, 5001, 0x18, payload6),
      ],
      work: new Uint8Array(WORK),
      established: true,
    };
  });
  return cases;
}

/**
 * Runs every case's timing here; `alloc` measures each established case's allocation (in a
 * fresh process per case, as the unit runs one engine: code shared between cases in one
 * isolate is compiled for all of them and boxes values the unit's would not). `scale` < 1
 * shortens the run (tests).
 */
export async function measureEngine(scale = 1, alloc = true): Promise<EngineFigures> {
  const n = Math.max(1000, Math.round(300_000 * scale));
  const rounds = scale < 1 ? 1 : 3;
  const out: EngineFigures["cases"] = [];
  for (const [name, build] of buildCases(n)) {
    const c = build();
    // A SYN round must not outgrow its table: one pass over the distinct frames per round.
    const ns = measure(c, c.reset ? c.frames.length : n, rounds);
    const warm = Math.max(200_000, Math.round(300_000 * scale));
    const count = Math.max(SAMPLE_EVERY * 50, Math.round(1_000_000 * scale));
    out.push(
      c.established && alloc
        ? { name, ns, ...await allocationChild(name, warm, count) }
        : { name, ns },
    );
  }
  let link = { nsPerRecord: Infinity, bytesPerRecord: 0 };
  for (let r = 0; r < rounds; r++) {
    const l = measureLinkCost(Math.max(1000, Math.round(200_000 * scale)), MAX_BATCH);
    if (l.nsPerRecord < link.nsPerRecord) link = l;
  }
  const crypto = measureLinkCrypto(scale < 1 ? 50 : 2000, rounds);
  return { cases: out, link, crypto };
}

/** Runs `allocation` for one case in a child process: `warm` packets first, then `count`. */
async function allocationChild(
  name: string,
  warm: number,
  count: number,
): Promise<{ bytesPerPacket: number; gcsPerMillion: number }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      // Optimised code is installed on the main thread, within the warm-up: with background
      // compilation, a busy machine can starve the compiler thread past the warm-up and the
      // measurement then sees the unoptimised code's boxed numbers (1 run in 12 under load).
      "--v8-flags=--no-concurrent-recompilation",
      new URL(import.meta.url).pathname,
      "--alloc",
      name,
      String(warm),
      String(count),
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(120_000),
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim().split("\n").pop() ?? "";
  if (out.code !== 0 || !text.startsWith("{")) {
    throw new Error(
      `engine alloc child (${name}) exited ${out.code}: ${
        new TextDecoder().decode(out.stderr).slice(-500)
      }`,
    );
  }
  return JSON.parse(text);
}

if (import.meta.main && Deno.args[0] === "--alloc") {
  const build = buildCases(1000).get(Deno.args[1] ?? "");
  if (!build) throw new Error(`no engine case ${Deno.args[1]}`);
  const c = build();
  // Warm up until the optimising compiler has the hot path: cold code allocates.
  timeCase(c, Number(Deno.args[2]), true);
  console.log(JSON.stringify(allocation(c, Number(Deno.args[3]))));
}

/** The suite's table. */
export function engineResult(f: EngineFigures, now: number): SuiteResult {
  const rows: Row[] = [];
  for (const c of f.cases) {
    rows.push({
      metric: `${c.name}: ns/packet (packets/s)`,
      tandem: `${num(c.ns, 0)} (${int(1e9 / c.ns)})`,
      linux: NA,
      target: c.name.startsWith("UDP 64 B, forwarded + mirrored") ? "≥ 300k pkt/s per unit" : "",
    });
    if (c.bytesPerPacket !== undefined && c.gcsPerMillion !== undefined) {
      rows.push({
        metric: `${c.name}: bytes allocated/packet, minor GCs per 1M packets`,
        tandem: `${num(c.bytesPerPacket, 1)}, ${num(c.gcsPerMillion, 1)}`,
        linux: NA,
        target: "0 GCs per 1M",
      });
    }
  }
  rows.push({
    metric: "peer link: ns per mirrored record (100 B frame)",
    tandem: num(f.link.nsPerRecord, 0),
    linux: NA,
    target: "",
  });
  rows.push({
    metric: "peer link: bytes per mirrored record (100 B frame)",
    tandem: num(f.link.bytesPerRecord, 1),
    linux: NA,
    target: "",
  });
  for (const c of f.crypto ?? []) {
    for (const size of CRYPTO_SIZES) {
      rows.push({
        metric: `peer link batch of ${int(size)} B sealed with ${c.name}: ns (GB/s)`,
        tandem: `${num(c.ns[size]!, 0)} (${num(size / c.ns[size]!, 2)})`,
        linux: NA,
        target: "",
      });
    }
  }
  const mirrored = f.cases.find((c) => c.name.startsWith("UDP 64 B, forwarded + mirrored"));
  const notes: string[] = [
    "One core, no I/O: the CPU ceiling of the data plane before any TAP read/write or sendto.",
  ];
  const today = f.crypto?.[0], hmac = f.crypto?.find((c) => c.name.startsWith("HMAC"));
  if (today && hmac) {
    const [small, big] = CRYPTO_SIZES as [number, number];
    notes.push(
      `Peer-link tag (issue 11): ${today.name} tags a ${int(small)}-byte batch in ` +
        `${num(today.ns[small]! / 1000, 1)} µs and a ${int(big)}-byte one in ` +
        `${num(today.ns[big]! / 1000, 1)} µs, ${num(hmac.ns[small]! / today.ns[small]!, 1)}× and ` +
        `${num(hmac.ns[big]! / today.ns[big]!, 1)}× faster than the HMAC-SHA256 it replaced.`,
    );
  }
  if (mirrored) {
    const pps = 1e9 / mirrored.ns;
    notes.push(
      pps >= 300_000
        ? `Small packets forwarded + mirrored: ${int(pps)} packets/s of engine work, above the ` +
          "300k target before I/O; a real unit also pays a TAP read, a TAP write and its share of " +
          "a peer datagram per packet (see forward)."
        : `Small packets forwarded + mirrored cost ${num(mirrored.ns, 0)} ns each: below 300k ` +
          "packets/s before any I/O; the MIRROR record encode and the batch tag dominate.",
    );
  }
  const garbage = f.cases.filter((c) => (c.gcsPerMillion ?? 0) > 0);
  notes.push(
    garbage.length === 0
      ? "Established flows make no garbage: no minor GC in a million packets of any case."
      : `Minor GCs on the established path: ${garbage.map((c) => c.name).join("; ")}.`,
  );
  return { suite: "engine", title: "Engine.handle per packet", date: isoDate(now), rows, notes };
}

/** The `engine` suite. */
export async function engineSuite(): Promise<SuiteResult> {
  return engineResult(await measureEngine(), Date.now());
}
