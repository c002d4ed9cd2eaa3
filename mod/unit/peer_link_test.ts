/**
 * The peer link over real UDP sockets on 127.0.0.1 (no root needed): lanes, order, acks and
 * holds, and the counters for what is rejected.
 */
import assert from "node:assert/strict";
import { decodeRow, type FlowEntry, MIRROR_ROW, SYNC_ROW } from "../flow/fields.ts";
import { ST_TCP_ESTABLISHED } from "../flow/states.ts";
import { FlowTable } from "../flow/table.ts";
import { MF_NO_FLOW, MF_RELAY, type MirrorOut } from "../engine/output.ts";
import {
  BatchReader,
  BatchWriter,
  CTRL_FAILOVER_REQUEST,
  CTRL_SYNC_BEGIN,
  CTRL_SYNC_END,
  CTRL_SYNC_PROGRESS,
  CTRL_SYNC_REQUEST,
  CTRL_TAKEOVER,
  type PeerRecordIn,
  type PeerRecordOut,
} from "../peer/mod.ts";
import { libc } from "../port/ffi.ts";
import { openUdp, type UdpPort } from "../port/udp.ts";
import { newHeartbeat } from "./heartbeat.ts";
import { MAX_DATAGRAM, MAX_MIRROR_FRAME, PeerLink } from "./peer_link.ts";
import { LOCAL, openLanes } from "./test_util.ts";

// Load libc before the tests: the sanitizer counts a library opened inside a test as a leak.
libc();

const OTHER = 0x7f000002; // 127.0.0.2: loopback, but not the peer's address
const KEY = new TextEncoder().encode("peer link test key, 32 bytes!!!");
const WRONG_KEY = new TextEncoder().encode("not the key the peer link uses!!");

/** A frame with recognisable bytes. */
function frameOf(len: number, seed: number): Uint8Array {
  const f = new Uint8Array(len);
  for (let i = 0; i < len; i++) f[i] = (i * 31 + seed) & 255;
  return f;
}

interface Sent {
  iface: number;
  frame: Uint8Array;
  vnet: Uint8Array | null;
}

/** Both ends of a link, each with its own flow table and a record of frames it sent. */
class Ends {
  readonly a: PeerLink;
  readonly b: PeerLink;
  readonly aSocks: ReturnType<typeof openLanes>;
  readonly bSocks: ReturnType<typeof openLanes>;
  readonly aFlows = new FlowTable(64);
  readonly bFlows = new FlowTable(64);
  readonly aSent: Sent[] = [];
  readonly bSent: Sent[] = [];

  constructor(holdMs = 20) {
    this.aSocks = openLanes();
    this.bSocks = openLanes();
    const record =
      (into: Sent[]) =>
      (iface: number, buf: Uint8Array, off: number, end: number, vnet: Uint8Array | null) => {
        into.push({ iface, frame: buf.slice(off, end), vnet: vnet && vnet.slice() });
        return true;
      };
    this.a = new PeerLink(
      this.aSocks,
      { ip: LOCAL, port: this.bSocks.base, key: KEY, epoch: 1000, holdMs },
      this.aFlows,
      record(this.aSent),
    );
    this.b = new PeerLink(
      this.bSocks,
      { ip: LOCAL, port: this.aSocks.base, key: KEY, epoch: 2000, holdMs },
      this.bFlows,
      record(this.bSent),
    );
  }

  close(): void {
    for (const s of [...this.aSocks.all, ...this.bSocks.all]) s.close();
  }
}

/** What a drained record said, copied out of the reused record object. */
type Seen =
  | {
    type: "mirror";
    mseq: number;
    flags: number;
    time: number;
    ingress: number;
    egress: number;
    frame: number[];
    row: FlowEntry;
  }
  | { type: "flow"; row: FlowEntry }
  | { type: "control"; op: number; arg: number; data: number[] }
  | { type: "ack"; mseq: number }
  | {
    type: "expire";
    proto: number;
    srcIp: number;
    srcPort: number;
    dstIp: number;
    dstPort: number;
  }
  | { type: "heartbeat"; sentAt: number };

