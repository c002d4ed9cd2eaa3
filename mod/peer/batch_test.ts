import assert from "node:assert/strict";
import {
  BATCH_HEADER_LEN,
  BATCH_MAC_LEN,
  BATCH_MAGIC,
  BATCH_VERSION,
  batchMac,
  BatchReader,
  BatchWriter,
  BH,
  DEFAULT_MAX_BATCH,
  MAX_BATCH,
  type OpenResult,
  type RejectReason,
} from "./batch.ts";
import {
  encodeRecord,
  type PeerRecordIn,
  type PeerRecordOut,
  REC_ACK,
  wireBuf,
} from "./records.ts";
import {
  ack,
  allCopied,
  allRecords,
  type Copied,
  copyRecord,
  expire,
  KEY,
  mirror,
  refMac,
  SALT,
  sealRaw,
} from "./test_util.ts";
import { xorshift32 } from "../util/prng.ts";

const OTHER_KEY = new TextEncoder().encode("another key");

function sealed(recs: PeerRecordOut[], epoch = 1000, key = KEY): Uint8Array {
  const w = new BatchWriter(key, epoch, undefined, undefined, SALT);
  for (const r of recs) assert.ok(w.add(r));
  return w.flush()!;
}

/** Opens `dg`, returning the result and copies of the delivered records. */
function openAll(r: BatchReader, dg: Uint8Array): { res: OpenResult; recs: Copied[] } {
  const recs: Copied[] = [];
  const res = r.open(dg, (rec: PeerRecordIn) => recs.push(copyRecord(rec)));
  return { res, recs };
}

function reason(res: OpenResult): RejectReason | "ok" {
  return res.ok ? "ok" : res.reason;
}

/**
 * Opens `dg` and checks the outcome exactly: on a reject, its reason's counter (and no other)
 * went up by one, nothing was delivered and `accepted` did not move; on "ok", no counter moved.
 */
function expectOpen(r: BatchReader, dg: Uint8Array, want: RejectReason | "ok", why = ""): Copied[] {
  const counters = { ...r.counters };
  const accepted = r.accepted;
  const { res, recs } = openAll(r, dg);
  assert.equal(reason(res), want, why);
  if (want === "ok") {
    assert.equal(r.accepted, accepted + 1, `${why}: accepted`);
    assert.deepEqual({ ...r.counters }, counters, `${why}: no reject counted`);
    assert.ok(res.ok);
    assert.equal(recs.length, res.count, `${why}: every record delivered`);
  } else {
    counters[want]++;
    assert.deepEqual({ ...r.counters }, counters, `${why}: counted once under ${want}`);
    assert.equal(r.accepted, accepted, `${why}: not accepted`);
    assert.equal(recs.length, 0, `${why}: nothing delivered`);
  }
  return recs;
}

/** Record bytes of `recs` back to back. */
function recordBytes(recs: PeerRecordOut[]): Uint8Array {
  const b = wireBuf(new Uint8Array(4096));
  let n = 0;
  for (const r of recs) n += encodeRecord(b, n, r);
  return b.bytes.slice(0, n);
}

/** A correctly MACed batch of acks with header fields of choice. */
function acks(h: { epoch?: number; seq?: number }, n = 1): Uint8Array {
  const recs = Array.from({ length: n }, (_, i) => ({ type: "ack" as const, mseq: i + 1 }));
  return sealRaw(recordBytes(recs), { count: n, ...h });
}

Deno.test("batch: constants and header offsets are the documented wire format", () => {
  assert.equal(BATCH_MAGIC, 0x544e444d);
  assert.equal(BATCH_VERSION, 3);
  assert.deepEqual({ ...BH }, {
    magic: 0,
    version: 4,
    flags: 5,
    count: 6,
    epoch: 8,
    seq: 16,
    salt: 20,
  });
  assert.equal(BATCH_HEADER_LEN, 28);
  assert.equal(BATCH_MAC_LEN, 16);
  assert.equal(DEFAULT_MAX_BATCH, 8192);
  assert.equal(MAX_BATCH, 65507);
});

