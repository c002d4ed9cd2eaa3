import assert from "node:assert/strict";
import { SyncSender, type SyncSenderPort } from "./sync_sender.ts";

/** A port over a set of live flows that records what was sent. */
class Port implements SyncSenderPort {
  sent: number[] = [];
  readonly dead = new Set<number>();
  live(flow: number): boolean {
    return !this.dead.has(flow);
  }
  sendFlow(flow: number): void {
    this.sent.push(flow);
  }
  take(): number[] {
    const out = this.sent;
    this.sent = [];
    return out;
  }
}

const order = (...ids: number[]) => Int32Array.from(ids);
const range = (n: number, from = 0) => Int32Array.from({ length: n }, (_, i) => from + i);

Deno.test("an idle sender sends nothing", () => {
  const s = new SyncSender({ batch: 4, window: 8 });
  const port = new Port();
  assert.equal(s.active, false);
  assert.equal(s.ready, false);
  assert.equal(s.sent, 0);
  assert.deepEqual(s.progress, { done: 0, total: 0 });
  assert.equal(s.pump(port), -1);
  assert.deepEqual(port.sent, []);
  s.onProgress(5);
  assert.equal(s.sent, 0);
});

Deno.test("start returns the BEGIN count; the order is sent as given, batch by batch", () => {
  const s = new SyncSender({ batch: 3, window: 100 });
  const port = new Port();
  assert.equal(s.start(order(9, 4, 7, 1, 8, 2, 6)), 7);
  assert.equal(s.active, true);
  assert.equal(s.ready, true);
  assert.deepEqual(s.progress, { done: 0, total: 7 });
  assert.equal(s.pump(port), -1);
  assert.deepEqual(port.take(), [9, 4, 7]);
  assert.equal(s.sent, 3);
  assert.deepEqual(s.progress, { done: 3, total: 7 });
  assert.equal(s.pump(port), -1);
  assert.deepEqual(port.take(), [1, 8, 2]);
  assert.deepEqual(s.progress, { done: 6, total: 7 });
  // The last turn sends the rest and returns END's count.
  assert.equal(s.pump(port), 7);
  assert.deepEqual(port.take(), [6]);
  assert.equal(s.active, false);
  assert.equal(s.ready, false);
  assert.equal(s.sent, 7, "sent stays readable after the end");
  assert.deepEqual(s.progress, { done: 7, total: 0 });
  assert.equal(s.pump(port), -1, "done: nothing more");
  assert.deepEqual(port.sent, []);
});

Deno.test("an order that ends exactly at a batch boundary ends in that turn", () => {
  const s = new SyncSender({ batch: 4, window: 100 });
  const port = new Port();
  s.start(range(8));
  assert.equal(s.pump(port), -1);
  assert.equal(s.pump(port), 8);
  assert.deepEqual(port.sent, [0, 1, 2, 3, 4, 5, 6, 7]);
});

Deno.test("an empty table ends at once with END 0", () => {
  const s = new SyncSender({ batch: 4, window: 8 });
  const port = new Port();
  assert.equal(s.start(order()), 0);
  assert.equal(s.active, true);
  assert.equal(s.pump(port), 0);
  assert.equal(s.active, false);
  assert.deepEqual(port.sent, []);
});

Deno.test("the window bounds entries in flight beyond the joiner's progress", () => {
  const s = new SyncSender({ batch: 4, window: 6 });
  const port = new Port();
  s.start(range(20));
  assert.equal(s.pump(port), -1);
  assert.deepEqual(port.take(), [0, 1, 2, 3]);
  assert.equal(s.ready, true);
  assert.equal(s.pump(port), -1);
  assert.deepEqual(port.take(), [4, 5], "only 2 more fit the window of 6");
  assert.equal(s.ready, false);
  assert.equal(s.pump(port), -1);
  assert.deepEqual(port.take(), [], "a closed window sends nothing");
  assert.deepEqual(s.progress, { done: 6, total: 20 });
  s.onProgress(1);
  assert.equal(s.ready, true);
  assert.equal(s.pump(port), -1);
  assert.deepEqual(port.take(), [6]);
  assert.equal(s.ready, false);
  s.onProgress(7);
  assert.equal(s.pump(port), -1);
  assert.deepEqual(port.take(), [7, 8, 9, 10], "a batch at most, even with room for 6");
  assert.equal(s.pump(port), -1);
  assert.deepEqual(port.take(), [11, 12]);
  assert.equal(s.sent, 13);
});

