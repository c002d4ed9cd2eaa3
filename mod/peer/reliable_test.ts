import assert from "node:assert/strict";
import { IN_ORDER_DELIVER, IN_ORDER_HELD, IN_ORDER_OLD, InOrder, ResendRing } from "./reliable.ts";

const dg = (seq: number, len = 100) => new Uint8Array(len).fill(seq & 255);

Deno.test("ResendRing keeps datagrams by sequence until acked, and finds each", () => {
  const r = new ResendRing(10_000, 1000, 64);
  for (let s = 1; s <= 10; s++) r.push(s, dg(s), 0);
  assert.equal(r.size, 10);
  assert.equal(r.bytes, 1000);
  assert.deepEqual([r.first, r.last], [1, 10]);
  assert.deepEqual(r.get(7), dg(7));
  assert.equal(r.get(11), undefined);
  assert.equal(r.get(0), undefined);
  r.ack(4);
  assert.equal(r.size, 6);
  assert.equal(r.first, 5);
  assert.equal(r.get(4), undefined);
  assert.deepEqual(r.get(5), dg(5));
  assert.equal(r.dropped, 0, "acked datagrams are not drops");
});

Deno.test("ResendRing evicts the oldest (counted) when bytes, slots or age run out", () => {
  const bytes = new ResendRing(1000, 1e9, 64);
  for (let s = 1; s <= 15; s++) bytes.push(s, dg(s), s);
  assert.ok(bytes.bytes <= 1000);
  assert.equal(bytes.last, 15);
  assert.deepEqual(bytes.get(15), dg(15));
  assert.equal(bytes.dropped, 15 - bytes.size);
  for (let s = bytes.first; s <= 15; s++) assert.deepEqual(bytes.get(s), dg(s), `seq ${s} intact`);
  const slots = new ResendRing(1 << 20, 1e9, 4);
  for (let s = 1; s <= 6; s++) slots.push(s, dg(s, 10), s);
  assert.equal(slots.size, 4);
  assert.equal(slots.dropped, 2);
  assert.equal(slots.first, 3);
  const age = new ResendRing(1 << 20, 100, 64);
  age.push(1, dg(1), 0);
  age.push(2, dg(2), 50);
  age.expire(100);
  assert.equal(age.size, 2, "exactly at the bound: kept");
  age.expire(101);
  assert.equal(age.size, 1);
  assert.equal(age.first, 2);
  assert.equal(age.dropped, 1);
  const huge = new ResendRing(50, 1e9, 4);
  huge.push(1, dg(1, 51), 0);
  assert.equal(huge.size, 0);
  assert.equal(huge.dropped, 1);
});

Deno.test("ResendRing wraps its storage without corrupting kept datagrams", () => {
  const r = new ResendRing(1000, 1e9, 64);
  for (let s = 1; s <= 200; s++) {
    r.push(s, dg(s, 90 + (s % 37)), s);
    r.ack(s - 5);
    for (let k = r.first; k <= r.last; k++) {
      assert.deepEqual(r.get(k), dg(k, 90 + (k % 37)), `${s}/${k}`);
    }
  }
  assert.equal(r.dropped, 0);
});

Deno.test("ResendRing.drain yields every kept datagram oldest first and empties the ring", () => {
  const r = new ResendRing(10_000, 1e9, 64);
  for (let s = 5; s <= 8; s++) r.push(s, dg(s), 0);
  r.ack(5);
  const seen: number[] = [];
  assert.equal(
    r.drain((d, seq) => {
      assert.deepEqual(d, dg(seq));
      seen.push(seq);
    }),
    3,
  );
  assert.deepEqual(seen, [6, 7, 8]);
  assert.equal(r.size, 0);
});