function copyOut(rec: PeerRecordIn): Seen {
  const scratch = new FlowTable(1);
  switch (rec.type) {
    case "mirror":
      scratch.clearRow(0);
      decodeRow(scratch.cols, MIRROR_ROW, 0, rec.view, rec.rowOff);
      return {
        type: "mirror",
        mseq: rec.mseq,
        flags: rec.flags,
        time: rec.time,
        ingress: rec.ingress,
        egress: rec.egress,
        frame: [...rec.buf.subarray(rec.frameOff, rec.frameEnd)],
        row: scratch.entry(0),
      };
    case "flow":
      decodeRow(scratch.cols, SYNC_ROW, 0, rec.view, rec.rowOff);
      return { type: "flow", row: scratch.entry(0) };
    case "control":
      return {
        type: "control",
        op: rec.op,
        arg: rec.arg,
        data: [...rec.buf.subarray(rec.dataOff, rec.dataEnd)],
      };
    case "ack":
      return { type: "ack", mseq: rec.mseq };
    case "expire":
      return {
        type: "expire",
        proto: rec.proto,
        srcIp: rec.srcIp,
        srcPort: rec.srcPort,
        dstIp: rec.dstIp,
        dstPort: rec.dstPort,
      };
    case "heartbeat":
      return { type: "heartbeat", sentAt: rec.sentAt };
  }
}