Deno.test("progress cannot exceed what was sent, nor go back", () => {
  const s = new SyncSender({ batch: 2, window: 2 });
  const port = new Port();
  s.start(range(10));
  s.pump(port);
  assert.deepEqual(port.take(), [0, 1]);
  // A report above the sent count (a stale report from an earlier sync) opens no more than
  // what was sent.
  s.onProgress(100);
  assert.equal(s.pump(port), -1);
  assert.deepEqual(port.take(), [2, 3]);
  assert.equal(s.ready, false);
  assert.equal(s.pump(port), -1);
  assert.deepEqual(port.take(), []);
  // An older (lower) report does not close the window further either.
  s.onProgress(3);
  assert.equal(s.ready, true);
  s.onProgress(1);
  assert.equal(s.pump(port), -1);
  assert.deepEqual(port.take(), [4], "acked stays at 3: 4 sent, one slot");
});

Deno.test("progress equal to the acked count changes nothing", () => {
  const s = new SyncSender({ batch: 1, window: 1 });
  const port = new Port();
  s.start(range(3));
  s.pump(port);
  s.onProgress(1);
  s.pump(port);
  assert.deepEqual(port.take(), [0, 1]);
  s.onProgress(1);
  assert.equal(s.ready, false);
  s.pump(port);
  assert.deepEqual(port.take(), []);
});

Deno.test("dead flows are skipped and neither counted nor charged to the batch", () => {
  const s = new SyncSender({ batch: 2, window: 100 });
  const port = new Port();
  port.dead.add(1).add(2).add(5);
  assert.equal(s.start(range(7)), 7, "BEGIN counts the order as taken");
  assert.equal(s.pump(port), -1);
  assert.deepEqual(port.take(), [0, 3], "dead 1 and 2 skipped; the batch still holds 2");
  assert.deepEqual(s.progress, { done: 4, total: 7 });
  // 4, dead 5 skipped, 6: the order is exhausted in this turn. END counts what was sent.
  assert.equal(s.pump(port), 4);
  assert.deepEqual(port.take(), [4, 6]);
  assert.equal(s.sent, 4);
  assert.equal(s.active, false);
});

Deno.test("a tail of dead flows ends the sync in the next turn, sending nothing", () => {
  const s = new SyncSender({ batch: 2, window: 2 });
  const port = new Port();
  port.dead.add(2).add(3).add(4);
  s.start(range(5));
  assert.equal(s.pump(port), -1, "the batch is full before the dead tail is seen");
  assert.deepEqual(port.take(), [0, 1]);
  assert.equal(s.ready, false);
  // With the window closed a turn does not even walk past the dead entries.
  assert.equal(s.pump(port), -1);
  s.onProgress(2);
  assert.equal(s.pump(port), 2);
  assert.deepEqual(port.take(), []);
});

Deno.test("a flow that dies mid-sync is skipped when its turn comes", () => {
  const s = new SyncSender({ batch: 2, window: 100 });
  const port = new Port();
  s.start(range(4));
  s.pump(port);
  port.dead.add(3);
  assert.equal(s.pump(port), 3);
  assert.deepEqual(port.take(), [0, 1, 2]);
});

Deno.test("a repeated request restarts from the top with a fresh window", () => {
  const s = new SyncSender({ batch: 3, window: 3 });
  const port = new Port();
  s.start(range(10));
  s.pump(port);
  assert.equal(s.ready, false);
  assert.deepEqual(port.take(), [0, 1, 2]);
  assert.equal(s.start(range(6, 100)), 6);
  assert.equal(s.sent, 0);
  assert.equal(s.ready, true);
  assert.deepEqual(s.progress, { done: 0, total: 6 });
  assert.equal(s.pump(port), -1);
  assert.deepEqual(port.take(), [100, 101, 102]);
  s.onProgress(3);
  assert.equal(s.pump(port), 6, "END counts this sync only");
  assert.deepEqual(port.take(), [103, 104, 105]);
});

Deno.test("a restart after an end starts again", () => {
  const s = new SyncSender({ batch: 10, window: 10 });
  const port = new Port();
  s.start(range(2));
  assert.equal(s.pump(port), 2);
  s.start(range(3));
  assert.equal(s.pump(port), 3);
  assert.deepEqual(port.take(), [0, 1, 0, 1, 2]);
});

Deno.test("stop abandons the sync", () => {
  const s = new SyncSender({ batch: 2, window: 10 });
  const port = new Port();
  s.start(range(10));
  s.pump(port);
  s.stop();
  assert.equal(s.active, false);
  assert.equal(s.ready, false);
  assert.equal(s.pump(port), -1);
  assert.deepEqual(port.take(), [0, 1]);
  s.onProgress(2);
  assert.equal(s.pump(port), -1);
  assert.deepEqual(port.sent, []);
});

Deno.test("a window of 1 alternates send and progress through the whole order", () => {
  const s = new SyncSender({ batch: 8, window: 1 });
  const port = new Port();
  s.start(order(5, 6, 7));
  const ends: number[] = [];
  for (let i = 0; i < 10 && s.active; i++) {
    ends.push(s.pump(port));
    s.onProgress(port.sent.length);
  }
  assert.deepEqual(ends, [-1, -1, 3]);
  assert.deepEqual(port.sent, [5, 6, 7]);
});
