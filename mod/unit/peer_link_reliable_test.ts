/**
 * The peer link's lanes under loss and load, over real UDP sockets on 127.0.0.1: a data batch
 * lost on the link is asked for again (NACK on the control lane) and resent from the sender's
 * ring, and the receiver applies everything in sequence; what the peer never confirmed is
 * replayed; a flood on a lane is read a budget at a time.
 */
import assert from "node:assert/strict";
import { openUdp } from "../port/udp.ts";
import { ST_TCP_ESTABLISHED } from "../flow/states.ts";
import { FlowTable } from "../flow/table.ts";
import type { MirrorOut } from "../engine/output.ts";
import { BatchWriter, CTRL_NACK, type PeerRecordIn } from "../peer/mod.ts";
import { libc } from "../port/ffi.ts";
import { PeerLink } from "./peer_link.ts";
import { LOCAL, openLanes } from "./test_util.ts";

// Load libc before the tests: the sanitizer counts a library opened inside a test as a leak.
libc();

const KEY = new TextEncoder().encode("reliable lane test key, 32 bytes");

function mirrorOf(ft: FlowTable, flow: number, tag: number): MirrorOut {
  const frame = new Uint8Array(60).fill(tag);
  return {
    flags: 1,
    time: 1000 + tag,
    ingress: 0,
    egress: 1,
    nextHop: new Uint8Array(6),
    flows: ft,
    flow,
    frame,
    frameOff: 0,
    frameEnd: frame.length,
    vnet: new Uint8Array(10),
  };
}

class Ends {
  readonly aSocks = openLanes();
  readonly bSocks = openLanes();
  readonly ft = new FlowTable(8);
  readonly flow: number;
  readonly a: PeerLink;
  readonly b: PeerLink;
  /** The first frame byte of every MIRROR b applied, in order. */
  readonly applied: number[] = [];
  /** Datagrams a's data socket should lose (by send count, 1-based). */
  readonly lose = new Set<number>();
  sends = 0;

  constructor() {
    this.flow = this.ft.addEntry({ proto: 6, state: ST_TCP_ESTABLISHED, oSport: 1, rSport: 2 });
    const real = this.aSocks.data.sendTo.bind(this.aSocks.data);
    this.aSocks.data.sendTo = (buf, len, ip, port) => {
      if (this.lose.has(++this.sends)) return true; // gone on the wire
      return real(buf, len, ip, port);
    };
    const opts = (port: number, epoch: number) => ({ ip: LOCAL, port, key: KEY, epoch, holdMs: 0 });
    this.a = new PeerLink(this.aSocks, opts(this.bSocks.base, 1), this.ft, () => true);
    this.b = new PeerLink(this.bSocks, opts(this.aSocks.base, 2), new FlowTable(8), () => true);
  }

  onB = (r: PeerRecordIn) => {
    if (r.type === "mirror") this.applied.push(r.buf[r.frameOff]!);
  };

  /** Drains `link` until `cond`, bounded. */
  async until(what: string, link: PeerLink, on: (r: PeerRecordIn) => void, cond: () => boolean) {
    const end = performance.now() + 2000;
    for (link.drain(on, 1000); !cond(); link.drain(on, 1000)) {
      if (performance.now() > end) assert.fail(`not within 2 s: ${what}`);
      await new Promise((r) => setTimeout(r, 1));
    }
  }

  close(): void {
    for (const s of [...this.aSocks.all, ...this.bSocks.all]) s.close();
  }
}

