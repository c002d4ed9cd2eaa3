/**
 * Peer-link records: the typed bodies inside a batch (DESIGN.md "The peer link"). Each record
 * on the wire is `type u8, len u16, body[len]`; every integer is big-endian, addresses are u32,
 * times f64 milliseconds. Each body is described once, as a `Layout` (`layout.ts`); flows
 * travel as rows of the one flow description (`flow/fields.ts`): the mirrored decisions in a
 * MIRROR record, every field in a FLOW (bulk-sync) record.
 *
 * Writing takes the sender's objects (the engine's mirror record, a flow id in its table) and
 * copies straight into the batch. Reading decodes into one reused object per record type
 * (valid until the next record) whose byte parts are offsets into the datagram: nothing is
 * allocated per record. A body shorter than its type needs makes the reader reject the whole
 * batch; a longer one is accepted and the tail ignored, so a later minor revision can append
 * fields without breaking an older peer (MIRROR and CONTROL bodies end in variable data).
 * @module
 */
import { encodeRow, MIRROR6_ROW, MIRROR_ROW, SYNC_ROW } from "../flow/fields.ts";
import { MF_IPV6 } from "../engine/output.ts";
import type { FlowTable } from "../flow/table.ts";
import type { MirrorOut } from "../engine/output.ts";
import type { MirrorIn } from "../engine/replica.ts";
import { Layout, type NumFields } from "./layout.ts";

/** Record type codes (the `type u8` of each record). */
export const REC_HEARTBEAT = 1;
export const REC_MIRROR = 2;
export const REC_ACK = 3;
export const REC_EXPIRE = 4;
export const REC_FLOW = 5;
export const REC_CONTROL = 6;

/** Bytes before each body: type u8, len u16. */
export const RECORD_HEADER_LEN = 3;
/** The largest body a `len u16` can describe. */
export const MAX_BODY_LEN = 0xffff;

// Control ops (`CONTROL.op`).
/** The joiner asks for the whole flow table (claims 20, 21). */
export const CTRL_SYNC_REQUEST = 1;
/** Bulk sync starts; `arg` = entries that will follow. */
export const CTRL_SYNC_BEGIN = 2;
/** Bulk sync done; `arg` = entries actually sent. */
export const CTRL_SYNC_END = 3;
/** Planned switchover: the other unit takes over. */
export const CTRL_FAILOVER_REQUEST = 4;
/** The sender is receiver now. */
export const CTRL_TAKEOVER = 5;
/** `data` = shared random seed / SYN-cookie secret (claims 23, 24). */
export const CTRL_SECRET = 7;
/** The joiner's bulk-sync progress; `arg` = entries received so far (the sender's window). */
export const CTRL_SYNC_PROGRESS = 8;
/** Data-lane batches `arg` through the u32 in `data` never arrived: send them again. */
export const CTRL_NACK = 9;
/**
 * Split brain healed and the sender yields: the FLOW records that follow, up to
 * CTRL_MERGE_END, are flows it created during the split, to merge (not replace).
 */
export const CTRL_MERGE_BEGIN = 10;
/** End of the merge; `arg` = entries sent. */
export const CTRL_MERGE_END = 11;
/** The sender's backend health checks: `arg` = service index, `data` = one byte per backend. */
export const CTRL_HEALTH = 12;
/** An operator's backend state (drain, maintenance, enable): `arg` packs service, backend, state. */
export const CTRL_BACKEND_ADMIN = 13;
/**
 * The sender's own MAC on each interface, in config order (`data`: 6 bytes each, `arg`: how
 * many): where a solo unit sends the frames of flows it does not know (`engine/split.ts`).
 */
export const CTRL_MACS = 14;

/** Heartbeat `flags` bits. */
export const HB_RECEIVER = 1;
export const HB_FORWARDER = 2;
export const HB_SYNC_COMPLETE = 4;
/**
 * A fail-safe check of the sender is down. Set when unhealthy, not when healthy, so a unit that
 * tracks nothing (or predates the bit) reads as healthy.
 */
export const HB_UNHEALTHY = 8;
/** The sender is in unit maintenance: it will not take the receiver role but from a dead peer. */
export const HB_MAINTENANCE = 16;

// ---------------------------------------------------------------- layouts

