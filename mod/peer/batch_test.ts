import assert from "node:assert/strict";
import {
  BATCH_HEADER_LEN,
  BATCH_MAC_LEN,
  BatchReader,
  BatchWriter,
  type OpenResult,
  type RejectReason,
} from "./batch.ts";
import { encodeRecord, type PeerRecord, REC_ACK, REC_HEARTBEAT, wireBuf } from "./records.ts";
import { ack, allRecords, KEY, mirror, sealRaw, xorshift } from "./test_util.ts";

function sealed(recs: PeerRecord[], epoch = 1000): Uint8Array {
  const w = new BatchWriter(KEY, epoch);
  for (const r of recs) assert.ok(w.add(r));
  return w.flush()!;
}

function reason(res: OpenResult): RejectReason | "ok" {
  return res.ok ? "ok" : res.reason;
}

/** Seals the raw bytes of `recs` encoded back to back, with header fields of choice. */
function rawBatch(recs: PeerRecord[], h: { epoch?: number; seq?: number; count?: number }) {
  const b = wireBuf(new Uint8Array(4096));
  let n = 0;
  for (const r of recs) n += encodeRecord(b, n, r);
  return sealRaw(b.bytes.subarray(0, n), { count: recs.length, ...h });
}

Deno.test("a batch of every record type opens with the same records in order", () => {
  const dg = sealed(allRecords(), 1234.5);
  const res = new BatchReader(KEY).open(dg);
  assert.ok(res.ok);
  assert.equal(res.epoch, 1234.5);
  assert.equal(res.seq, 1);
  assert.deepEqual(res.records, allRecords());
});

Deno.test("the header is big-endian magic 'TNDM', version 1, count, epoch, seq", () => {
  const dg = sealed([ack(), ack()], 2);
  assert.deepEqual([...dg.subarray(0, 4)], [0x54, 0x4e, 0x44, 0x4d]);
  const v = new DataView(dg.buffer);
  assert.equal(v.getUint8(4), 1);
  assert.equal(v.getUint16(6), 2);
  assert.equal(v.getFloat64(8), 2);
  assert.equal(v.getUint32(16), 1);
  assert.equal(dg.length, BATCH_HEADER_LEN + 2 * 7 + BATCH_MAC_LEN);
});

Deno.test("writer: seq counts from 1, an empty flush is null, a flushed datagram is a copy", () => {
  const w = new BatchWriter(KEY, 5);
  assert.equal(w.flush(), null);
  w.add({ type: "ack", mseq: 1 });
  const a = w.flush()!;
  const keep = Uint8Array.from(a);
  w.add({ type: "ack", mseq: 2 });
  const b = w.flush()!;
  assert.deepEqual(a, keep, "the second batch did not overwrite the first");
  const r = new BatchReader(KEY);
  const ra = r.open(a), rb = r.open(b);
  assert.ok(ra.ok && rb.ok);
  assert.deepEqual([ra.seq, rb.seq], [1, 2]);
  assert.deepEqual([ra.records, rb.records], [[{ type: "ack", mseq: 1 }], [{
    type: "ack",
    mseq: 2,
  }]]);
});

Deno.test("batching: add until full, flush, every record comes back in order", () => {
  const w = new BatchWriter(KEY, 1, 1500);
  const r = new BatchReader(KEY);
  const got: number[] = [];
  const drain = (): void => {
    const dg = w.flush()!;
    assert.ok(dg.length <= 1500, `datagram ${dg.length} within maxBytes`);
    const res = r.open(dg);
    assert.ok(res.ok, reason(res));
    for (const rec of res.records) got.push((rec as { mseq: number }).mseq);
  };
  let batches = 0;
  for (let i = 1; i <= 200; i++) {
    const rec = mirror(40 + (i % 60), i);
    if (!w.add(rec)) {
      assert.ok(w.pending > 0, "a refusal only happens with records pending");
      drain();
      batches++;
      assert.equal(w.pending, 0);
      assert.ok(w.add(rec), "fits in an empty batch");
    }
  }
  drain();
  assert.ok(batches >= 10, `${batches} full batches`);
  assert.deepEqual(got, Array.from({ length: 200 }, (_, i) => i + 1));
});

Deno.test("a batch fills up to maxBytes exactly and refuses a record one byte too big", () => {
  const max = 400;
  const room = max - BATCH_HEADER_LEN - BATCH_MAC_LEN; // 364 bytes of records
  // A MIRROR record is 3 + 65 + frame bytes: 114-byte frames make 182 bytes each.
  const w = new BatchWriter(KEY, 1, max);
  assert.ok(w.add(mirror(room / 2 - 68)));
  assert.equal(w.add(mirror(room / 2 - 67)), false, "one byte over");
  assert.equal(w.pending, 1, "a refused record is not half-added");
  assert.ok(w.add(mirror(room / 2 - 68)), "exactly the rest");
  assert.equal(w.add(ack()), false);
  const dg = w.flush()!;
  assert.equal(dg.length, max);
  const res = new BatchReader(KEY).open(dg);
  assert.ok(res.ok && res.records.length === 2);
});