Deno.test("a lost data batch is NACKed, resent from the ring, and everything applied in order", async () => {
  const e = new Ends();
  try {
    e.lose.add(2);
    for (let i = 1; i <= 5; i++) {
      e.a.mirror(mirrorOf(e.ft, e.flow, i));
      e.a.flush(); // one batch each
    }
    assert.equal(e.a.dataTop, 5);
    // b applies batch 1 and holds 3..5 behind the gap.
    await e.until("batch 1", e.b, e.onB, () => e.applied.length === 1);
    for (let i = 0; i < 20; i++) e.b.drain(e.onB, 1000);
    assert.deepEqual(e.applied, [1]);
    assert.equal(e.b.dataAck, 1, "applied in order up to 1");
    // b's timer asks for 2 on the control lane; a resends it from its ring.
    e.b.tick(1000);
    e.b.flush();
    await e.until("the NACK", e.a, () => {}, () => e.a.counters().peer_batches_resent === 1);
    await e.until("the rest", e.b, e.onB, () => e.applied.length === 5);
    assert.deepEqual(e.applied, [1, 2, 3, 4, 5]);
    assert.equal(e.b.dataAck, 5);
    const b = e.b.counters(), a = e.a.counters();
    assert.equal(b.peer_nacks_sent, 1);
    assert.equal(b.peer_batches_recovered, 1);
    assert.equal(b.drop_peer_batches_lost, 0);
    assert.equal(b.drop_peer_bad_record, 0);
    assert.equal(a.peer_batches_resent, 1);
    assert.equal(a.drop_peer_resend_missed, 0);
    // Nothing is missing any more: no further NACK.
    e.b.tick(1100);
    e.b.flush();
    assert.equal(e.b.counters().peer_nacks_sent, 1);
  } finally {
    e.close();
  }
});

Deno.test("a NACK for batches the ring no longer has is counted, not answered", async () => {
  const e = new Ends();
  try {
    e.lose.add(1);
    e.lose.add(2);
    for (let i = 1; i <= 3; i++) {
      e.a.mirror(mirrorOf(e.ft, e.flow, i));
      e.a.flush();
    }
    // The peer confirmed everything up to 2 (say, before a restart of ours): the ring let go.
    e.a.peerAck(2, 0, 1000);
    // b saw only 3: its first batch of this epoch, applied at once.
    await e.until("batch 3", e.b, e.onB, () => e.applied.length === 1);
    assert.deepEqual(e.applied, [3]);
    // b never saw 1 and 2 (its sequence starts at 3), so ask for them by hand: NACK 1..2.
    e.b.control(CTRL_NACK, 1, Uint8Array.from([0, 0, 0, 2]));
    e.b.flush();
    await e.until("missed", e.a, () => {}, () => e.a.nackMissed === 2);
    assert.equal(e.a.counters().drop_peer_resend_missed, 2);
    assert.equal(e.a.counters().peer_batches_resent, 0);
  } finally {
    e.close();
  }
});

Deno.test("replay hands back the mirror records the peer never confirmed, once", () => {
  const e = new Ends();
  try {
    for (let i = 1; i <= 4; i++) {
      e.a.mirror(mirrorOf(e.ft, e.flow, i));
      e.a.flush();
    }
    // An ack beyond what we sent is about a previous boot: ignored.
    e.a.peerAck(99, 0, 1000);
    e.a.peerAck(2, 0, 1000);
    e.a.mirror(mirrorOf(e.ft, e.flow, 5)); // queued, not yet flushed: replay flushes it
    const got: number[] = [];
    const batches = e.a.replay((r) => got.push(r.buf[r.frameOff]!));
    assert.deepEqual(got, [3, 4, 5]);
    assert.equal(batches, 3);
    const again: number[] = [];
    assert.equal(e.a.replay((r) => again.push(r.mseq)), 0);
    assert.deepEqual(again, []);
  } finally {
    e.close();
  }
});

Deno.test("the control lane too is read 8 datagrams per drain", async () => {
  const e = new Ends();
  const src = openUdp(LOCAL, 0);
  try {
    const w = new BatchWriter(KEY, 5);
    for (let i = 0; i < 10; i++) {
      w.add({ type: "ack", mseq: i + 1 });
      const dg = w.seal()!;
      assert.equal(src.sendTo(dg, dg.length, LOCAL, e.bSocks.base + 1), true);
    }
    const acks: number[] = [];
    const end = performance.now() + 2000;
    let n = 0;
    while (n === 0) {
      if (performance.now() > end) assert.fail("nothing read");
      n = e.b.drain((r) => r.type === "ack" && acks.push(r.mseq), 1000);
      if (n === 0) await new Promise((r) => setTimeout(r, 1));
    }
    assert.equal(n, 8);
    assert.deepEqual(acks, [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.equal(e.b.drain((r) => r.type === "ack" && acks.push(r.mseq), 1000), 2);
    assert.deepEqual(acks.slice(8), [9, 10]);
  } finally {
    src.close();
    e.close();
  }
});
