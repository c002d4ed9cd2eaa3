import assert from "node:assert/strict";
import { SYNC_RX_DEFAULTS, SyncReceiver, type SyncRxAction } from "./sync_receiver.ts";

const OPTS = { requestEveryMs: 100, progressEveryMs: 20, stallMs: 500 };

/** The actions without the timeline events. */
const acts = (a: SyncRxAction[]) => a.filter((x) => x.kind !== "event");
const evts = (a: SyncRxAction[]) => a.flatMap((x) => x.kind === "event" ? [x.detail] : []);

/** A receiver that started at 0 and took a BEGIN of `total` at `at`. */
function receiving(total: number, at = 10): SyncReceiver {
  const r = new SyncReceiver(OPTS);
  r.start(0);
  r.onBegin(total, at);
  return r;
}

Deno.test("defaults: ask every 200 ms, report every 20 ms, a stall after 1 s", () => {
  assert.deepEqual(SYNC_RX_DEFAULTS, { requestEveryMs: 200, progressEveryMs: 20, stallMs: 1000 });
  const r = new SyncReceiver();
  r.start(0);
  assert.deepEqual(r.tick(200, true), []);
  assert.deepEqual(r.tick(201, true), [{ kind: "request" }]);
});

Deno.test("an idle receiver does nothing and takes nothing", () => {
  const r = new SyncReceiver(OPTS);
  assert.equal(r.state, "idle");
  assert.equal(r.active, false);
  assert.equal(r.accepting, false);
  assert.equal(r.got, 0);
  assert.equal(r.expected, 0);
  assert.deepEqual(r.tick(1000, true), []);
  assert.deepEqual(r.onBegin(5, 0), [], "a BEGIN nobody asked for is ignored");
  assert.equal(r.state, "idle");
  assert.deepEqual(r.onEnd(0), []);
  assert.equal(r.nextDeadline(7), Infinity);
});

Deno.test("start clears the table and asks at once", () => {
  const r = new SyncReceiver(OPTS);
  assert.deepEqual(r.start(50), [{ kind: "clear" }, { kind: "request" }]);
  assert.equal(r.state, "requesting");
  assert.equal(r.active, true);
  assert.equal(r.accepting, false, "entries before BEGIN are not part of the sync");
  assert.equal(r.expected, 0);
  assert.equal(r.nextDeadline(60), 151);
});

Deno.test("requests repeat every requestEveryMs while the peer is up", () => {
  const r = new SyncReceiver(OPTS);
  r.start(0);
  assert.deepEqual(r.tick(50, true), []);
  assert.deepEqual(r.tick(100, true), [], "exactly requestEveryMs: not yet");
  assert.deepEqual(r.tick(101, true), [{ kind: "request" }]);
  assert.equal(r.nextDeadline(101), 202);
  assert.deepEqual(r.tick(150, true), []);
  assert.deepEqual(r.tick(201, true), []);
  assert.deepEqual(r.tick(202, true), [{ kind: "request" }]);
  // Peer down: nobody hears a request; ask once it is back.
  assert.deepEqual(r.tick(400, false), []);
  assert.deepEqual(r.tick(500, false), []);
  assert.equal(r.state, "requesting");
  assert.deepEqual(r.tick(501, true), [{ kind: "request" }]);
  assert.equal(r.nextDeadline(502), 602);
  assert.equal(r.nextDeadline(700), 701, "never in the past");
});

Deno.test("BEGIN clears, counts from zero and opens the door to entries", () => {
  const r = new SyncReceiver(OPTS);
  r.start(0);
  const a = r.onBegin(3, 10);
  assert.deepEqual(acts(a), [{ kind: "clear" }]);
  assert.deepEqual(evts(a), ["bulk sync from peer started: 3 flows"]);
  assert.equal(r.state, "receiving");
  assert.equal(r.accepting, true);
  assert.equal(r.expected, 3);
  assert.equal(r.got, 0);
  r.onEntry(11);
  r.onEntry(12);
  assert.equal(r.got, 2);
  r.onEntry(13);
  const end = r.onEnd(3);
  assert.deepEqual(end, [{ kind: "complete", got: 3 }]);
  assert.equal(r.state, "idle");
  assert.equal(r.active, false);
  assert.equal(r.accepting, false);
  assert.equal(r.expected, 0, "expected is only shown while receiving");
  assert.equal(r.got, 3, "got stays readable");
});

Deno.test("END with more entries than sent still completes (live updates mixed in)", () => {
  const r = receiving(2);
  r.onEntry(11);
  r.onEntry(12);
  r.onEntry(13);
  assert.deepEqual(r.onEnd(2), [{ kind: "complete", got: 3 }]);
});

Deno.test("END with fewer entries than sent never completes: it asks again", () => {
  const r = receiving(4);
  for (let t = 11; t <= 13; t++) r.onEntry(t);
  const end = r.onEnd(4);
  assert.deepEqual(acts(end), []);
  assert.deepEqual(evts(end), ["bulk sync incomplete (3/4); retrying"]);
  assert.equal(r.state, "requesting");
  assert.equal(r.accepting, false);
  assert.equal(r.active, true);
  // The request goes out at the next tick, not requestEveryMs later.
  assert.deepEqual(r.tick(14, true), [{ kind: "request" }]);
  assert.deepEqual(r.tick(15, true), []);
  // The next BEGIN starts counting again from zero.
  assert.deepEqual(acts(r.onBegin(4, 20)), [{ kind: "clear" }]);
  assert.equal(r.got, 0);
  for (let t = 21; t <= 24; t++) r.onEntry(t);
  assert.deepEqual(r.onEnd(4), [{ kind: "complete", got: 4 }]);
});