Deno.test("batch: the datagram is header, records, ChaCha20-Poly1305 tag, byte for byte", () => {
  const dg = sealed([ack(), expire()], 1234.5);
  const records = recordBytes([ack(), expire()]);
  // deno-fmt-ignore
  const head = [
    0x54, 0x4e, 0x44, 0x4d, // magic "TNDM"
    3, // version
    0, // flags
    0, 2, // count
    0x40, 0x93, 0x4a, 0, 0, 0, 0, 0, // epoch 1234.5
    0, 0, 0, 1, // seq
    ...SALT, // salt
  ];
  const end = 28 + records.length;
  assert.equal(dg.length, end + 16);
  assert.deepEqual([...dg.subarray(0, end)], [...head, ...records]);
  assert.deepEqual([...dg.subarray(end)], [...refMac(KEY, dg.subarray(0, end))]);
  assert.deepEqual([...batchMac(KEY, dg.subarray(0, end))], [...refMac(KEY, dg.subarray(0, end))]);
});

Deno.test("batch: every record type comes back in order with every field", () => {
  const r = new BatchReader(KEY);
  const dg = sealed(allRecords(), 1234.5);
  const recs = expectOpen(r, dg, "ok");
  assert.deepEqual(recs, allCopied());
  assert.equal(r.epoch, 1234.5);
  const again = sealed(allRecords(), 1234.5);
  // A fresh writer starts at seq 1 again: a replay within the epoch.
  expectOpen(r, again, "replay");
});

Deno.test("batch: open reports epoch, seq and count; records point into the datagram", () => {
  const w = new BatchWriter(KEY, 77);
  const r = new BatchReader(KEY);
  w.add(ack());
  w.add(mirror(8));
  w.add(ack());
  const dg = w.flush()!;
  const types: string[] = [];
  const res = r.open(dg, (rec) => {
    types.push(rec.type);
    if (rec.type === "mirror") {
      assert.equal(rec.buf, dg);
      assert.equal(rec.frameEnd, dg.length - 16 - 7, "the frame ends where the ack begins");
      assert.equal(rec.frameOff, rec.frameEnd - 8);
    }
  });
  assert.deepEqual(res, { ok: true, epoch: 77, seq: 1, count: 3 });
  assert.deepEqual(types, ["ack", "mirror", "ack"]);
});

Deno.test("batch: a datagram inside a larger buffer opens and the buffer is left as it was", () => {
  const dg = sealed([mirror(30), ack()]);
  const big = new Uint8Array(200 + dg.length).fill(0x3c);
  big.set(dg, 150);
  const before = big.slice();
  const view = big.subarray(150, 150 + dg.length);
  const r = new BatchReader(KEY);
  const offs: number[] = [];
  const res = r.open(view, (rec) => {
    if (rec.type === "mirror") offs.push(rec.frameOff, rec.frameEnd, rec.buf.byteOffset);
  });
  assert.ok(res.ok);
  assert.deepEqual(offs, [28 + 3 + 114, 28 + 3 + 114 + 30, 150], "offsets are into the datagram");
  assert.deepEqual(big, before);
});

Deno.test("writer: seq counts from 1; an empty seal is null and uses no seq", () => {
  const w = new BatchWriter(KEY, 5);
  assert.equal(w.seq, 0);
  assert.equal(w.pending, 0);
  assert.equal(w.seal(), null);
  assert.equal(w.flush(), null);
  assert.equal(w.seq, 0);
  const r = new BatchReader(KEY);
  for (let i = 1; i <= 3; i++) {
    assert.ok(w.add({ type: "ack", mseq: i }));
    assert.ok(w.add({ type: "ack", mseq: 100 + i }));
    assert.equal(w.pending, 2);
    const dg = w.flush()!;
    assert.equal(w.pending, 0);
    assert.equal(w.seq, i);
    const { res, recs } = openAll(r, dg);
    assert.deepEqual(res, { ok: true, epoch: 5, seq: i, count: 2 });
    assert.deepEqual(recs, [{ type: "ack", mseq: i }, { type: "ack", mseq: 100 + i }]);
    assert.equal(w.seal(), null, "nothing pending after a flush");
    assert.equal(w.seq, i);
  }
  assert.equal(w.epoch, 5);
  assert.equal(w.maxBytes, DEFAULT_MAX_BATCH);
});

