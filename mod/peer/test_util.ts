/** Helpers for the peer-link tests: sample records and a sealer for arbitrary bytes. */
import { BATCH_HEADER_LEN, BATCH_MAGIC, BATCH_VERSION, batchMac, BH } from "./batch.ts";
import type {
  AckRecord,
  ControlRecord,
  ExpireRecord,
  FlowRecord,
  HeartbeatRecord,
  MirrorRecord,
  PeerRecord,
} from "./records.ts";
import { CTRL_SECRET } from "./records.ts";

export const KEY = new TextEncoder().encode("tandem test key, 32 bytes long!!");

export function heartbeat(): HeartbeatRecord {
  return {
    type: "heartbeat",
    role: "standby",
    state: "joining",
    receiver: false,
    forwarder: true,
    syncComplete: true,
    priority: 200,
    configDigest: "0123456789abcdef",
    flowCount: 123456,
    tableDigest: "fedcba9876543210",
    sentAt: 1_700_000_000_123.5,
    echoSentAt: 1_700_000_000_100.25,
    echoHeldMs: 0.75,
    epoch: 1_699_999_000_000,
  };
}

export function mirror(frameLen = 100, mseq = 7): MirrorRecord {
  const frame = new Uint8Array(frameLen);
  for (let i = 0; i < frameLen; i++) frame[i] = (i * 7 + mseq) & 255;
  return {
    type: "mirror",
    mseq,
    time: 1_700_000_000_001.125,
    ingress: 0,
    egress: 1,
    flags: 1 | 2 | 8,
    state: 3,
    service: 513,
    proto: 6,
    oSrc: 0xc0000201,
    oSport: 40001,
    oDst: 0xcb007101,
    oDport: 443,
    rSrc: 0xcb007114,
    rSport: 7000,
    rDst: 0xc6336405,
    rDport: 61000,
    seqOffset: 0xdeadbeef,
    nextHop: new Uint8Array([0x02, 0x11, 0x22, 0x33, 0x44, 0x55]),
    vnet: new Uint8Array([1, 1, 0, 54, 0x05, 0xa8, 0, 34, 0, 16]),
    frame,
  };
}

export function ack(): AckRecord {
  return { type: "ack", mseq: 0xfffffffe };
}

export function expire(): ExpireRecord {
  return {
    type: "expire",
    proto: 17,
    srcIp: 0xc0000202,
    srcPort: 53,
    dstIp: 0xcb007102,
    dstPort: 5353,
  };
}

export function flow(): FlowRecord {
  return {
    type: "flow",
    entry: {
      orig: { proto: 6, srcIp: 0xc0000201, srcPort: 40001, dstIp: 0xcb007101, dstPort: 443 },
      reply: { proto: 6, srcIp: 0xcb007114, srcPort: 7000, dstIp: 0xc6336405, dstPort: 61000 },
      state: 3,
      service: 2,
      seqOffset: 0x80000001,
      packets: 2 ** 40 + 3,
      bytes: 2 ** 50 + 5,
      created: 1_700_000_000_000,
      lastSeen: 1_700_000_009_999.5,
      clientMac: new Uint8Array([0x02, 0, 0, 0, 0, 0x0c]),
      serverMac: new Uint8Array([0x02, 0, 0, 0, 0, 0x05]),
    },
  };
}

export function control(): ControlRecord {
  return { type: "control", op: CTRL_SECRET, arg: 32, data: new Uint8Array(32).fill(0x3c) };
}

export function allRecords(): PeerRecord[] {
  return [heartbeat(), mirror(), ack(), expire(), flow(), control()];
}

export interface RawHeader {
  magic?: number;
  version?: number;
  count?: number;
  epoch?: number;
  seq?: number;
}

/** Builds a datagram from arbitrary record bytes with a correct MAC. */
export function sealRaw(body: Uint8Array, h: RawHeader = {}, key: Uint8Array = KEY): Uint8Array {
  const out = new Uint8Array(BATCH_HEADER_LEN + body.length + 16);
  const v = new DataView(out.buffer);
  v.setUint32(BH.magic, h.magic ?? BATCH_MAGIC);
  v.setUint8(BH.version, h.version ?? BATCH_VERSION);
  v.setUint16(BH.count, h.count ?? 0);
  v.setFloat64(BH.epoch, h.epoch ?? 1);
  v.setUint32(BH.seq, h.seq ?? 1);
  out.set(body, BATCH_HEADER_LEN);
  const end = BATCH_HEADER_LEN + body.length;
  out.set(batchMac(key, out.subarray(0, end)), end);
  return out;
}

/** xorshift32: a seeded generator so fuzz runs repeat exactly. */
export function xorshift(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
}
