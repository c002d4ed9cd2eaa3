import assert from "node:assert/strict";
import { digestWords } from "../config/digest.ts";
import { BatchReader, BatchWriter, type HeartbeatRecord } from "../peer/mod.ts";
import { libc } from "../port/ffi.ts";
import { openUdp } from "../port/udp.ts";
import {
  HB,
  heartbeatFrom,
  newHeartbeat,
  readPeer,
  SEQ,
  startHeartbeatWorker,
  THREAD_PAUSE_MAX_MS,
  threadPaused,
} from "./heartbeat.ts";
import { LOCAL } from "./test_util.ts";

// Load libc before the tests: the sanitizer counts a library opened inside a test as a leak.
libc();

const KEY = new TextEncoder().encode("heartbeat test key, 32 bytes!!!!");
const DIGEST = "0123456789abcdef";

/** The shared state with a distinct value in every slot. */
function filled(): Float64Array {
  const s = new Float64Array(HB.size);
  s[HB.lastTurn] = 5000;
  s[HB.role] = 1;
  s[HB.state] = 3;
  s[HB.flags] = 6;
  s[HB.priority] = 200;
  s[HB.flowCount] = 12345;
  s[HB.digestHi] = 0xdeadbeef;
  s[HB.digestLo] = 0x01020304;
  s[HB.echoSentAt] = 4000.5;
  s[HB.echoHeardAt] = 4990.25;
  s[HB.dataAck] = 31;
  s[HB.dataTop] = 57;
  s[HB.pairedEpoch] = 666.25;
  [s[HB.configHi], s[HB.configLo]] = digestWords(DIGEST);
  return s;
}

Deno.test("the shared slots are distinct and fit the buffer", () => {
  const slots = Object.entries(HB).filter(([k]) => k !== "size").map(([, v]) => v);
  assert.equal(new Set(slots).size, slots.length);
  assert.ok(slots.every((v) => v >= 0 && v < HB.size));
  assert.equal(HB.size, slots.length);
});

Deno.test("threadPaused: a drain over two intervals old, up to the bound; never before one", () => {
  const s = new Float64Array(HB.size);
  assert.equal(threadPaused(s, 5000, 4), false, "no drain yet");
  s[HB.listenedAt] = 1000;
  assert.equal(threadPaused(s, 1008, 4), false, "two intervals: on time");
  assert.equal(threadPaused(s, 1009, 4), true, "past two intervals: not running");
  assert.equal(threadPaused(s, 1000 + THREAD_PAUSE_MAX_MS, 4), true);
  assert.equal(
    threadPaused(s, 1001 + THREAD_PAUSE_MAX_MS, 4),
    false,
    "silent longer: broken, the peer's silence counts again",
  );
});

Deno.test("heartbeatFrom: every field from its slot, the epoch and the config digest", () => {
  const hb = heartbeatFrom(newHeartbeat(), filled(), 777.5, 5010);
  const [hi, lo] = digestWords(DIGEST);
  assert.deepEqual(
    hb,
    {
      type: "heartbeat",
      role: 1,
      state: 3,
      flags: 6,
      priority: 200,
      configDigestHi: hi,
      configDigestLo: lo,
      flowCount: 12345,
      tableDigestHi: 0xdeadbeef,
      tableDigestLo: 0x01020304,
      sentAt: 5010,
      echoSentAt: 4000.5,
      // Held since the loop heard it: now − echoHeardAt.
      echoHeldMs: 19.75,
      epoch: 777.5,
      dataAck: 31,
      dataTop: 57,
      pairedEpoch: 666.25,
    } satisfies HeartbeatRecord,
  );
});

Deno.test("heartbeatFrom: nothing to echo before the peer is heard; never a negative hold", () => {
  const s = filled();
  s[HB.echoSentAt] = 0;
  assert.equal(heartbeatFrom(newHeartbeat(), s, 1, 5010).echoHeldMs, 0);
  const t = filled();
  t[HB.echoHeardAt] = 6000; // heard "after" now: clocks of two threads
  assert.equal(heartbeatFrom(newHeartbeat(), t, 1, 5010).echoHeldMs, 0);
});

Deno.test("newHeartbeat: an all-zero record", () => {
  const hb = newHeartbeat();
  assert.equal(hb.type, "heartbeat");
  for (const [k, v] of Object.entries(hb)) if (k !== "type") assert.equal(v, 0, k);
  assert.notEqual(newHeartbeat(), hb, "a fresh object each time");
});