Deno.test("a record bigger than a whole batch throws RangeError", () => {
  const w = new BatchWriter(KEY, 1, 1000);
  assert.throws(() => w.add(mirror(1000)), RangeError);
  assert.equal(w.pending, 0);
  assert.throws(() => new BatchWriter(KEY, 1, 10), RangeError);
  assert.throws(() => new BatchWriter(KEY, 1, 70000), RangeError);
});

Deno.test("one bit flipped anywhere is rejected: bad_magic, bad_version or bad_mac", () => {
  const dg = sealed(allRecords());
  const r = new BatchReader(KEY);
  for (let bit = 0; bit < dg.length * 8; bit++) {
    const f = Uint8Array.from(dg);
    f[bit >> 3]! ^= 1 << (bit & 7);
    const byte = bit >> 3;
    const want = byte < 4 ? "bad_magic" : byte === 4 ? "bad_version" : "bad_mac";
    assert.equal(reason(r.open(f)), want, `bit ${bit}`);
  }
  assert.equal(r.counters.bad_mac, (dg.length - 5) * 8);
  assert.ok(r.open(dg).ok, "the intact datagram still opens: rejects left no state");
});

Deno.test("a batch sealed with another key is bad_mac", () => {
  const other = new BatchWriter(new TextEncoder().encode("another key"), 1);
  other.add(ack());
  assert.equal(reason(new BatchReader(KEY).open(other.flush()!)), "bad_mac");
});

Deno.test("truncated at every length: never accepted, short ones are 'truncated'", () => {
  const dg = sealed(allRecords());
  const r = new BatchReader(KEY);
  for (let n = 0; n < dg.length; n++) {
    const got = reason(r.open(dg.subarray(0, n)));
    const want = n < BATCH_HEADER_LEN + BATCH_MAC_LEN ? "truncated" : "bad_mac";
    assert.equal(got, want, `length ${n}`);
  }
  assert.equal(r.counters.truncated, BATCH_HEADER_LEN + BATCH_MAC_LEN);
});

Deno.test("a correctly MACed batch with the wrong magic or version is rejected as such", () => {
  const r = new BatchReader(KEY);
  assert.equal(reason(r.open(sealRaw(new Uint8Array(0), { magic: 0x544e444e }))), "bad_magic");
  assert.equal(reason(r.open(sealRaw(new Uint8Array(0), { version: 2 }))), "bad_version");
  assert.equal(reason(r.open(sealRaw(new Uint8Array(0), { version: 0 }))), "bad_version");
  assert.equal(reason(r.open(sealRaw(new Uint8Array(0)))), "ok", "the same, correct, opens");
});

Deno.test("the same datagram twice: the second is a replay", () => {
  const dg = sealed([ack()]);
  const r = new BatchReader(KEY);
  assert.equal(reason(r.open(dg)), "ok");
  assert.equal(reason(r.open(dg)), "replay");
  assert.equal(reason(r.open(Uint8Array.from(dg))), "replay");
  assert.equal(r.counters.replay, 2);
  assert.equal(r.accepted, 1);
});

Deno.test("reordered datagrams within the window are accepted exactly once", () => {
  const w = new BatchWriter(KEY, 9);
  const dgs: Uint8Array[] = [];
  for (let i = 1; i <= 8; i++) {
    w.add({ type: "ack", mseq: i });
    dgs.push(w.flush()!);
  }
  const r = new BatchReader(KEY);
  const order = [3, 0, 7, 1, 6, 2, 5, 4];
  for (const i of order) assert.equal(reason(r.open(dgs[i]!)), "ok", `seq ${i + 1}`);
  for (const i of order) assert.equal(reason(r.open(dgs[i]!)), "replay", `again seq ${i + 1}`);
});

Deno.test("seq older than the window is a replay; the window's last slot still opens", () => {
  const r = new BatchReader(KEY, 1024);
  const at = (seq: number): RejectReason | "ok" => reason(r.open(rawBatch([ack()], { seq })));
  assert.equal(at(1), "ok");
  assert.equal(at(1100), "ok");
  assert.equal(at(76), "replay", "1100 - 76 = 1024: just outside");
  assert.equal(at(77), "ok", "1100 - 77 = 1023: the oldest slot inside");
  assert.equal(at(1099), "ok");
  assert.equal(at(1), "replay");
  assert.equal(at(0), "replay", "seq 0 is never valid");
  assert.equal(at(0xffffffff), "ok", "a jump far ahead is fine");
  assert.equal(at(1100), "replay", "everything before is now outside the window");
});