Deno.test("InOrder delivers in order, holds past a gap, NACKs it, and delivers once filled", () => {
  const o = new InOrder({ nackRetryMs: 4, tailGraceMs: 4, giveUpMs: 100, maxHeld: 10 });
  assert.equal(o.offer(1, 0), IN_ORDER_DELIVER);
  assert.equal(o.takeHeld(), undefined);
  assert.equal(o.offer(2, 0), IN_ORDER_DELIVER);
  assert.equal(o.offer(5, 1), IN_ORDER_HELD);
  o.hold(5, dg(5));
  assert.equal(o.offer(6, 1), IN_ORDER_HELD);
  o.hold(6, dg(6));
  assert.equal(o.applied, 2);
  assert.deepEqual(o.tick(1), { from: 3, to: 4 }, "asked at once");
  assert.equal(o.tick(2), undefined, "not again before the retry interval");
  assert.deepEqual(o.tick(5), { from: 3, to: 4 }, "retried");
  assert.equal(o.nacks, 2);
  assert.equal(o.offer(6, 5), IN_ORDER_OLD, "already held");
  assert.equal(o.offer(4, 6), IN_ORDER_HELD);
  o.hold(4, dg(4));
  assert.equal(o.tick(10), undefined, "the second retry waits twice as long");
  assert.deepEqual(o.tick(13), { from: 3, to: 3 });
  assert.equal(o.tick(20), undefined, "and the third four times");
  assert.deepEqual(o.tick(29), { from: 3, to: 3 });
  assert.equal(o.offer(3, 30), IN_ORDER_DELIVER);
  assert.deepEqual([o.takeHeld(), o.takeHeld(), o.takeHeld(), o.takeHeld()], [
    dg(4),
    dg(5),
    dg(6),
    undefined,
  ]);
  assert.equal(o.applied, 6);
  assert.equal(o.recovered, 1);
  assert.equal(o.holding, 0);
  assert.equal(o.tick(100), undefined, "no gap left");
  assert.equal(o.offer(3, 12), IN_ORDER_OLD, "a late duplicate");
  assert.equal(o.lost, 0);
});

Deno.test("InOrder gives up on a gap after the bound, counts it, and goes on", () => {
  const o = new InOrder({ nackRetryMs: 4, tailGraceMs: 4, giveUpMs: 100, maxHeld: 10 });
  o.offer(1, 0);
  o.offer(4, 0);
  o.hold(4, dg(4));
  o.offer(9, 0);
  o.hold(9, dg(9));
  assert.deepEqual(o.tick(0), { from: 2, to: 3 });
  assert.deepEqual(o.tick(100), { from: 2, to: 3 }, "at the bound itself: still asking");
  assert.equal(o.tick(101), undefined);
  assert.equal(o.lost, 2);
  assert.deepEqual(o.takeHeld(), dg(4));
  assert.equal(o.takeHeld(), undefined);
  assert.deepEqual(o.tick(102), { from: 5, to: 8 }, "the next gap is asked for");
  assert.equal(o.offer(2, 103), IN_ORDER_OLD, "a gap given up on stays given up");
});

Deno.test("InOrder: each gap of a chain has its own bound and is asked for at once", () => {
  const o = new InOrder({ nackRetryMs: 4, tailGraceMs: 4, giveUpMs: 100, maxHeld: 10 });
  o.offer(1, 0);
  o.offer(3, 0);
  o.hold(3, dg(3));
  o.offer(5, 0);
  o.hold(5, dg(5));
  assert.deepEqual(o.tick(0), { from: 2, to: 2 });
  // The first gap fills late, just inside its bound; the second is new at that moment.
  assert.equal(o.offer(2, 90), IN_ORDER_DELIVER);
  assert.deepEqual(o.takeHeld(), dg(3));
  assert.equal(o.takeHeld(), undefined);
  assert.deepEqual(o.tick(90), { from: 4, to: 4 }, "asked for at once, not after a retry");
  assert.deepEqual(o.tick(150), { from: 4, to: 4 }, "not given up 100 ms after the first gap");
  assert.equal(o.lost, 0);
  assert.equal(o.tick(191), undefined, "given up 100 ms after it became the gap");
  assert.equal(o.lost, 1);
});

Deno.test("InOrder gives up at once when too much is held", () => {
  const o = new InOrder({ nackRetryMs: 4, tailGraceMs: 4, giveUpMs: 1e9, maxHeld: 3 });
  o.offer(1, 0);
  for (let s = 3; s <= 6; s++) {
    assert.equal(o.offer(s, 0), IN_ORDER_HELD);
    o.hold(s, dg(s));
  }
  o.tick(0);
  assert.equal(o.lost, 1);
  let n = 0;
  while (o.takeHeld()) n++;
  assert.equal(n, 4);
  assert.equal(o.applied, 6);
});

Deno.test("InOrder: a lost tail shows up through the sender's top, asked for after a grace", () => {
  const o = new InOrder({ nackRetryMs: 4, tailGraceMs: 4, giveUpMs: 100, maxHeld: 10 });
  o.offer(1, 0);
  o.senderTop(1, 0);
  assert.equal(o.tick(0), undefined, "nothing missing");
  o.senderTop(3, 10);
  assert.equal(o.tick(10), undefined, "may still be on its way");
  assert.deepEqual(o.tick(14), { from: 2, to: 3 });
  assert.equal(o.offer(2, 15), IN_ORDER_DELIVER);
  assert.equal(o.offer(3, 15), IN_ORDER_DELIVER);
  assert.equal(o.takeHeld(), undefined);
  assert.equal(o.tick(20), undefined);
  assert.equal(o.recovered, 2);
  assert.equal(o.nextDeadline(20), Infinity);
});