/** HEARTBEAT: who the sender is now, its table's digest, and the RTT echo. */
export const HEARTBEAT = new Layout(
  [
    /** `ROLE_CODES` index. */
    ["role", "u8"],
    /** `STATE_CODES` index. */
    ["state", "u8"],
    ["flags", "u8"],
    ["priority", "u8"],
    /** 64-bit digest of the service definitions. */
    ["configDigestHi", "u32"],
    ["configDigestLo", "u32"],
    ["flowCount", "u32"],
    /** 64-bit digest of the flow table. */
    ["tableDigestHi", "u32"],
    ["tableDigestLo", "u32"],
    /** Sender clock (ms). */
    ["sentAt", "f64"],
    /** The `sentAt` of the last heartbeat the sender got from us; 0 if none. */
    ["echoSentAt", "f64"],
    /** How long the sender held that heartbeat before echoing: RTT = now − echo − held. */
    ["echoHeldMs", "f32"],
    /** The sender's boot time (ms): restarts are told apart by it. */
    ["epoch", "f64"],
    /**
     * The highest data-lane batch the sender applied in order: the cumulative acknowledgment
     * that releases our resend ring, and confirms the emission of every frame we handed over.
     */
    ["dataAck", "u32"],
    /** The sender's latest data-lane batch: a lost tail of ours shows up as a gap. */
    ["dataTop", "u32"],
    /**
     * The `epoch` of the peer boot the sender is paired with (0 when not paired): a unit that
     * restarted within its peer's dead time must not take a role its previous boot held.
     */
    ["pairedEpoch", "f64"],
  ] as const,
);

/**
 * MIRROR: one packet as the receiver processed it, with every decision it made. The offload
 * header sits right before the frame, which runs to the end of the body. A record of an IPv6
 * flow has `MF_IPV6` set and its flow's high address words (`MIRROR6_ROW`, 48 bytes) between
 * the offload header and the frame; an IPv4 record is no bigger for IPv6's sake.
 */
export const MIRROR = new Layout(
  [
    /** Mirror sequence number, acked by ACK. */
    ["mseq", "u32"],
    /** The receiver's clock for this packet (ms). */
    ["time", "f64"],
    ["ingress", "u8"],
    ["egress", "u8"],
    /** `MF_*` of `engine/output.ts`; passed through verbatim. */
    ["flags", "u8"],
    ["nextHop", "bytes", 6],
    ["flow", "row", MIRROR_ROW],
    ["vnet", "bytes", 10],
  ] as const,
);

/** ACK: the highest mirror sequence applied. */
export const ACK = new Layout([["mseq", "u32"]] as const);

/**
 * EXPIRE: a flow the receiver reaped or closed, by its original tuple (an IPv6 tuple's high
 * address words after it, zeros for IPv4, as in `flow/fields.ts`).
 */
export const EXPIRE = new Layout(
  [
    ["proto", "u8"],
    ["srcIp", "u32"],
    ["srcPort", "u16"],
    ["dstIp", "u32"],
    ["dstPort", "u16"],
    ["srcHi0", "u32"],
    ["srcHi1", "u32"],
    ["srcHi2", "u32"],
    ["dstHi0", "u32"],
    ["dstHi1", "u32"],
    ["dstHi2", "u32"],
  ] as const,
);

/** FLOW: a bulk-sync entry, every field of the flow (claims 20, 21). */
export const FLOW = new Layout([["flow", "row", SYNC_ROW]] as const);

/** CONTROL: an op, an argument, then `data` to the end of the body. */
export const CONTROL = new Layout([["op", "u8"], ["arg", "u32"]] as const);

// ---------------------------------------------------------------- records

export type HeartbeatFields = NumFields<typeof HEARTBEAT.fields>;
export type ExpireFields = NumFields<typeof EXPIRE.fields>;

export interface HeartbeatRecord extends HeartbeatFields {
  type: "heartbeat";
}
export interface AckRecord {
  type: "ack";
  mseq: number;
}
export interface ExpireRecord extends ExpireFields {
  type: "expire";
}

/** A MIRROR to send: the engine's record and its sequence number. */
export interface MirrorRecordOut {
  type: "mirror";
  mseq: number;
  rec: MirrorOut;
}
/** A MIRROR as read: what the replica stage applies, offsets into the datagram. */
export interface MirrorRecordIn extends MirrorIn {
  type: "mirror";
  mseq: number;
}

/** A FLOW to send: row `flow` of `flows`. */
export interface FlowRecordOut {
  type: "flow";
  flows: FlowTable;
  flow: number;
}
/** A FLOW as read: decode with `decodeRow(cols, SYNC_ROW, row, view, rowOff)`. */
export interface FlowRecordIn {
  type: "flow";
  view: DataView;
  rowOff: number;
}

export interface ControlRecordOut {
  type: "control";
  op: number;
  arg: number;
  data?: Uint8Array;
}
export interface ControlRecordIn {
  type: "control";
  op: number;
  arg: number;
  buf: Uint8Array;
  dataOff: number;
  dataEnd: number;
}