Deno.test("writer: flush returns a copy; seal a view that the next batch reuses", () => {
  const w = new BatchWriter(KEY, 5);
  w.add({ type: "ack", mseq: 1 });
  const a = w.flush()!;
  const keepA = a.slice();
  w.add({ type: "ack", mseq: 2 });
  const b = w.seal()!;
  const keepB = b.slice();
  w.add({ type: "ack", mseq: 3 });
  const c = w.seal()!;
  assert.deepEqual(a, keepA, "the flushed copy is untouched");
  assert.equal(b.buffer, c.buffer, "seal hands out the writer's own buffer");
  assert.notDeepEqual(b, keepB, "and the next batch overwrote it");
  const r = new BatchReader(KEY);
  for (const [dg, seq] of [[keepA, 1], [keepB, 2], [c, 3]] as const) {
    const { res } = openAll(r, dg);
    assert.ok(res.ok && res.seq === seq);
  }
  const twin = new BatchWriter(KEY, 5);
  twin.add({ type: "ack", mseq: 1 });
  const t = twin.seal()!;
  assert.deepEqual(t.subarray(0, 20), keepA.subarray(0, 20), "seal and flush: the same header");
  assert.deepEqual(t.subarray(28, -16), keepA.subarray(28, -16), "and the same records");
  assert.notDeepEqual(t.subarray(20, 28), keepA.subarray(20, 28), "each writer its own salt");
});

Deno.test("writer: a batch fills to maxBytes exactly; a record that does not fit is refused", () => {
  const max = 408;
  const room = max - 28 - 16; // 364 bytes of records
  const w = new BatchWriter(KEY, 1, max);
  // A MIRROR record takes 3 + 114 + frame bytes: 65-byte frames make 182 bytes, half the room.
  const half = room / 2 - 117;
  assert.equal(half, 65);
  assert.ok(w.add(mirror(half)));
  assert.equal(w.add(mirror(half + 1)), false, "one byte over");
  assert.equal(w.pending, 1, "a refused record is not half-added");
  assert.ok(w.add(mirror(half)), "exactly the rest");
  assert.equal(w.add(ack()), false, "full");
  assert.equal(w.pending, 2);
  const dg = w.flush()!;
  assert.equal(dg.length, max);
  const r = new BatchReader(KEY);
  expectOpen(r, dg, "ok");
  assert.ok(w.add(ack()), "empty again after the flush");
});

Deno.test("writer: a record bigger than a whole batch throws; bad settings throw", () => {
  const w = new BatchWriter(KEY, 1, 1000);
  const room = 1000 - 28 - 16;
  assert.ok(w.add(mirror(room - 117)), "a record filling an empty batch exactly");
  assert.throws(() => w.add(mirror(room - 116)), RangeError);
  assert.equal(w.pending, 1, "the throw added nothing");
  const fresh = new BatchWriter(KEY, 1, 1000);
  assert.throws(() => fresh.add(mirror(room - 116)), RangeError, "even into an empty batch");
  assert.equal(fresh.pending, 0);
  for (const bad of [63, 65508, 100.5, NaN]) {
    assert.throws(() => new BatchWriter(KEY, 1, bad), RangeError, String(bad));
  }
  assert.equal(new BatchWriter(KEY, 1, 64).maxBytes, 64);
  assert.equal(new BatchWriter(KEY, 1, MAX_BATCH).maxBytes, MAX_BATCH);
  for (const bad of [NaN, Infinity, -Infinity]) {
    assert.throws(() => new BatchWriter(KEY, bad), RangeError, String(bad));
  }
  const big = new BatchWriter(KEY, 1, MAX_BATCH);
  assert.ok(big.add(mirror(MAX_BATCH - 44 - 117)));
  const dg = big.flush()!;
  assert.equal(dg.length, MAX_BATCH);
  expectOpen(new BatchReader(KEY), dg, "ok");
});

