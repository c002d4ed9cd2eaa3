/**
 * The peer link as the running unit uses it: three UDP lanes, batching, mirror sequence
 * numbers, acks and the frames held for them (DESIGN.md "The peer link").
 *
 * Lanes: heartbeats arrive on a lane of their own (written by the heartbeat thread) and are
 * read first; acks and switchover control travel on the control lane, read next; mirror
 * records, bulk sync and expiries on the data lane. A unit that falls behind the mirror stream
 * then never reads a heartbeat late: head-of-line blocking behind data is what turns load into
 * a false failover.
 *
 * Holds (`hold_new_flows`, active-forward): the first frame of a new flow is kept until the
 * peer acks its mirror record, or until the bound passes, then sent.
 * @module
 */
import type { FlowTable } from "../flow/table.ts";
import { MF_NO_FLOW, MF_RELAY, type MirrorOut } from "../engine/output.ts";
import {
  type AckRecord,
  type ControlRecordOut,
  CTRL_SYNC_BEGIN,
  CTRL_SYNC_END,
  type ExpireRecord,
  type FlowRecordOut,
  MAC_ROOM,
  type MirrorRecordOut,
  type PeerRecordIn,
  type PeerRecordOut,
} from "../peer/mod.ts";
import type { UdpPort } from "../port/udp.ts";
import { PeerChannel } from "./channel.ts";

/** The largest UDP payload over IPv4 (65535 − 20 − 8). */
export const MAX_DATAGRAM = 65507;
/** Batch header and MAC, record header and MIRROR fields around the frame. */
export const MAX_MIRROR_FRAME = MAX_DATAGRAM - 20 - 16 - 3 - 128;
/** Datagrams read per lane per drain: a flood on one lane cannot starve the loop. */
const PEER_BUDGET = 8;
/** A datagram plus the HMAC's room in front of it. */
export const PEER_RX_BUFFER = 65536 + 128;
/** The data lane's batch buffer: the HMAC's room plus the largest datagram. */
export const PEER_BATCH_BUFFER = MAC_ROOM + MAX_DATAGRAM;

/** The three sockets of the link: data on the listen port, control on +1, heartbeats on +2. */
export interface PeerSockets {
  data: UdpPort;
  control: UdpPort;
  heartbeat?: UdpPort;
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
  readonly #hb: PeerChannel | null;
  readonly #o: PeerLinkOptions;
  readonly #rx: Uint8Array;
  readonly #send: FrameSend;
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
  };
  readonly #flowRec: FlowRecordOut;
  readonly #relayOut: MirrorOut;
  readonly #ackRec: AckRecord = { type: "ack", mseq: 0 };
  readonly #ctlRec: ControlRecordOut = { type: "control", op: 0, arg: 0 };
  /** Mirror records refused because the frame cannot fit a datagram. */
  tooBig = 0;
  /** Held frames sent at the bound, without an ack. */
  holdTimeouts = 0;
  /** Held frames sent, acked or timed out. */
  released = 0;

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
    this.#ctl = new PeerChannel(sockets.control, o.key, o.epoch, o.ip, o.port + 1);
    this.#hb = sockets.heartbeat
      ? new PeerChannel(sockets.heartbeat, o.key, o.epoch, o.ip, o.port + 2)
      : null;
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
  }

  /** File descriptors to poll for readability. */
  get fds(): number[] {
    const fds = [this.#ctl.udp.fd, this.#data.udp.fd];
    if (this.#hb) fds.push(this.#hb.udp.fd);
    return fds;
  }

  /** Frames held for an ack right now. */
  get holding(): number {
    return this.#held.length;
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
    this.#data.queue(e);
  }

  /** Sends flow `f` as a bulk-sync entry. */
  flow(f: number): void {
    this.#flowRec.flow = f;
    this.#data.queue(this.#flowRec);
  }

  /**
   * Sends a control record. Sync begin and end travel on the data lane, in order with the
   * entries between them; everything else on the control lane, ahead of all data.
   */
  control(op: number, arg: number, data?: Uint8Array): void {
    const r = this.#ctlRec;
    r.op = op;
    r.arg = arg;
    r.data = data;
    (op === CTRL_SYNC_BEGIN || op === CTRL_SYNC_END ? this.#data : this.#ctl).queue(r);
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
   * Reads what the peer sent, heartbeats first, then control, then data, each up to a budget;
   * hands every record of every authenticated batch to `onRecord`, then acks what wants one.
   * Returns how many datagrams were read.
   */
  drain(onRecord: (rec: PeerRecordIn) => void): number {
    const buf = this.#rx;
    let n = this.#hb ? this.#hb.drain(buf, PEER_BUDGET, onRecord) : 0;
    n += this.#ctl.drain(buf, PEER_BUDGET, onRecord);
    n += this.#data.drain(buf, PEER_BUDGET, onRecord);
    if (this.#ackWanted > this.#ackSent) {
      this.#ackRec.mseq = this.#ackWanted;
      this.#ctl.queue(this.#ackRec);
      this.#ackSent = this.#ackWanted;
    }
    return n;
  }

  /** Counters for the status API: rejected batches by reason, full sockets, strangers. */
  counters(): Record<string, number> {
    const out: Record<string, number> = { drop_peer_bad_record: 0 };
    for (const ch of [this.#ctl, this.#data, this.#hb]) {
      if (!ch) continue;
      for (const [k, v] of Object.entries(ch.reader.counters)) {
        out[`drop_peer_${k}`] = (out[`drop_peer_${k}`] ?? 0) + v;
        out.drop_peer_bad_record! += v;
      }
      out.peer_tx_full = (out.peer_tx_full ?? 0) + ch.txFull;
      out.drop_peer_wrong_source = (out.drop_peer_wrong_source ?? 0) + ch.wrongSource;
    }
    out.drop_mirror_too_big = this.tooBig;
    out.hold_timeouts = this.holdTimeouts;
    return out;
  }
}
