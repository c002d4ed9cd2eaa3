import assert from "node:assert/strict";
import {
  ACK,
  bodySize,
  CONTROL,
  copyInto,
  CTRL_FAILOVER_REQUEST,
  CTRL_SECRET,
  CTRL_SYNC_BEGIN,
  CTRL_SYNC_END,
  CTRL_SYNC_PROGRESS,
  CTRL_SYNC_REQUEST,
  CTRL_TAKEOVER,
  decodeRecord,
  encodeRecord,
  EXPIRE,
  FLOW,
  HB_FORWARDER,
  HB_RECEIVER,
  HB_SYNC_COMPLETE,
  HEARTBEAT,
  MAX_BODY_LEN,
  minBodySize,
  MIRROR,
  type PeerRecordOut,
  REC_ACK,
  REC_CONTROL,
  REC_EXPIRE,
  REC_FLOW,
  REC_HEARTBEAT,
  REC_MIRROR,
  RECORD_HEADER_LEN,
  recordSize,
  RecordSlots,
  wireBuf,
} from "./records.ts";
import { decodeRow, FLOW_FIELDS, MIRROR6_ROW, MIRROR_ROW, SYNC_ROW } from "../flow/fields.ts";
import { FlowTable } from "../flow/table.ts";
import { SAMPLE, SAMPLE_MIRROR6_BYTES } from "../flow/test_util.ts";
import { MF_IPV6, MF_NO_FLOW } from "../engine/output.ts";
import {
  ack,
  ACK_BODY,
  allCopied,
  allRecords,
  control,
  CONTROL_BODY,
  copyRecord,
  expire,
  EXPIRE_BODY,
  flow,
  FLOW_BODY,
  frameBytes,
  heartbeat,
  HEARTBEAT_BODY,
  mirror,
  mirrorBody,
  mirrorOut,
  NEXT_HOP,
  SAMPLE_FLOW,
  SAMPLE_V4,
  sampleTableV4,
  VNET,
} from "./test_util.ts";

const TYPES = [REC_HEARTBEAT, REC_MIRROR, REC_ACK, REC_EXPIRE, REC_FLOW, REC_CONTROL];
const BODIES = () => [
  HEARTBEAT_BODY,
  mirrorBody(),
  ACK_BODY,
  EXPIRE_BODY,
  FLOW_BODY,
  CONTROL_BODY,
];

/** Encodes `rec` at offset 5 of a 0xa5-filled buffer; checks the size and the untouched edges. */
function encoded(rec: PeerRecordOut, size = 512): { buf: Uint8Array; n: number } {
  const buf = new Uint8Array(size).fill(0xa5);
  const n = encodeRecord(wireBuf(buf), 5, rec);
  assert.equal(n, recordSize(rec), `${rec.type}: recordSize agrees with encodeRecord`);
  assert.equal(n, RECORD_HEADER_LEN + bodySize(rec), rec.type);
  assert.deepEqual([...buf.subarray(0, 5)], [0xa5, 0xa5, 0xa5, 0xa5, 0xa5], "before");
  assert.ok(buf.subarray(5 + n).every((b) => b === 0xa5), `${rec.type}: nothing after`);
  return { buf, n };
}

Deno.test("records: type codes, header length and constants are the documented values", () => {
  assert.deepEqual(TYPES, [1, 2, 3, 4, 5, 6]);
  assert.equal(RECORD_HEADER_LEN, 3);
  assert.equal(MAX_BODY_LEN, 65535);
  assert.deepEqual(
    [
      CTRL_SYNC_REQUEST,
      CTRL_SYNC_BEGIN,
      CTRL_SYNC_END,
      CTRL_FAILOVER_REQUEST,
      CTRL_TAKEOVER,
      CTRL_SECRET,
      CTRL_SYNC_PROGRESS,
    ],
    [1, 2, 3, 4, 5, 7, 8],
  );
  assert.deepEqual([HB_RECEIVER, HB_FORWARDER, HB_SYNC_COMPLETE], [1, 2, 4]);
  assert.equal(MF_IPV6, 32);
});