Deno.test("writer: builds batches in a given buffer, touching nothing else", () => {
  const max = 600, at = 64;
  assert.throws(() => new BatchWriter(KEY, 1, max, new Uint8Array(max - 1)), RangeError);
  assert.throws(() => new BatchWriter(KEY, 1, max, undefined, new Uint8Array(7)), RangeError);
  // One ArrayBuffer: bytes before, the writer's part, then a frame the mirror record copies from.
  const whole = new Uint8Array(at + max + 200).fill(0x3c);
  const w = new BatchWriter(KEY, 3, max, whole.subarray(at, at + max), SALT);
  const m = mirror(8);
  whole.set(m.rec.frame, at + max + 50);
  m.rec.frame = whole.subarray(at + max + 50, at + max + 50 + m.rec.frame.length);
  const tail = whole.slice(at + max);
  assert.ok(w.add(m));
  assert.ok(w.add(ack()));
  const dg = w.seal()!;
  assert.equal(dg.buffer, whole.buffer);
  assert.equal(dg.byteOffset, at);
  assert.ok(whole.subarray(0, at).every((x) => x === 0x3c), "nothing before the writer's part");
  assert.deepEqual(whole.slice(at + max), tail, "nothing past the writer's part");
  const own = new BatchWriter(KEY, 3, max, undefined, SALT);
  own.add(mirror(8));
  own.add(ack());
  assert.deepEqual([...dg], [...own.flush()!], "the same bytes as with a buffer of its own");
  expectOpen(new BatchReader(KEY), dg, "ok");
  const exact = new BatchWriter(KEY, 1, 64, new Uint8Array(64));
  assert.ok(exact.add(ack()));
  assert.equal(exact.seal()!.length, 51);
});

Deno.test("writer: batches of many records come back complete and in order", () => {
  const w = new BatchWriter(KEY, 1, 1500);
  const r = new BatchReader(KEY);
  const got: number[] = [];
  const drain = (): void => {
    const dg = w.flush()!;
    assert.ok(dg.length <= 1500);
    for (const rec of expectOpen(r, dg, "ok")) got.push((rec as { mseq: number }).mseq);
  };
  let batches = 0;
  for (let i = 1; i <= 200; i++) {
    const rec = mirror(40 + (i % 60), i);
    if (!w.add(rec)) {
      assert.ok(w.pending > 0);
      drain();
      batches++;
      assert.ok(w.add(rec));
    }
  }
  drain();
  assert.ok(batches >= 10, `${batches} full batches`);
  assert.deepEqual(got, Array.from({ length: 200 }, (_, i) => i + 1));
});

Deno.test("reader: shorter than header and MAC is truncated; exactly that is an empty batch", () => {
  const r = new BatchReader(KEY);
  const empty = sealRaw([], { count: 0, seq: 1 });
  assert.equal(empty.length, 44);
  for (let n = 0; n < 44; n++) expectOpen(r, empty.subarray(0, n), "truncated", `length ${n}`);
  assert.equal(r.counters.truncated, 44);
  const recs = expectOpen(r, empty, "ok");
  assert.deepEqual(recs, []);
  const dg = sealed(allRecords());
  for (let n = 44; n < dg.length; n++) expectOpen(r, dg.subarray(0, n), "bad_mac", `length ${n}`);
});

Deno.test("reader: wrong magic or version under a correct MAC is rejected as such", () => {
  const r = new BatchReader(KEY);
  expectOpen(r, sealRaw([], { magic: BATCH_MAGIC + 1 }), "bad_magic");
  expectOpen(r, sealRaw([], { magic: 0x4d444e54 }), "bad_magic", "byte-swapped");
  expectOpen(r, sealRaw([], { version: 1 }), "bad_version", "the narrower rows of version 1");
  expectOpen(r, sealRaw([], { version: 2 }), "bad_version", "version 2's HMAC-tagged batches");
  expectOpen(r, sealRaw([], { version: 4 }), "bad_version");
  expectOpen(r, sealRaw([], { version: 0 }), "bad_version");
  expectOpen(r, sealRaw([], { flags: 0x80 }), "ok", "flags are reserved, not checked");
});

Deno.test("reader: one bit flipped anywhere is bad_magic, bad_version or bad_mac", () => {
  const dg = sealed([ack(), expire()]);
  const r = new BatchReader(KEY);
  for (let bit = 0; bit < dg.length * 8; bit++) {
    const f = dg.slice();
    f[bit >> 3]! ^= 1 << (bit & 7);
    const byte = bit >> 3;
    const want = byte < 4 ? "bad_magic" : byte === 4 ? "bad_version" : "bad_mac";
    expectOpen(r, f, want, `bit ${bit}`);
  }
  assert.equal(r.counters.bad_mac, (dg.length - 5) * 8);
  expectOpen(r, dg, "ok", "the intact datagram still opens: rejects left no state");
});

