import assert from "node:assert/strict";
import { type Action, Pair, type PeerHeartbeat, rolesFor } from "./pair.ts";
import type { Mode } from "../api/snapshot.ts";

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

/** Units a (started active, older) and b (standby) of one pair at time 0, no warm-up grace. */
function freshPair(mode: Mode): [Pair, Pair] {
  const opts = { mode, intervalMs: 10, deadAfter: 5, peered: true, peerWarmupMs: 0 };
  return [
    new Pair({ ...opts, role: "active", epoch: 1 }, 0),
    new Pair({ ...opts, role: "standby", epoch: 2 }, 0),
  ];
}

/** Runs two pairs exchanging heartbeats every 10 ms until `until`. */
function exchange(
  a: Pair,
  b: Pair,
  from: number,
  until: number,
  aAlive = true,
  bAlive = true,
): Action[][] {
  const log: Action[][] = [];
  for (let t = from; t <= until; t += 10) {
    if (aAlive) log.push(a.tick(t));
    if (bAlive) log.push(b.tick(t));
    if (aAlive && bAlive) {
      log.push(b.onHeartbeat(t, hbOf(a)));
      log.push(a.onHeartbeat(t, hbOf(b)));
    }
  }
  return log;
}

Deno.test("role mapping follows the patent's three topologies", () => {
  const table: [Mode, boolean, boolean, boolean, boolean][] = [
    ["active-forward", true, true, false, false],
    ["standby-forward", true, false, false, true],
    ["standby-first", false, true, true, false],
  ];
  for (const [mode, aR, aF, sR, sF] of table) {
    assert.deepEqual(rolesFor(mode, "active", "active"), { receiver: aR, forwarder: aF }, mode);
    assert.deepEqual(rolesFor(mode, "standby", "standby"), { receiver: sR, forwarder: sF }, mode);
    assert.deepEqual(rolesFor(mode, "standby", "solo"), { receiver: true, forwarder: true });
    assert.deepEqual(rolesFor(mode, "active", "joining"), { receiver: false, forwarder: false });
  }
});

Deno.test("a fresh pair takes its configured roles; exactly one receiver", () => {
  for (const mode of ["active-forward", "standby-forward", "standby-first"] as Mode[]) {
    const opts = { mode, intervalMs: 10, deadAfter: 5, peered: true, peerWarmupMs: 0 };
    const a = new Pair({ ...opts, role: "active", epoch: 1 }, 0);
    const b = new Pair({ ...opts, role: "standby", epoch: 2 }, 0);
    exchange(a, b, 0, 100);
    assert.equal(a.state, "active", mode);
    assert.equal(b.state, "standby", mode);
    assert.equal(Number(a.receiver) + Number(b.receiver), 1, mode);
    assert.equal(Number(a.forwarder) + Number(b.forwarder), 1, mode);
  }
});

Deno.test("a silent peer is declared dead after dead_after intervals and the survivor goes solo", () => {
  const [a, b] = freshPair("standby-forward");
  exchange(a, b, 0, 100);
  let took = -1;
  for (let t = 110; t < 300; t += 1) {
    const acts = kinds(b.tick(t));
    if (acts.includes("announce")) {
      took = t;
      assert.ok(acts.includes("nudge"));
      break;
    }
  }
  assert.equal(b.state, "solo");
  assert.ok(b.receiver && b.forwarder);
  assert.ok(took - 100 > 50 && took - 100 <= 52, `detected after ${took - 100} ms`);
});

Deno.test("a unit that boots beside a solo peer joins, syncs, then serves as standby", () => {
  const opts = {
    mode: "standby-first" as Mode,
    intervalMs: 10,
    deadAfter: 5,
    peered: true,
    peerWarmupMs: 0,
  };
  const b = new Pair({ ...opts, role: "standby", epoch: 1 }, 0);
  for (let t = 0; t <= 1200; t += 10) b.tick(t);
  assert.equal(b.state, "solo");
  const a = new Pair({ ...opts, role: "active", epoch: 2 }, 1200);
  const acts = a.onHeartbeat(1210, hbOf(b)).map((x) => x.kind);
  assert.ok(acts.includes("clear") && acts.includes("sync_request"));
  assert.ok(
    kinds(b.onHeartbeat(1210, hbOf(a))).includes("roles"),
    "the holder starts mirroring at once",
  );
  assert.equal(a.state, "joining");
  exchange(a, b, 1210, 1300);
  assert.equal(b.state, "solo", "holder stays solo until the joiner is synced");
  assert.ok(!a.receiver && !a.forwarder, "the joiner may not serve before the sync completes");
  a.syncComplete();
  exchange(a, b, 1310, 1400);
  assert.equal(a.state, "standby");
  assert.equal(b.state, "active");
  // standby-first: the standby is the receiver, the active forwards.
  assert.ok(a.receiver && !a.forwarder);
  assert.ok(!b.receiver && b.forwarder);
});