Deno.test("records: body layouts have the documented offsets and sizes (wire contract)", () => {
  assert.deepEqual({ ...HEARTBEAT.at }, {
    role: 0,
    state: 1,
    flags: 2,
    priority: 3,
    configDigestHi: 4,
    configDigestLo: 8,
    flowCount: 12,
    tableDigestHi: 16,
    tableDigestLo: 20,
    sentAt: 24,
    echoSentAt: 32,
    echoHeldMs: 40,
    epoch: 44,
    dataAck: 52,
    dataTop: 56,
    pairedEpoch: 60,
  });
  assert.equal(HEARTBEAT.size, 68);
  assert.deepEqual({ ...MIRROR.at }, {
    mseq: 0,
    time: 4,
    ingress: 12,
    egress: 13,
    flags: 14,
    nextHop: 15,
    flow: 21,
    vnet: 56,
  });
  assert.equal(MIRROR_ROW.size, 35);
  assert.equal(MIRROR6_ROW.size, 48);
  assert.equal(MIRROR.at.vnet, 21 + MIRROR_ROW.size);
  assert.equal(MIRROR.size, 66);
  assert.equal(MIRROR.size, 31 + MIRROR_ROW.size);
  assert.deepEqual({ ...ACK.at }, { mseq: 0 });
  assert.equal(ACK.size, 4);
  assert.deepEqual({ ...EXPIRE.at }, {
    proto: 0,
    srcIp: 1,
    srcPort: 5,
    dstIp: 7,
    dstPort: 11,
    srcHi0: 13,
    srcHi1: 17,
    srcHi2: 21,
    dstHi0: 25,
    dstHi1: 29,
    dstHi2: 33,
  });
  assert.equal(EXPIRE.size, 37);
  assert.deepEqual({ ...FLOW.at }, { flow: 0 });
  assert.equal(FLOW.size, SYNC_ROW.size);
  assert.equal(FLOW.size, 151);
  assert.deepEqual({ ...CONTROL.at }, { op: 0, arg: 1 });
  assert.equal(CONTROL.size, 5);
});

Deno.test("records: every type encodes to its golden bytes", () => {
  const bodies = BODIES();
  allRecords().forEach((rec, i) => {
    const { buf, n } = encoded(rec);
    const body = bodies[i]!;
    assert.equal(n, RECORD_HEADER_LEN + body.length, rec.type);
    assert.deepEqual(
      [...buf.subarray(5, 5 + n)],
      [TYPES[i], body.length >> 8, body.length & 255, ...body],
      rec.type,
    );
  });
});

Deno.test("records: sizes without encoding", () => {
  assert.equal(bodySize(heartbeat()), 68);
  // SAMPLE is IPv6: 66 + 48 bytes of high words.
  assert.equal(bodySize(mirror(0)), 114);
  assert.equal(bodySize(mirror(100)), 214, "only frame[frameOff, frameEnd) counts");
  const v4 = mirror(100);
  v4.rec.flows = sampleTableV4();
  assert.equal(bodySize(v4), 166, "IPv4: 66 + 100");
  assert.equal(recordSize(v4), 169);
  assert.equal(bodySize(ack()), 4);
  assert.equal(bodySize(expire()), 37);
  assert.equal(bodySize(flow()), 151);
  assert.equal(bodySize(control()), 37);
  assert.equal(bodySize({ type: "control", op: 1, arg: 0 }), 5);
  assert.equal(recordSize(ack()), 7);
  assert.equal(recordSize(mirror(100)), 217);
});

Deno.test("records: a mirror without a flow carries a zeroed row", () => {
  const m = mirror();
  m.rec.flow = -1;
  const { buf, n } = encoded(m);
  const want = mirrorBody(8, "none");
  assert.equal(want.length, 66 + 8);
  assert.equal(n, 3 + want.length, "no high words without a flow");
  assert.deepEqual([...buf.subarray(5 + 3, 5 + 3 + want.length)], want);
});

Deno.test("records: a mirror of flow 0 carries flow 0's row", () => {
  const flows = new FlowTable(2);
  assert.equal(flows.addEntry(SAMPLE), 0);
  const { buf } = encoded({ type: "mirror", mseq: 0xa1b2c3d4, rec: mirrorOut(8, flows, 0) });
  assert.deepEqual([...buf.subarray(5 + 3, 5 + 3 + 122)], mirrorBody(8));
});