/** Drains `link` until `want` records arrived (bounded), then once more to be sure. */
async function drainUntil(link: PeerLink, want: number, limitMs = 2000): Promise<Seen[]> {
  const seen: Seen[] = [];
  const deadline = performance.now() + limitMs;
  while (seen.length < want) {
    link.drain((r) => seen.push(copyOut(r)), 0);
    if (seen.length >= want) break;
    if (performance.now() > deadline) {
      assert.fail(`only ${seen.length} of ${want} records within ${limitMs} ms`);
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  link.drain((r) => seen.push(copyOut(r)), 0);
  return seen;
}

/** Reads every datagram waiting on a raw socket and opens it with a reader of its own. */
async function readLane(sock: UdpPort, reader: BatchReader, want: number): Promise<Seen[]> {
  const room = new Uint8Array(65536);
  const seen: Seen[] = [];
  const deadline = performance.now() + 2000;
  while (seen.length < want) {
    const n = sock.recvFrom(room);
    if (n > 0) {
      const res = reader.open(room.subarray(0, n), (r) => seen.push(copyOut(r)));
      assert.equal(res.ok, true);
      continue;
    }
    if (performance.now() > deadline) assert.fail(`only ${seen.length} of ${want} records`);
    await new Promise((r) => setTimeout(r, 1));
  }
  assert.equal(sock.recvFrom(room), 0, "nothing more on this lane");
  return seen;
}

function addFlow(ft: FlowTable, i: number): number {
  const f = ft.addEntry({
    proto: 6,
    state: ST_TCP_ESTABLISHED,
    service: 1,
    backend: i & 1,
    oSrc: 0xc6336402,
    oSport: 40000 + i,
    oDst: 0xc633640a,
    oDport: 7000,
    rSrc: 0xcb007114,
    rSport: 7000,
    rDst: 0xc6336402,
    rDport: 40000 + i,
    seqOffset: 0x01020304 + i,
    tcpBits: 3,
    oSeqNext: 1000 + i,
    oAck: 2000 + i,
    oWin: 512,
    oTsVal: 77 + i,
    oTsEcr: 88,
    rSeqNext: 3000,
    rAck: 4000,
    rWin: 1024,
    rTsVal: 99,
    rTsEcr: 100,
    packets: 5 + i,
    bytes: 1500.5,
    created: 1_700_000_000_000.25,
    lastSeen: 1_700_000_000_100.75,
  });
  assert.ok(f >= 0);
  return f;
}

function mirrorOf(ft: FlowTable, flow: number, frame: Uint8Array, flags = 1): MirrorOut {
  return {
    flags,
    time: 1_700_000_000_555.5,
    ingress: 0,
    egress: 1,
    nextHop: new Uint8Array([2, 0, 0, 0, 0, 0x20]),
    flows: ft,
    flow,
    frame,
    frameOff: 0,
    frameEnd: frame.length,
    vnet: new Uint8Array(10),
  };
}

const BASE_COUNTERS = {
  drop_peer_bad_record: 0,
  drop_peer_truncated: 0,
  drop_peer_bad_magic: 0,
  drop_peer_bad_version: 0,
  drop_peer_bad_mac: 0,
  drop_peer_replay: 0,
  drop_peer_stale_epoch: 0,
  drop_peer_malformed: 0,
  peer_tx_full: 0,
  peer_rx_errors: 0,
  drop_peer_wrong_source: 0,
  peer_duplicate_batches: 0,
  drop_mirror_too_big: 0,
  hold_timeouts: 0,
  peer_nacks_sent: 0,
  peer_batches_recovered: 0,
  drop_peer_batches_lost: 0,
  peer_batches_resent: 0,
  drop_peer_resend_missed: 0,
  drop_replay_evicted: 0,
  peer_batches_unconfirmed: 0,
};

Deno.test("mirror records, sync entries and expiries arrive at the peer in order, intact", async () => {
  const e = new Ends();
  try {
    const flows = [0, 1, 2, 3].map((i) => addFlow(e.aFlows, i));
    const want: string[] = [];
    // Interleave: BEGIN, entries and mirrors, an expiry, END; all on the data lane.
    e.a.control(CTRL_SYNC_BEGIN, 4);
    want.push("control:2:4");
    for (let i = 0; i < 4; i++) {
      const mseq = e.a.mirror(mirrorOf(e.aFlows, flows[i]!, frameOf(60 + i, i)));
      assert.equal(mseq, i + 1, "mirror sequence numbers count from 1");
      want.push(`mirror:${mseq}`);
      e.a.flow(flows[i]!);
      want.push(`flow:${40000 + i}`);
    }
    e.a.expire(e.aFlows, flows[2]!);
    want.push("expire");
    e.a.control(CTRL_SYNC_END, 4);
    want.push("control:3:4");
    e.a.flush();
    const seen = await drainUntil(e.b, want.length);
    assert.deepEqual(
      seen.map((s) =>
        s.type === "mirror"
          ? `mirror:${s.mseq}`
          : s.type === "flow"
          ? `flow:${s.row.oSport}`
          : s.type === "control"
          ? `control:${s.op}:${s.arg}`
          : s.type
      ),
      want,
    );
    // Every field arrives as sent: the mirrored decisions in MIRROR, all of them in FLOW.
    const m0 = seen[1]!, f0 = seen[2]!;
    assert.equal(m0.type, "mirror");
    assert.equal(f0.type, "flow");
    if (m0.type === "mirror" && f0.type === "flow") {
      assert.deepEqual(m0.frame, [...frameOf(60, 0)]);
      assert.equal(m0.flags, 1);
      assert.equal(m0.time, 1_700_000_000_555.5);
      const src = e.aFlows.entry(flows[0]!);
      for (const k of Object.keys(src) as (keyof FlowEntry)[]) {
        assert.equal(f0.row[k], src[k], `FLOW ${k}`);
      }
      assert.equal(m0.row.seqOffset, src.seqOffset);
      assert.equal(m0.row.oSport, src.oSport);
      assert.equal(m0.row.packets, 0, "counters do not travel in MIRROR");
    }
    const ex = seen.find((s) => s.type === "expire");
    assert.deepEqual(ex, {
      type: "expire",
      proto: 6,
      srcIp: 0xc6336402,
      srcPort: 40002,
      dstIp: 0xc633640a,
      dstPort: 7000,
    });
    assert.deepEqual(e.b.counters(), BASE_COUNTERS);
  } finally {
    e.close();
  }
});

Deno.test("a long stream spans many datagrams and still arrives in order", async () => {
  const e = new Ends();
  try {
    const f = addFlow(e.aFlows, 0);
    const n = 3000;
    for (let i = 0; i < n; i++) {
      e.a.mirror(mirrorOf(e.aFlows, f, frameOf(100, i)));
      if (i % 500 === 499) e.a.flush();
    }
    e.a.flush();
    const seen = await drainUntil(e.b, n);
    assert.equal(seen.length, n);
    assert.deepEqual(
      seen.map((s) => s.type === "mirror" ? s.mseq : -1),
      Array.from({ length: n }, (_, i) => i + 1),
    );
  } finally {
    e.close();
  }
});

Deno.test("lanes: sync begin/end with the data, other control and heartbeats on control", async () => {
  const a = openLanes();
  const peer = openLanes(); // raw sockets standing in for the peer
  try {
    const ft = new FlowTable(8);
    const f = addFlow(ft, 0);
    const link = new PeerLink(
      a,
      { ip: LOCAL, port: peer.base, key: KEY, epoch: 1, holdMs: 0 },
      ft,
      () => true,
    );
    link.control(CTRL_SYNC_BEGIN, 9);
    link.control(CTRL_SYNC_REQUEST, 0);
    link.control(CTRL_SYNC_PROGRESS, 17);
    link.mirror(mirrorOf(ft, f, frameOf(64, 1)));
    link.control(CTRL_FAILOVER_REQUEST, 0);
    link.flow(f);
    link.control(CTRL_TAKEOVER, 0, new Uint8Array([7, 8]));
    link.expire(ft, f);
    const hb = newHeartbeat();
    hb.sentAt = 4242;
    link.send(hb);
    link.control(CTRL_SYNC_END, 1);
    link.flush();
    const data = await readLane(peer.data, new BatchReader(KEY), 5);
    assert.deepEqual(
      data.map((s) => s.type === "control" ? `control:${s.op}:${s.arg}` : s.type),
      ["control:2:9", "mirror", "flow", "expire", "control:3:1"],
    );
    const ctl = await readLane(peer.control, new BatchReader(KEY), 5);
    assert.deepEqual(ctl, [
      { type: "control", op: CTRL_SYNC_REQUEST, arg: 0, data: [] },
      { type: "control", op: CTRL_SYNC_PROGRESS, arg: 17, data: [] },
      { type: "control", op: CTRL_FAILOVER_REQUEST, arg: 0, data: [] },
      { type: "control", op: CTRL_TAKEOVER, arg: 0, data: [7, 8] },
      { type: "heartbeat", sentAt: 4242 },
    ]);
    assert.equal(peer.hbLane.recvFrom(new Uint8Array(100)), 0, "the link never writes +2");
    assert.deepEqual(link.fds, [a.control.fd, a.data.fd]);
  } finally {
    for (const s of [...a.all, ...peer.all]) s.close();
  }
});

Deno.test("a link without a heartbeat socket polls two fds", () => {
  const a = openLanes();
  try {
    const link = new PeerLink(
      { data: a.data, control: a.control },
      { ip: LOCAL, port: 9, key: KEY, epoch: 1, holdMs: 0 },
      new FlowTable(1),
      () => true,
    );
    assert.deepEqual(link.fds, [a.control.fd, a.data.fd]);
    assert.equal(link.drain(() => {}, 0), 0, "nothing waiting: nothing read");
  } finally {
    for (const s of a.all) s.close();
  }
});

Deno.test("drain reads control first, then data, 8 datagrams per lane; never the heartbeat lane", async () => {
  const b = openLanes();
  const src = openUdp(LOCAL, 0);
  try {
    const ft = new FlowTable(4);
    const link = new PeerLink(
      b,
      { ip: LOCAL, port: 9, key: KEY, epoch: 1, holdMs: 0 },
      ft,
      () => true,
    );
    // Each lane has its own batch sequence, as the peer's writers do.
    const lanes = [
      {
        port: b.base,
        w: new BatchWriter(KEY, 5),
        n: 10,
        mk: (i: number) => ({ type: "ack", mseq: 100 + i }),
      },
      {
        port: b.base + 1,
        w: new BatchWriter(KEY, 5),
        n: 3,
        mk: (i: number) => ({ type: "ack", mseq: 200 + i }),
      },
      {
        port: b.base + 2,
        w: new BatchWriter(KEY, 5),
        n: 2,
        mk: (i: number) => ({ type: "ack", mseq: 300 + i }),
      },
    ] as const;
    // Data is written first, heartbeats last.
    for (const lane of lanes) {
      for (let i = 0; i < lane.n; i++) {
        lane.w.add(lane.mk(i) as PeerRecordOut);
        const dg = lane.w.seal()!;
        assert.equal(src.sendTo(dg, dg.length, LOCAL, lane.port), true);
      }
    }
    const order: number[] = [];
    const deadline = performance.now() + 2000;
    let first = 0;
    while (first === 0 && performance.now() < deadline) {
      first = link.drain((r) => r.type === "ack" && order.push(r.mseq), 0);
      if (first === 0) await new Promise((r) => setTimeout(r, 1));
    }
    // Loopback delivers at once: the first drain found everything waiting.
    assert.equal(first, 3 + 8, "8 per lane at most");
    assert.deepEqual(order, [200, 201, 202, 100, 101, 102, 103, 104, 105, 106, 107]);
    assert.equal(link.drain((r) => r.type === "ack" && order.push(r.mseq), 0), 2);
    assert.deepEqual(order.slice(11), [108, 109]);
    assert.equal(link.drain(() => {}, 0), 0);
    assert.ok(b.hbLane.recvFrom(new Uint8Array(2048)) > 0, "the heartbeat lane is left unread");
  } finally {
    for (const s of [...b.all, src]) s.close();
  }
});

Deno.test("acks: wantAck queues one ACK after drain, for the highest mseq, once", async () => {
  const e = new Ends();
  try {
    // Nothing applied yet: draining and flushing acks nothing.
    e.b.drain(() => {}, 0);
    e.b.flush();
    e.b.wantAck(3);
    e.b.wantAck(7);
    e.b.wantAck(5); // lower: no effect
    assert.equal(e.b.drain(() => {}, 0), 0);
    e.b.flush();
    assert.deepEqual(await drainUntil(e.a, 1), [{ type: "ack", mseq: 7 }]);
    // Nothing new wanted: no second ACK.
    e.b.drain(() => {}, 0);
    e.b.wantAck(7);
    e.b.drain(() => {}, 0);
    e.b.flush();
    e.b.wantAck(8);
    e.b.flush();
    e.b.drain(() => {}, 0);
    e.b.flush();
    assert.deepEqual(await drainUntil(e.a, 1), [{ type: "ack", mseq: 8 }]);
  } finally {
    e.close();
  }
});

Deno.test("holds: a held frame is sent only once acked", () => {
  const sent: Sent[] = [];
  const a = openLanes();
  try {
    const link = new PeerLink(
      a,
      { ip: LOCAL, port: 9, key: KEY, epoch: 1, holdMs: 20 },
      new FlowTable(1),
      (iface, buf, off, end, vnet) => {
        sent.push({ iface, frame: buf.slice(off, end), vnet: vnet && vnet.slice() });
        return true;
      },
    );
    assert.equal(link.holdDeadline(), Infinity);
    const buf = frameOf(100, 9);
    const vnet = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    link.hold(1, buf, 10, 70, vnet, 5, 1000);
    link.hold(0, buf, 0, 30, vnet, 6, 1005);
    // The caller's buffers are reused: the hold keeps copies.
    buf.fill(0);
    vnet.fill(0);
    assert.equal(link.holding, 2);
    assert.equal(link.holdDeadline(), 1020);
    link.release(4, 1010);
    assert.equal(sent.length, 0, "mseq 4 acks neither");
    link.release(5, 1010);
    assert.equal(sent.length, 1);
    assert.equal(sent[0]!.iface, 1);
    assert.deepEqual(sent[0]!.frame, frameOf(100, 9).slice(10, 70));
    assert.deepEqual(sent[0]!.vnet, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]));
    assert.equal(link.holding, 1);
    assert.equal(link.holdDeadline(), 1025);
    link.release(5, 1011);
    assert.equal(sent.length, 1, "each frame is released once");
    link.release(100, 1012);
    assert.equal(sent.length, 2);
    assert.equal(sent[1]!.iface, 0);
    assert.deepEqual(sent[1]!.frame, frameOf(100, 9).slice(0, 30));
    assert.equal(link.holding, 0);
    assert.equal(link.released, 2);
    assert.equal(link.holdTimeouts, 0);
    assert.equal(link.holdDeadline(), Infinity);
  } finally {
    for (const s of a.all) s.close();
  }
});

