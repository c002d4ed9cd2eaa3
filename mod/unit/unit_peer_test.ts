/**
 * One unit against a scripted peer: the test writes the peer's authenticated datagrams itself
 * and moves the unit's clock, so heartbeat handling (codes, RTT, the timeline bound) and the
 * heartbeat schedule are checked to the millisecond.
 */
import assert from "node:assert/strict";
import { digestWords } from "../config/digest.ts";
import { labEngineConfig, learnNeighbors, seeded } from "../engine/testing.ts";
import {
  BatchReader,
  BatchWriter,
  CTRL_MACS,
  CTRL_SECRET,
  CTRL_SYNC_REQUEST,
  HB_SYNC_COMPLETE,
  type HeartbeatRecord,
  type PeerRecordIn,
} from "../peer/mod.ts";
import { libc } from "../port/ffi.ts";
import { MemoryPort } from "../port/memory.ts";
import { openUdp, type UdpPort } from "../port/udp.ts";
import { newHeartbeat } from "./heartbeat.ts";
import { Unit } from "./unit.ts";
import { LOCAL } from "./test_util.ts";

// Load libc before the tests: the sanitizer counts a library opened inside a test as a leak.
libc();

const KEY = new TextEncoder().encode("scripted peer test key, 32 bytes");
const DIGEST = "00112233445566ff";
const INTERVAL_MS = 10;
/** Bound on every wait for the loop (it turns every few ms of real time). */
const LIMIT_MS = 5000;

/** Two sockets on consecutive ports: data, then control. */
function openPair(): { data: UdpPort; control: UdpPort; base: number } {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20000 + Math.floor(Math.random() * 40000);
    let data: UdpPort | undefined;
    try {
      data = openUdp(LOCAL, base);
      return { data, control: openUdp(LOCAL, base + 1), base };
    } catch {
      data?.close();
    }
  }
  throw new Error("no two free consecutive UDP ports");
}

class Harness {
  now = 5_000_000;
  readonly t0 = this.now;
  readonly front = new MemoryPort("front");
  readonly back = new MemoryPort("back");
  readonly mine = openPair();
  readonly peer = openPair();
  readonly out = openUdp(LOCAL, 0);
  readonly writer = new BatchWriter(KEY, 777);
  readonly reader = new BatchReader(KEY);
  readonly u: Unit;
  readonly #ctrl = new AbortController();
  readonly done: Promise<void>;