Deno.test("records: a mirror copies frame[frameOff, frameEnd) only", () => {
  const m = mirror(0);
  m.rec.frame = frameBytes(40);
  m.rec.frameOff = 11;
  m.rec.frameEnd = 29;
  const { buf, n } = encoded(m);
  assert.equal(n, 3 + 114 + 18);
  assert.deepEqual([...buf.subarray(5 + 3 + 114, 5 + n)], [...frameBytes(40).subarray(11, 29)]);
  // Another sample flow row: the row is read from the record's own table and flow.
  const other = mirrorOut(0);
  other.flows.c.service[other.flow] = 0xbeef;
  const { buf: b2 } = encoded({ type: "mirror", mseq: 1, rec: other });
  const svc = 5 + 3 + MIRROR.at.flow + 2;
  assert.deepEqual([...b2.subarray(svc, svc + 2)], [0xbe, 0xef]);
});

Deno.test("records: a body over 65535 bytes is a RangeError and writes nothing", () => {
  const big = new Uint8Array(70_000).fill(0xa5);
  const b = wireBuf(big);
  const atLimit = { type: "control" as const, op: 1, arg: 2, data: new Uint8Array(65530) };
  assert.equal(bodySize(atLimit), 65535);
  assert.equal(encodeRecord(b, 0, atLimit), 65538);
  assert.deepEqual([...big.subarray(0, 3)], [REC_CONTROL, 0xff, 0xff]);
  big.fill(0xa5);
  const over = { ...atLimit, data: new Uint8Array(65531) };
  assert.throws(() => encodeRecord(b, 0, over), RangeError);
  assert.ok(big.every((x) => x === 0xa5), "nothing written");
  const m = mirror(65535 - 114);
  assert.equal(encodeRecord(b, 0, m), 65538);
  assert.throws(() => encodeRecord(b, 0, mirror(65536 - 114)), RangeError);
});

Deno.test("records: minBodySize per type, 0 for unknown types", () => {
  assert.deepEqual(TYPES.map(minBodySize), [68, 66, 4, 37, 151, 5]);
  for (const t of [0, 7, 8, 99, 255, -1]) assert.equal(minBodySize(t), 0, String(t));
});

Deno.test("records: decode of every type returns what was encoded", () => {
  const copies = allCopied();
  const slots = new RecordSlots();
  allRecords().forEach((rec, i) => {
    const { buf, n } = encoded(rec);
    const b = wireBuf(buf);
    const got = decodeRecord(TYPES[i]!, b, 8, n - 3, slots);
    assert.ok(got, rec.type);
    assert.equal(got.type, rec.type);
    assert.deepEqual(copyRecord(got), copies[i], rec.type);
  });
});

Deno.test("records: decoded byte parts are offsets into the buffer", () => {
  const slots = new RecordSlots();
  const { buf, n } = encoded(mirror(8));
  const b = wireBuf(buf);
  const m = decodeRecord(REC_MIRROR, b, 8, n - 3, slots);
  assert.ok(m?.type === "mirror");
  assert.equal(m, slots.mirror, "the reused slot");
  assert.equal(m.buf, buf);
  assert.equal(m.view, b.view);
  assert.deepEqual(
    [m.nextHopOff, m.rowOff, m.vnetOff, m.row6Off, m.frameOff, m.frameEnd],
    [8 + 15, 8 + 21, 8 + 56, 8 + 66, 8 + 114, 8 + 122],
  );
  const c = encoded(control());
  const cb = wireBuf(c.buf);
  const ctl = decodeRecord(REC_CONTROL, cb, 8, c.n - 3, slots);
  assert.ok(ctl?.type === "control");
  assert.equal(ctl, slots.control);
  assert.equal(ctl.buf, c.buf);
  assert.deepEqual([ctl.dataOff, ctl.dataEnd], [8 + 5, 8 + 37]);
  const f = encoded(flow());
  const fb = wireBuf(f.buf);
  const fl = decodeRecord(REC_FLOW, fb, 8, f.n - 3, slots);
  assert.ok(fl?.type === "flow");
  assert.equal(fl, slots.flow);
  assert.equal(fl.view, fb.view);
  assert.equal(fl.rowOff, 8);
});