Deno.test("InOrder: a tail that arrives within its grace was never lost, nor recovered", () => {
  const o = new InOrder({ nackRetryMs: 4, tailGraceMs: 4, giveUpMs: 100, maxHeld: 10 });
  o.offer(1, 0);
  o.senderTop(3, 1); // the heartbeat overtook the data lane
  assert.equal(o.tick(2), undefined);
  assert.equal(o.offer(2, 3), IN_ORDER_DELIVER);
  assert.equal(o.offer(3, 3), IN_ORDER_DELIVER);
  assert.deepEqual([o.recovered, o.nacks, o.lost], [0, 0, 0]);
});

Deno.test("InOrder starts at the first sequence it sees and again after a reset", () => {
  const o = new InOrder();
  assert.equal(o.applied, 0);
  assert.equal(o.offer(500, 0), IN_ORDER_DELIVER);
  assert.equal(o.applied, 500);
  o.reset();
  assert.equal(o.offer(1, 1), IN_ORDER_DELIVER, "a restarted sender counts from 1");
  assert.equal(o.applied, 1);
});

Deno.test("InOrder: a tail gap waits its grace, and longer while the reader lags behind", () => {
  const o = new InOrder({ nackRetryMs: 4, tailGraceMs: 20, giveUpMs: 100, maxHeld: 10 });
  o.offer(1, 0);
  o.senderTop(3, 0);
  assert.equal(o.tick(19), undefined, "within the grace");
  assert.equal(o.tick(20, true), undefined, "the reader is behind: the batches may be queued");
  assert.deepEqual(o.tick(21), { from: 2, to: 3 });
  // A gap proven by a later batch is asked for at once, lagging or not.
  const p = new InOrder({ nackRetryMs: 4, tailGraceMs: 20, giveUpMs: 100, maxHeld: 10 });
  p.offer(1, 0);
  p.offer(3, 0);
  p.hold(3, new Uint8Array(1));
  assert.deepEqual(p.tick(0, true), { from: 2, to: 2 });
  // But asked again only once the reader caught up: the resend is most likely in its backlog.
  assert.equal(p.tick(4, true), undefined, "no retry while lagging");
  assert.equal(p.tick(50, true), undefined);
  assert.deepEqual(p.tick(51), { from: 2, to: 2 }, "caught up: asked again");
  assert.equal(p.nextDeadline(52), 59, "next retry 8 ms after the second ask");
});

Deno.test("InOrder: retries back off to 16× the interval; a new gap starts over", () => {
  const o = new InOrder({ nackRetryMs: 1, tailGraceMs: 1, giveUpMs: 1000, maxHeld: 10 });
  o.offer(1, 0);
  o.offer(3, 0);
  o.hold(3, new Uint8Array(1));
  const asked: number[] = [];
  for (let t = 0; t <= 100; t++) if (o.tick(t)) asked.push(t);
  // Waits of 1, 2, 4, 8, 16, then 16 again.
  assert.deepEqual(asked, [0, 1, 3, 7, 15, 31, 47, 63, 79, 95]);
  assert.equal(o.offer(2, 100), IN_ORDER_DELIVER);
  assert.deepEqual([o.takeHeld(), o.takeHeld()], [new Uint8Array(1), undefined]);
  o.offer(6, 101);
  o.hold(6, new Uint8Array(1));
  assert.deepEqual(o.tick(101), { from: 4, to: 5 }, "a new gap: asked at once");
  assert.equal(o.tick(101.5), undefined);
  assert.deepEqual(o.tick(102), { from: 4, to: 5 }, "and retried after 1 ms again");
});

Deno.test("InOrder: nothing to ask for before the first batch of an epoch", () => {
  const o = new InOrder();
  assert.equal(o.tick(0), undefined);
  assert.equal(o.tick(1000), undefined);
  assert.equal(o.nextDeadline(5), Infinity);
  o.senderTop(9, 0);
  assert.equal(o.tick(1000), undefined, "the sender's top means nothing before we hear its data");
  assert.equal(o.nacks, 0);
});
