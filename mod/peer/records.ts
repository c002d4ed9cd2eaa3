/**
 * Peer-link records: the typed bodies inside a batch (DESIGN.md "The peer
 * link"). Each record on the wire is `type u8, len u16, body[len]`; every
 * integer is big-endian, IPv4 addresses are u32, times are f64 milliseconds.
 *
 * Decoders never throw: a body shorter than its type needs, or a field out of
 * range, yields `undefined` and the reader rejects the whole batch. Byte
 * fields of a decoded record (`frame`, `nextHop`, MACs, control `data`) are
 * views into the datagram, not copies: copy what you keep past the next
 * receive into the same buffer. A body
 * longer than needed is accepted and the tail ignored, so a later minor
 * revision can append fields without breaking an older peer.
 * @module
 */
import type { MirrorRecord as EngineMirrorRecord } from "../engine/types.ts";

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
/** The sender gave up the receiver role. */
export const CTRL_RELEASE = 6;
/** `data` = shared random seed / SYN-cookie secret (claims 23, 24). */
export const CTRL_SECRET = 7;
/** The joiner's bulk-sync progress; `arg` = entries received so far (the sender's window). */
export const CTRL_SYNC_PROGRESS = 8;

/**
 * Mirror flag bits. The flags byte travels verbatim, so bits the engine adds
 * (e.g. "the peer emits") pass through untouched.
 */
export const MIRROR_NEW_FLOW = 1;
export const MIRROR_WANT_ACK = 2;
/** A frame without a flow (e.g. a translated ICMP error): emit as is. */
export const MIRROR_NO_FLOW = 4;

/** Heartbeat flag bits. */
export const HB_RECEIVER = 1;
export const HB_FORWARDER = 2;
export const HB_SYNC_COMPLETE = 4;

export type PeerRole = "active" | "standby";
export type PeerUnitState = "active" | "standby" | "solo" | "joining";
/** Wire codes, by index: `role u8` and `state u8`. */
export const ROLE_CODES: readonly PeerRole[] = ["active", "standby"];
export const STATE_CODES: readonly PeerUnitState[] = ["active", "standby", "solo", "joining"];

/** A 5-tuple, IPv4 addresses as u32. */
export interface PeerTuple {
  proto: number;
  srcIp: number;
  srcPort: number;
  dstIp: number;
  dstPort: number;
}

export interface HeartbeatRecord {
  type: "heartbeat";
  role: PeerRole;
  state: PeerUnitState;
  receiver: boolean;
  forwarder: boolean;
  syncComplete: boolean;
  priority: number;
  /** 64-bit digest of the service definitions, as 16 hex digits. */
  configDigest: string;
  flowCount: number;
  /** 64-bit digest of the flow table, as 16 hex digits. */
  tableDigest: string;
  /** Sender clock (ms). */
  sentAt: number;
  /** The `sentAt` of the last heartbeat the sender got from us; 0 if none. */
  echoSentAt: number;
  /** How long the sender held that heartbeat before echoing: RTT = now − echoSentAt − echoHeldMs. */
  echoHeldMs: number;
  /** The sender's boot time (ms): the split-brain tie-break after priority. */
  epoch: number;
}

/**
 * One packet as the receiver processed it, with every decision it made
 * (DESIGN.md "Determinism rule"): both tuples of the flow (the reply tuple's
 * source is the backend, its destination the SNAT address or the client),
 * state, sequence offset, egress and next hop, and the rewritten frame.
 */
export interface MirrorRecord extends EngineMirrorRecord {
  type: "mirror";
  /** Mirror sequence number, acked by `ACK`. */
  mseq: number;
}

export interface AckRecord {
  type: "ack";
  /** Highest mirror sequence applied. */
  mseq: number;
}

/** A flow the receiver reaped or closed, by its original tuple. */
export interface ExpireRecord extends PeerTuple {
  type: "expire";
}

/** A bulk-sync entry (claims 20, 21): everything needed to hold the flow. */
export interface SyncEntry {
  orig: PeerTuple;
  reply: PeerTuple;
  state: number;
  service: number;
  seqOffset: number;
  packets: number;
  bytes: number;
  created: number;
  lastSeen: number;
  /** Encoded as zeros when absent; decoded: always present, views into the datagram. */
  clientMac?: Uint8Array;
  serverMac?: Uint8Array;
}

export interface FlowRecord {
  type: "flow";
  entry: SyncEntry;
}

