import assert from "node:assert/strict";
import {
  decodeBody,
  decodeMirror,
  encodeRecord,
  EXPIRE_LEN,
  FLOW_LEN,
  HEARTBEAT_LEN,
  MIRROR_FIXED_LEN,
  type MirrorRecord,
  MR,
  type PeerRecord,
  REC_ACK,
  REC_CONTROL,
  REC_EXPIRE,
  REC_FLOW,
  REC_HEARTBEAT,
  REC_MIRROR,
  RECORD_HEADER_LEN,
  recordSize,
  wireBuf,
} from "./records.ts";
import { ack, allRecords, control, expire, flow, heartbeat, mirror } from "./test_util.ts";

/** Encodes at offset 5 into a buffer of 0xa5 so unset fields show, then decodes. */
function roundTrip(rec: PeerRecord): { back: PeerRecord | undefined; buf: Uint8Array; n: number } {
  const buf = new Uint8Array(2048).fill(0xa5);
  const b = wireBuf(buf);
  const n = encodeRecord(b, 5, rec);
  assert.equal(n, recordSize(rec), "recordSize agrees with encodeRecord");
  assert.equal(buf[4], 0xa5, "nothing written before the record");
  assert.equal(buf[5 + n], 0xa5, "nothing written after the record");
  const len = (buf[6]! << 8) | buf[7]!;
  assert.equal(len, n - RECORD_HEADER_LEN);
  return { back: decodeBody(buf[5]!, b, 5 + RECORD_HEADER_LEN, len), buf, n };
}

Deno.test("every record type survives encode and decode unchanged", () => {
  const types = [REC_HEARTBEAT, REC_MIRROR, REC_ACK, REC_EXPIRE, REC_FLOW, REC_CONTROL];
  for (const [i, rec] of allRecords().entries()) {
    const { back, buf } = roundTrip(rec);
    assert.equal(buf[5], types[i], `${rec.type} type code`);
    assert.deepEqual(back, rec, rec.type);
  }
});

Deno.test("record bodies have the documented fixed lengths", () => {
  assert.equal(recordSize(heartbeat()), 3 + HEARTBEAT_LEN);
  assert.equal(recordSize(mirror(100)), 3 + MIRROR_FIXED_LEN + 100);
  assert.equal(recordSize(ack()), 3 + 4);
  assert.equal(recordSize(expire()), 3 + EXPIRE_LEN);
  assert.equal(recordSize(flow()), 3 + FLOW_LEN);
  assert.equal(recordSize(control()), 3 + 5 + 32);
});

Deno.test("EXPIRE and ACK bytes are big-endian in the documented order", () => {
  const buf = new Uint8Array(32).fill(0xa5);
  const b = wireBuf(buf);
  const n = encodeRecord(b, 0, expire());
  assert.deepEqual(
    [...buf.subarray(0, n)],
    [REC_EXPIRE, 0, 13, 17, 0xc0, 0, 2, 2, 0, 53, 0xcb, 0, 0x71, 2, 0x14, 0xe9],
  );
  const m = encodeRecord(b, 0, ack());
  assert.deepEqual([...buf.subarray(0, m)], [REC_ACK, 0, 4, 0xff, 0xff, 0xff, 0xfe]);
});

Deno.test("heartbeat flag bits and digests sit at their documented offsets", () => {
  const { buf } = roundTrip(heartbeat());
  const body = buf.subarray(5 + 3);
  assert.deepEqual([...body.subarray(0, 4)], [1, 3, 0b110, 200], "role, state, flags, priority");
  assert.deepEqual([...body.subarray(4, 12)], [0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef]);
  assert.deepEqual([...body.subarray(12, 16)], [0, 0x01, 0xe2, 0x40], "flowCount 123456");
});

