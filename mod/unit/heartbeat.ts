/**
 * Heartbeats sent from their own thread.
 *
 * The loop's own thread can pause for a few hundred milliseconds under a
 * saturating load (kernel work done inside a TAP write, a major GC and what
 * follows it); a heartbeat that waits for it looks like a dead unit to the
 * peer (DESIGN.md: "Load on the data plane must never cause a false
 * failover"). The worker keeps sending every interval as long as the loop
 * turned within `guardMs`: a process that is frozen or killed stops both, a
 * loop that hangs stops the heartbeats after the guard.
 *
 * The loop publishes what a heartbeat says through a SharedArrayBuffer. The
 * worker seals heartbeats on a lane of their own (peer port + 2) with its own
 * batch sequence; the peer's loop reads that lane first.
 * @module
 */
import type { HeartbeatRecord } from "../peer/records.ts";
import { digestWords } from "../config/digest.ts";

/** Slots of the shared Float64Array. */
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
  size: 11,
} as const;

export interface HeartbeatInit {
  /** Source address (an ephemeral port is used). */
  bindIp: number;
  peerIp: number;
  peerPort: number;
  key: Uint8Array;
  epoch: number;
  intervalMs: number;
  guardMs: number;
  configDigest: string;
  shared: SharedArrayBuffer;
}

/**
 * Fills `hb` with the heartbeat the shared state describes (the worker reuses one record;
 * tests call it too). `flags` are the `HB_*` bits of `peer/records.ts`.
 */
export function heartbeatFrom(
  hb: HeartbeatRecord,
  s: Float64Array,
  epoch: number,
  configDigest: string,
  now: number,
): HeartbeatRecord {
  const [hi, lo] = digestWords(configDigest);
  const echoSentAt = s[HB.echoSentAt]!;
  hb.role = s[HB.role]!;
  hb.state = s[HB.state]!;
  hb.flags = s[HB.flags]!;
  hb.priority = s[HB.priority]!;
  hb.epoch = epoch;
  hb.configDigestHi = hi;
  hb.configDigestLo = lo;
  hb.flowCount = s[HB.flowCount]!;
  hb.tableDigestHi = s[HB.digestHi]!;
  hb.tableDigestLo = s[HB.digestLo]!;
  hb.sentAt = now;
  hb.echoSentAt = echoSentAt;
  hb.echoHeldMs = echoSentAt > 0 ? Math.max(0, now - s[HB.echoHeardAt]!) : 0;
  return hb;
}

/** An empty heartbeat record to refill. */
export function newHeartbeat(): HeartbeatRecord {
  return {
    type: "heartbeat",
    role: 0,
    state: 0,
    flags: 0,
    priority: 0,
    configDigestHi: 0,
    configDigestLo: 0,
    flowCount: 0,
    tableDigestHi: 0,
    tableDigestLo: 0,
    sentAt: 0,
    echoSentAt: 0,
    echoHeldMs: 0,
    epoch: 0,
  };
}

/** What the loop does with heartbeats it does not send itself. */
export interface HeartbeatSender {
  /** The shared state the loop updates every turn. */
  readonly state: Float64Array;
  stop(): void;
}

/** Starts the heartbeat worker. */
export function startHeartbeatWorker(init: Omit<HeartbeatInit, "shared">): HeartbeatSender {
  const shared = new SharedArrayBuffer(HB.size * 8);
  const state = new Float64Array(shared);
  const worker = new Worker(new URL("./heartbeat_worker.ts", import.meta.url).href, {
    type: "module",
  });
  worker.postMessage({ ...init, shared } satisfies HeartbeatInit);
  return {
    state,
    stop() {
      state[HB.stop] = 1;
      worker.terminate();
    },
  };
}