Deno.test({
  name:
    "the worker sends a heartbeat every interval while the loop turns, and stops after the guard",
  sanitizeOps: true,
  sanitizeResources: true,
  async fn() {
    const sock = openUdp(LOCAL, 0);
    const lane = openUdp(LOCAL, 0);
    const intervalMs = 10, guardMs = 150;
    const clock = () => performance.timeOrigin + performance.now();
    const hbs = startHeartbeatWorker({
      listenFd: lane.fd,
      bindIp: LOCAL,
      peerIp: LOCAL,
      peerPort: sock.localPort,
      key: KEY,
      epoch: 4242,
      intervalMs,
      guardMs,
    });
    const reader = new BatchReader(KEY);
    const got: HeartbeatRecord[] = [];
    const buf = new Uint8Array(2048);
    const drain = () => {
      for (
        let n = sock.recvFrom(buf);
        n > 0;
        n = sock.recvFrom(buf)
      ) {
        assert.equal(sock.lastAddr, LOCAL);
        const res = reader.open(buf.subarray(0, n), (r) => {
          if (r.type === "heartbeat") got.push({ ...r });
        });
        assert.equal(res.ok, true);
      }
    };
    /** Drains until `cond` or the deadline (a bound, not a sleep: most waits end early). */
    const until = async (what: string, cond: () => boolean, ms: number) => {
      const end = performance.now() + ms;
      for (drain(); !cond(); drain()) {
        if (performance.now() > end) assert.fail(`not within ${ms} ms: ${what}`);
        await new Promise((r) => setTimeout(r, 2));
      }
    };
    try {
      const s = hbs.state;
      assert.equal(s.length, HB.size);
      s.set(filled());
      // The loop turns: keep lastTurn fresh while 5 heartbeats arrive.
      const keepTurning = setInterval(() => s[HB.lastTurn] = clock(), 5);
      try {
        s[HB.lastTurn] = clock();
        await until("5 heartbeats", () => got.length >= 5, 5000);
      } finally {
        clearInterval(keepTurning);
      }
      // It drained the lane within the last intervals: listening, not paused.
      assert.ok(clock() - s[HB.listenedAt]! < 5 * intervalMs, "the lane drained lately");
      const first = got[0]!;
      assert.equal(first.epoch, 4242);
      assert.equal(first.role, 1);
      assert.equal(first.state, 3);
      assert.equal(first.flags, 6);
      assert.equal(first.priority, 200);
      assert.equal(first.flowCount, 12345);
      assert.equal(first.tableDigestHi, 0xdeadbeef);
      assert.deepEqual([first.configDigestHi, first.configDigestLo], digestWords(DIGEST));
      // Paced by the interval, not sent in a burst.
      const span = got[4]!.sentAt - got[0]!.sentAt;
      assert.ok(span >= 4 * intervalMs * 0.8, `5 heartbeats in ${span} ms`);
      // The loop stops turning: no heartbeat is sent later than the guard after its last turn.
      const last = clock();
      s[HB.lastTurn] = last;
      const deadline = last + guardMs + 20 * intervalMs;
      await until("the guard and then some", () => clock() > deadline, 5000);
      const late = got.filter((h) => h.sentAt > last + guardMs);
      assert.deepEqual(late.map((h) => h.sentAt - last), []);
      assert.ok(got.some((h) => h.sentAt > last), "it went on for the guard");
      // The loop turns again: heartbeats resume.
      const before = got.length;
      s[HB.lastTurn] = clock();
      await until("resumed", () => got.length > before, 5000);
      // The peer's heartbeat arriving on our lane is read by the thread and published for
      // the loop, stamped with the time it was read; a forged one is counted, not published.
      const peerHb = heartbeatFrom(newHeartbeat(), filled(), 99, 1234);
      const w = new BatchWriter(KEY, 99, 512);
      w.add(peerHb);
      const dg = w.seal()!;
      const sentAt = clock();
      assert.equal(sock.sendTo(dg, dg.length, LOCAL, lane.localPort), true);
      const out = newHeartbeat();
      let read: ReturnType<typeof readPeer>;
      const end = performance.now() + 5000;
      while (!(read = readPeer(hbs.peer, hbs.seq, 0, out)) && performance.now() < end) {
        await new Promise((r) => setTimeout(r, 2));
      }
      assert.ok(read, "published");
      assert.ok(read.heardAt >= sentAt && read.heardAt <= clock());
      assert.deepEqual(out, { ...peerHb });
      assert.equal(readPeer(hbs.peer, hbs.seq, read.seq, out), undefined, "nothing newer");
      const forged = new BatchWriter(new Uint8Array(32).fill(1), 99, 512);
      forged.add(peerHb);
      const bad = forged.seal()!;
      sock.sendTo(bad, bad.length, LOCAL, lane.localPort);
      const end2 = performance.now() + 5000;
      while (Atomics.load(hbs.seq, SEQ.rejected) === 0 && performance.now() < end2) {
        await new Promise((r) => setTimeout(r, 2));
      }
      assert.equal(Atomics.load(hbs.seq, SEQ.rejected), 1);
      assert.equal(readPeer(hbs.peer, hbs.seq, read.seq, out), undefined);
    } finally {
      hbs.stop();
      assert.equal(hbs.state[HB.stop], 1);
      sock.close();
      lane.close();
    }
  },
});
