/**
 * Fixtures for the peer-link tests: one record of each type with a distinct, non-zero value in
 * every field, their wire bytes written out by hand, a sealer for arbitrary batch bytes, and a
 * reader callback that copies each delivered record out of its reused slot.
 * @module
 */
import { createCipheriv, createHmac } from "node:crypto";
import { BATCH_HEADER_LEN, BATCH_MAGIC, BATCH_VERSION, BH } from "./batch.ts";
import {
  type AckRecord,
  type ControlRecordOut,
  CTRL_SECRET,
  type ExpireRecord,
  type FlowRecordOut,
  type HeartbeatRecord,
  type MirrorRecordOut,
  type PeerRecordIn,
  type PeerRecordOut,
} from "./records.ts";
import {
  decodeRow,
  FLOW_FIELDS,
  type FlowEntry,
  MIRROR6_ROW,
  MIRROR_ROW,
  SYNC_ROW,
} from "../flow/fields.ts";
import { FlowTable } from "../flow/table.ts";
import {
  flowN,
  IPV4_HI_FIELDS,
  SAMPLE,
  SAMPLE_MIRROR6_BYTES,
  SAMPLE_MIRROR_BYTES,
  SAMPLE_SYNC_BYTES,
} from "../flow/test_util.ts";
import { MF_IPV6, type MirrorOut } from "../engine/output.ts";

export const KEY = new TextEncoder().encode("tandem test key, 32 bytes long!!");

/** A table holding {@link SAMPLE} as flow 1 (not 0, so a flow id mistaken for 0 shows). */
export function sampleTable(): FlowTable {
  const ft = new FlowTable(4);
  ft.addEntry(flowN(0));
  if (ft.addEntry(SAMPLE) !== 1) throw new Error("sample flow is not flow 1");
  return ft;
}
export const SAMPLE_FLOW = 1;

/** {@link SAMPLE} as an IPv4 flow: its high address words zeroed. */
export const SAMPLE_V4: Readonly<Partial<FlowEntry>> = { ...SAMPLE, ...IPV4_HI_FIELDS };

/** A table holding {@link SAMPLE_V4} as flow {@link SAMPLE_FLOW}. */
export function sampleTableV4(): FlowTable {
  const ft = new FlowTable(4);
  ft.addEntry(flowN(0));
  if (ft.addEntry(SAMPLE_V4) !== SAMPLE_FLOW) throw new Error("sample flow is not flow 1");
  if (ft.isV6(SAMPLE_FLOW)) throw new Error("SAMPLE_V4 is IPv6");
  return ft;
}

export function heartbeat(): HeartbeatRecord {
  return {
    type: "heartbeat",
    role: 1,
    state: 2,
    flags: 5,
    priority: 200,
    configDigestHi: 0x01234567,
    configDigestLo: 0x89abcdef,
    flowCount: 123456,
    tableDigestHi: 0xfedcba98,
    tableDigestLo: 0x76543210,
    sentAt: 1_700_000_000_123.5,
    echoSentAt: 1_700_000_000_100.25,
    echoHeldMs: 0.75,
    epoch: 1_699_999_000_000,
    dataAck: 0x01020304,
    dataTop: 0x0a0b0c0d,
    pairedEpoch: 1_699_998_000_000,
  };
}

/** {@link heartbeat}'s body. */
// deno-fmt-ignore
export const HEARTBEAT_BODY: readonly number[] = [
  1, 2, 5, 200, // role, state, flags, priority
  0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, // config digest
  0x00, 0x01, 0xe2, 0x40, // flowCount 123456
  0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10, // table digest
  0x42, 0x78, 0xbc, 0xfe, 0x56, 0x87, 0xb8, 0x00, // sentAt
  0x42, 0x78, 0xbc, 0xfe, 0x56, 0x86, 0x44, 0x00, // echoSentAt
  0x3f, 0x40, 0x00, 0x00, // echoHeldMs 0.75 (f32)
  0x42, 0x78, 0xbc, 0xfd, 0x62, 0x5c, 0x00, 0x00, // epoch
  0x01, 0x02, 0x03, 0x04, // dataAck
  0x0a, 0x0b, 0x0c, 0x0d, // dataTop
  0x42, 0x78, 0xbc, 0xfc, 0x6e, 0x38, 0x00, 0x00, // pairedEpoch
];

export const NEXT_HOP = [0x02, 0x11, 0x22, 0x33, 0x44, 0x55];
export const VNET = [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a];

/** A frame of `len` bytes, each its index scrambled by `salt`. */
export function frameBytes(len: number, salt = 0): Uint8Array {
  const f = new Uint8Array(len);
  for (let i = 0; i < len; i++) f[i] = (i * 7 + 13 + salt) & 255;
  return f;
}