Deno.test("holds: without an ack a held frame goes out exactly at its deadline", () => {
  const sent: number[] = [];
  const a = openLanes();
  try {
    const link = new PeerLink(
      a,
      { ip: LOCAL, port: 9, key: KEY, epoch: 1, holdMs: 20 },
      new FlowTable(1),
      (_i, buf, off) => {
        sent.push(buf[off]!);
        return true;
      },
    );
    const v = new Uint8Array(10);
    link.hold(0, new Uint8Array([11]), 0, 1, v, 1, 1000);
    link.hold(0, new Uint8Array([12]), 0, 1, v, 2, 1010);
    link.hold(0, new Uint8Array([13]), 0, 1, v, 3, 1001);
    assert.equal(link.holdDeadline(), 1020);
    link.release(0, 1019.9);
    assert.deepEqual(sent, []);
    link.release(0, 1020);
    assert.deepEqual(sent, [11]);
    assert.equal(link.holdDeadline(), 1021);
    link.release(0, 1021);
    assert.deepEqual(sent, [11, 13], "the later deadline waits; held order is kept otherwise");
    assert.equal(link.holding, 1);
    link.release(0, 1030);
    assert.deepEqual(sent, [11, 13, 12]);
    assert.equal(link.holdTimeouts, 3);
    assert.equal(link.released, 3);
    assert.equal(link.counters().hold_timeouts, 3);
  } finally {
    for (const s of a.all) s.close();
  }
});