Deno.test("records: slots are reused; each decode overwrites every field", () => {
  const slots = new RecordSlots();
  const buf = new Uint8Array(80);
  const b = wireBuf(buf);
  encodeRecord(b, 0, { type: "ack", mseq: 5 });
  const first = decodeRecord(REC_ACK, b, 3, 4, slots);
  encodeRecord(b, 0, { type: "ack", mseq: 6 });
  const second = decodeRecord(REC_ACK, b, 3, 4, slots);
  assert.equal(first, second);
  assert.deepEqual(second, { type: "ack", mseq: 6 });
  // A heartbeat decoded over another leaves nothing of the first behind.
  const h = heartbeat();
  encodeRecord(b, 0, h);
  decodeRecord(REC_HEARTBEAT, b, 3, 68, slots);
  const zero = { ...h };
  for (const k of Object.keys(zero) as (keyof typeof zero)[]) if (k !== "type") zero[k] = 0;
  encodeRecord(b, 0, zero);
  assert.deepEqual(decodeRecord(REC_HEARTBEAT, b, 3, 68, slots), zero);
});

Deno.test("records: a body shorter than its type needs, or an unknown type, is undefined", () => {
  const slots = new RecordSlots();
  allRecords().forEach((rec, i) => {
    const { buf } = encoded(rec);
    const b = wireBuf(buf);
    const min = minBodySize(TYPES[i]!);
    // The sample mirror is of an IPv6 flow (MF_IPV6): it needs its 48 bytes of high words too.
    const need = rec.type === "mirror" ? min + 48 : min;
    assert.equal(decodeRecord(TYPES[i]!, b, 8, min - 1, slots), undefined, rec.type);
    assert.equal(decodeRecord(TYPES[i]!, b, 8, need - 1, slots), undefined, rec.type);
    assert.equal(decodeRecord(TYPES[i]!, b, 8, 0, slots), undefined, rec.type);
    assert.ok(decodeRecord(TYPES[i]!, b, 8, need, slots), `${rec.type} at its minimum`);
  });
  // An IPv4 mirror needs the fixed part only.
  const v4 = mirror();
  v4.rec.flows = sampleTableV4();
  const { buf: b4 } = encoded(v4);
  assert.equal(decodeRecord(REC_MIRROR, wireBuf(b4), 8, 65, slots), undefined, "IPv4 at 65");
  assert.ok(decodeRecord(REC_MIRROR, wireBuf(b4), 8, 66, slots), "IPv4 at its minimum");
  const b = wireBuf(new Uint8Array(200));
  for (const t of [0, 7, 99, 255]) assert.equal(decodeRecord(t, b, 0, 150, slots), undefined);
});

Deno.test("records: a longer body is accepted, variable parts run to its end", () => {
  const slots = new RecordSlots();
  const buf = new Uint8Array(300).fill(0x5a);
  const b = wireBuf(buf);
  encodeRecord(b, 0, ack());
  assert.deepEqual(decodeRecord(REC_ACK, b, 3, 10, slots), ack(), "fixed type: tail ignored");
  encodeRecord(b, 0, expire());
  assert.deepEqual(decodeRecord(REC_EXPIRE, b, 3, 40, slots), expire(), "37 + 3 bytes of tail");
  encodeRecord(b, 0, heartbeat());
  assert.deepEqual(decodeRecord(REC_HEARTBEAT, b, 3, 68, slots), heartbeat());
  // MIRROR and CONTROL end in variable data: exactly the minimum (for SAMPLE, an IPv6 flow,
  // 66 + 48) means none.
  encodeRecord(b, 0, mirror(0));
  const m = decodeRecord(REC_MIRROR, b, 3, 114, slots);
  assert.ok(m?.type === "mirror");
  assert.equal(m.frameOff, m.frameEnd);
  const m2 = decodeRecord(REC_MIRROR, b, 3, 118, slots);
  assert.ok(m2?.type === "mirror");
  assert.deepEqual([m2.frameOff, m2.frameEnd], [117, 121]);
  encodeRecord(b, 0, { type: "control", op: CTRL_SYNC_END, arg: 12345 });
  const c = decodeRecord(REC_CONTROL, b, 3, 5, slots);
  assert.ok(c?.type === "control");
  assert.deepEqual([c.op, c.arg, c.dataOff, c.dataEnd], [CTRL_SYNC_END, 12345, 8, 8]);
});