export type PeerRecordOut =
  | HeartbeatRecord
  | MirrorRecordOut
  | AckRecord
  | ExpireRecord
  | FlowRecordOut
  | ControlRecordOut;
export type PeerRecordIn =
  | HeartbeatRecord
  | MirrorRecordIn
  | AckRecord
  | ExpireRecord
  | FlowRecordIn
  | ControlRecordIn;

/**
 * A byte buffer with its DataView, so codecs allocate no view per record, and a view of its
 * whole ArrayBuffer: a frame that lives in the same buffer (the unit keeps its receive buffer
 * and its batch in one) is copied in with `copyWithin`, without a view per record.
 */
export interface WireBuf {
  bytes: Uint8Array;
  view: DataView;
  whole: Uint8Array;
}

/** Wraps bytes (a datagram or a send buffer) for the codecs. */
export function wireBuf(bytes: Uint8Array): WireBuf {
  return {
    bytes,
    view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength),
    whole: new Uint8Array(bytes.buffer),
  };
}

/** Copies `src[off, end)` to `b.bytes[at]`: without allocating when both share a buffer. */
export function copyInto(b: WireBuf, at: number, src: Uint8Array, off: number, end: number): void {
  if (src.buffer === b.whole.buffer) {
    b.whole.copyWithin(b.bytes.byteOffset + at, src.byteOffset + off, src.byteOffset + end);
  } else b.bytes.set(src.subarray(off, end), at);
}

// ---------------------------------------------------------------- writing

/** Body length of a record, computed without encoding it. */
export function bodySize(r: PeerRecordOut): number {
  switch (r.type) {
    case "heartbeat":
      return HEARTBEAT.size;
    case "mirror":
      return MIRROR.size + (mirrorsV6(r.rec) ? MIRROR6_ROW.size : 0) +
        (r.rec.frameEnd - r.rec.frameOff);
    case "ack":
      return ACK.size;
    case "expire":
      return EXPIRE.size;
    case "flow":
      return FLOW.size;
    case "control":
      return CONTROL.size + (r.data?.length ?? 0);
  }
}

/** Bytes a record takes in a batch: header plus body. */
export function recordSize(r: PeerRecordOut): number {
  return RECORD_HEADER_LEN + bodySize(r);
}

const TYPE_CODE = {
  heartbeat: REC_HEARTBEAT,
  mirror: REC_MIRROR,
  ack: REC_ACK,
  expire: REC_EXPIRE,
  flow: REC_FLOW,
  control: REC_CONTROL,
} as const;

const mirrorHead = { mseq: 0, time: 0, ingress: 0, egress: 0, flags: 0 };

/**
 * Writes `type, len, body` at `off`; returns the bytes written. The caller checks room with
 * `recordSize` first. Throws RangeError on a body over 65535 bytes (a caller bug).
 */
export function encodeRecord(b: WireBuf, off: number, r: PeerRecordOut): number {
  const n = bodySize(r);
  if (n > MAX_BODY_LEN) throw new RangeError(`${r.type} record body of ${n} bytes`);
  const body = off + RECORD_HEADER_LEN;
  const { bytes, view } = b;
  switch (r.type) {
    case "heartbeat":
      HEARTBEAT.encode(view, body, r);
      break;
    case "mirror": {
      const m = r.rec, at = MIRROR.at;
      mirrorHead.mseq = r.mseq;
      mirrorHead.time = m.time;
      mirrorHead.ingress = m.ingress;
      mirrorHead.egress = m.egress;
      const v6 = mirrorsV6(m);
      mirrorHead.flags = v6 ? m.flags | MF_IPV6 : m.flags & ~MF_IPV6;
      MIRROR.encode(view, body, mirrorHead);
      bytes.set(m.nextHop, body + at.nextHop);
      if (m.flow >= 0) encodeRow(m.flows.cols, MIRROR_ROW, m.flow, view, body + at.flow);
      else bytes.fill(0, body + at.flow, body + at.flow + MIRROR_ROW.size);
      bytes.set(m.vnet, body + at.vnet);
      let frameAt = body + MIRROR.size;
      if (v6) {
        encodeRow(m.flows.cols, MIRROR6_ROW, m.flow, view, frameAt);
        frameAt += MIRROR6_ROW.size;
      }
      copyInto(b, frameAt, m.frame, m.frameOff, m.frameEnd);
      break;
    }
    case "ack":
      ACK.encode(view, body, r);
      break;
    case "expire":
      EXPIRE.encode(view, body, r);
      break;
    case "flow":
      encodeRow(r.flows.cols, SYNC_ROW, r.flow, view, body + FLOW.at.flow);
      break;
    case "control":
      CONTROL.encode(view, body, r);
      if (r.data) bytes.set(r.data, body + CONTROL.size);
      break;
  }
  view.setUint8(off, TYPE_CODE[r.type]);
  view.setUint16(off + 1, n);
  return RECORD_HEADER_LEN + n;
}