export interface ControlRecord {
  type: "control";
  op: number;
  arg: number;
  /** Encoded as empty when absent; decoded: a subarray of the datagram. */
  data?: Uint8Array;
}

export type PeerRecord =
  | HeartbeatRecord
  | MirrorRecord
  | AckRecord
  | ExpireRecord
  | FlowRecord
  | ControlRecord;

/** A byte buffer with its DataView, so encoders and decoders allocate no view per record. */
export interface WireBuf {
  bytes: Uint8Array;
  view: DataView;
}

/** Wraps bytes (a datagram or a send buffer) for the encoders and decoders. */
export function wireBuf(bytes: Uint8Array): WireBuf {
  return { bytes, view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
}

// ---------------------------------------------------------------- heartbeat

/** Named offsets inside a HEARTBEAT body. */
export const HB = {
  role: 0,
  state: 1,
  flags: 2,
  priority: 3,
  configDigest: 4,
  flowCount: 12,
  tableDigest: 16,
  sentAt: 24,
  echoSentAt: 32,
  echoHeldMs: 40,
  epoch: 44,
} as const;
export const HEARTBEAT_LEN = 52;

const HEX = /^[0-9a-fA-F]{16}$/;

function writeDigest(v: DataView, at: number, hex: string): void {
  // A malformed digest is a caller bug, not untrusted input.
  if (!HEX.test(hex)) throw new RangeError(`digest must be 16 hex digits: ${JSON.stringify(hex)}`);
  v.setUint32(at, parseInt(hex.slice(0, 8), 16));
  v.setUint32(at + 4, parseInt(hex.slice(8), 16));
}

function readDigest(v: DataView, at: number): string {
  return v.getUint32(at).toString(16).padStart(8, "0") +
    v.getUint32(at + 4).toString(16).padStart(8, "0");
}

/** Writes a HEARTBEAT body at `off`; returns its length. Throws RangeError on a bad digest string. */
export function encodeHeartbeat(b: WireBuf, off: number, r: HeartbeatRecord): number {
  const v = b.view;
  const role = ROLE_CODES.indexOf(r.role);
  const state = STATE_CODES.indexOf(r.state);
  if (role < 0 || state < 0) throw new RangeError(`bad role/state: ${r.role}/${r.state}`);
  v.setUint8(off + HB.role, role);
  v.setUint8(off + HB.state, state);
  v.setUint8(
    off + HB.flags,
    (r.receiver ? HB_RECEIVER : 0) | (r.forwarder ? HB_FORWARDER : 0) |
      (r.syncComplete ? HB_SYNC_COMPLETE : 0),
  );
  v.setUint8(off + HB.priority, r.priority);
  writeDigest(v, off + HB.configDigest, r.configDigest);
  v.setUint32(off + HB.flowCount, r.flowCount >>> 0);
  writeDigest(v, off + HB.tableDigest, r.tableDigest);
  v.setFloat64(off + HB.sentAt, r.sentAt);
  v.setFloat64(off + HB.echoSentAt, r.echoSentAt);
  v.setFloat32(off + HB.echoHeldMs, r.echoHeldMs);
  v.setFloat64(off + HB.epoch, r.epoch);
  return HEARTBEAT_LEN;
}

export function decodeHeartbeat(b: WireBuf, off: number, len: number): HeartbeatRecord | undefined {
  if (len < HEARTBEAT_LEN) return undefined;
  const v = b.view;
  const role = ROLE_CODES[v.getUint8(off + HB.role)];
  const state = STATE_CODES[v.getUint8(off + HB.state)];
  if (role === undefined || state === undefined) return undefined;
  const flags = v.getUint8(off + HB.flags);
  return {
    type: "heartbeat",
    role,
    state,
    receiver: (flags & HB_RECEIVER) !== 0,
    forwarder: (flags & HB_FORWARDER) !== 0,
    syncComplete: (flags & HB_SYNC_COMPLETE) !== 0,
    priority: v.getUint8(off + HB.priority),
    configDigest: readDigest(v, off + HB.configDigest),
    flowCount: v.getUint32(off + HB.flowCount),
    tableDigest: readDigest(v, off + HB.tableDigest),
    sentAt: v.getFloat64(off + HB.sentAt),
    echoSentAt: v.getFloat64(off + HB.echoSentAt),
    echoHeldMs: v.getFloat32(off + HB.echoHeldMs),
    epoch: v.getFloat64(off + HB.epoch),
  };
}

// ---------------------------------------------------------------- mirror

/** Named offsets inside a MIRROR body; the frame follows at `frame`. */
export const MR = {
  mseq: 0,
  time: 4,
  ingress: 12,
  egress: 13,
  flags: 14,
  state: 15,
  service: 16,
  proto: 18,
  oSrc: 19,
  oSport: 23,
  oDst: 25,
  oDport: 29,
  rSrc: 31,
  rSport: 35,
  rDst: 37,
  rDport: 41,
  seqOffset: 43,
  nextHop: 47,
  vnet: 53,
  frameLen: 63,
  frame: 65,
} as const;
/** MIRROR body bytes before the frame. */
export const MIRROR_FIXED_LEN = 65;
/** The TAP's virtio_net_hdr (offload metadata: checksum state, GSO type and size). */
export const VNET_HDR_LEN = 10;
export const MAC_ADDR_LEN = 6;

function writeMac(b: WireBuf, at: number, mac: Uint8Array | undefined): void {
  if (mac === undefined) b.bytes.fill(0, at, at + MAC_ADDR_LEN);
  else b.bytes.set(mac.subarray(0, MAC_ADDR_LEN), at);
}

export function encodeMirror(b: WireBuf, off: number, r: MirrorRecord): number {
  const v = b.view;
  v.setUint32(off + MR.mseq, r.mseq >>> 0);
  v.setFloat64(off + MR.time, r.time);
  v.setUint8(off + MR.ingress, r.ingress);
  v.setUint8(off + MR.egress, r.egress);
  v.setUint8(off + MR.flags, r.flags);
  v.setUint8(off + MR.state, r.state);
  v.setUint16(off + MR.service, r.service);
  v.setUint8(off + MR.proto, r.proto);
  v.setUint32(off + MR.oSrc, r.oSrc >>> 0);
  v.setUint16(off + MR.oSport, r.oSport);
  v.setUint32(off + MR.oDst, r.oDst >>> 0);
  v.setUint16(off + MR.oDport, r.oDport);
  v.setUint32(off + MR.rSrc, r.rSrc >>> 0);
  v.setUint16(off + MR.rSport, r.rSport);
  v.setUint32(off + MR.rDst, r.rDst >>> 0);
  v.setUint16(off + MR.rDport, r.rDport);
  v.setUint32(off + MR.seqOffset, r.seqOffset >>> 0);
  writeMac(b, off + MR.nextHop, r.nextHop);
  if (r.vnet === undefined) b.bytes.fill(0, off + MR.vnet, off + MR.vnet + VNET_HDR_LEN);
  else b.bytes.set(r.vnet.subarray(0, VNET_HDR_LEN), off + MR.vnet);
  v.setUint16(off + MR.frameLen, r.frame.length);
  b.bytes.set(r.frame, off + MR.frame);
  return MIRROR_FIXED_LEN + r.frame.length;
}

export function decodeMirror(b: WireBuf, off: number, len: number): MirrorRecord | undefined {
  if (len < MIRROR_FIXED_LEN) return undefined;
  const v = b.view;
  const frameLen = v.getUint16(off + MR.frameLen);
  if (MIRROR_FIXED_LEN + frameLen > len) return undefined;
  const start = off + MR.frame;
  return {
    type: "mirror",
    mseq: v.getUint32(off + MR.mseq),
    time: v.getFloat64(off + MR.time),
    ingress: v.getUint8(off + MR.ingress),
    egress: v.getUint8(off + MR.egress),
    flags: v.getUint8(off + MR.flags),
    state: v.getUint8(off + MR.state),
    service: v.getUint16(off + MR.service),
    proto: v.getUint8(off + MR.proto),
    oSrc: v.getUint32(off + MR.oSrc),
    oSport: v.getUint16(off + MR.oSport),
    oDst: v.getUint32(off + MR.oDst),
    oDport: v.getUint16(off + MR.oDport),
    rSrc: v.getUint32(off + MR.rSrc),
    rSport: v.getUint16(off + MR.rSport),
    rDst: v.getUint32(off + MR.rDst),
    rDport: v.getUint16(off + MR.rDport),
    seqOffset: v.getUint32(off + MR.seqOffset),
    // A view, like `frame`: slice() would cost ~3x the rest of the decode.
    nextHop: b.bytes.subarray(off + MR.nextHop, off + MR.nextHop + MAC_ADDR_LEN),
    vnet: b.bytes.subarray(off + MR.vnet, off + MR.vnet + VNET_HDR_LEN),
    frame: b.bytes.subarray(start, start + frameLen),
  };
}

// ---------------------------------------------------------------- ack, expire

export const ACK_LEN = 4;

export function encodeAck(b: WireBuf, off: number, r: AckRecord): number {
  b.view.setUint32(off, r.mseq >>> 0);
  return ACK_LEN;
}

export function decodeAck(b: WireBuf, off: number, len: number): AckRecord | undefined {
  if (len < ACK_LEN) return undefined;
  return { type: "ack", mseq: b.view.getUint32(off) };
}

/** Named offsets inside an EXPIRE body. */
export const EX = { proto: 0, srcIp: 1, srcPort: 5, dstIp: 7, dstPort: 11 } as const;
export const EXPIRE_LEN = 13;

export function encodeExpire(b: WireBuf, off: number, r: ExpireRecord): number {
  const v = b.view;
  v.setUint8(off + EX.proto, r.proto);
  v.setUint32(off + EX.srcIp, r.srcIp >>> 0);
  v.setUint16(off + EX.srcPort, r.srcPort);
  v.setUint32(off + EX.dstIp, r.dstIp >>> 0);
  v.setUint16(off + EX.dstPort, r.dstPort);
  return EXPIRE_LEN;
}

export function decodeExpire(b: WireBuf, off: number, len: number): ExpireRecord | undefined {
  if (len < EXPIRE_LEN) return undefined;
  const v = b.view;
  return {
    type: "expire",
    proto: v.getUint8(off + EX.proto),
    srcIp: v.getUint32(off + EX.srcIp),
    srcPort: v.getUint16(off + EX.srcPort),
    dstIp: v.getUint32(off + EX.dstIp),
    dstPort: v.getUint16(off + EX.dstPort),
  };
}

// ---------------------------------------------------------------- flow (bulk sync)

/** Named offsets inside a FLOW body. One proto byte serves both tuples. */
export const FL = {
  proto: 0,
  state: 1,
  origSrcIp: 2,
  origSrcPort: 6,
  origDstIp: 8,
  origDstPort: 12,
  replySrcIp: 14,
  replySrcPort: 18,
  replyDstIp: 20,
  replyDstPort: 24,
  service: 26,
  seqOffset: 28,
  packets: 32,
  bytes: 40,
  created: 48,
  lastSeen: 56,
  clientMac: 64,
  serverMac: 70,
} as const;
export const FLOW_LEN = 76;

export function encodeFlow(b: WireBuf, off: number, r: FlowRecord): number {
  const v = b.view, e = r.entry;
  v.setUint8(off + FL.proto, e.orig.proto);
  v.setUint8(off + FL.state, e.state);
  v.setUint32(off + FL.origSrcIp, e.orig.srcIp >>> 0);
  v.setUint16(off + FL.origSrcPort, e.orig.srcPort);
  v.setUint32(off + FL.origDstIp, e.orig.dstIp >>> 0);
  v.setUint16(off + FL.origDstPort, e.orig.dstPort);
  v.setUint32(off + FL.replySrcIp, e.reply.srcIp >>> 0);
  v.setUint16(off + FL.replySrcPort, e.reply.srcPort);
  v.setUint32(off + FL.replyDstIp, e.reply.dstIp >>> 0);
  v.setUint16(off + FL.replyDstPort, e.reply.dstPort);
  v.setUint16(off + FL.service, e.service);
  v.setUint32(off + FL.seqOffset, e.seqOffset >>> 0);
  v.setFloat64(off + FL.packets, e.packets);
  v.setFloat64(off + FL.bytes, e.bytes);
  v.setFloat64(off + FL.created, e.created);
  v.setFloat64(off + FL.lastSeen, e.lastSeen);
  writeMac(b, off + FL.clientMac, e.clientMac);
  writeMac(b, off + FL.serverMac, e.serverMac);
  return FLOW_LEN;
}

export function decodeFlow(b: WireBuf, off: number, len: number): FlowRecord | undefined {
  if (len < FLOW_LEN) return undefined;
  const v = b.view;
  const proto = v.getUint8(off + FL.proto);
  return {
    type: "flow",
    entry: {
      orig: {
        proto,
        srcIp: v.getUint32(off + FL.origSrcIp),
        srcPort: v.getUint16(off + FL.origSrcPort),
        dstIp: v.getUint32(off + FL.origDstIp),
        dstPort: v.getUint16(off + FL.origDstPort),
      },
      reply: {
        proto,
        srcIp: v.getUint32(off + FL.replySrcIp),
        srcPort: v.getUint16(off + FL.replySrcPort),
        dstIp: v.getUint32(off + FL.replyDstIp),
        dstPort: v.getUint16(off + FL.replyDstPort),
      },
      state: v.getUint8(off + FL.state),
      service: v.getUint16(off + FL.service),
      seqOffset: v.getUint32(off + FL.seqOffset),
      packets: v.getFloat64(off + FL.packets),
      bytes: v.getFloat64(off + FL.bytes),
      created: v.getFloat64(off + FL.created),
      lastSeen: v.getFloat64(off + FL.lastSeen),
      clientMac: b.bytes.subarray(off + FL.clientMac, off + FL.clientMac + MAC_ADDR_LEN),
      serverMac: b.bytes.subarray(off + FL.serverMac, off + FL.serverMac + MAC_ADDR_LEN),
    },
  };
}

// ---------------------------------------------------------------- control

/** CONTROL body: op u8, arg u32, then `data` to the end of the body. */
export const CONTROL_FIXED_LEN = 5;

export function encodeControl(b: WireBuf, off: number, r: ControlRecord): number {
  b.view.setUint8(off, r.op);
  b.view.setUint32(off + 1, r.arg >>> 0);
  const n = r.data?.length ?? 0;
  if (r.data) b.bytes.set(r.data, off + CONTROL_FIXED_LEN);
  return CONTROL_FIXED_LEN + n;
}

export function decodeControl(b: WireBuf, off: number, len: number): ControlRecord | undefined {
  if (len < CONTROL_FIXED_LEN) return undefined;
  return {
    type: "control",
    op: b.view.getUint8(off),
    arg: b.view.getUint32(off + 1),
    data: b.bytes.subarray(off + CONTROL_FIXED_LEN, off + len),
  };
}

// ---------------------------------------------------------------- any record

/** Body length of a record, computed without encoding it. */
export function bodySize(r: PeerRecord): number {
  switch (r.type) {
    case "heartbeat":
      return HEARTBEAT_LEN;
    case "mirror":
      return MIRROR_FIXED_LEN + r.frame.length;
    case "ack":
      return ACK_LEN;
    case "expire":
      return EXPIRE_LEN;
    case "flow":
      return FLOW_LEN;
    case "control":
      return CONTROL_FIXED_LEN + (r.data?.length ?? 0);
  }
}

/** Bytes a record takes in a batch: header plus body. */
export function recordSize(r: PeerRecord): number {
  return RECORD_HEADER_LEN + bodySize(r);
}

/**
 * Writes `type, len, body` at `off`; returns the bytes written. The caller
 * checks room with `recordSize` first. Throws RangeError on a body over
 * 65535 bytes or bad field values (caller bugs).
 */
export function encodeRecord(b: WireBuf, off: number, r: PeerRecord): number {
  const body = off + RECORD_HEADER_LEN;
  let n: number, type: number;
  switch (r.type) {
    case "heartbeat":
      type = REC_HEARTBEAT;
      n = encodeHeartbeat(b, body, r);
      break;
    case "mirror":
      if (r.frame.length > MAX_BODY_LEN - MIRROR_FIXED_LEN) throw new RangeError("frame too long");
      type = REC_MIRROR;
      n = encodeMirror(b, body, r);
      break;
    case "ack":
      type = REC_ACK;
      n = encodeAck(b, body, r);
      break;
    case "expire":
      type = REC_EXPIRE;
      n = encodeExpire(b, body, r);
      break;
    case "flow":
      type = REC_FLOW;
      n = encodeFlow(b, body, r);
      break;
    case "control":
      if ((r.data?.length ?? 0) > MAX_BODY_LEN - CONTROL_FIXED_LEN) {
        throw new RangeError("control data too long");
      }
      type = REC_CONTROL;
      n = encodeControl(b, body, r);
      break;
  }
  b.view.setUint8(off, type);
  b.view.setUint16(off + 1, n);
  return RECORD_HEADER_LEN + n;
}

/** Decodes one body of a given type; `undefined` for an unknown type or a short body. */
export function decodeBody(
  type: number,
  b: WireBuf,
  off: number,
  len: number,
): PeerRecord | undefined {
  switch (type) {
    case REC_HEARTBEAT:
      return decodeHeartbeat(b, off, len);
    case REC_MIRROR:
      return decodeMirror(b, off, len);
    case REC_ACK:
      return decodeAck(b, off, len);
    case REC_EXPIRE:
      return decodeExpire(b, off, len);
    case REC_FLOW:
      return decodeFlow(b, off, len);
    case REC_CONTROL:
      return decodeControl(b, off, len);
    default:
      return undefined;
  }
}