Deno.test("records: a wire buffer over part of a larger buffer writes at its own offsets", () => {
  const big = new Uint8Array(100).fill(0xa5);
  const sub = big.subarray(7, 60);
  const n = encodeRecord(wireBuf(sub), 2, expire());
  assert.deepEqual([...big.subarray(9, 9 + n)], [REC_EXPIRE, 0, 37, ...EXPIRE_BODY]);
  assert.ok(big.subarray(0, 9).every((x) => x === 0xa5));
  const slots = new RecordSlots();
  assert.deepEqual(decodeRecord(REC_EXPIRE, wireBuf(sub), 5, 37, slots), expire());
});

Deno.test("records: copyInto copies a range, within one ArrayBuffer or across two", () => {
  // Across buffers.
  const dst = new Uint8Array(40).fill(0xa5);
  const b = wireBuf(dst.subarray(4, 36));
  copyInto(b, 3, frameBytes(20), 5, 12);
  assert.deepEqual([...dst.subarray(7, 14)], [...frameBytes(20).subarray(5, 12)]);
  assert.ok(dst.subarray(0, 7).every((x) => x === 0xa5));
  assert.ok(dst.subarray(14).every((x) => x === 0xa5));
  // Within one buffer: the source lies after the wire buffer, both at non-zero offsets.
  const whole = new Uint8Array(100).fill(0xa5);
  whole.set(frameBytes(30), 60);
  const shared = wireBuf(whole.subarray(10, 50));
  const src = whole.subarray(60, 90);
  copyInto(shared, 2, src, 4, 19);
  assert.deepEqual([...whole.subarray(12, 27)], [...frameBytes(30).subarray(4, 19)]);
  assert.ok(whole.subarray(0, 12).every((x) => x === 0xa5));
  assert.ok(whole.subarray(27, 60).every((x) => x === 0xa5));
  assert.deepEqual([...whole.subarray(60, 90)], [...frameBytes(30)], "the source is intact");
  copyInto(shared, 0, src, 7, 7);
  assert.ok(whole.subarray(0, 12).every((x) => x === 0xa5), "an empty range copies nothing");
});

Deno.test("records: a mirror whose frame shares the output's ArrayBuffer encodes the same", () => {
  const whole = new Uint8Array(400).fill(0xa5);
  const out = whole.subarray(16, 200);
  const m = mirror(8);
  whole.set(m.rec.frame, 250);
  m.rec.frame = whole.subarray(250, 250 + m.rec.frame.length);
  const n = encodeRecord(wireBuf(out), 5, m);
  assert.deepEqual([...out.subarray(5, 5 + n)], [REC_MIRROR, 0, 122, ...mirrorBody(8)]);
  assert.ok(whole.subarray(0, 21).every((x) => x === 0xa5));
  assert.ok(whole.subarray(21 + n, 250).every((x) => x === 0xa5));
});

Deno.test("records: every control code is distinct (a shared code would merge two messages)", async () => {
  const codes = Object.entries(await import("./records.ts"))
    .filter(([k]) => k.startsWith("CTRL_") && !k.endsWith("_LEN"))
    .filter(([, v]) => typeof v === "number") as [string, number][];
  assert.ok(codes.length >= 10, codes.map(([k]) => k).join(" "));
  assert.equal(new Set(codes.map(([, v]) => v)).size, codes.length, JSON.stringify(codes));
});

/** The hi-word (mirror6) fields of {@link SAMPLE}, in field order. */
const SAMPLE_HI = Object.fromEntries(
  FLOW_FIELDS.filter((f) => f.travel === "mirror6").map((f) => [f.name, SAMPLE[f.name]]),
);

