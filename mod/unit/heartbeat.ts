/**
 * Heartbeats sent and received by a thread of their own.
 *
 * The loop's own thread can pause for tens or hundreds of milliseconds under a saturating load
 * (kernel work inside a TAP write, a major GC, a busy machine); a heartbeat that waits for it
 * looks like a dead unit to the peer, and a peer's heartbeat read late by it looks like a dead
 * peer (DESIGN.md: "Load on the data plane, busy cores … must never cause a false failover").
 * So a worker thread, at real-time priority where allowed (as keepalived's VRRP thread), does
 * both: it sends a heartbeat every interval as long as the loop turned within `guardMs` (a
 * frozen or killed process stops both, a loop that hangs stops the heartbeats after the
 * guard), and it reads the peer's heartbeats the moment they arrive, stamping each with the
 * time it was read.
 *
 * The two threads share a SharedArrayBuffer: the loop publishes what our heartbeat says (`HB`
 * slots) and the worker publishes the peer's latest heartbeat (`PEER` slots) under a sequence
 * lock, so the loop never reads a half-written one.
 * @module
 */
import { type HeartbeatRecord, newHeartbeat } from "../peer/records.ts";

export { newHeartbeat };

/** Slots of the shared Float64Array the loop writes (our heartbeat). */
export const HB = {
  lastTurn: 0,
  role: 1,
  state: 2,
  flags: 3,
  priority: 4,
  flowCount: 5,
  digestHi: 6,
  digestLo: 7,
  echoSentAt: 8,
  echoHeardAt: 9,
  stop: 10,
  dataAck: 11,
  dataTop: 12,
  /** The config digest's halves: a reload changes it while the thread runs. */
  configHi: 13,
  configLo: 14,
  /** The epoch of the peer boot we are paired with (0: none). */
  pairedEpoch: 15,
  /** Written by the thread: when it last drained the heartbeat lane (wall ms; 0: not yet). */
  listenedAt: 16,
  size: 17,
} as const;

/** A thread silent for longer than this is broken, not paused: silence is judged again. */
export const THREAD_PAUSE_MAX_MS = 1000;

/**
 * Whether the thread is paused now: it drains the heartbeat lane at least every interval, at
 * real-time priority, so a drain more than two intervals old means it was not running (a paused
 * VM or host). The peer's silence over such a gap is not the peer's, and the loop must not judge
 * it (`Pair.selfStalled`). Bounded: a thread silent past {@link THREAD_PAUSE_MAX_MS} counts as
 * broken, so a peer's death is still seen. False before the first drain.
 */
export function threadPaused(state: Float64Array, now: number, intervalMs: number): boolean {
  const at = state[HB.listenedAt]!, gap = now - at;
  return at > 0 && gap > 2 * intervalMs && gap <= THREAD_PAUSE_MAX_MS;
}

/** Slots of the shared Float64Array the worker writes (the peer's latest heartbeat). */
export const PEER = {
  heardAt: 0,
  role: 1,
  state: 2,
  flags: 3,
  priority: 4,
  configHi: 5,
  configLo: 6,
  flowCount: 7,
  digestHi: 8,
  digestLo: 9,
  sentAt: 10,
  echoSentAt: 11,
  echoHeldMs: 12,
  epoch: 13,
  dataAck: 14,
  dataTop: 15,
  pairedEpoch: 16,
  size: 17,
} as const;

/**
 * Int32 slots: the sequence lock over PEER (odd while the worker writes), and counters: datagrams
 * rejected, the longest a heartbeat went out after it was due and the longest gap between two
 * heartbeats heard (both µs, since start): where a false failover's time went.
 */
export const SEQ = {
  peer: 0,
  rejected: 1,
  maxLateUs: 2,
  maxGapUs: 3,
  /** Times the thread woke more than an interval late: this host was not running it. */
  selfStalls: 4,
  size: 5,
} as const;

export interface HeartbeatInit {
  /** Source address (an ephemeral port is used). */
  bindIp: number;
  peerIp: number;
  peerPort: number;
  /** The bound socket of our heartbeat lane (listen port + 2), read by the worker. */
  listenFd: number;
  key: Uint8Array;
  epoch: number;
  intervalMs: number;
  guardMs: number;
  shared: SharedArrayBuffer;
  peerShared: SharedArrayBuffer;
  seqShared: SharedArrayBuffer;
}

/**
 * Fills `hb` with the heartbeat the shared state describes (the worker reuses one record;
 * tests call it too). `flags` are the `HB_*` bits of `peer/records.ts`.
 */