Deno.test("split brain heals to exactly one owner", () => {
  const [a, b] = freshPair("active-forward");
  exchange(a, b, 0, 100);
  // Peer link cut: both stop hearing each other.
  for (let t = 110; t <= 400; t += 10) {
    a.tick(t);
    b.tick(t);
  }
  assert.equal(a.state, "solo");
  assert.equal(b.state, "solo");
  // Link back: b (lower priority) yields and rejoins; a keeps the addresses.
  const bActs = b.onHeartbeat(410, hbOf(a)).map((x) => x.kind);
  const aActs = a.onHeartbeat(410, hbOf({ ...b, state: "solo" } as Pair)).map((x) => x.kind);
  assert.ok(aActs.includes("announce"), "the winner re-claims the addresses");
  assert.ok(bActs.includes("clear"));
  assert.equal(b.state, "joining");
  assert.equal(a.state, "solo");
  assert.ok(a.receiver && !b.receiver);
});

Deno.test("a unit woken from a freeze drops its roles and rejoins when its peer took over", () => {
  const [a, b] = freshPair("standby-forward");
  exchange(a, b, 0, 100);
  // a frozen for 2 s; b took over meanwhile.
  for (let t = 110; t <= 2100; t += 10) b.tick(t);
  assert.equal(b.state, "solo");
  a.tick(2100);
  assert.ok(!a.receiver && !a.forwarder, "no stale roles after waking");
  b.onHeartbeat(2105, hbOf(a));
  const acts = kinds(a.onHeartbeat(2105, hbOf(b)));
  assert.ok(acts.includes("clear") && acts.includes("sync_request"), "stale table dropped, resync");
  assert.equal(a.state, "joining");
  assert.equal(b.state, "solo", "the survivor keeps the addresses");
});

Deno.test("a short stall the peer did not notice resumes the old roles", () => {
  const [a, b] = freshPair("standby-forward");
  exchange(a, b, 0, 100);
  a.tick(170); // 70 ms stall
  assert.ok(!a.receiver);
  a.onHeartbeat(171, hbOf(b));
  a.tick(172);
  assert.equal(a.state, "active");
  assert.ok(a.receiver);
});

Deno.test("a woken unit whose peer stays silent serves alone", () => {
  const [a, b] = freshPair("standby-forward");
  exchange(a, b, 0, 100);
  a.tick(1000);
  for (let t = 1010; t <= 1900; t += 10) a.tick(t);
  assert.equal(a.state, "active", "not before a second of silence");
  for (let t = 1910; t <= 2100; t += 10) a.tick(t);
  assert.equal(a.state, "solo");
  assert.ok(a.receiver && a.forwarder);
});

Deno.test("planned switchover swaps the roles", () => {
  const [a, b] = freshPair("standby-forward");
  exchange(a, b, 0, 100);
  assert.deepEqual(kinds(a.requestFailover()), ["failover_request"]);
  assert.ok(kinds(b.onFailoverRequest()).includes("takeover"));
  a.onTakeover();
  assert.equal(a.state, "standby");
  assert.equal(b.state, "active");
  exchange(a, b, 110, 200);
  assert.equal(a.state, "standby");
  assert.equal(b.state, "active");
  assert.ok(b.receiver && a.forwarder);
});

Deno.test("a peer heard for the first time gets a longer dead time while it warms up", () => {
  const opts = { mode: "standby-forward" as Mode, intervalMs: 10, deadAfter: 5, peered: true };
  const a = new Pair({ ...opts, role: "active", epoch: 1 }, 0);
  const b = new Pair({ ...opts, role: "standby", epoch: 2 }, 0);
  exchange(a, b, 0, 100);
  for (let t = 110; t <= 250; t += 10) a.tick(t); // a 150 ms pause of b just after boot
  assert.equal(a.state, "active", "no takeover for a warming peer's pause");
  for (let t = 260; t <= 400; t += 10) a.tick(t);
  assert.equal(a.state, "solo", "a warming peer silent for 200 ms is dead");
});