Deno.test("reader: another key is bad_mac, both ways", () => {
  expectOpen(new BatchReader(KEY), sealed([ack()], 1, OTHER_KEY), "bad_mac");
  expectOpen(new BatchReader(OTHER_KEY), sealed([ack()], 1, KEY), "bad_mac");
  expectOpen(new BatchReader(OTHER_KEY), sealed([ack()], 1, OTHER_KEY), "ok");
});

Deno.test("reader: the same datagram twice is a replay; reordering within the window is fine", () => {
  const w = new BatchWriter(KEY, 9);
  const dgs: Uint8Array[] = [];
  for (let i = 1; i <= 8; i++) {
    w.add({ type: "ack", mseq: i });
    dgs.push(w.flush()!);
  }
  const r = new BatchReader(KEY);
  const order = [3, 0, 7, 1, 6, 2, 5, 4];
  for (const i of order) {
    assert.deepEqual(expectOpen(r, dgs[i]!, "ok", `seq ${i + 1}`), [{ type: "ack", mseq: i + 1 }]);
  }
  for (const i of order) expectOpen(r, dgs[i]!, "replay", `again seq ${i + 1}`);
  assert.equal(r.accepted, 8);
  assert.equal(r.counters.replay, 8);
});

Deno.test("reader: seq older than the window is a replay; the oldest slot still opens", () => {
  const r = new BatchReader(KEY, 1024);
  const at = (seq: number, want: RejectReason | "ok", why = "") =>
    expectOpen(r, acks({ seq }), want, `seq ${seq} ${why}`);
  at(1, "ok");
  at(1100, "ok");
  at(76, "replay", "1100 - 76 = 1024: just outside");
  at(77, "ok", "1100 - 77 = 1023: the oldest slot inside");
  at(1099, "ok");
  at(1, "replay");
  at(0, "replay", "seq 0 is never valid");
  at(0xffffffff, "ok", "a jump far ahead");
  at(1100, "replay", "now far outside the window");
  const small = new BatchReader(KEY, 32);
  expectOpen(small, acks({ seq: 40 }), "ok");
  expectOpen(small, acks({ seq: 8 }), "replay", "32 behind");
  expectOpen(small, acks({ seq: 9 }), "ok", "31 behind");
});

Deno.test("reader: a larger epoch resets the window; a smaller one is stale_epoch", () => {
  const r = new BatchReader(KEY);
  assert.equal(r.epoch, -Infinity);
  const at = (epoch: number, seq: number, want: RejectReason | "ok", why = "") =>
    expectOpen(r, acks({ epoch, seq }), want, `epoch ${epoch} seq ${seq} ${why}`);
  at(100, 5, "ok");
  at(100, 5, "replay");
  at(100, 6, "ok", "the same epoch goes on");
  assert.equal(r.epoch, 100);
  at(200, 1, "ok", "peer restarted: counts from 1 again");
  assert.equal(r.epoch, 200);
  at(200, 5, "ok", "5 was seen only in the old epoch");
  at(200, 1, "replay");
  at(100, 7, "stale_epoch", "a batch from before the restart");
  at(199.999, 7, "stale_epoch");
  assert.equal(r.epoch, 200);
  at(200, 2, "ok", "a stale batch did not disturb the window");
  at(-5, 1, "stale_epoch");
  const fresh = new BatchReader(KEY);
  expectOpen(fresh, acks({ epoch: -1e300, seq: 1 }), "ok", "any finite first epoch");
});

Deno.test("reader: a non-finite epoch in an authenticated batch is malformed", () => {
  const r = new BatchReader(KEY);
  for (const epoch of [NaN, Infinity, -Infinity]) {
    expectOpen(r, acks({ epoch }), "malformed", String(epoch));
  }
  assert.equal(r.epoch, -Infinity);
  expectOpen(r, acks({ epoch: 3, seq: 1 }), "ok");
  expectOpen(r, acks({ epoch: Infinity, seq: 2 }), "malformed", "even after a finite one");
});

