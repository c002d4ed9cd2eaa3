/**
 * Relaying after a handover: a unit that just gave the receiver role away keeps handing the
 * frames still sent to it to the new receiver, for `RELAY_MS`, while the peer is up.
 */
import assert from "node:assert/strict";
import { type Action, Pair, RELAY_MS } from "./pair.ts";
import type { Mode, PeerHeartbeat } from "./types.ts";

const kinds = (a: Action[]) => a.map((x) => x.kind).filter((k) => k !== "event");

function hbOf(p: Pair): PeerHeartbeat {
  return {
    role: p.role,
    state: p.state,
    receiver: p.receiver,
    forwarder: p.forwarder,
    syncComplete: p.synced,
    priority: p.priority,
    epoch: p.epoch,
  };
}

function paired(mode: Mode): [Pair, Pair] {
  const o = { mode, intervalMs: 10, deadAfter: 5, peered: true, peerWarmupMs: 0 };
  const a = new Pair({ ...o, role: "active", epoch: 1 }, 0);
  const b = new Pair({ ...o, role: "standby", epoch: 2 }, 0);
  for (let t = 0; t <= 100; t += 10) {
    a.tick(t);
    b.tick(t);
    b.onHeartbeat(t, hbOf(a));
    a.onHeartbeat(t, hbOf(b));
  }
  assert.equal(a.state, "active");
  assert.equal(b.state, "standby");
  return [a, b];
}

Deno.test("the relay window is half a second", () => {
  assert.equal(RELAY_MS, 500);
});

Deno.test("the old receiver relays for RELAY_MS after a planned switchover, not a ms more", () => {
  const [a, b] = paired("standby-forward");
  assert.equal(a.policy.relay, false);
  assert.equal(a.requestFailover(105).ok, true);
  assert.equal(a.policy.relay, false, "asking is not handing over");
  const moved = b.onFailoverRequest(106);
  const take = moved.find((x) => x.kind === "takeover");
  assert.ok(take && take.kind === "takeover");
  assert.equal(b.policy.relay, false, "the new receiver relays nothing");
  a.onTakeover(take.role, 110);
  assert.equal(a.receiver, false);
  assert.equal(a.policy.relay, true);
  // Heartbeats keep the peer up while the window runs.
  for (let t = 120; t < 610; t += 10) {
    a.onHeartbeat(t, hbOf(b));
    assert.deepEqual(kinds(a.tick(t)), [], `t=${t}`);
    assert.equal(a.policy.relay, true, `t=${t}`);
  }
  assert.ok(a.nextDeadline(600) <= 610, "the loop wakes when the window closes");
  a.onHeartbeat(609, hbOf(b));
  a.tick(609.9);
  assert.equal(a.policy.relay, true);
  // At 610 the window is over, even before the timer has run.
  a.onHeartbeat(610, hbOf(b));
  assert.equal(a.policy.relay, false);
  assert.deepEqual(kinds(a.tick(610)), ["roles"], "the window closes: roles again");
  assert.equal(a.policy.relay, false);
  assert.deepEqual(kinds(a.tick(611)), []);
});

Deno.test("in standby-first the standby receives: it relays once it steps up to active", () => {
  const [a, b] = paired("standby-first");
  assert.equal(b.receiver, true);
  // Asked of b, which would lose the receiver role: the peer moves first.
  const o = b.requestFailover(105);
  assert.equal(o.ok, true);
  assert.deepEqual(kinds(o.actions), ["failover_request"]);
  assert.equal(b.policy.relay, false, "still the receiver");
  const take = a.onFailoverRequest(106).find((x) => x.kind === "takeover");
  assert.ok(take && take.kind === "takeover");
  assert.equal(a.receiver, true);
  assert.equal(a.policy.relay, false, "a gained the receiver role");
  b.onTakeover(take.role, 107);
  assert.equal(b.state, "active");
  assert.equal(b.receiver, false);
  assert.equal(b.policy.relay, true, "b gave it away");
});

Deno.test("relaying stops with the peer: nobody to relay to", () => {
  const [a, b] = paired("standby-forward");
  a.requestFailover(105);
  const take = b.onFailoverRequest(106).find((x) => x.kind === "takeover");
  assert.ok(take && take.kind === "takeover");
  a.onTakeover(take.role, 110);
  assert.equal(a.policy.relay, true);
  for (let t = 120; t <= 170; t += 10) a.tick(t);
  assert.equal(a.peer, "down");
  assert.equal(a.policy.relay, false);
});

Deno.test("the loser of a split brain relays to the winner; a booting joiner does not", () => {
  const [a, b] = paired("standby-forward");
  for (let t = 110; t <= 300; t += 10) {
    a.tick(t);
    b.tick(t);
  }
  assert.equal(b.state, "solo");
  b.onHeartbeat(310, hbOf(a));
  assert.equal(b.state, "joining");
  assert.equal(b.policy.relay, true);
  for (let t = 320; t < 810; t += 10) {
    b.onHeartbeat(t, hbOf(a));
    b.tick(t);
  }
  assert.equal(b.policy.relay, true, "until 810");
  b.tick(810);
  assert.equal(b.policy.relay, false);

  const fresh = new Pair({
    mode: "standby-forward",
    intervalMs: 10,
    deadAfter: 5,
    peered: true,
    peerWarmupMs: 0,
    role: "standby",
    epoch: 9,
  }, 1000);
  fresh.onHeartbeat(1010, hbOf(a));
  assert.equal(fresh.state, "joining");
  assert.equal(fresh.policy.relay, false, "it never held the addresses");
});

Deno.test("a completed handover can be followed by another at once", () => {
  const [a, b] = paired("standby-forward");
  assert.equal(a.requestFailover(105).ok, true);
  const take = b.onFailoverRequest(106).find((x) => x.kind === "takeover");
  assert.ok(take && take.kind === "takeover");
  a.onTakeover(take.role, 107);
  assert.equal(a.state, "standby");
  // a's own request is over with the takeover notice: a may ask again (and, as the unit that
  // becomes the receiver, it moves first).
  const again = a.requestFailover(108);
  assert.equal(again.ok, true);
  assert.equal(a.state, "active");
});