Deno.test("a larger epoch resets the window; a smaller one is stale_epoch", () => {
  const r = new BatchReader(KEY);
  const at = (epoch: number, seq: number): RejectReason | "ok" =>
    reason(r.open(rawBatch([ack()], { epoch, seq })));
  assert.equal(at(100, 5), "ok");
  assert.equal(at(100, 5), "replay");
  assert.equal(at(200, 1), "ok", "peer restarted: counts from 1 again");
  assert.equal(at(200, 5), "ok", "5 was seen only in the old epoch");
  assert.equal(at(200, 1), "replay");
  assert.equal(at(100, 6), "stale_epoch", "a batch from before the restart");
  assert.equal(r.epoch, 200);
  assert.equal(r.counters.stale_epoch, 1);
});

Deno.test("malformed framing inside a correctly MACed batch rejects the whole batch", () => {
  const r = new BatchReader(KEY);
  let seq = 0;
  const seal = (body: number[], count: number): RejectReason | "ok" =>
    reason(r.open(sealRaw(new Uint8Array(body), { count, seq: ++seq })));
  const ackBytes = [REC_ACK, 0, 4, 0, 0, 0, 9];
  assert.equal(seal(ackBytes, 1), "ok", "control case");
  assert.equal(seal(ackBytes, 2), "malformed", "count says 2, one present");
  assert.equal(seal([...ackBytes, 0xee], 1), "malformed", "trailing byte after the records");
  assert.equal(seal(ackBytes, 0), "malformed", "count 0 with bytes");
  assert.equal(seal([REC_ACK, 0, 5, 0, 0, 0, 9], 1), "malformed", "len runs past the end");
  assert.equal(seal([REC_ACK, 0], 1), "malformed", "record header cut short");
  assert.equal(seal([99, 0, 4, 0, 0, 0, 9], 1), "malformed", "unknown type");
  assert.equal(seal([REC_ACK, 0, 3, 0, 0, 0], 1), "malformed", "ack body too short");
  assert.equal(seal([REC_HEARTBEAT, 0, 4, 0, 0, 0, 0], 1), "malformed", "heartbeat body short");
  assert.equal(seal([...ackBytes, 77, 0, 0], 2), "malformed", "good then unknown");
  assert.equal(r.counters.malformed, 9);
  assert.equal(seal([], 0), "ok", "an empty batch is well formed");
});

Deno.test("a non-finite epoch in an authenticated batch is malformed", () => {
  const r = new BatchReader(KEY);
  assert.equal(reason(r.open(rawBatch([ack()], { epoch: NaN }))), "malformed");
  assert.equal(reason(r.open(rawBatch([ack()], { epoch: Infinity }))), "malformed");
});

Deno.test("20k random and mutated datagrams never throw", () => {
  const rnd = xorshift(0x7a6d);
  const r = new BatchReader(KEY);
  const base = sealed(allRecords());
  const seen = new Map<string, number>();
  let seq = 0;
  for (let i = 0; i < 20_000; i++) {
    let dg: Uint8Array;
    const kind = i % 4;
    if (kind === 0) {
      // Pure noise.
      dg = new Uint8Array(rnd() % 300);
      for (let k = 0; k < dg.length; k++) dg[k] = rnd();
    } else if (kind === 1) {
      // A valid datagram with a few bytes changed.
      dg = Uint8Array.from(base);
      for (let k = rnd() % 4; k >= 0; k--) dg[rnd() % dg.length] = rnd();
    } else {
      // Random record bytes under a correct MAC: fuzzes the framing parser.
      const body = new Uint8Array(rnd() % 400);
      for (let k = 0; k < body.length; k++) body[k] = rnd();
      // Plausible record headers now and then, so decoders see real types.
      if (body.length > 3 && kind === 3) {
        body[0] = 1 + (rnd() % 6);
        body[1] = 0;
        body[2] = Math.min(body.length - 3, rnd() % 120);
      }
      dg = sealRaw(body, { count: rnd() % 4, seq: ++seq });
    }
    const res = r.open(dg);
    const key = reason(res);
    seen.set(key, (seen.get(key) ?? 0) + 1);
  }
  // The mix really reached the deep checks.
  for (const k of ["truncated", "bad_magic", "bad_mac", "malformed", "ok"]) {
    assert.ok((seen.get(k) ?? 0) > 0, `${k} reached: ${JSON.stringify([...seen])}`);
  }
});

Deno.test("seal returns the same datagram as flush would, as a view of the writer's buffer", () => {
  const a = new BatchWriter(KEY, 7);
  const b = new BatchWriter(KEY, 7);
  for (const rec of [ack(), mirror(100), ack()]) {
    a.add(rec);
    b.add(rec);
  }
  const sealed = a.seal()!;
  assert.deepEqual([...sealed], [...b.flush()!]);
  const res = new BatchReader(KEY).open(sealed);
  assert.ok(res.ok && res.records.length === 3);
  assert.equal(a.seal(), null, "nothing pending");
});