Deno.test("reader: malformed framing under a correct MAC rejects the whole batch", () => {
  const r = new BatchReader(KEY);
  let seq = 0;
  const at = (body: number[], count: number, want: RejectReason | "ok", why: string) =>
    expectOpen(r, sealRaw(body, { count, seq: ++seq }), want, why);
  const ackBytes = [REC_ACK, 0, 4, 0, 0, 0, 9];
  at(ackBytes, 1, "ok", "control case");
  at([...ackBytes, ...ackBytes], 2, "ok", "two");
  at(ackBytes, 2, "malformed", "count says 2, one present");
  at([...ackBytes, ...ackBytes], 1, "malformed", "count says 1, two present");
  at([...ackBytes, 0xee], 1, "malformed", "a trailing byte");
  at(ackBytes, 0, "malformed", "count 0 with bytes");
  at([REC_ACK, 0, 5, 0, 0, 0, 9], 1, "malformed", "len runs past the end");
  at([...ackBytes, REC_ACK, 0], 2, "malformed", "second record header cut short");
  at([REC_ACK], 1, "malformed", "record header of 1 byte");
  at([99, 0, 4, 0, 0, 0, 9], 1, "malformed", "unknown type");
  at([0, 0, 4, 0, 0, 0, 9], 1, "malformed", "type 0");
  at([REC_ACK, 0, 3, 0, 0, 0], 1, "malformed", "ack body shorter than 4");
  at([1, 0, 51, ...new Array(51).fill(0)], 1, "malformed", "heartbeat body of 51");
  at([2, 0, 65, ...new Array(65).fill(0)], 1, "malformed", "mirror body of 65");
  at([4, 0, 36, ...new Array(36).fill(0)], 1, "malformed", "expire body of 36");
  at([5, 0, 150, ...new Array(150).fill(0)], 1, "malformed", "flow body of 150");
  at([6, 0, 4, 0, 0, 0, 0], 1, "malformed", "control body of 4");
  at([...ackBytes, 77, 0, 0], 2, "malformed", "good, then unknown");
  assert.equal(r.counters.malformed, 16);
  at([REC_ACK, 0, 6, 0, 0, 0, 9, 1, 2], 1, "ok", "a longer body is fine");
  at([6, 0, 5, 8, 0, 0, 0, 1], 1, "ok", "control with no data");
  at([2, 0, 66, ...new Array(66).fill(0)], 1, "ok", "mirror with an empty frame");
  at([], 0, "ok", "an empty batch is well formed");
});

Deno.test("reader: an MF_IPV6 mirror shorter than 66 + 48 bytes is malformed framing", () => {
  // The mirror record's body needs its 48 bytes of high words when MF_IPV6 (32, flags at body
  // offset 14) is set: framing must reject such a batch whole, not accept it and drop the record.
  const r = new BatchReader(KEY);
  let seq = 0;
  const v6Mirror = (len: number) => {
    const body = new Array(len).fill(0);
    body[14] = 32;
    return [2, len >> 8, len & 255, ...body];
  };
  for (const len of [66, 100, 113]) {
    expectOpen(r, sealRaw(v6Mirror(len), { count: 1, seq: ++seq }), "malformed", `body ${len}`);
  }
  const recs = expectOpen(r, sealRaw(v6Mirror(114), { count: 1, seq: ++seq }), "ok", "body 114");
  assert.equal(recs.length, 1);
});

Deno.test("reader: a malformed batch moves neither the window nor the epoch", () => {
  const r = new BatchReader(KEY);
  expectOpen(r, sealRaw([REC_ACK, 0, 3, 0, 0, 0], { count: 1, epoch: 5, seq: 3 }), "malformed");
  assert.equal(r.epoch, -Infinity);
  expectOpen(r, acks({ epoch: 5, seq: 3 }), "ok", "seq 3 was not used up");
  expectOpen(r, sealRaw([REC_ACK], { count: 1, epoch: 9, seq: 4 }), "malformed");
  assert.equal(r.epoch, 5, "the larger epoch of a malformed batch was not taken");
  expectOpen(r, acks({ epoch: 5, seq: 4 }), "ok", "epoch 5 goes on");
});