  constructor() {
    this.u = new Unit(
      {
        node: "u",
        mode: "standby-forward",
        role: "standby",
        version: "test",
        engine: labEngineConfig("b"),
        configDigest: DIGEST,
        clock: () => this.now,
        rng: seeded(3),
        epoch: 1000,
        peer: {
          ip: LOCAL,
          port: this.peer.base,
          key: KEY,
          intervalMs: INTERVAL_MS,
          deadAfter: 5,
          holdNewFlowsMs: 0,
          garpRepeat: 3,
          probe: true,
        },
      },
      [this.front, this.back],
      { data: this.mine.data, control: this.mine.control },
    );
    learnNeighbors(this.u.engine);
    this.done = this.u.run(this.#ctrl.signal);
  }

  /** Sets the clock, then waits for a turn of the loop at that time (it counts a junk frame). */
  async turnAt(t: number): Promise<void> {
    this.now = t;
    const rx = this.u.snapshot().counters.rx_packets!;
    this.front.inject(new Uint8Array(60)); // for a MAC nobody has: dropped, but counted
    const end = performance.now() + LIMIT_MS;
    while (this.u.snapshot().counters.rx_packets !== rx + 1) {
      if (performance.now() > end) assert.fail(`no turn at +${t - this.t0}`);
      await new Promise((r) => setTimeout(r, 1));
    }
  }

  /** An authenticated heartbeat from the peer's address, on the unit's control lane. */
  heartbeat(over: Partial<HeartbeatRecord> = {}): void {
    const [hi, lo] = digestWords(DIGEST);
    const hb: HeartbeatRecord = {
      ...newHeartbeat(),
      role: 0, // active
      state: 2, // solo
      flags: HB_SYNC_COMPLETE,
      priority: 200,
      configDigestHi: hi,
      configDigestLo: lo,
      sentAt: this.now,
      epoch: 777,
      ...over,
    };
    assert.equal(this.writer.add(hb), true);
    const dg = this.writer.seal()!;
    assert.equal(this.out.sendTo(dg, dg.length, LOCAL, this.mine.base + 1), true);
  }

  readonly dataReader = new BatchReader(KEY);
  /** Control ops the unit sent on either lane (collected by `sent`). */
  ops: number[] = [];

  /** The heartbeats the unit sent to the peer since the last call (control ops: `ops`). */
  sent(): HeartbeatRecord[] {
    const room = new Uint8Array(65536);
    const got: HeartbeatRecord[] = [];
    const take = (r: PeerRecordIn) => {
      if (r.type === "heartbeat") got.push({ ...r });
      else if (r.type === "control") this.ops.push(r.op);
    };
    for (
      const [sock, reader] of [[this.peer.data, this.dataReader], [
        this.peer.control,
        this.reader,
      ]] as const
    ) {
      for (let n = sock.recvFrom(room); n > 0; n = sock.recvFrom(room)) {
        reader.open(room.subarray(0, n), take);
      }
    }
    return got;
  }

  async close(): Promise<void> {
    this.#ctrl.abort();
    await this.done;
    for (const s of [this.mine.data, this.mine.control, this.peer.data, this.peer.control]) {
      s.close();
    }
    this.out.close();
  }
}

Deno.test("an authenticated heartbeat with unknown role or state codes is ignored", async () => {
  const h = new Harness();
  try {
    await h.turnAt(h.t0);
    h.heartbeat({ role: 9 });
    h.heartbeat({ state: 9 });
    await h.turnAt(h.t0 + 1);
    assert.equal(h.u.pair.peer, "unknown");
    assert.equal(h.u.snapshot().peer.lastHeartbeatAgeMs, null);
    // A valid one: the peer is up (and solo, so this booting unit joins it).
    h.now = h.t0 + 2; // set before sending: the heartbeat is read at this time
    h.heartbeat();
    await h.turnAt(h.t0 + 2);
    assert.equal(h.u.pair.peer, "up");
    assert.equal(h.u.pair.state, "joining");
    h.now = h.t0 + 7;
    assert.equal(h.u.snapshot().peer.lastHeartbeatAgeMs, 5);
  } finally {
    await h.close();
  }
});

Deno.test("RTT: now − echoed sentAt − the peer's hold, only for an echo; zero counts", async () => {
  const h = new Harness();
  /** Heartbeats read at time `t` (the clock is set before they are sent). */
  const at = async (t: number, ...hbs: Partial<HeartbeatRecord>[]) => {
    h.now = t;
    for (const hb of hbs) h.heartbeat(hb);
    await h.turnAt(t);
  };
  try {
    await h.turnAt(h.t0);
    const t1 = h.t0 + 1, t2 = h.t0 + 2, t3 = h.t0 + 3;
    await at(t1, { echoSentAt: 0 });
    assert.equal(h.u.snapshot().peer.rttMs, null, "nothing echoed yet");
    assert.equal(h.u.snapshot().histograms.heartbeatRttMs.count, 0);
    await at(t2, { echoSentAt: t2 - 30, echoHeldMs: 10 });
    assert.equal(h.u.snapshot().peer.rttMs, 20);
    // A negative RTT (clocks of two threads) is skipped; the next one counts.
    await at(t3, { echoSentAt: t3 - 5, echoHeldMs: 6 }, { echoSentAt: t3 - 1, echoHeldMs: 0 });
    assert.equal(h.u.snapshot().peer.rttMs, 1);
    assert.equal(h.u.snapshot().histograms.heartbeatRttMs.count, 2);
    await at(t3, { echoSentAt: t3, echoHeldMs: 0 });
    assert.equal(h.u.snapshot().peer.rttMs, 0, "an RTT of 0 is a measurement");
    const hist = h.u.snapshot().histograms.heartbeatRttMs;
    assert.equal(hist.count, 3);
    assert.equal(hist.sum, 21);
  } finally {
    await h.close();
  }
});

Deno.test("the timeline keeps the latest 200 events", async () => {
  const h = new Harness();
  try {
    await h.turnAt(h.t0);
    const [hi] = digestWords(DIGEST);
    // Every heartbeat with another config digest after a matching one is an event.
    for (let i = 0; i < 210; i++) {
      h.heartbeat({ configDigestHi: hi ^ 1 });
      h.heartbeat();
      if (i % 30 === 29) await h.turnAt(h.now);
    }
    await h.turnAt(h.now);
    await h.turnAt(h.now);
    const ev = h.u.snapshot().events;
    assert.equal(ev.length, 200);
    assert.ok(ev.every((e) => e.kind === "config"), "the oldest (start, peer, role) dropped");
  } finally {
    await h.close();
  }
});

Deno.test("the loop sends a heartbeat at once, then exactly every interval", async () => {
  const h = new Harness();
  try {
    await h.turnAt(h.t0);
    const first = h.sent();
    assert.equal(first.length, 1);
    assert.equal(first[0]!.sentAt, h.t0);
    assert.equal(first[0]!.epoch, 1000);
    assert.equal(first[0]!.state, 3, "joining (booting)");
    assert.equal(first[0]!.echoSentAt, 0, "nothing heard, nothing echoed");
    assert.equal(first[0]!.echoHeldMs, 0);
    await h.turnAt(h.t0 + INTERVAL_MS - 0.5);
    assert.deepEqual(h.sent(), [], "not before the interval");
    await h.turnAt(h.t0 + INTERVAL_MS);
    assert.deepEqual(h.sent().map((x) => x.sentAt), [h.t0 + INTERVAL_MS]);
    await h.turnAt(h.t0 + 3 * INTERVAL_MS);
    assert.deepEqual(h.sent().map((x) => x.sentAt), [h.t0 + 3 * INTERVAL_MS], "no catching up");
  } finally {
    await h.close();
  }
});

Deno.test("stop() ends the loop", async () => {
  const h = new Harness();
  try {
    await h.turnAt(h.t0);
    let ended = false;
    h.done.then(() => ended = true);
    h.u.stop();
    const end = performance.now() + LIMIT_MS;
    while (!ended) {
      if (performance.now() > end) assert.fail("the loop did not stop");
      await new Promise((r) => setTimeout(r, 1));
    }
  } finally {
    await h.close();
  }
});

Deno.test("heartbeats echo the peer's latest sentAt and how long it was held", async () => {
  const h = new Harness();
  try {
    await h.turnAt(h.t0);
    h.sent();
    h.now = h.t0 + 3;
    h.heartbeat({ sentAt: 123_456.5, state: 0 }); // an active peer
    await h.turnAt(h.t0 + 3);
    await h.turnAt(h.t0 + INTERVAL_MS);
    const [hb] = h.sent();
    assert.ok(hb);
    assert.equal(hb.echoSentAt, 123_456.5);
    assert.equal(hb.echoHeldMs, INTERVAL_MS - 3, "heard at +3, echoed at +10");
  } finally {
    await h.close();
  }
});

Deno.test("a joiner asks for the table again every 200 ms while the peer is up and silent", async () => {
  const h = new Harness();
  // The sync requests among the control ops (the peer's boot also gets our MACs: CTRL_MACS).
  const requests = () => h.ops.filter((o) => o === CTRL_SYNC_REQUEST);
  try {
    await h.turnAt(h.t0);
    // The peer is solo: this booting unit joins and asks for the table at once.
    h.heartbeat();
    await h.turnAt(h.t0);
    h.sent();
    assert.deepEqual(requests(), [CTRL_SYNC_REQUEST]);
    // The peer never answers, but stays up (a heartbeat every 40 ms).
    for (let t = 40; t <= 200; t += 40) {
      h.now = h.t0 + t;
      h.heartbeat();
      await h.turnAt(h.t0 + t);
    }
    h.sent();
    assert.deepEqual(requests(), [CTRL_SYNC_REQUEST], "not before 200 ms");
    h.now = h.t0 + 201;
    h.heartbeat();
    await h.turnAt(h.t0 + 201);
    h.sent();
    assert.deepEqual(requests(), [CTRL_SYNC_REQUEST, CTRL_SYNC_REQUEST]);
    assert.equal(h.u.pair.state, "joining");
  } finally {
    await h.close();
  }
});

Deno.test("CTRL_SECRET: the peer's cookie secret is installed; a receiver sends a new one once", async () => {
  const h = new Harness();
  try {
    await h.turnAt(h.t0);
    h.heartbeat();
    await h.turnAt(h.t0);
    // The peer (receiver) sends its secret: this unit now validates its cookies.
    const data = new Uint8Array(32).map((_, i) => i + 1);
    assert.equal(h.writer.add({ type: "control", op: CTRL_SECRET, arg: 9, data }), true);
    const dg = h.writer.seal()!;
    assert.equal(h.out.sendTo(dg, dg.length, LOCAL, h.mine.base + 1), true);
    await h.turnAt(h.t0 + 1);
    const sec = h.u.engine.synSecret;
    assert.equal(sec.version, 9);
    assert.deepEqual([...sec.export()], [...data]);
    // Not sent back; a new one (this unit became receiver) goes to the peer, once.
    await h.turnAt(h.t0 + 2);
    await new Promise((r) => setTimeout(r, 20));
    h.sent();
    assert.deepEqual(h.ops.filter((o) => o === CTRL_SECRET), [], "the peer's own not echoed");
    h.ops = [];
    h.u.engine.roles.receiver = true;
    sec.rotate(seeded(5), h.now);
    await h.turnAt(h.t0 + 3);
    await h.turnAt(h.t0 + 4);
    await new Promise((r) => setTimeout(r, 20));
    h.sent();
    assert.deepEqual(h.ops.filter((o) => o === CTRL_SECRET), [CTRL_SECRET]);
  } finally {
    await h.close();
  }
});

Deno.test("CTRL_MACS: each peer boot gets our MACs once; the peer's are taken; solo bounces", async () => {
  const h = new Harness();
  const sentMacs = async (t: number) => {
    await h.turnAt(t);
    await new Promise((r) => setTimeout(r, 20));
    h.sent();
    const n = h.ops.filter((o) => o === CTRL_MACS).length;
    h.ops = [];
    return n;
  };
  try {
    await h.turnAt(h.t0);
    h.heartbeat();
    assert.equal(await sentMacs(h.t0 + 1), 1, "the peer's boot 777 hears our MACs");
    h.heartbeat();
    assert.equal(await sentMacs(h.t0 + 2), 0, "once per boot");
    h.heartbeat({ epoch: 778 });
    assert.equal(await sentMacs(h.t0 + 3), 1, "a restarted peer hears them again");
    // The peer's: 6 bytes per interface, ours has two.
    const macs = new Uint8Array(12).map((_, i) => 0x20 + i);
    for (const data of [new Uint8Array(6), macs]) {
      assert.equal(
        h.writer.add({ type: "control", op: CTRL_MACS, arg: data.length / 6, data }),
        true,
      );
      const dg = h.writer.seal()!;
      assert.equal(h.out.sendTo(dg, dg.length, LOCAL, h.mine.base + 1), true);
      await h.turnAt(h.t0 + 4);
      await h.turnAt(h.t0 + 5);
    }
    assert.deepEqual(
      h.u.snapshot().events.filter((e) => e.detail.includes("other interfaces")).length,
      1,
      "a count that does not match ours is refused, and said",
    );
    assert.deepEqual([...h.u.engine.ctx.peerMacs[1]!], [...macs.subarray(6)]);
    assert.equal(h.u.engine.roles.bounce, false, "not while the peer is there");
    // The peer falls silent: alone, frames of flows we do not know go to its MACs.
    for (const t of [200, 201, 5000, 5001, 20_000, 20_001]) await h.turnAt(h.t0 + t);
    assert.equal(h.u.snapshot().state, "solo");
    assert.equal(h.u.engine.roles.bounce, true);
  } finally {
    await h.close();
  }
});