// ---------------------------------------------------------------- reading

/** The fixed size of each record type's body, by type code (0: unknown type). */
export function minBodySize(type: number): number {
  switch (type) {
    case REC_HEARTBEAT:
      return HEARTBEAT.size;
    case REC_MIRROR:
      return MIRROR.size;
    case REC_ACK:
      return ACK.size;
    case REC_EXPIRE:
      return EXPIRE.size;
    case REC_FLOW:
      return FLOW.size;
    case REC_CONTROL:
      return CONTROL.size;
    default:
      return 0;
  }
}

/**
 * The least body this record may have, from its own bytes: {@link minBodySize}, and for a
 * MIRROR with `MF_IPV6` the 48 bytes of high address words besides. 0: unknown type. The batch
 * reader checks every record with it before delivering any, so a malformed batch delivers
 * nothing.
 */
export function minBodyOf(type: number, view: DataView, body: number, blen: number): number {
  const min = minBodySize(type);
  if (type !== REC_MIRROR || blen < min) return min;
  return (view.getUint8(body + MIRROR.at.flags) & MF_IPV6) !== 0 ? min + MIRROR6_ROW.size : min;
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
    dataAck: 0,
    dataTop: 0,
    pairedEpoch: 0,
  };
}

/** One reusable object per record type, refilled by {@link decodeRecord}. */
export class RecordSlots {
  readonly heartbeat: HeartbeatRecord = newHeartbeat();
  readonly mirror: MirrorRecordIn;
  readonly ack: AckRecord = { type: "ack", mseq: 0 };
  readonly expire: ExpireRecord = {
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
  readonly flow: FlowRecordIn;
  readonly control: ControlRecordIn;

  constructor() {
    const empty = new Uint8Array(0);
    const view = new DataView(empty.buffer);
    this.mirror = {
      type: "mirror",
      mseq: 0,
      flags: 0,
      time: 0,
      ingress: 0,
      egress: 0,
      buf: empty,
      view,
      rowOff: 0,
      row6Off: -1,
      nextHopOff: 0,
      vnetOff: 0,
      frameOff: 0,
      frameEnd: 0,
    };
    this.flow = { type: "flow", view, rowOff: 0 };
    this.control = { type: "control", op: 0, arg: 0, buf: empty, dataOff: 0, dataEnd: 0 };
  }
}

/**
 * Decodes the body `b[off, off + len)` of a record of `type` into its slot and returns it;
 * undefined for an unknown type or a body shorter than its type needs.
 */
export function decodeRecord(
  type: number,
  b: WireBuf,
  off: number,
  len: number,
  slots: RecordSlots,
): PeerRecordIn | undefined {
  const min = minBodySize(type);
  if (min === 0 || len < min) return undefined;
  const view = b.view;
  switch (type) {
    case REC_HEARTBEAT:
      HEARTBEAT.decode(view, off, slots.heartbeat);
      return slots.heartbeat;
    case REC_MIRROR: {
      const m = slots.mirror, at = MIRROR.at;
      MIRROR.decode(view, off, m);
      m.buf = b.bytes;
      m.view = view;
      m.rowOff = off + at.flow;
      m.nextHopOff = off + at.nextHop;
      m.vnetOff = off + at.vnet;
      m.frameOff = off + MIRROR.size;
      m.row6Off = -1;
      if (m.flags & MF_IPV6) {
        if (len < MIRROR.size + MIRROR6_ROW.size) return undefined;
        m.row6Off = m.frameOff;
        m.frameOff += MIRROR6_ROW.size;
      }
      m.frameEnd = off + len;
      return m;
    }
    case REC_ACK:
      ACK.decode(view, off, slots.ack);
      return slots.ack;
    case REC_EXPIRE:
      EXPIRE.decode(view, off, slots.expire);
      return slots.expire;
    case REC_FLOW:
      slots.flow.view = view;
      slots.flow.rowOff = off + FLOW.at.flow;
      return slots.flow;
    default: {
      const c = slots.control;
      CONTROL.decode(view, off, c);
      c.buf = b.bytes;
      c.dataOff = off + CONTROL.size;
      c.dataEnd = off + len;
      return c;
    }
  }
}

/** A mirror record of an IPv6 flow (its high address words travel with it). */
function mirrorsV6(m: MirrorOut): boolean {
  return m.flow >= 0 && m.flows.isV6(m.flow);
}