Deno.test("optional fields: a FLOW without MACs sends zeros; CONTROL without data is 5 bytes", () => {
  const f = flow();
  delete f.entry.clientMac;
  delete f.entry.serverMac;
  const back = roundTrip(f).back;
  assert.ok(back?.type === "flow");
  assert.deepEqual(back.entry.clientMac, new Uint8Array(6));
  assert.deepEqual(back.entry.serverMac, new Uint8Array(6));
  const c = roundTrip({ type: "control", op: 1, arg: 0 });
  assert.equal(c.n, 3 + 5);
  assert.deepEqual(c.back, { type: "control", op: 1, arg: 0, data: new Uint8Array(0) });
});

Deno.test("decoded mirror frame and next hop are views into the datagram, not copies", () => {
  const { buf } = roundTrip(mirror(64));
  const b = wireBuf(buf);
  const rec = decodeMirror(b, 8, MIRROR_FIXED_LEN + 64) as MirrorRecord;
  assert.equal(rec.frame.buffer, buf.buffer);
  assert.equal(rec.frame.byteOffset, 8 + MIRROR_FIXED_LEN);
  assert.equal(rec.nextHop.buffer, buf.buffer, "nextHop is a view too");
  assert.deepEqual(rec.nextHop, mirror(64).nextHop);
});

Deno.test("a body one byte shorter than its type needs decodes to undefined", () => {
  for (const rec of allRecords()) {
    const { buf, n } = roundTrip(rec);
    // CONTROL needs only its fixed part; the rest is data of any length.
    const need = rec.type === "control" ? 5 : n - 3;
    assert.equal(decodeBody(buf[5]!, wireBuf(buf), 8, need - 1), undefined, rec.type);
  }
});

Deno.test("out-of-range values and unknown types decode to undefined", () => {
  const buf = new Uint8Array(256).fill(0);
  const b = wireBuf(buf);
  assert.equal(decodeBody(0, b, 0, 100), undefined, "type 0");
  assert.equal(decodeBody(99, b, 0, 100), undefined, "type 99");
  buf[0] = 2; // role 2 does not exist
  assert.equal(decodeBody(REC_HEARTBEAT, b, 0, HEARTBEAT_LEN), undefined, "role 2");
  buf[0] = 0;
  buf[1] = 4; // state 4 does not exist
  assert.equal(decodeBody(REC_HEARTBEAT, b, 0, HEARTBEAT_LEN), undefined, "state 4");
  buf[1] = 0;
  buf[MR.frameLen] = 0; // mirror frameLen = 10 but the body holds only 5 frame bytes
  buf[MR.frameLen + 1] = 10;
  assert.equal(decodeBody(REC_MIRROR, b, 0, MIRROR_FIXED_LEN + 5), undefined, "frameLen");
  assert.ok(decodeBody(REC_MIRROR, b, 0, MIRROR_FIXED_LEN + 10), "frameLen that fits");
});

Deno.test("a longer body than needed is accepted and its tail ignored", () => {
  const { buf, n } = roundTrip(ack());
  assert.deepEqual(decodeBody(REC_ACK, wireBuf(buf), 8, n - 3 + 4), ack());
});

Deno.test("encoding a malformed digest or role is a caller bug: RangeError", () => {
  const b = wireBuf(new Uint8Array(256));
  assert.throws(() => encodeRecord(b, 0, { ...heartbeat(), configDigest: "abc" }), RangeError);
  assert.throws(
    () => encodeRecord(b, 0, { ...heartbeat(), tableDigest: "xyz0123456789abc" }),
    RangeError,
  );
  assert.throws(
    () => encodeRecord(b, 0, { ...heartbeat(), role: "boss" as unknown as "active" }),
    RangeError,
  );
});

Deno.test("uppercase digests decode as lowercase", () => {
  const back = roundTrip({ ...heartbeat(), configDigest: "ABCDEF0123456789" }).back;
  assert.ok(back?.type === "heartbeat");
  assert.equal(back.configDigest, "abcdef0123456789");
});