export function heartbeatFrom(
  hb: HeartbeatRecord,
  s: Float64Array,
  epoch: number,
  now: number,
): HeartbeatRecord {
  const echoSentAt = s[HB.echoSentAt]!;
  hb.role = s[HB.role]!;
  hb.state = s[HB.state]!;
  hb.flags = s[HB.flags]!;
  hb.priority = s[HB.priority]!;
  hb.epoch = epoch;
  hb.configDigestHi = s[HB.configHi]!;
  hb.configDigestLo = s[HB.configLo]!;
  hb.flowCount = s[HB.flowCount]!;
  hb.tableDigestHi = s[HB.digestHi]!;
  hb.tableDigestLo = s[HB.digestLo]!;
  hb.sentAt = now;
  hb.echoSentAt = echoSentAt;
  hb.echoHeldMs = echoSentAt > 0 ? Math.max(0, now - s[HB.echoHeardAt]!) : 0;
  hb.dataAck = s[HB.dataAck]!;
  hb.dataTop = s[HB.dataTop]!;
  hb.pairedEpoch = s[HB.pairedEpoch]!;
  return hb;
}

/** Publishes a received heartbeat for the loop (the worker side of the sequence lock). */
export function publishPeer(
  peer: Float64Array,
  seq: Int32Array,
  hb: HeartbeatRecord,
  heardAt: number,
): void {
  Atomics.add(seq, SEQ.peer, 1); // odd: writing
  peer[PEER.heardAt] = heardAt;
  peer[PEER.role] = hb.role;
  peer[PEER.state] = hb.state;
  peer[PEER.flags] = hb.flags;
  peer[PEER.priority] = hb.priority;
  peer[PEER.configHi] = hb.configDigestHi;
  peer[PEER.configLo] = hb.configDigestLo;
  peer[PEER.flowCount] = hb.flowCount;
  peer[PEER.digestHi] = hb.tableDigestHi;
  peer[PEER.digestLo] = hb.tableDigestLo;
  peer[PEER.sentAt] = hb.sentAt;
  peer[PEER.echoSentAt] = hb.echoSentAt;
  peer[PEER.echoHeldMs] = hb.echoHeldMs;
  peer[PEER.epoch] = hb.epoch;
  peer[PEER.dataAck] = hb.dataAck;
  peer[PEER.dataTop] = hb.dataTop;
  peer[PEER.pairedEpoch] = hb.pairedEpoch;
  Atomics.add(seq, SEQ.peer, 1); // even: done
}

/**
 * Reads the peer's latest heartbeat into `hb` when one newer than `lastSeq` is there. Returns
 * its sequence (to pass next time) and the time it was heard, or undefined when nothing new.
 */
export function readPeer(
  peer: Float64Array,
  seq: Int32Array,
  lastSeq: number,
  hb: HeartbeatRecord,
): { seq: number; heardAt: number } | undefined {
  for (let tries = 0; tries < 100; tries++) {
    const before = Atomics.load(seq, SEQ.peer);
    if (before === lastSeq) return undefined;
    if (before & 1) continue; // the worker is writing
    const heardAt = peer[PEER.heardAt]!;
    hb.role = peer[PEER.role]!;
    hb.state = peer[PEER.state]!;
    hb.flags = peer[PEER.flags]!;
    hb.priority = peer[PEER.priority]!;
    hb.configDigestHi = peer[PEER.configHi]!;
    hb.configDigestLo = peer[PEER.configLo]!;
    hb.flowCount = peer[PEER.flowCount]!;
    hb.tableDigestHi = peer[PEER.digestHi]!;
    hb.tableDigestLo = peer[PEER.digestLo]!;
    hb.sentAt = peer[PEER.sentAt]!;
    hb.echoSentAt = peer[PEER.echoSentAt]!;
    hb.echoHeldMs = peer[PEER.echoHeldMs]!;
    hb.epoch = peer[PEER.epoch]!;
    hb.dataAck = peer[PEER.dataAck]!;
    hb.dataTop = peer[PEER.dataTop]!;
    hb.pairedEpoch = peer[PEER.pairedEpoch]!;
    if (Atomics.load(seq, SEQ.peer) === before) return { seq: before, heardAt };
  }
  return undefined;
}

/** What the loop sees of the heartbeat thread. */
export interface HeartbeatThread {
  /** Our heartbeat: the loop updates it every turn. */
  readonly state: Float64Array;
  /** The peer's latest heartbeat, written by the thread (read with {@link readPeer}). */
  readonly peer: Float64Array;
  readonly seq: Int32Array;
  stop(): void;
}

/** Starts the heartbeat thread. */
export function startHeartbeatWorker(
  init: Omit<HeartbeatInit, "shared" | "peerShared" | "seqShared">,
): HeartbeatThread {
  const shared = new SharedArrayBuffer(HB.size * 8);
  const peerShared = new SharedArrayBuffer(PEER.size * 8);
  const seqShared = new SharedArrayBuffer(SEQ.size * 4);
  const state = new Float64Array(shared);
  const worker = new Worker(new URL("./heartbeat_worker.ts", import.meta.url).href, {
    type: "module",
  });
  worker.postMessage({ ...init, shared, peerShared, seqShared } satisfies HeartbeatInit);
  return {
    state,
    peer: new Float64Array(peerShared),
    seq: new Int32Array(seqShared),
    stop() {
      state[HB.stop] = 1;
      worker.terminate();
    },
  };
}