Deno.test("reader: a rejected sequence under a new epoch leaves epoch and window alone", () => {
  const r = new BatchReader(KEY);
  expectOpen(r, acks({ epoch: 5, seq: 1 }), "ok");
  expectOpen(r, acks({ epoch: 9, seq: 0 }), "replay", "seq 0 is never valid");
  assert.equal(r.epoch, 5);
  expectOpen(r, acks({ epoch: 5, seq: 1 }), "replay", "the window was not reset");
  expectOpen(r, acks({ epoch: 5, seq: 2 }), "ok");
  expectOpen(r, acks({ epoch: 9, seq: 1 }), "ok");
  assert.equal(r.epoch, 9);
});

Deno.test("reader: 20k random and mutated datagrams never throw, and rejects deliver nothing", () => {
  const rnd = xorshift32(0x7a6d);
  const r = new BatchReader(KEY, 64);
  const base = sealed(allRecords(), 2);
  const seen = new Map<string, number>();
  let seq = 0, total = 0;
  const valid = recordBytes(allRecords());
  for (let i = 0; i < 20_000; i++) {
    let dg: Uint8Array;
    const kind = i % 5;
    if (kind === 0) {
      // Noise.
      dg = new Uint8Array(rnd() % 300);
      for (let k = 0; k < dg.length; k++) dg[k] = rnd();
    } else if (kind === 1) {
      // A valid datagram with a few bytes changed, maybe cut short.
      dg = base.slice(0, base.length - (rnd() % 3 === 0 ? rnd() % base.length : 0));
      for (let k = rnd() % 4; k >= 0 && dg.length > 0; k--) dg[rnd() % dg.length] = rnd();
    } else if (kind === 2) {
      // Valid records with bytes changed, under a correct MAC: fuzzes framing and decoders.
      const body = valid.slice(0, valid.length - (rnd() % 4 === 0 ? rnd() % 40 : 0));
      for (let k = rnd() % 3; k >= 0; k--) body[rnd() % body.length] = rnd();
      dg = sealRaw(body, { count: rnd() % 4 ? 6 : 5, seq: ++seq, epoch: rnd() % 50 ? 2 : 1 });
    } else {
      // Random record bytes under a correct MAC, with plausible headers now and then.
      const body = new Uint8Array(rnd() % 400);
      for (let k = 0; k < body.length; k++) body[k] = rnd();
      if (body.length > 3 && kind === 4) {
        body[0] = 1 + (rnd() % 6);
        body[1] = 0;
        body[2] = Math.min(body.length - 3, rnd() % 120);
      }
      // Now and then an old sequence number: inside the window or behind it.
      const old = Math.max(0, seq - (rnd() % 100));
      dg = sealRaw(body, { count: rnd() % 4, seq: rnd() % 3 === 0 ? old : ++seq, epoch: 2 });
    }
    let delivered = 0;
    const res = r.open(dg, (rec) => {
      delivered++;
      // Every byte part lies inside the records of this datagram.
      const end = dg.length - 16;
      if (rec.type === "mirror") {
        assert.ok(rec.buf === dg && rec.frameOff <= rec.frameEnd && rec.frameEnd <= end);
        assert.ok(rec.rowOff >= 28 && rec.vnetOff + 10 <= rec.frameOff);
        // The high words of an IPv6 flow sit between vnet and frame; IPv4 has none.
        if (rec.row6Off >= 0) {
          assert.ok(rec.row6Off === rec.vnetOff + 10 && rec.frameOff === rec.row6Off + 48);
        } else assert.equal(rec.frameOff, rec.vnetOff + 10);
      } else if (rec.type === "control") {
        assert.ok(rec.dataOff <= rec.dataEnd && rec.dataEnd <= end);
      } else if (rec.type === "flow") {
        assert.ok(rec.rowOff >= 28 && rec.rowOff + 151 <= end);
      }
    });
    total++;
    assert.equal(delivered, res.ok ? res.count : 0);
    const key = reason(res);
    seen.set(key, (seen.get(key) ?? 0) + 1);
  }
  const counted = Object.values(r.counters).reduce((a, b) => a + b, 0);
  assert.equal(counted + r.accepted, total, "every datagram counted exactly once");
  assert.equal(r.accepted, seen.get("ok"));
  for (
    const k of ["truncated", "bad_magic", "bad_mac", "malformed", "replay", "stale_epoch", "ok"]
  ) {
    assert.ok((seen.get(k) ?? 0) > 0, `${k} reached: ${JSON.stringify([...seen])}`);
  }
});