Deno.test("records: an IPv4 flow's mirror is the fixed part and the frame, MF_IPV6 clear", () => {
  assert.deepEqual(Object.keys(SAMPLE_HI).length, 12);
  for (const engineFlags of [0x0b, 0x0b | MF_IPV6]) {
    const m = mirror(8);
    m.rec.flows = sampleTableV4();
    m.rec.flags = engineFlags;
    const { buf, n } = encoded(m);
    // 66 bytes of fixed part (flags 0x0b: MF_IPV6 cleared even when the engine set it), then
    // the 8 frame bytes right after vnet.
    assert.equal(n, 3 + 66 + 8, `flags ${engineFlags}`);
    assert.equal(bodySize(m), MIRROR.size + 8);
    assert.deepEqual([...buf.subarray(5, 5 + n)], [REC_MIRROR, 0, 74, ...mirrorBody(8, "v4")]);
    assert.equal(buf[5 + 3 + 14]! & MF_IPV6, 0, "flags byte");
    assert.equal(m.rec.flags, engineFlags, "the engine's record is left alone");
    const slots = new RecordSlots();
    const d = decodeRecord(REC_MIRROR, wireBuf(buf), 8, n - 3, slots);
    assert.ok(d?.type === "mirror");
    assert.equal(d.flags, 0x0b);
    assert.deepEqual(
      [d.rowOff, d.vnetOff, d.row6Off, d.frameOff, d.frameEnd],
      [8 + 21, 8 + 56, -1, 8 + 66, 8 + 74],
    );
    assert.deepEqual([...buf.subarray(d.vnetOff, d.vnetOff + 10)], VNET);
    assert.deepEqual([...buf.subarray(d.frameOff, d.frameEnd)], [
      ...frameBytes(13).subarray(3, 11),
    ]);
    const got = copyRecord(d);
    assert.ok(got.type === "mirror");
    const want: Record<string, number> = {};
    for (const f of FLOW_FIELDS) if (f.travel === "mirror") want[f.name] = SAMPLE_V4[f.name]!;
    assert.deepEqual(got.flow, want, "the 35-byte row, no high words");
  }
});

Deno.test("records: an IPv6 flow's mirror carries MF_IPV6 and its 48 bytes of high words", () => {
  const m = mirror(8);
  assert.equal(m.rec.flags & MF_IPV6, 0, "the engine did not set it: the encoder does");
  const { buf, n } = encoded(m);
  assert.equal(n, 3 + 66 + 48 + 8);
  const body = 5 + 3;
  assert.equal(buf[body + 14], 0x0b | MF_IPV6);
  assert.deepEqual([...buf.subarray(body + 21, body + 56)], [...mirrorBody(8).slice(21, 56)]);
  assert.deepEqual([...buf.subarray(body + 56, body + 66)], VNET);
  assert.deepEqual([...buf.subarray(body + 66, body + 114)], SAMPLE_MIRROR6_BYTES);
  const frame = [...frameBytes(13).subarray(3, 11)];
  assert.deepEqual([...buf.subarray(body + 114, body + 122)], frame);
  const slots = new RecordSlots();
  const b = wireBuf(buf);
  const d = decodeRecord(REC_MIRROR, b, body, n - 3, slots);
  assert.ok(d?.type === "mirror");
  assert.equal(d.flags, 0x2b);
  assert.deepEqual([...buf.subarray(d.nextHopOff, d.nextHopOff + 6)], NEXT_HOP);
  assert.deepEqual(
    [d.rowOff, d.vnetOff, d.row6Off, d.frameOff, d.frameEnd],
    [body + 21, body + 56, body + 66, body + 114, body + 122],
  );
  assert.equal(d.row6Off, d.vnetOff + 10, "right after vnet");
  assert.equal(d.frameOff, d.row6Off + MIRROR6_ROW.size);
  assert.deepEqual([...buf.subarray(d.row6Off, d.frameOff)], SAMPLE_MIRROR6_BYTES);
  assert.deepEqual([...buf.subarray(d.frameOff, d.frameEnd)], frame);
  // decodeRow(MIRROR6_ROW) at row6Off restores the high words, and nothing else.
  const ft = new FlowTable(2);
  decodeRow(ft.cols, MIRROR6_ROW, 1, d.view, d.row6Off);
  const e = ft.entry(1);
  for (const f of FLOW_FIELDS) {
    const want = f.travel === "mirror6" ? SAMPLE[f.name] : 0;
    assert.equal(e[f.name], want, f.name);
  }
  assert.ok(ft.isV6(1));
  // Both rows together give back every mirrored field.
  decodeRow(ft.cols, MIRROR_ROW, 1, d.view, d.rowOff);
  const all = ft.entry(1);
  for (const f of FLOW_FIELDS) {
    assert.equal(all[f.name], f.travel === "sync" ? 0 : SAMPLE[f.name], f.name);
  }
  assert.deepEqual(
    Object.fromEntries(Object.keys(SAMPLE_HI).map((k) => [k, all[k as keyof typeof all]])),
    SAMPLE_HI,
  );
});