/**
 * The engine's mirror record for `flow` of `flows` (by default {@link SAMPLE} as flow
 * {@link SAMPLE_FLOW} of {@link sampleTable}); the frame is `frameLen` bytes taken from offset 3
 * of a larger buffer.
 */
export function mirrorOut(
  frameLen = 8,
  flows: FlowTable = sampleTable(),
  flow = SAMPLE_FLOW,
): MirrorOut {
  const frame = frameBytes(frameLen + 5);
  return {
    flags: 0x0b,
    time: 1_700_000_000_001.125,
    ingress: 2,
    egress: 3,
    nextHop: new Uint8Array(NEXT_HOP),
    flows,
    flow,
    frame,
    frameOff: 3,
    frameEnd: 3 + frameLen,
    vnet: new Uint8Array(VNET),
  };
}

export function mirror(frameLen = 8, mseq = 0xa1b2c3d4): MirrorRecordOut {
  return { type: "mirror", mseq, rec: mirrorOut(frameLen) };
}

/**
 * {@link mirror}'s body for `frameLen` bytes of frame. `row`: "v6" for {@link SAMPLE} (an IPv6
 * flow: flags 0x0b | MF_IPV6 = 0x2b, its 48 bytes of high words between vnet and frame), "v4"
 * for {@link SAMPLE_V4} (flags 0x0b, the same 35-byte row, nothing more), "none" for no flow
 * (flags 0x0b, a zeroed row).
 */
export function mirrorBody(frameLen = 8, row: "v6" | "v4" | "none" = "v6"): number[] {
  // deno-fmt-ignore
  return [
    0xa1, 0xb2, 0xc3, 0xd4, // mseq
    0x42, 0x78, 0xbc, 0xfe, 0x56, 0x80, 0x12, 0x00, // time
    2, 3, row === "v6" ? 0x2b : 0x0b, // ingress, egress, flags
    ...NEXT_HOP,
    ...(row === "none" ? new Array(35).fill(0) : SAMPLE_MIRROR_BYTES),
    ...VNET,
    ...(row === "v6" ? SAMPLE_MIRROR6_BYTES : []),
    ...frameBytes(frameLen + 5).subarray(3, 3 + frameLen),
  ];
}

export function ack(): AckRecord {
  return { type: "ack", mseq: 0xfffffffe };
}
export const ACK_BODY: readonly number[] = [0xff, 0xff, 0xff, 0xfe];

export function expire(): ExpireRecord {
  return {
    type: "expire",
    proto: 17,
    srcIp: 0xc0000202,
    srcPort: 53,
    dstIp: 0xcb007102,
    dstPort: 5353,
    srcHi0: 0x20010db8,
    srcHi1: 0x01000000,
    srcHi2: 0x00000001,
    dstHi0: 0x20010db8,
    dstHi1: 0x01130000,
    dstHi2: 0x00000002,
  };
}
// deno-fmt-ignore
export const EXPIRE_BODY: readonly number[] = [
  17, 0xc0, 0x00, 0x02, 0x02, 0x00, 53, 0xcb, 0x00, 0x71, 0x02, 0x14, 0xe9,
  0x20, 0x01, 0x0d, 0xb8, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
  0x20, 0x01, 0x0d, 0xb8, 0x01, 0x13, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
];

export function flow(): FlowRecordOut {
  return { type: "flow", flows: sampleTable(), flow: SAMPLE_FLOW };
}
export const FLOW_BODY: readonly number[] = SAMPLE_SYNC_BYTES;

export function control(): ControlRecordOut {
  return { type: "control", op: CTRL_SECRET, arg: 0x01020304, data: frameBytes(32, 99) };
}
export const CONTROL_BODY: readonly number[] = [7, 1, 2, 3, 4, ...frameBytes(32, 99)];

/** One record of each type, in type-code order. */
export function allRecords(): PeerRecordOut[] {
  return [heartbeat(), mirror(), ack(), expire(), flow(), control()];
}

/** A delivered record copied out of its slot: byte parts as arrays, rows as entries. */
export type Copied =
  | HeartbeatRecord
  | AckRecord
  | ExpireRecord
  | {
    type: "mirror";
    mseq: number;
    time: number;
    flags: number;
    ingress: number;
    egress: number;
    nextHop: number[];
    flow: Partial<FlowEntry>;
    vnet: number[];
    frame: number[];
  }
  | { type: "flow"; flow: FlowEntry }
  | { type: "control"; op: number; arg: number; data: number[] };

/**
 * Reads a row into a scratch table and returns its fields (only those the layout carries): the
 * whole SYNC_ROW at `off`, or a mirror record's MIRROR_ROW at `off` and, when `row6Off` is not
 * -1, its MIRROR6_ROW there.
 */
