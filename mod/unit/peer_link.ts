/**
 * The peer link as the running unit uses it: UDP lanes, batching, mirror sequence numbers,
 * reliable in-order delivery of the data lane, acks, and the frames held for them (DESIGN.md
 * "The peer link").
 *
 * Lanes: acks, NACKs and switchover control travel on the control lane, read first; mirror
 * records, bulk sync and expiries on the data lane. Heartbeats have a lane of their own, sent
 * and read by the heartbeat thread (`heartbeat.ts`); without it they travel on the control
 * lane. A unit that falls behind the mirror stream then never reads control late.
 *
 * The data lane is reliable (`peer/reliable.ts`): every sealed batch is kept in a resend ring
 * until the peer's heartbeat acknowledges it; the receiver applies batches in sequence order,
 * holds what arrives past a gap and NACKs the gap, so a lost record costs a peer round trip.
 * The ring is also what a survivor replays when its peer dies: the frames it handed over for
 * emission that the peer never confirmed (its ack is the confirmation: the forwarder emits a
 * frame when it applies the record).
 *
 * Holds (`hold_new_flows`, active-forward): the first frame of a new flow is kept until the
 * peer acks its mirror record, or until the bound passes, then sent.
 * @module
 */
import type { FlowTable } from "../flow/table.ts";
import { MF_NO_FLOW, MF_RELAY, type MirrorOut } from "../engine/output.ts";
import {
  type AckRecord,
  BATCH_HEADER_LEN,
  BATCH_MAC_LEN,
  BatchReader,
  type ControlRecordOut,
  CTRL_NACK,
  CTRL_SYNC_BEGIN,
  CTRL_SYNC_END,
  type ExpireRecord,
  type FlowRecordOut,
  type MirrorRecordIn,
  type MirrorRecordOut,
  type PeerRecordIn,
  type PeerRecordOut,
} from "../peer/mod.ts";
import { IN_ORDER_DELIVER, IN_ORDER_HELD, InOrder, ResendRing } from "../peer/reliable.ts";
import type { UdpPort } from "../port/udp.ts";
import { PeerChannel } from "./channel.ts";

/** The largest UDP payload over IPv4 (65535 − 20 − 8). */
export const MAX_DATAGRAM = 65507;
/** Batch header and tag, record header and MIRROR fields around the frame. */
export const MAX_MIRROR_FRAME = MAX_DATAGRAM - BATCH_HEADER_LEN - BATCH_MAC_LEN - 3 - 128;
/** Datagrams read per lane per drain: a flood on one lane cannot starve the loop. */
const PEER_BUDGET = 8;
/**
 * And bytes per drain: eight 64 KiB batches of mirrored GSO frames, each frame written to a TAP,
 * made a forwarder's turn 15-25 ms long; 256 KiB keeps it near a millisecond.
 */
const PEER_BYTE_BUDGET = 256 * 1024;
/** Room for any datagram. */
export const PEER_RX_BUFFER = 65536;
/** The data lane's batch buffer: the largest datagram. */
export const PEER_BATCH_BUFFER = MAX_DATAGRAM;
/** Lanes for `drain`, one bit each in the order of `fds`. */
export const LANE_CONTROL = 1;
export const LANE_DATA = 2;
export const LANES_ALL = LANE_CONTROL | LANE_DATA;
/** The resend ring: bounded by bytes and by age (a peer silent that long is dead). */
export const RING_BYTES = 32 << 20;
export const RING_AGE_MS = 2000;

/** The link's sockets: data on the listen port, control on the next one. */
export interface PeerSockets {
  data: UdpPort;
  control: UdpPort;
}

export interface PeerLinkOptions {
  ip: number;
  port: number;
  key: Uint8Array;
  epoch: number;
  /** `hold_new_flows` bound in ms (0: off). */
  holdMs: number;
}

interface Held {
  iface: number;
  frame: Uint8Array;
  vnet: Uint8Array;
  mseq: number;
  deadline: number;
}