Deno.test("records: MF_IPV6 with a body shorter than MIRROR.size + 48 is undefined", () => {
  const slots = new RecordSlots();
  // An IPv6 mirror with an empty frame: exactly 66 + 48 bytes of body.
  const { buf, n } = encoded(mirror(0));
  assert.equal(n, 3 + 114);
  const b = wireBuf(buf);
  const d = decodeRecord(REC_MIRROR, b, 8, MIRROR.size + 48, slots);
  assert.ok(d?.type === "mirror", "exactly MIRROR.size + 48 decodes");
  assert.deepEqual([d.row6Off, d.frameOff, d.frameEnd], [8 + 66, 8 + 114, 8 + 114]);
  for (let len = MIRROR.size; len < MIRROR.size + 48; len++) {
    assert.equal(decodeRecord(REC_MIRROR, b, 8, len, slots), undefined, `body of ${len}`);
  }
  // An IPv4 record of 66 bytes decodes; the same bytes with MF_IPV6 set do not.
  const v4 = mirror(0);
  v4.rec.flows = sampleTableV4();
  const e4 = encoded(v4);
  assert.equal(e4.n, 3 + 66);
  const b4 = wireBuf(e4.buf);
  const ok = decodeRecord(REC_MIRROR, b4, 8, 66, slots);
  assert.ok(ok?.type === "mirror");
  assert.deepEqual([ok.row6Off, ok.frameOff, ok.frameEnd], [-1, 8 + 66, 8 + 66]);
  e4.buf[8 + 14] = 0x0b | MF_IPV6;
  assert.equal(decodeRecord(REC_MIRROR, b4, 8, 66, slots), undefined, "flagged, 66 bytes");
  assert.equal(decodeRecord(REC_MIRROR, b4, 8, 113, slots), undefined, "flagged, 113 bytes");
  const flagged = decodeRecord(REC_MIRROR, b4, 8, 114, slots);
  assert.ok(flagged?.type === "mirror", "flagged, 114 bytes");
  assert.deepEqual([flagged.row6Off, flagged.frameOff], [8 + 66, 8 + 114]);
});

Deno.test("records: a mirror without a flow never carries MF_IPV6", () => {
  for (const engineFlags of [MF_NO_FLOW, MF_NO_FLOW | MF_IPV6]) {
    // The record's table holds an IPv6 flow (SAMPLE) at SAMPLE_FLOW; flow -1 reads none of it.
    const m = mirror(8);
    assert.ok(m.rec.flows.isV6(SAMPLE_FLOW));
    m.rec.flow = -1;
    m.rec.flags = engineFlags;
    const { buf, n } = encoded(m);
    assert.equal(n, 3 + 66 + 8, `flags ${engineFlags}: no high words`);
    assert.equal(bodySize(m), 74);
    const want = mirrorBody(8, "none");
    want[14] = MF_NO_FLOW;
    assert.deepEqual([...buf.subarray(5, 5 + n)], [REC_MIRROR, 0, 74, ...want]);
    const d = decodeRecord(REC_MIRROR, wireBuf(buf), 8, n - 3, new RecordSlots());
    assert.ok(d?.type === "mirror");
    assert.equal(d.flags, MF_NO_FLOW);
    assert.deepEqual([d.row6Off, d.frameOff, d.frameEnd], [-1, 8 + 66, 8 + 74]);
  }
});