Deno.test("ack and hold end to end: the frame leaves when the peer's ACK arrives", async () => {
  const e = new Ends(1000);
  try {
    const f = addFlow(e.aFlows, 0);
    const frame = frameOf(80, 3);
    const mseq = e.a.mirror(mirrorOf(e.aFlows, f, frame, 1 | 2));
    e.a.hold(1, frame, 0, frame.length, new Uint8Array(10), mseq, performance.now());
    e.a.flush();
    // The peer applies the mirror record and wants to ack it (MF_WANT_ACK).
    const got = await drainUntil(e.b, 1);
    assert.equal(got[0]!.type, "mirror");
    if (got[0]!.type === "mirror") e.b.wantAck(got[0]!.mseq);
    e.b.drain(() => {}, 0);
    e.b.flush();
    assert.equal(e.aSent.length, 0);
    const acks: number[] = [];
    const deadline = performance.now() + 2000;
    while (e.aSent.length === 0 && performance.now() < deadline) {
      e.a.drain((r) => {
        if (r.type === "ack") {
          acks.push(r.mseq);
          e.a.release(r.mseq, performance.now());
        }
      }, 0);
      await new Promise((r) => setTimeout(r, 1));
    }
    assert.deepEqual(acks, [1]);
    assert.equal(e.aSent.length, 1);
    assert.deepEqual(e.aSent[0]!.frame, frame);
    assert.equal(e.a.holdTimeouts, 0, "released by the ack, not the bound");
  } finally {
    e.close();
  }
});