Deno.test("END for an empty table completes at once", () => {
  const r = receiving(0);
  assert.deepEqual(r.onEnd(0), [{ kind: "complete", got: 0 }]);
});

Deno.test("END counts what was sent, not what BEGIN announced", () => {
  // Flows died between BEGIN and their turn: the sender sent 2 of 5.
  const r = receiving(5);
  r.onEntry(11);
  r.onEntry(12);
  assert.deepEqual(r.onEnd(2), [{ kind: "complete", got: 2 }]);
});

Deno.test("an END before BEGIN (its BEGIN was lost) is ignored", () => {
  const r = new SyncReceiver(OPTS);
  r.start(0);
  assert.deepEqual(r.onEnd(0), []);
  assert.equal(r.state, "requesting");
});

Deno.test("progress is reported at once, then every progressEveryMs while receiving", () => {
  const r = receiving(100, 10);
  assert.deepEqual(r.nextDeadline(10), 10, "the first report is due now");
  assert.deepEqual(r.tick(10, true), [{ kind: "progress", got: 0 }]);
  r.onEntry(15);
  r.onEntry(16);
  assert.deepEqual(r.tick(20, true), []);
  assert.deepEqual(r.tick(29, true), []);
  assert.equal(r.nextDeadline(29), 30);
  assert.deepEqual(r.tick(30, true), [{ kind: "progress", got: 2 }], "exactly 20 ms later");
  r.onEntry(31);
  assert.deepEqual(r.tick(45, true), []);
  assert.deepEqual(r.tick(50, true), [{ kind: "progress", got: 3 }]);
  // Progress does not depend on the peer being up: it is the sender's window.
  r.onEntry(60);
  assert.deepEqual(r.tick(70, false), [{ kind: "progress", got: 4 }]);
});

Deno.test("nextDeadline while receiving: the next report, at most 20 ms ahead", () => {
  const r = new SyncReceiver({ requestEveryMs: 100, progressEveryMs: 50, stallMs: 500 });
  r.start(0);
  r.onBegin(10, 0);
  r.tick(0, true);
  assert.equal(r.nextDeadline(5), 25, "capped at now + 20");
  assert.equal(r.nextDeadline(40), 50);
  assert.equal(r.nextDeadline(60), 60, "overdue: now");
});

Deno.test("a sync that receives nothing for stallMs is asked for again", () => {
  const r = receiving(10, 10);
  r.tick(10, true);
  r.onEntry(100);
  for (let t = 110; t <= 600; t += 10) {
    const a = r.tick(t, true);
    assert.ok(a.every((x) => x.kind === "progress"), `t=${t}`);
  }
  assert.equal(r.state, "receiving", "exactly stallMs since the last entry: still receiving");
  const stall = r.tick(601, true);
  assert.deepEqual(acts(stall), []);
  assert.deepEqual(evts(stall), ["bulk sync stalled at 1/10; asking again"]);
  assert.equal(r.state, "requesting");
  assert.equal(r.accepting, false);
  assert.deepEqual(r.tick(602, true), [{ kind: "request" }]);
});

Deno.test("the stall clock starts at BEGIN and restarts with every entry", () => {
  const r = receiving(10, 100);
  r.tick(600, true);
  assert.equal(r.state, "receiving");
  r.onEntry(600);
  r.tick(1100, true);
  assert.equal(r.state, "receiving");
  r.tick(1101, true);
  assert.equal(r.state, "requesting");
});

Deno.test("a stall is noticed even while the peer is down; requests wait for it", () => {
  const r = receiving(10, 0);
  assert.equal(evts(r.tick(501, false)).length, 1);
  assert.equal(r.state, "requesting");
  assert.deepEqual(r.tick(502, false), []);
  assert.deepEqual(r.tick(503, true), [{ kind: "request" }]);
});

Deno.test("a second BEGIN (the sender restarted) clears and counts afresh", () => {
  const r = receiving(5, 10);
  r.onEntry(11);
  r.onEntry(12);
  const again = r.onBegin(7, 20);
  assert.deepEqual(acts(again), [{ kind: "clear" }]);
  assert.equal(r.got, 0);
  assert.equal(r.expected, 7);
  assert.deepEqual(r.tick(20, true), [{ kind: "progress", got: 0 }], "reports restart at once");
  // The two entries before the restart do not count toward the new END.
  assert.deepEqual(acts(r.onEnd(2)), []);
  assert.equal(r.state, "requesting");
});

Deno.test("stop: no more entries, BEGIN or END are taken", () => {
  const r = receiving(3);
  r.onEntry(11);
  r.stop();
  assert.equal(r.state, "idle");
  assert.equal(r.active, false);
  assert.equal(r.accepting, false);
  assert.deepEqual(r.onBegin(3, 20), []);
  assert.deepEqual(r.onEnd(1), []);
  assert.deepEqual(r.tick(5000, true), []);
  assert.equal(r.nextDeadline(5000), Infinity);
});

Deno.test("start again after a completed sync begins a new one", () => {
  const r = receiving(1);
  r.onEntry(11);
  assert.equal(acts(r.onEnd(1))[0]?.kind, "complete");
  assert.deepEqual(r.start(100), [{ kind: "clear" }, { kind: "request" }]);
  assert.equal(r.got, 0);
  assert.equal(r.state, "requesting");
  assert.deepEqual(r.tick(200, true), []);
  assert.deepEqual(r.tick(201, true), [{ kind: "request" }]);
});
