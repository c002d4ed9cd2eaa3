/**
 * The heartbeat thread (see `heartbeat.ts`): seals a heartbeat every interval
 * from the state the loop shares, while the loop keeps turning.
 * @module
 */
/// <reference lib="deno.worker" />
import { BatchWriter } from "../peer/batch.ts";
import { openUdp } from "../port/udp.ts";
import { setThreadRealtime } from "../port/priority.ts";
import { HB, heartbeatFrom, type HeartbeatInit, newHeartbeat } from "./heartbeat.ts";

const HEARTBEAT_RT_PRIORITY = 20;

self.onmessage = (e: MessageEvent<HeartbeatInit>) => {
  const init = e.data;
  // Like keepalived's VRRP thread: a few microseconds every interval, at real-time priority,
  // so a saturated machine never delays a heartbeat (best effort: needs CAP_SYS_NICE).
  setThreadRealtime(HEARTBEAT_RT_PRIORITY);
  const s = new Float64Array(init.shared);
  const udp = openUdp(init.bindIp, 0);
  const writer = new BatchWriter(init.key, init.epoch, 512);
  const clock = () => performance.timeOrigin + performance.now();
  const hb = newHeartbeat();
  const beat = () => {
    if (s[HB.stop] === 1) {
      clearInterval(timer);
      udp.close();
      return;
    }
    const now = clock();
    // A loop that stopped turning must look dead: no heartbeat past the guard.
    if (now - s[HB.lastTurn]! > init.guardMs) return;
    writer.add(heartbeatFrom(hb, s, init.epoch, init.configDigest, now));
    const dg = writer.seal();
    if (dg) udp.sendTo(dg, dg.length, init.peerIp, init.peerPort);
  };
  const timer = setInterval(beat, init.intervalMs);
};