Deno.test("the largest mirrorable frame crosses; one byte more is refused and counted", async () => {
  const e = new Ends();
  try {
    assert.equal(MAX_DATAGRAM, 65507);
    // Room for the batch header (28), its tag (16), a record header (3) and the MIRROR fields
    // (at most 128). A TCP GSO frame stays below it: 45 segments of 1448 bytes and headers.
    assert.equal(MAX_MIRROR_FRAME, 65507 - 28 - 16 - 3 - 128);
    const f = addFlow(e.aFlows, 0);
    assert.equal(e.a.mirror(mirrorOf(e.aFlows, f, frameOf(MAX_MIRROR_FRAME + 1, 1))), 0);
    assert.equal(e.a.tooBig, 1);
    const big = frameOf(MAX_MIRROR_FRAME, 2);
    // The frame sits inside a larger buffer, as it does in the engine's receive buffer.
    const buf = new Uint8Array(100 + MAX_MIRROR_FRAME + 50);
    buf.set(big, 100);
    const rec = { ...mirrorOf(e.aFlows, f, buf), frameOff: 100, frameEnd: 100 + big.length };
    assert.equal(e.a.mirror(rec), 1, "a refusal takes no sequence number");
    e.a.flush();
    const seen = await drainUntil(e.b, 1);
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.type, "mirror");
    if (seen[0]!.type === "mirror") {
      assert.equal(seen[0]!.frame.length, MAX_MIRROR_FRAME);
      assert.deepEqual(seen[0]!.frame, [...big]);
    }
    assert.equal(e.a.counters().drop_mirror_too_big, 1);
    assert.equal(e.a.mirror(mirrorOf(e.aFlows, f, frameOf(64, 3))), 2);
  } finally {
    e.close();
  }
});

