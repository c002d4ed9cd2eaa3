/**
 * The heartbeat thread (see `heartbeat.ts`): sends a heartbeat every interval from the state
 * the loop shares, and reads the peer's as they arrive, while the loop keeps turning. It
 * blocks in poll(2) between the two: nothing here waits for the loop.
 * @module
 */
/// <reference lib="deno.worker" />
import { BatchReader, BatchWriter, type PeerRecordIn } from "../peer/mod.ts";
import { openUdp, UdpPort } from "../port/udp.ts";
import { Poller } from "../port/poller.ts";
import { setThreadRealtime } from "../port/priority.ts";
import {
  HB,
  heartbeatFrom,
  type HeartbeatInit,
  newHeartbeat,
  publishPeer,
  SEQ,
} from "./heartbeat.ts";

const HEARTBEAT_RT_PRIORITY = 20;

self.onmessage = (e: MessageEvent<HeartbeatInit>) => {
  const init = e.data;
  // Like keepalived's VRRP thread: a few microseconds every interval, at real-time priority,
  // so a saturated machine never delays a heartbeat (best effort: needs CAP_SYS_NICE).
  setThreadRealtime(HEARTBEAT_RT_PRIORITY);
  const s = new Float64Array(init.shared);
  const peer = new Float64Array(init.peerShared);
  const seq = new Int32Array(init.seqShared);
  const out = openUdp(init.bindIp, 0);
  const lane = new UdpPort(init.listenFd, "heartbeat lane", 0);
  lane.countRecvErrors = true; // a bad receive loses one heartbeat, not the thread
  const poller = new Poller([lane.fd]);
  const writer = new BatchWriter(init.key, init.epoch, 512);
  const reader = new BatchReader(init.key);
  const room = new Uint8Array(2048);
  const clock = () => performance.timeOrigin + performance.now();
  const mine = newHeartbeat();
  let heardAt = 0;
  const onRecord = (rec: PeerRecordIn) => {
    if (rec.type === "heartbeat") publishPeer(peer, seq, rec, heardAt);
  };
  let next = clock();
  let lastHeard = 0;
  const keepMax = (slot: number, us: number) => {
    if (us > Atomics.load(seq, slot)) Atomics.store(seq, slot, Math.min(us, 0x7fffffff));
  };
  while (s[HB.stop] !== 1) {
    const now = clock();
    if (now >= next) {
      keepMax(SEQ.maxLateUs, Math.round((now - next) * 1000));
      // A real-time thread this late was not scheduled at all (a host or VM pause): the loop
      // must not read the peer's silence over that time as its death.
      if (now - next > init.intervalMs) Atomics.add(seq, SEQ.selfStalls, 1);
      next = Math.max(next + init.intervalMs, now);
      // A loop that stopped turning must look dead: no heartbeat past the guard.
      if (now - s[HB.lastTurn]! <= init.guardMs) {
        writer.add(heartbeatFrom(mine, s, init.epoch, now));
        const dg = writer.seal();
        if (dg) out.sendTo(dg, dg.length, init.peerIp, init.peerPort);
      }
    }
    poller.waitSync(Math.max(0, next - clock()));
    for (let i = 0; i < 16; i++) {
      const n = lane.recvFrom(room);
      if (n <= 0) break;
      // Stamped with the time of reading: the loop may be busy, the peer is not late.
      heardAt = clock();
      if (lane.lastAddr !== init.peerIp) {
        Atomics.add(seq, SEQ.rejected, 1);
        continue;
      }
      if (!reader.open(room.subarray(0, n), onRecord).ok) {
        Atomics.add(seq, SEQ.rejected, 1);
        continue;
      }
      if (lastHeard > 0) keepMax(SEQ.maxGapUs, Math.round((heardAt - lastHeard) * 1000));
      lastHeard = heardAt;
    }
    // Everything that reached the lane until now has been read: the loop may judge silence.
    s[HB.listenedAt] = clock();
  }
  out.close();
};