function readRow(view: DataView, off: number, mirrorOnly: boolean, row6Off = -1): FlowEntry {
  const ft = new FlowTable(1);
  decodeRow(ft.cols, mirrorOnly ? MIRROR_ROW : SYNC_ROW, 0, view, off);
  if (mirrorOnly && row6Off >= 0) decodeRow(ft.cols, MIRROR6_ROW, 0, view, row6Off);
  const e = ft.entry(0);
  if (mirrorOnly) {
    for (const f of FLOW_FIELDS) {
      const kept = f.travel === "mirror" || (f.travel === "mirror6" && row6Off >= 0);
      if (!kept) delete (e as Partial<FlowEntry>)[f.name];
    }
  }
  return e;
}

/** Copies a delivered record (valid only during the callback) into a plain object. */
export function copyRecord(r: PeerRecordIn): Copied {
  switch (r.type) {
    case "mirror":
      return {
        type: "mirror",
        mseq: r.mseq,
        time: r.time,
        flags: r.flags,
        ingress: r.ingress,
        egress: r.egress,
        nextHop: [...r.buf.subarray(r.nextHopOff, r.nextHopOff + 6)],
        flow: readRow(r.view, r.rowOff, true, r.row6Off),
        vnet: [...r.buf.subarray(r.vnetOff, r.vnetOff + 10)],
        frame: [...r.buf.subarray(r.frameOff, r.frameEnd)],
      };
    case "flow":
      return { type: "flow", flow: readRow(r.view, r.rowOff, false) };
    case "control":
      return {
        type: "control",
        op: r.op,
        arg: r.arg,
        data: [...r.buf.subarray(r.dataOff, r.dataEnd)],
      };
    default:
      return { ...r };
  }
}

/** What {@link allRecords} look like once delivered and copied. */
export function allCopied(): Copied[] {
  // SAMPLE is IPv6: its record carries the mirror and mirror6 fields, and MF_IPV6.
  const mirrored: Partial<FlowEntry> = {};
  for (const f of FLOW_FIELDS) if (f.travel !== "sync") mirrored[f.name] = SAMPLE[f.name];
  const m = mirror();
  return [
    heartbeat(),
    {
      type: "mirror",
      mseq: m.mseq,
      time: m.rec.time,
      flags: m.rec.flags | MF_IPV6,
      ingress: m.rec.ingress,
      egress: m.rec.egress,
      nextHop: NEXT_HOP,
      flow: mirrored,
      vnet: VNET,
      frame: [...m.rec.frame.subarray(m.rec.frameOff, m.rec.frameEnd)],
    },
    ack(),
    expire(),
    { type: "flow", flow: { ...SAMPLE } },
    { type: "control", op: CTRL_SECRET, arg: 0x01020304, data: [...frameBytes(32, 99)] },
  ];
}

export interface RawHeader {
  magic?: number;
  version?: number;
  flags?: number;
  count?: number;
  epoch?: number;
  seq?: number;
  salt?: ArrayLike<number>;
}

/** A fixed writer salt for tests that compare bytes. */
export const SALT = Uint8Array.of(0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58);

/**
 * The batch tag of `data` (header included), computed with node's own primitives, not the code
 * under test: ChaCha20-Poly1305 under HMAC-SHA256(key, label), nonce = salt ‖ seq from the
 * header, `data` as additional data.
 */
export function refMac(key: Uint8Array, data: Uint8Array): Uint8Array {
  const label = "tandem peer link: chacha20-poly1305 batch tag";
  const k = createHmac("sha256", key).update(label).digest();
  const nonce = new Uint8Array(12);
  nonce.set(data.subarray(20, 28));
  nonce.set(data.subarray(16, 20), 8);
  const c = createCipheriv("chacha20-poly1305", k, nonce, { authTagLength: 16 });
  c.setAAD(data, { plaintextLength: 0 });
  c.final();
  return new Uint8Array(c.getAuthTag());
}

/** Builds a datagram around arbitrary record bytes, with a correct MAC under `key`. */
export function sealRaw(
  body: ArrayLike<number>,
  h: RawHeader = {},
  key: Uint8Array = KEY,
): Uint8Array {
  const out = new Uint8Array(BATCH_HEADER_LEN + body.length + 16);
  const v = new DataView(out.buffer);
  v.setUint32(BH.magic, h.magic ?? BATCH_MAGIC);
  v.setUint8(BH.version, h.version ?? BATCH_VERSION);
  v.setUint8(BH.flags, h.flags ?? 0);
  v.setUint16(BH.count, h.count ?? 0);
  v.setFloat64(BH.epoch, h.epoch ?? 1);
  v.setUint32(BH.seq, h.seq ?? 1);
  out.set(h.salt ?? SALT, BH.salt);
  out.set(body, BATCH_HEADER_LEN);
  const end = BATCH_HEADER_LEN + body.length;
  out.set(refMac(key, out.subarray(0, end)), end);
  return out;
}