Deno.test("counters: forged, replayed, stale and strangers' datagrams are dropped and counted", async () => {
  const b = openLanes();
  const src = openUdp(LOCAL, 0);
  const stranger = openUdp(OTHER, 0);
  try {
    const link = new PeerLink(
      b,
      { ip: LOCAL, port: 9, key: KEY, epoch: 1, holdMs: 0 },
      new FlowTable(1),
      () => true,
    );
    assert.deepEqual(link.counters(), BASE_COUNTERS);
    const seen: number[] = [];
    const drainAll = async (want: number) => {
      let n = 0;
      const deadline = performance.now() + 2000;
      while (n < want && performance.now() < deadline) {
        n += link.drain((r) => r.type === "ack" && seen.push(r.mseq), 0);
        if (n < want) await new Promise((r) => setTimeout(r, 1));
      }
      assert.equal(n, want);
    };
    const sealed = (w: BatchWriter, mseq: number) => {
      w.add({ type: "ack", mseq });
      return w.flush()!;
    };
    const good = new BatchWriter(KEY, 50);
    // A forged batch (wrong key) on the data lane.
    const forged = sealed(new BatchWriter(WRONG_KEY, 50), 1);
    src.sendTo(forged, forged.length, LOCAL, b.base);
    // An authentic batch from the wrong address.
    const fromStranger = sealed(good, 2);
    stranger.sendTo(fromStranger, fromStranger.length, LOCAL, b.base + 1);
    await drainAll(2);
    assert.deepEqual(seen, [], "neither delivered a record");
    assert.deepEqual(link.counters(), {
      ...BASE_COUNTERS,
      drop_peer_bad_record: 1,
      drop_peer_bad_mac: 1,
      drop_peer_wrong_source: 1,
    });
    // An authentic batch from the peer's address is taken; a second copy of it (a resend
    // that crossed the original) is a duplicate, not an attack.
    const ok = sealed(good, 3);
    src.sendTo(ok, ok.length, LOCAL, b.base);
    src.sendTo(ok, ok.length, LOCAL, b.base);
    // An older epoch on the same lane: the peer's previous boot.
    const old = sealed(new BatchWriter(KEY, 40), 4);
    src.sendTo(old, old.length, LOCAL, b.base);
    // Garbage on the heartbeat lane is the heartbeat thread's to count, not the link's.
    src.sendTo(new Uint8Array(8), 8, LOCAL, b.base + 2);
    await drainAll(3);
    assert.deepEqual(seen, [3]);
    assert.deepEqual(link.counters(), {
      ...BASE_COUNTERS,
      drop_peer_bad_record: 2,
      drop_peer_bad_mac: 1,
      drop_peer_stale_epoch: 1,
      drop_peer_wrong_source: 1,
      peer_duplicate_batches: 1,
    });
  } finally {
    for (const s of [...b.all, src, stranger]) s.close();
  }
});

Deno.test("counters: a datagram the socket did not take is counted as peer_tx_full", () => {
  const a = openLanes();
  try {
    const ft = new FlowTable(2);
    const f = addFlow(ft, 0);
    const link = new PeerLink(
      a,
      { ip: LOCAL, port: 9, key: KEY, epoch: 1, holdMs: 0 },
      ft,
      () => true,
    );
    // A full socket buffer or no route: sendTo reports false instead of throwing.
    a.control.sendTo = () => false;
    a.data.sendTo = () => false;
    link.control(CTRL_TAKEOVER, 0);
    link.flush();
    assert.equal(link.counters().peer_tx_full, 1);
    link.mirror(mirrorOf(ft, f, frameOf(64, 0)));
    link.control(CTRL_FAILOVER_REQUEST, 0);
    link.flush();
    // The data batch stays in the resend ring: the peer will NACK it, or a survivor replays it.
    assert.deepEqual(link.counters(), {
      ...BASE_COUNTERS,
      peer_tx_full: 3,
      peer_batches_unconfirmed: 1,
    });
  } finally {
    for (const s of a.all) s.close();
  }
});

Deno.test("relay: a frame handed over unprocessed travels as a MIRROR without a flow", async () => {
  const e = new Ends();
  try {
    const f = addFlow(e.aFlows, 0);
    assert.equal(e.a.mirror(mirrorOf(e.aFlows, f, frameOf(60, 1))), 1);
    const buf = frameOf(200, 5);
    e.a.relay(1, buf, 20, 120, new Uint8Array(10));
    e.a.flush();
    const seen = await drainUntil(e.b, 2);
    assert.equal(seen.length, 2);
    const r = seen[1]!;
    assert.equal(r.type, "mirror");
    if (r.type === "mirror") {
      assert.equal(r.mseq, 2, "relays share the mirror sequence");
      assert.equal(r.flags, MF_RELAY | MF_NO_FLOW);
      assert.deepEqual([r.ingress, r.egress], [1, 1], "handled there as received on port 1");
      assert.deepEqual(r.frame, [...buf.subarray(20, 120)]);
      assert.equal(r.row.proto, 0, "no flow row");
      assert.equal(r.row.oSport, 0);
    }
  } finally {
    e.close();
  }
});