/** Sends a frame out of a port (the unit's TX); false when the device was full. */
export type FrameSend = (
  iface: number,
  buf: Uint8Array,
  off: number,
  end: number,
  vnet: Uint8Array | null,
) => boolean;

export class PeerLink {
  readonly #data: PeerChannel;
  readonly #ctl: PeerChannel;
  readonly #o: PeerLinkOptions;
  readonly #rx: Uint8Array;
  readonly #send: FrameSend;
  readonly #ring = new ResendRing(RING_BYTES, RING_AGE_MS);
  readonly #order = new InOrder();
  /** Reads our own sealed batches back (replay). */
  readonly #own: BatchReader;
  #dataEpoch = -Infinity;
  /** The last data drain stopped at its budget: more batches are likely queued. */
  #lagging = false;
  #now = 0;
  #onRecord: (rec: PeerRecordIn) => void = () => {};
  readonly #dispatch: (rec: PeerRecordIn) => void;
  #mseq = 0;
  #ackWanted = 0;
  #ackSent = 0;
  #held: Held[] = [];
  // Reused outgoing records: queueing copies them into the batch at once.
  readonly #mirrorRec: MirrorRecordOut;
  readonly #expireRec: ExpireRecord = {
    type: "expire",
    proto: 0,
    srcIp: 0,
    srcPort: 0,
    dstIp: 0,
    dstPort: 0,
    srcHi0: 0,
    srcHi1: 0,
    srcHi2: 0,
    dstHi0: 0,
    dstHi1: 0,
    dstHi2: 0,
  };
  readonly #flowRec: FlowRecordOut;
  readonly #relayOut: MirrorOut;
  readonly #ackRec: AckRecord = { type: "ack", mseq: 0 };
  readonly #ctlRec: ControlRecordOut = { type: "control", op: 0, arg: 0 };
  readonly #nackTo = new Uint8Array(4);
  /** Mirror records refused because the frame cannot fit a datagram. */
  tooBig = 0;
  /** Data-lane datagrams read (mirror records, sync): traffic, unlike control and heartbeats. */
  dataRead = 0;
  /** Held frames sent at the bound, without an ack. */
  holdTimeouts = 0;
  /** Held frames sent, acked or timed out. */
  released = 0;
  /** NACKed batches we no longer had (past the ring's bounds). */
  nackMissed = 0;

  /**
   * `buffers`: where to read datagrams (`PEER_RX_BUFFER` bytes) and build data batches
   * (`PEER_BATCH_BUFFER`), when the unit keeps them in its arena; default: buffers of its own.
   */
  constructor(
    sockets: PeerSockets,
    o: PeerLinkOptions,
    flows: FlowTable,
    send: FrameSend,
    buffers?: { rx: Uint8Array; batch: Uint8Array },
  ) {
    this.#o = o;
    this.#send = send;
    this.#rx = buffers?.rx ?? new Uint8Array(PEER_RX_BUFFER);
    // Data batches may carry a whole GSO frame: up to the largest UDP datagram.
    this.#data = new PeerChannel(
      sockets.data,
      o.key,
      o.epoch,
      o.ip,
      o.port,
      MAX_DATAGRAM,
      buffers?.batch,
    );
    this.#data.onSealed = (seq, dg) => this.#ring.push(seq, dg, this.#now);
    this.#ctl = new PeerChannel(sockets.control, o.key, o.epoch, o.ip, o.port + 1);
    this.#own = new BatchReader(o.key);
    this.#mirrorRec = { type: "mirror", mseq: 0, rec: undefined as unknown as MirrorOut };
    this.#flowRec = { type: "flow", flows, flow: 0 };
    this.#relayOut = {
      flags: MF_RELAY | MF_NO_FLOW,
      time: 0,
      ingress: 0,
      egress: 0,
      nextHop: new Uint8Array(6),
      flows,
      flow: -1,
      frame: new Uint8Array(0),
      frameOff: 0,
      frameEnd: 0,
      vnet: new Uint8Array(10),
    };
    this.#dispatch = (rec) => {
      if (rec.type === "control" && rec.op === CTRL_NACK) {
        this.#resend(rec.arg, rec.buf, rec.dataOff);
      } else this.#onRecord(rec);
    };
  }

  /** File descriptors to poll for readability. */
  /** The control lane's fd, then the data lane's (`LANE_CONTROL`, `LANE_DATA`). */
  get fds(): number[] {
    return [this.#ctl.udp.fd, this.#data.udp.fd];
  }

  /** Frames held for an ack right now. */
  get holding(): number {
    return this.#held.length;
  }

  /** The highest data batch of the peer's applied in order: our heartbeat's ack. */
  get dataAck(): number {
    return this.#order.applied;
  }

  /** Our latest sealed data batch: our heartbeat's `dataTop`. */
  get dataTop(): number {
    return this.#data.writer.seq;
  }

  // ---------------------------------------------------------------- sending

  /** Queues the engine's mirror record; returns its mirror sequence number (0: refused). */
  mirror(rec: MirrorOut): number {
    if (rec.frameEnd - rec.frameOff > MAX_MIRROR_FRAME) {
      // Cannot happen with the TAP's gso_max_size capped (see lab/deploy); counted if it does.
      this.tooBig++;
      return 0;
    }
    const r = this.#mirrorRec;
    r.mseq = ++this.#mseq;
    r.rec = rec;
    this.#data.queue(r);
    return r.mseq;
  }

  /**
   * Hands a frame this unit no longer handles to the peer, the receiver now (planned
   * switchover): a MIRROR without a flow, flagged `MF_RELAY`, handled there as if received.
   */
  relay(ingress: number, buf: Uint8Array, off: number, end: number, vnet: Uint8Array): void {
    const r = this.#relayOut;
    r.ingress = r.egress = ingress;
    r.frame = buf;
    r.frameOff = off;
    r.frameEnd = end;
    r.vnet = vnet;
    this.mirror(r);
  }

  /** Tells the peer the receiver expired flow `f`. */
  expire(flows: FlowTable, f: number): void {
    const e = this.#expireRec, c = flows.c;
    e.proto = c.proto[f]!;
    e.srcIp = c.oSrc[f]!;
    e.srcPort = c.oSport[f]!;
    e.dstIp = c.oDst[f]!;
    e.dstPort = c.oDport[f]!;
    e.srcHi0 = c.oSrcHi0[f]!;
    e.srcHi1 = c.oSrcHi1[f]!;
    e.srcHi2 = c.oSrcHi2[f]!;
    e.dstHi0 = c.oDstHi0[f]!;
    e.dstHi1 = c.oDstHi1[f]!;
    e.dstHi2 = c.oDstHi2[f]!;
    this.#data.queue(e);
  }

  /** Sends flow `f` as a FLOW record (bulk sync, or a split brain's merge). */
  flow(f: number): void {
    this.#flowRec.flow = f;
    this.#data.queue(this.#flowRec);
  }

  /**
   * Sends a control record. Sync begin and end travel on the data lane, in order with the
   * entries between them; everything else on the control lane, ahead of all data.
   */
  control(op: number, arg: number, data?: Uint8Array, dataLane = false): void {
    const r = this.#ctlRec;
    r.op = op;
    r.arg = arg;
    r.data = data;
    const onData = dataLane || op === CTRL_SYNC_BEGIN || op === CTRL_SYNC_END;
    (onData ? this.#data : this.#ctl).queue(r);
  }

  /** Queues any other record on the control lane (a heartbeat sent by the loop itself). */
  send(rec: PeerRecordOut): void {
    this.#ctl.queue(rec);
  }

  /** Sends what is batched, control first. */
  flush(): void {
    this.#ctl.flush();
    this.#data.flush();
  }

  // ---------------------------------------------------------------- reliability

  /**
   * What the peer's heartbeat says of our data lane: it applied everything up to `ack` (those
   * batches leave the ring: their frames are emitted), and its own latest batch is `top`.
   */
  peerAck(ack: number, top: number, now: number): void {
    // An ack beyond what we sent is about a previous boot of ours: ignore it.
    if (ack <= this.#data.writer.seq) this.#ring.ack(ack);
    this.#order.senderTop(top, now);
  }

  /** Resends the batches a NACK names, from the ring. */
  #resend(from: number, buf: Uint8Array, at: number): void {
    const to = (buf[at]! << 24 | buf[at + 1]! << 16 | buf[at + 2]! << 8 | buf[at + 3]!) >>> 0;
    for (let seq = from; seq <= to && seq - from < 1024; seq++) {
      const dg = this.#ring.get(seq);
      if (!dg) {
        this.nackMissed++;
        continue;
      }
      this.#ring.resent++;
      if (!this.#data.udp.sendTo(dg, dg.length, this.#o.ip, this.#o.port)) this.#data.txFull++;
    }
  }

  /**
   * The peer is gone: hands every mirror record of ours it never confirmed to `each` (a
   * survivor emits the frames the dead peer was to emit), then forgets them. Returns the
   * batches replayed.
   */
  replay(each: (rec: MirrorRecordIn) => void): number {
    this.#data.flush();
    const pick = (rec: PeerRecordIn) => {
      if (rec.type === "mirror") each(rec);
    };
    return this.#ring.drain((dg) => this.#own.deliver(dg, pick));
  }

  // ---------------------------------------------------------------- acks and holds

  /** A mirror record that wants an ack (MF_WANT_ACK) was applied. */
  wantAck(mseq: number): void {
    if (mseq > this.#ackWanted) this.#ackWanted = mseq;
  }

  /** Keeps a copy of a frame until the peer acks `mseq` or `holdMs` passes. */
  hold(
    iface: number,
    buf: Uint8Array,
    off: number,
    end: number,
    vnet: Uint8Array,
    mseq: number,
    now: number,
  ): void {
    this.#held.push({
      iface,
      frame: buf.slice(off, end),
      vnet: vnet.slice(),
      mseq,
      deadline: now + this.#o.holdMs,
    });
  }

  /** Sends held frames acked up to `acked`, and those past their bound. */
  release(acked: number, now: number): void {
    if (this.#held.length === 0) return;
    const keep: Held[] = [];
    for (const h of this.#held) {
      if (h.mseq <= acked) this.#emitHeld(h);
      else if (now >= h.deadline) {
        this.holdTimeouts++;
        this.#emitHeld(h);
      } else keep.push(h);
    }
    this.#held = keep;
  }

  /** The earliest hold bound, or Infinity. */
  holdDeadline(): number {
    let d = Infinity;
    for (const h of this.#held) if (h.deadline < d) d = h.deadline;
    return d;
  }

  #emitHeld(h: Held): void {
    this.released++;
    this.#send(h.iface, h.frame, 0, h.frame.length, h.vnet);
  }

  // ---------------------------------------------------------------- receiving

  /**
   * Reads what the peer sent, control first, then data, each up to a budget; hands every
   * record to `onRecord` (data in sequence order), then acks what wants one. Returns how many
   * datagrams were read. `lanes`: the lanes poll() found readable (the others are skipped).
   */
  drain(onRecord: (rec: PeerRecordIn) => void, now: number, lanes = LANES_ALL): number {
    this.#onRecord = onRecord;
    this.#now = now;
    const buf = this.#rx;
    let n = (lanes & LANE_CONTROL) !== 0 ? this.#ctl.drain(buf, PEER_BUDGET, this.#dispatch) : 0;
    // A lane left out was found empty by poll(): the data lane is not behind.
    if ((lanes & LANE_DATA) !== 0) n += this.#drainData(buf);
    else this.#lagging = false;
    if (this.#ackWanted > this.#ackSent) {
      this.#ackRec.mseq = this.#ackWanted;
      this.#ctl.queue(this.#ackRec);
      this.#ackSent = this.#ackWanted;
    }
    return n;
  }

  #drainData(buf: Uint8Array): number {
    const ch = this.#data, room = buf, order = this.#order;
    let n = 0, bytes = 0;
    for (; n < PEER_BUDGET && bytes < PEER_BYTE_BUDGET; n++) {
      const len = ch.udp.recvFrom(room);
      if (len <= 0) break;
      bytes += len;
      this.dataRead++;
      if (ch.udp.lastAddr !== this.#o.ip) {
        ch.wrongSource++;
        continue;
      }
      const dg = room.subarray(0, len);
      const res = ch.reader.verify(dg);
      if (!res.ok) continue;
      if (res.epoch !== this.#dataEpoch) {
        // The peer (re)started: its batches count from 1 again.
        this.#dataEpoch = res.epoch;
        order.reset();
      }
      const v = order.offer(res.seq, this.#now);
      if (v === IN_ORDER_DELIVER) {
        ch.reader.deliver(dg, this.#dispatch);
        this.#deliverHeld();
      } else if (v === IN_ORDER_HELD) order.hold(res.seq, dg);
    }
    this.#lagging = n === PEER_BUDGET || bytes >= PEER_BYTE_BUDGET;
    return n;
  }

  #deliverHeld(): void {
    for (let dg = this.#order.takeHeld(); dg; dg = this.#order.takeHeld()) {
      this.#data.reader.deliver(dg, this.#dispatch);
    }
  }

  /**
   * Timers of the reliable lane: NACKs a gap (first ask or retry), gives up on one that did not
   * fill in time and applies what waited behind it, drops ring entries past their age. Returns
   * when it wants to run again.
   */
  tick(now: number): number {
    this.#now = now;
    this.#ring.expire(now);
    const nack = this.#order.tick(now, this.#lagging);
    if (nack) {
      const to = this.#nackTo;
      to[0] = nack.to >>> 24;
      to[1] = (nack.to >>> 16) & 255;
      to[2] = (nack.to >>> 8) & 255;
      to[3] = nack.to & 255;
      this.control(CTRL_NACK, nack.from, to);
    }
    this.#deliverHeld();
    return this.#order.nextDeadline(now);
  }

  /** Counters for the status API. */
  counters(): Record<string, number> {
    const out: Record<string, number> = { drop_peer_bad_record: 0 };
    for (const ch of [this.#ctl, this.#data]) {
      for (const [k, v] of Object.entries(ch.reader.counters)) {
        // A resent batch that arrived twice is expected, not an attack.
        if (k === "replay" && ch === this.#data) continue;
        out[`drop_peer_${k}`] = (out[`drop_peer_${k}`] ?? 0) + v;
        out.drop_peer_bad_record! += v;
      }
      out.peer_tx_full = (out.peer_tx_full ?? 0) + ch.txFull;
      out.peer_rx_errors = (out.peer_rx_errors ?? 0) + ch.udp.recvErrors;
      out.drop_peer_wrong_source = (out.drop_peer_wrong_source ?? 0) + ch.wrongSource;
    }
    out.peer_duplicate_batches = this.#data.reader.counters.replay;
    out.drop_mirror_too_big = this.tooBig;
    out.hold_timeouts = this.holdTimeouts;
    out.peer_nacks_sent = this.#order.nacks;
    out.peer_batches_recovered = this.#order.recovered;
    out.drop_peer_batches_lost = this.#order.lost;
    out.peer_batches_resent = this.#ring.resent;
    out.drop_peer_resend_missed = this.nackMissed;
    out.drop_replay_evicted = this.#ring.dropped;
    out.peer_batches_unconfirmed = this.#ring.size;
    return out;
  }
}
