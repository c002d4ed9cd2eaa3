import assert from "node:assert/strict";
import { type Action, Pair, type PairOptions, rolesFor } from "./pair.ts";
import {
  type Mode,
  MODES,
  type PeerHeartbeat,
  type Role,
  ROLE_CODES,
  STATE_CODES,
  type UnitState,
} from "./types.ts";

/** The action kinds, without the timeline events and notify-script runs. */
const kinds = (a: Action[]): string[] =>
  a.map((x) => x.kind).filter((k) => k !== "event" && k !== "notify");
/** The timeline events as `event: detail`. */
const events = (a: Action[]): string[] =>
  a.flatMap((x) => x.kind === "event" ? [`${x.event}: ${x.detail}`] : []);

function hbOf(p: Pair, over: Partial<PeerHeartbeat> = {}): PeerHeartbeat {
  return {
    role: p.role,
    state: p.state,
    receiver: p.receiver,
    forwarder: p.forwarder,
    syncComplete: p.synced,
    priority: p.priority,
    epoch: p.epoch,
    pairedEpoch: p.pairedEpoch,
    ...over,
  };
}

const BASE = { intervalMs: 10, deadAfter: 5, peered: true, peerWarmupMs: 0 } as const;

function unit(mode: Mode, role: Role, epoch: number, now = 0, extra: Partial<PairOptions> = {}) {
  return new Pair({ ...BASE, mode, role, epoch, ...extra }, now);
}

/** Units a (configured active, older boot) and b (standby) at time 0, no warm-up grace. */
function freshPair(mode: Mode, extra: Partial<PairOptions> = {}): [Pair, Pair] {
  return [unit(mode, "active", 1, 0, extra), unit(mode, "standby", 2, 0, extra)];
}

/**
 * Both pairs tick and exchange heartbeats every `step` ms in [from, until]; returns every
 * action in order. A dead side neither ticks nor sends nor hears.
 */
function exchange(
  a: Pair,
  b: Pair,
  from: number,
  until: number,
  { aAlive = true, bAlive = true, step = 10 } = {},
): Action[] {
  const log: Action[] = [];
  for (let t = from; t <= until; t += step) {
    if (aAlive) log.push(...a.tick(t));
    if (bAlive) log.push(...b.tick(t));
    if (aAlive && bAlive) {
      log.push(...b.onHeartbeat(t, hbOf(a)));
      log.push(...a.onHeartbeat(t, hbOf(b)));
    }
  }
  return log;
}

/** A paired a/b (a active, b standby), heartbeats exchanged up to t = 100. */
function paired(mode: Mode, extra: Partial<PairOptions> = {}): [Pair, Pair] {
  const [a, b] = freshPair(mode, extra);
  exchange(a, b, 0, 100);
  assert.equal(a.state, "active");
  assert.equal(b.state, "standby");
  return [a, b];
}

const count = (a: Action[], kind: string) => a.filter((x) => x.kind === kind).length;

function rf(p: Pair): [boolean, boolean] {
  return [p.receiver, p.forwarder];
}

// ---------------------------------------------------------------- roles

Deno.test("rolesFor: the patent's three topologies, solo and joining", () => {
  const want: Record<Mode, { active: [boolean, boolean]; standby: [boolean, boolean] }> = {
    "active-forward": { active: [true, true], standby: [false, false] },
    "standby-forward": { active: [true, false], standby: [false, true] },
    "standby-first": { active: [false, true], standby: [true, false] },
  };
  for (const mode of MODES) {
    for (const role of ["active", "standby"] as Role[]) {
      const [receiver, forwarder] = want[mode][role];
      assert.deepEqual(rolesFor(mode, role, role), { receiver, forwarder }, `${mode} ${role}`);
      // The state, not the configured role, decides: an active-role unit in standby state.
      const other: Role = role === "active" ? "standby" : "active";
      assert.deepEqual(
        rolesFor(mode, role, other),
        { receiver, forwarder },
        `${mode} role ${role} state ${other}`,
      );
      assert.deepEqual(rolesFor(mode, role, "solo"), { receiver: true, forwarder: true });
      assert.deepEqual(rolesFor(mode, role, "joining"), { receiver: false, forwarder: false });
    }
  }
});

Deno.test("a fresh pair takes its configured roles in every mode, with the exact actions", () => {
  const want: Record<Mode, { a: [boolean, boolean]; b: [boolean, boolean] }> = {
    "active-forward": { a: [true, true], b: [false, false] },
    "standby-forward": { a: [true, false], b: [false, true] },
    "standby-first": { a: [false, true], b: [true, false] },
  };
  for (const mode of MODES) {
    const [a, b] = freshPair(mode);
    assert.equal(a.state, "joining");
    assert.deepEqual(rf(a), [false, false], "nobody serves while booting");
    assert.equal(a.starting, true);
    assert.equal(a.joining, false, "booting is not joining");
    assert.deepEqual(a.tick(0), []);
    assert.deepEqual(b.tick(0), []);
    // b hears a (still booting): configured roles decide; b is the standby.
    const bActs = b.onHeartbeat(0, hbOf(a));
    assert.deepEqual(
      kinds(bActs),
      want[mode].b[0] ? ["roles", "roles", "announce"] : ["roles", "roles"],
      mode,
    );
    assert.deepEqual(events(bActs), [
      "peer: peer unknown -> up (joining)",
      "role: joining/standby -> standby/standby: fresh pair",
    ]);
    // a hears b (standby already): it takes the other role.
    const aActs = a.onHeartbeat(0, hbOf(b));
    assert.deepEqual(
      kinds(aActs),
      want[mode].a[0] ? ["roles", "roles", "announce"] : ["roles", "roles"],
      mode,
    );
    assert.deepEqual(events(aActs), [
      "peer: peer unknown -> up (standby)",
      "role: joining/active -> active/active: peer is standby",
    ]);
    assert.equal(a.state, "active", mode);
    assert.equal(b.state, "standby", mode);
    assert.equal(a.role, "active", mode);
    assert.equal(b.role, "standby", mode);
    assert.deepEqual(rf(a), want[mode].a, mode);
    assert.deepEqual(rf(b), want[mode].b, mode);
    assert.equal(a.synced && b.synced, true);
    assert.equal(a.starting || b.starting, false);
    // Nothing changes while heartbeats flow.
    const later = exchange(a, b, 10, 2000);
    assert.deepEqual(kinds(later), [], mode);
    assert.deepEqual(rf(a), want[mode].a, mode);
    assert.deepEqual(rf(b), want[mode].b, mode);
    assert.equal(Number(a.receiver) + Number(b.receiver), 1, mode);
    assert.equal(Number(a.forwarder) + Number(b.forwarder), 1, mode);
  }
});

Deno.test("the lower-priority unit hearing a booting peer takes standby, the other active", () => {
  // Both booting; a hears b first this time.
  const [a, b] = freshPair("standby-forward");
  a.onHeartbeat(0, hbOf(b));
  assert.equal(a.state, "active");
  b.onHeartbeat(0, hbOf(a));
  assert.equal(b.state, "standby");
  // Equal priority (both configured active): the older boot wins.
  const x = unit("active-forward", "active", 5);
  const y = unit("active-forward", "active", 7);
  y.onHeartbeat(0, hbOf(x));
  x.onHeartbeat(0, hbOf(y));
  assert.equal(x.state, "active");
  assert.equal(y.state, "standby");
  const p = unit("active-forward", "active", 9);
  const q = unit("active-forward", "active", 8);
  p.onHeartbeat(0, hbOf(q));
  assert.equal(p.state, "standby", "the younger boot yields");
});

Deno.test("a booting unit takes the other role from a peer already paired with this boot", () => {
  // Both boot at once; b hears a first and pairs up ("fresh pair") before a hears b.
  const a = unit("standby-forward", "standby", 5, 0);
  const b = unit("standby-forward", "active", 6, 0);
  b.onHeartbeat(10, hbOf(a));
  assert.equal(b.state, "active");
  assert.equal(b.pairedEpoch, 5, "b's heartbeats say it is paired with a's boot");
  a.onHeartbeat(11, hbOf(b));
  assert.equal(a.state, "standby", "the peer is active with us: take standby");
  assert.equal(a.synced, true);
  assert.equal(a.pairedEpoch, 6);
});

Deno.test("a unit restarted within its peer's dead time joins and syncs, whatever the peer says", () => {
  const [a, b] = paired("standby-forward");
  assert.equal(a.pairedEpoch, 2);
  assert.equal(b.pairedEpoch, 1);
  // b restarts as a new process; a has not noticed yet (still heartbeats as active, paired
  // with b's previous boot). Taking standby from that would leave b2 "synced" with an empty
  // table: the next failure of a would lose every connection.
  const b2 = unit("standby-forward", "active", 3, 105);
  const acts = b2.onHeartbeat(110, hbOf(a));
  assert.equal(b2.state, "joining", "the peer is active with our previous boot: join");
  assert.equal(b2.synced, false);
  assert.equal(count(acts, "join"), 1, "it asks for the table");
  // a hears b2 joining with a new epoch: it goes solo and serves the sync.
  a.onHeartbeat(111, hbOf(b2));
  assert.equal(a.state, "solo");
  assert.equal(a.mayServeSync, true);
  b2.syncComplete(120);
  assert.equal(b2.state, "standby");
  assert.equal(b2.pairedEpoch, 1, "paired with whoever served the sync");
  exchange(a, b2, 130, 200);
  assert.equal(a.state, "active");
  assert.equal(a.pairedEpoch, 3);
  // The same with the roles the other way round: a peer in standby is not ours to lead.
  const [c, d] = paired("standby-forward");
  const c2 = unit("standby-forward", "active", 4, 105);
  c2.onHeartbeat(110, hbOf(d));
  assert.equal(c2.state, "joining", "not active with an empty table");
  assert.equal(c.state, "active");
});

Deno.test("priorities come from the configured role", () => {
  const [a, b] = freshPair("active-forward");
  assert.equal(a.priority, 200);
  assert.equal(b.priority, 100);
  assert.equal(a.configuredRole, "active");
  assert.equal(b.configuredRole, "standby");
  assert.equal(a.deadMs, 50);
});

// ---------------------------------------------------------------- policy

Deno.test("policy: mirroring exactly while the peer is up", () => {
  for (const mode of MODES) {
    const [a, b] = freshPair(mode);
    assert.equal(a.peer, "unknown");
    assert.equal(a.policy.mirror, false, "not before the peer is heard");
    a.onHeartbeat(0, hbOf(b));
    assert.equal(a.peer, "up");
    assert.equal(a.policy.mirror, true, "from the first heartbeat on");
    exchange(a, b, 0, 100);
    assert.equal(a.policy.mirror, true);
    assert.equal(b.policy.mirror, true);
    for (let t = 110; t <= 200; t += 10) a.tick(t);
    assert.equal(a.peer, "down");
    assert.equal(a.policy.mirror, false, mode);
    assert.deepEqual(a.policy, {
      receiver: true,
      forwarder: true,
      mirror: false,
      holdNewFlows: false,
      relay: false,
    });
  }
  const alone = new Pair({
    ...BASE,
    mode: "active-forward",
    role: "active",
    epoch: 1,
    peered: false,
  }, 0);
  assert.equal(alone.peer, "none");
  assert.equal(alone.state, "solo");
  assert.equal(alone.synced, true);
  assert.deepEqual(alone.policy, {
    receiver: true,
    forwarder: true,
    mirror: false,
    holdNewFlows: false,
    relay: false,
  });
});

Deno.test("policy: holdNewFlows only in active-forward with the option, as forwarder, peer up", () => {
  const [a, b] = paired("active-forward", { holdNewFlows: true });
  assert.deepEqual(a.policy, {
    receiver: true,
    forwarder: true,
    mirror: true,
    holdNewFlows: true,
    relay: false,
  });
  assert.deepEqual(b.policy, {
    receiver: false,
    forwarder: false,
    mirror: true,
    holdNewFlows: false,
    relay: false,
  });
  // Peer gone: solo forwarder, nobody to ack: no holds.
  for (let t = 110; t <= 200; t += 10) a.tick(t);
  assert.equal(a.state, "solo");
  assert.equal(a.forwarder, true);
  assert.equal(a.policy.holdNewFlows, false);

  const [c] = paired("active-forward");
  assert.equal(c.policy.holdNewFlows, false, "option off");
  for (const mode of ["standby-forward", "standby-first"] as Mode[]) {
    const [x, y] = paired(mode, { holdNewFlows: true });
    assert.equal(x.policy.holdNewFlows, false, mode);
    assert.equal(y.policy.holdNewFlows, false, mode);
    assert.equal(x.policy.mirror && y.policy.mirror, true);
  }
});

// ---------------------------------------------------------------- dead peer

Deno.test("a silent peer is declared dead exactly deadMs after its last heartbeat", () => {
  for (const [mode, survivor] of [["standby-forward", "b"], ["standby-forward", "a"]] as const) {
    const [a, b] = paired(mode);
    const s = survivor === "a" ? a : b;
    // The next tick is due exactly when the silence crosses the limit.
    assert.equal(s.nextDeadline(100), 110);
    assert.equal(s.nextDeadline(145), 150.5);
    assert.equal(s.nextDeadline(151), 151);
    for (let t = 110; t <= 150; t += 10) {
      assert.deepEqual(s.tick(t), [], `alive at ${t}`);
    }
    assert.equal(s.peer, "up");
    assert.equal(s.state, survivor === "a" ? "active" : "standby");
    const acts = s.tick(150.5);
    assert.equal(s.peer, "down");
    assert.equal(s.state, "solo");
    assert.deepEqual(rf(s), [true, true]);
    // The standby gains the addresses and announces them; the active already holds them.
    assert.deepEqual(
      kinds(acts),
      survivor === "a" ? ["roles", "roles", "recover"] : ["roles", "roles", "announce", "recover"],
    );
    assert.equal(events(acts)[0], "peer: peer down: no heartbeat for 51 ms");
    assert.equal(s.role, survivor === "a" ? "active" : "standby", "solo keeps the role");
    assert.deepEqual(kinds(s.tick(160)), [], "once");
  }
});

Deno.test("a pause of this unit itself restarts the peer's dead time; silence after it still kills", () => {
  const [a] = paired("standby-forward");
  // Last heard at 100; at 145 the heartbeat thread reports that it was not scheduled for a while.
  for (let t = 110; t <= 140; t += 10) assert.deepEqual(a.tick(t), []);
  a.selfStalled(145);
  a.selfStalled(120); // an older notice never moves the time back
  for (let t = 150; t <= 195; t += 5) assert.deepEqual(a.tick(t), [], `alive at ${t}`);
  assert.equal(a.peer, "up");
  a.tick(195.5);
  assert.equal(a.peer, "down", "deadMs after the pause, a silent peer is dead");
  a.selfStalled(200); // no effect on a peer already down
  assert.equal(a.peer, "down");
});

Deno.test("a larger heartbeat interval scales the dead time", () => {
  const opts = { ...BASE, intervalMs: 20, deadAfter: 3, mode: "active-forward" as Mode };
  const a = new Pair({ ...opts, role: "active", epoch: 1 }, 0);
  const b = new Pair({ ...opts, role: "standby", epoch: 2 }, 0);
  exchange(a, b, 0, 100, { step: 20 });
  assert.equal(b.deadMs, 60);
  for (let t = 110; t <= 160; t += 10) b.tick(t);
  assert.equal(b.peer, "up");
  b.tick(160.25);
  assert.equal(b.peer, "down");
});

Deno.test("no false failover while heartbeats arrive, even spaced exactly deadMs apart", () => {
  const [a, b] = paired("standby-forward");
  const log: Action[] = [];
  for (let t = 101; t <= 3000; t++) {
    log.push(...a.tick(t), ...b.tick(t));
    if (t % 50 === 0) {
      log.push(...a.onHeartbeat(t, hbOf(b)), ...b.onHeartbeat(t, hbOf(a)));
    }
  }
  assert.deepEqual(kinds(log), []);
  assert.equal(a.state, "active");
  assert.equal(b.state, "standby");
  assert.equal(a.peer, "up");
});

Deno.test("any datagram from an up peer proves it alive; before that it is ignored", () => {
  const [a, b] = freshPair("standby-forward");
  a.heard(5);
  assert.equal(a.lastHeard, -Infinity, "a peer not yet up is not heard by data");
  exchange(a, b, 0, 100);
  for (let t = 110; t <= 1000; t += 10) {
    assert.deepEqual(a.tick(t), []);
    a.heard(t);
  }
  assert.equal(a.lastHeard, 1000);
  assert.equal(a.state, "active");
  a.tick(1050);
  assert.equal(a.peer, "up");
  a.tick(1051);
  assert.equal(a.peer, "down");
});

Deno.test("a peer heard for the first time gets 200 ms while it warms up, then deadMs", () => {
  const opts = { ...BASE, peerWarmupMs: undefined };
  const a = new Pair({ ...opts, mode: "standby-forward", role: "active", epoch: 1 }, 0);
  // Any epoch is a new process the first time, even 0.
  const b = new Pair({ ...opts, mode: "standby-forward", role: "standby", epoch: 0 }, 0);
  exchange(a, b, 0, 100);
  for (let t = 110; t <= 300; t += 10) assert.deepEqual(kinds(a.tick(t)), [], `t=${t}`);
  assert.equal(a.peer, "up", "a warming peer silent for 200 ms is still alive");
  a.tick(300.5);
  assert.equal(a.peer, "down");
  assert.equal(a.state, "solo");

  // Past the warm-up (1000 ms after first heard), the plain dead time applies, from the boundary.
  const [c, d] = freshPair("standby-forward", { peerWarmupMs: undefined });
  exchange(c, d, 0, 940);
  for (let t = 950; t <= 990; t += 10) c.tick(t);
  assert.equal(c.peer, "up", "at 990 the peer still warms: 50 ms of silence is fine");
  c.tick(1000);
  assert.equal(c.peer, "down", "at 1000 the warm-up is over: 60 ms > 50 ms");
});

Deno.test("the warm-up counts from when the peer was first heard", () => {
  const opts = { ...BASE, peerWarmupMs: undefined, mode: "standby-forward" as Mode };
  const a = new Pair({ ...opts, role: "active", epoch: 1 }, 5000);
  const b = new Pair({ ...opts, role: "standby", epoch: 2 }, 5000);
  exchange(a, b, 5000, 5100);
  for (let t = 5110; t <= 5300; t += 10) a.tick(t);
  assert.equal(a.peer, "up", "first heard at 5000: still warming at 5300");
  a.tick(5300.5);
  assert.equal(a.peer, "down");
});

Deno.test("the warm-up window is configurable and restarts with a new peer epoch", () => {
  const [a, b] = freshPair("standby-forward", { peerWarmupMs: 500 });
  exchange(a, b, 0, 440);
  for (let t = 450; t <= 490; t += 10) a.tick(t);
  assert.equal(a.peer, "up");
  a.tick(500);
  assert.equal(a.peer, "down", "500 ms after first heard the grace is over");

  // The same peer epoch again is not a new process: no new grace.
  const [c, d] = freshPair("standby-forward", { peerWarmupMs: 500 });
  exchange(c, d, 0, 700);
  for (let t = 710; t <= 750; t += 10) c.tick(t);
  c.tick(750.5);
  assert.equal(c.peer, "down");
});

Deno.test("a joining peer gets 1000 ms before it is declared dead", () => {
  const a = unit("standby-forward", "active", 1);
  for (let t = 0; t <= 1000; t += 10) a.tick(t);
  assert.equal(a.state, "solo");
  const b = unit("standby-forward", "standby", 2, 1000);
  const join = b.onHeartbeat(1010, hbOf(a));
  // Booting is joining/standby already for a configured standby: only the join itself.
  assert.deepEqual(kinds(join), ["roles", "join"]);
  assert.equal(b.state, "joining");
  assert.equal(b.joining, true);
  assert.deepEqual(kinds(a.onHeartbeat(1010, hbOf(b))), ["roles"], "mirroring starts");
  assert.equal(a.policy.mirror, true);
  assert.equal(a.state, "solo", "still alone in charge");
  // b dies while joining.
  for (let t = 1020; t <= 2010; t += 10) assert.deepEqual(kinds(a.tick(t)), [], `t=${t}`);
  assert.equal(a.peer, "up");
  const acts = a.tick(2010.5);
  assert.deepEqual(kinds(acts), ["roles"], "no takeover: a already serves alone");
  assert.equal(a.peer, "down");
  assert.equal(a.state, "solo");
  assert.equal(a.policy.mirror, false);
});

Deno.test("a joining peer's dead time is never shorter than deadMs", () => {
  const opts = { ...BASE, intervalMs: 100, deadAfter: 15, mode: "standby-forward" as Mode };
  const a = new Pair({ ...opts, role: "active", epoch: 1 }, 0);
  for (let t = 0; t <= 6000; t += 100) a.tick(t);
  assert.equal(a.state, "solo");
  a.onHeartbeat(6000, {
    ...hbOf(a),
    state: "joining",
    priority: 100,
    epoch: 2,
    syncComplete: false,
  });
  for (let t = 6100; t <= 7500; t += 100) a.tick(t);
  assert.equal(a.peer, "up", "deadMs 1500 > 1000");
  a.tick(7501);
  assert.equal(a.peer, "down");
});

// ---------------------------------------------------------------- boot

Deno.test("boot: a unit alone waits the startup time, then serves alone", () => {
  const a = unit("standby-forward", "standby", 1);
  assert.equal(a.state, "joining");
  assert.equal(a.starting, true);
  assert.equal(a.synced, false);
  assert.equal(a.mayServeSync, false);
  for (let t = 0; t < 1000; t += 10) assert.deepEqual(a.tick(t), []);
  assert.deepEqual(a.tick(999.5), []);
  assert.equal(a.state, "joining");
  const acts = a.tick(1000);
  assert.deepEqual(kinds(acts), ["roles", "announce"]);
  assert.deepEqual(events(acts), ["role: joining/standby -> solo/standby: no peer heard at boot"]);
  assert.equal(a.state, "solo");
  assert.equal(a.starting, false);
  assert.equal(a.synced, true);
  assert.equal(a.mayServeSync, true);
  assert.equal(a.peer, "unknown");
  assert.deepEqual(rf(a), [true, true]);
  assert.deepEqual(a.tick(1010), []);
});

Deno.test("boot: the startup wait is 4 dead times when that is longer than 1 s, or as given", () => {
  const a = new Pair({
    ...BASE,
    intervalMs: 100,
    deadAfter: 5,
    mode: "active-forward",
    role: "active",
    epoch: 1,
  }, 0);
  for (let t = 0; t < 2000; t += 100) a.tick(t);
  a.tick(1999);
  assert.equal(a.state, "joining");
  a.tick(2000);
  assert.equal(a.state, "solo");

  const b = unit("active-forward", "active", 1, 500, { startupMs: 300 });
  b.tick(799);
  assert.equal(b.state, "joining");
  b.tick(800);
  assert.equal(b.state, "solo");
});

Deno.test("boot: an unpeered unit is solo from the start and never changes", () => {
  const a = new Pair(
    { ...BASE, peered: false, mode: "standby-first", role: "standby", epoch: 1 },
    0,
  );
  assert.equal(a.state, "solo");
  assert.equal(a.starting, false);
  assert.equal(a.joining, false);
  assert.equal(a.mayServeSync, true);
  assert.deepEqual(rf(a), [true, true]);
  assert.equal(a.nextDeadline(50), 1050);
  for (let t = 0; t <= 5000; t += 500) assert.deepEqual(a.tick(t), []);
  assert.equal(a.state, "solo");
  assert.equal(a.requestFailover(100).ok, false);
});

Deno.test("nextDeadline: a fifth of the dead time, at most 10 ms, at least 1 ms", () => {
  const [a, b] = freshPair("active-forward");
  assert.equal(a.nextDeadline(0), 10, "peer unknown: no heartbeat deadline");
  const c = new Pair({
    ...BASE,
    intervalMs: 1,
    deadAfter: 3,
    mode: "active-forward",
    role: "active",
    epoch: 1,
  }, 0);
  assert.equal(c.nextDeadline(0), 1);
  const d = new Pair({
    ...BASE,
    intervalMs: 2,
    deadAfter: 10,
    mode: "active-forward",
    role: "active",
    epoch: 1,
  }, 0);
  assert.equal(d.nextDeadline(0), 4);
  const e = new Pair({
    ...BASE,
    intervalMs: 100,
    deadAfter: 5,
    mode: "active-forward",
    role: "active",
    epoch: 1,
  }, 0);
  assert.equal(e.nextDeadline(0), 10, "capped at 10 ms");
  exchange(a, b, 0, 100);
  assert.equal(a.nextDeadline(100), 110);
  assert.equal(a.nextDeadline(142), 150.5);
});

// ---------------------------------------------------------------- join

Deno.test("a unit that boots beside a solo peer joins, syncs, then pairs up", () => {
  const b = unit("standby-first", "standby", 1);
  for (let t = 0; t <= 1000; t += 10) b.tick(t);
  assert.equal(b.state, "solo");
  const a = unit("standby-first", "active", 2, 1000);
  const acts = a.onHeartbeat(1010, hbOf(b));
  assert.deepEqual(kinds(acts), ["roles", "roles", "join"]);
  assert.deepEqual(events(acts), [
    "peer: peer unknown -> up (solo)",
    "role: joining/active -> joining/standby: peer is solo: joining as standby",
  ]);
  assert.equal(a.state, "joining");
  assert.equal(a.role, "standby", "a joiner is standby whatever its configured role");
  assert.equal(a.joining, true);
  assert.equal(a.synced, false);
  assert.equal(a.mayServeSync, false);
  assert.equal(b.mayServeSync, true);
  assert.deepEqual(kinds(b.onHeartbeat(1010, hbOf(a))), ["roles"], "the holder mirrors at once");
  const wait = exchange(a, b, 1020, 1500);
  assert.deepEqual(kinds(wait), [], "no second join, no role change while syncing");
  assert.equal(b.state, "solo", "the holder stays solo until the joiner is synced");
  assert.deepEqual(rf(a), [false, false], "the joiner may not serve before the sync completes");
  const done = a.syncComplete(1505);
  assert.deepEqual(kinds(done), ["roles", "announce"], "standby-first: the standby receives");
  assert.deepEqual(events(done), [
    "role: joining/standby -> standby/standby: bulk sync complete",
  ]);
  assert.equal(a.state, "standby");
  assert.equal(a.synced, true);
  assert.equal(a.joining, false);
  // The holder hears a synced standby: it becomes active.
  const up = b.onHeartbeat(1510, hbOf(a));
  assert.deepEqual(kinds(up), ["roles"]);
  assert.deepEqual(events(up), ["role: solo/standby -> active/active: peer synced"]);
  assert.equal(b.state, "active");
  exchange(a, b, 1520, 2000);
  assert.equal(a.state, "standby");
  assert.equal(b.state, "active");
  // standby-first: the standby is the receiver, the active forwards.
  assert.deepEqual(rf(a), [true, false]);
  assert.deepEqual(rf(b), [false, true]);
});

Deno.test("the holder waits for the joiner's syncComplete flag, not its standby state alone", () => {
  const b = unit("standby-forward", "standby", 1);
  for (let t = 0; t <= 1000; t += 10) b.tick(t);
  const a = unit("standby-forward", "active", 2, 1000);
  a.onHeartbeat(1010, hbOf(b));
  b.onHeartbeat(1010, hbOf(a));
  b.onHeartbeat(1020, { ...hbOf(a), state: "standby", syncComplete: false });
  assert.equal(b.state, "solo");
  b.onHeartbeat(1030, { ...hbOf(a), state: "joining", syncComplete: true });
  assert.equal(b.state, "solo");
});

Deno.test("syncComplete works only from joining", () => {
  const [a, b] = paired("standby-forward");
  for (const p of [a, b]) {
    const before = p.state;
    assert.deepEqual(p.syncComplete(200), []);
    assert.equal(p.state, before);
  }
  const solo = new Pair({
    ...BASE,
    peered: false,
    mode: "active-forward",
    role: "active",
    epoch: 1,
  }, 0);
  assert.deepEqual(solo.syncComplete(10), []);
  assert.equal(solo.state, "solo");
  // A booting unit is in the joining state too, and may be told its (empty) sync is complete.
  const boot = unit("active-forward", "standby", 3);
  assert.deepEqual(kinds(boot.syncComplete(5)), ["roles"]);
  assert.equal(boot.state, "standby");
});

Deno.test("a joiner whose holder dies serves with what it has after orphanMs", () => {
  const b = unit("standby-forward", "standby", 1);
  for (let t = 0; t <= 1000; t += 10) b.tick(t);
  const a = unit("standby-forward", "active", 2, 1000, { orphanMs: 300 });
  a.onHeartbeat(1010, hbOf(b));
  for (let t = 1020; t <= 1060; t += 10) assert.deepEqual(kinds(a.tick(t)), []);
  const down = a.tick(1060.5);
  assert.deepEqual(kinds(down), ["roles"], "peer down, but a joiner does not take over");
  assert.equal(a.peer, "down");
  assert.equal(a.state, "joining");
  assert.deepEqual(rf(a), [false, false]);
  for (let t = 1070; t <= 1360; t += 10) assert.deepEqual(kinds(a.tick(t)), [], `t=${t}`);
  assert.deepEqual(a.tick(1360.5), [], "exactly orphanMs: not yet");
  const solo = a.tick(1361);
  assert.deepEqual(kinds(solo), ["roles", "announce"]);
  assert.deepEqual(events(solo), ["role: joining/standby -> solo/standby: peer gone during sync"]);
  assert.equal(a.state, "solo");
  assert.equal(a.synced, true);
  assert.deepEqual(rf(a), [true, true]);
  assert.equal(a.role, "standby");
});

Deno.test("the default orphan time is 5 s", () => {
  const b = unit("standby-forward", "standby", 1);
  for (let t = 0; t <= 1000; t += 10) b.tick(t);
  const a = unit("standby-forward", "active", 2, 1000);
  a.onHeartbeat(1010, hbOf(b));
  for (let t = 1020; t <= 1060; t += 10) a.tick(t);
  a.tick(1061);
  assert.equal(a.peer, "down");
  for (let t = 1070; t <= 6061; t += 10) a.tick(t);
  a.tick(6061);
  assert.equal(a.state, "joining");
  a.tick(6062);
  assert.equal(a.state, "solo");
});

Deno.test("a peer that restarts within our dead time: we go solo, it resyncs", () => {
  const [a, b] = paired("standby-forward");
  const b2 = unit("standby-forward", "standby", 7, 105);
  const acts = a.onHeartbeat(110, hbOf(b2));
  assert.deepEqual(kinds(acts), ["roles"]);
  assert.deepEqual(events(acts), ["role: active/active -> solo/active: peer restarted"]);
  assert.equal(a.state, "solo");
  assert.deepEqual(rf(a), [true, true]);
  assert.equal(b.state, "standby", "(the old b is gone)");
  // A joining heartbeat from the peer we paired with is not a restart.
  const [c, d] = paired("standby-forward");
  assert.deepEqual(c.onHeartbeat(110, hbOf(d, { state: "joining" })), []);
  assert.equal(c.state, "active");
  // The restarted peer hears a solo unit and joins.
  assert.deepEqual(kinds(b2.onHeartbeat(115, hbOf(a))), ["roles", "join"]);
});

Deno.test("a standby that synced from its peer goes solo when that peer restarts, whatever its epoch", () => {
  // b joined a and synced from it: b never saw a booting heartbeat of this a.
  const a = unit("standby-forward", "active", 5);
  for (let t = 0; t <= 1000; t += 10) a.tick(t);
  const b = unit("standby-forward", "standby", 6, 1000);
  b.onHeartbeat(1010, hbOf(a));
  b.syncComplete(1020);
  assert.equal(b.state, "standby");
  // a restarts (a new process, epoch 0 even): b holds the only state, it goes solo.
  const a2 = unit("standby-forward", "active", 0, 1100);
  assert.deepEqual(kinds(b.onHeartbeat(1110, hbOf(a2))), ["roles", "announce"]);
  assert.equal(b.state, "solo");

  // The same after a split brain b lost and resynced from: the split reset what b knew.
  const [c, d] = paired("standby-forward");
  for (let t = 110; t <= 300; t += 10) {
    c.tick(t);
    d.tick(t);
  }
  assert.equal(d.state, "solo");
  d.onHeartbeat(310, hbOf(c));
  assert.equal(d.state, "joining");
  d.syncComplete(320);
  const c2 = unit("standby-forward", "active", 0, 400);
  d.onHeartbeat(410, hbOf(c2));
  assert.equal(d.state, "solo");
});

Deno.test("a paired unit that hears its peer solo rejoins, except just after pairing", () => {
  // b synced and became standby at 1505; a's solo heartbeats sent before that still arrive.
  const a = unit("standby-forward", "active", 1);
  for (let t = 0; t <= 1000; t += 10) a.tick(t);
  const b = unit("standby-forward", "standby", 2, 1000);
  b.onHeartbeat(1010, hbOf(a));
  a.onHeartbeat(1010, hbOf(b));
  const soloHb = hbOf(a);
  b.syncComplete(1500);
  assert.equal(b.state, "standby");
  assert.deepEqual(b.onHeartbeat(1550, soloHb), [], "in flight from before the pairing");
  assert.deepEqual(b.onHeartbeat(1600, soloHb), [], "2 dead times is still just after");
  assert.equal(b.state, "standby");
  const acts = b.onHeartbeat(1600.5, soloHb);
  assert.equal(count(acts, "join"), 1, "it asks for the table");
  assert.deepEqual(events(acts), [
    "role: standby/standby -> joining/standby: peer is solo: rejoining",
  ]);
  assert.equal(b.synced, false);
});

// ---------------------------------------------------------------- split brain

Deno.test("split brain heals to exactly one owner; the loser joins once", () => {
  for (const mode of MODES) {
    const [a, b] = paired(mode);
    // Peer link cut: both stop hearing each other and each serves alone.
    for (let t = 110; t <= 700; t += 10) {
      a.tick(t);
      b.tick(t);
    }
    assert.equal(a.state, "solo", mode);
    assert.equal(b.state, "solo", mode);
    assert.deepEqual([rf(a), rf(b)], [[true, true], [true, true]], "both own the addresses");
    // Link back. Each hears the other's solo heartbeat.
    const aHb = hbOf(a), bHb = hbOf(b);
    const bActs = b.onHeartbeat(710, aHb);
    assert.deepEqual(kinds(bActs), ["roles", "merge", "roles", "join"], mode);
    // The flows to merge: those opened since b went solo (the tick that found a dead).
    assert.deepEqual(bActs.find((x) => x.kind === "merge"), { kind: "merge", since: 160 });
    assert.equal(b.policy.relay, true, "the loser relays frames still sent to it");
    assert.deepEqual(events(bActs), [
      "peer: peer down -> up (solo)",
      "role: solo/standby -> joining/standby: split brain: peer wins, rejoining",
    ]);
    const aActs = a.onHeartbeat(710, bHb);
    assert.deepEqual(kinds(aActs), ["roles", "announce"], "the winner re-claims the addresses");
    assert.deepEqual(events(aActs), [
      "peer: peer down -> up (solo)",
      "split: split brain healed: keeping the addresses",
    ]);
    assert.equal(b.state, "joining");
    assert.equal(a.state, "solo");
    assert.deepEqual(rf(a), [true, true]);
    assert.deepEqual(rf(b), [false, false]);
    // The loser's last solo heartbeats keep arriving for a while: a re-announces at most
    // every 100 ms, and nothing else happens on either side.
    assert.deepEqual(kinds(a.onHeartbeat(760, bHb)), []);
    assert.deepEqual(kinds(a.onHeartbeat(810, bHb)), [], "exactly 100 ms: not yet");
    assert.deepEqual(kinds(a.onHeartbeat(811, bHb)), ["announce"]);
    // The loser's first heartbeat as joining: the winner claims the addresses once more (the
    // loser may have sent from the virtual MAC after the winner's last announcement).
    assert.deepEqual(kinds(a.onHeartbeat(815, hbOf(b))), ["announce"], mode);
    assert.deepEqual(kinds(a.onHeartbeat(816, hbOf(b))), [], "once");
    const rest = exchange(a, b, 820, 1500);
    assert.equal(count(rest, "join"), 0, "join once per rejoin");
    assert.equal(count(rest, "announce"), 0);
    assert.equal(b.state, "joining");
    assert.equal(a.state, "solo");
    b.syncComplete(1505);
    exchange(a, b, 1510, 1600);
    assert.equal(a.state, "active", mode);
    assert.equal(b.state, "standby", mode);
    assert.equal(Number(a.receiver) + Number(b.receiver), 1, mode);
    assert.equal(Number(a.forwarder) + Number(b.forwarder), 1, mode);
  }
});

Deno.test("split brain: the higher priority wins even when it booted later", () => {
  const opts = { ...BASE, mode: "active-forward" as Mode };
  const b = new Pair({ ...opts, role: "standby", epoch: 1 }, 0);
  const a = new Pair({ ...opts, role: "active", epoch: 2 }, 0);
  exchange(a, b, 0, 100);
  for (let t = 110; t <= 300; t += 10) {
    a.tick(t);
    b.tick(t);
  }
  const aHb = hbOf(a), bHb = hbOf(b);
  assert.deepEqual(kinds(a.onHeartbeat(310, bHb)), ["roles", "announce"]);
  assert.deepEqual(kinds(b.onHeartbeat(310, aHb)), ["roles", "merge", "roles", "join"]);
  assert.equal(a.state, "solo");
  assert.equal(b.state, "joining");
});

Deno.test("split brain between equal priorities: the older boot keeps the addresses", () => {
  const opts = { ...BASE, mode: "standby-forward" as Mode };
  const x = new Pair({ ...opts, role: "active", epoch: 10 }, 0);
  const y = new Pair({ ...opts, role: "active", epoch: 20 }, 0);
  exchange(x, y, 0, 100);
  for (let t = 110; t <= 300; t += 10) {
    x.tick(t);
    y.tick(t);
  }
  assert.equal(x.state, "solo");
  assert.equal(y.state, "solo");
  const xHb = hbOf(x), yHb = hbOf(y);
  assert.deepEqual(kinds(y.onHeartbeat(310, xHb)), ["roles", "merge", "roles", "join"]);
  assert.deepEqual(kinds(x.onHeartbeat(310, yHb)), ["roles", "announce"]);
});

Deno.test("join is emitted exactly once per rejoin over repeated splits", () => {
  const [a, b] = paired("standby-forward");
  let joins = 0;
  let t = 110;
  for (let round = 0; round < 3; round++) {
    // Cut.
    for (const end = t + 200; t <= end; t += 10) {
      joins += count([...a.tick(t), ...b.tick(t)], "join");
    }
    assert.equal(a.state, "solo");
    assert.equal(b.state, "solo");
    // Heal: a's solo heartbeats reach b for a while, b's reach a.
    const aHb = hbOf(a), bHb = hbOf(b);
    for (const end = t + 100; t <= end; t += 10) {
      const acts = [...a.tick(t), ...b.tick(t), ...b.onHeartbeat(t, aHb), ...a.onHeartbeat(t, bHb)];
      joins += count(acts, "join");
      assert.equal(count(a.onHeartbeat(t, hbOf(b)), "join"), 0, "the winner never joins");
    }
    joins += count(exchange(a, b, t, t + 300), "join");
    t += 310;
    assert.equal(joins, round + 1, `round ${round}`);
    b.syncComplete(t);
    exchange(a, b, t, t + 100);
    t += 110;
    assert.equal(a.state, "active");
    assert.equal(b.state, "standby");
  }
});

// ---------------------------------------------------------------- conflicts

Deno.test("both claiming active after pairing: the higher priority stays active", () => {
  const [a, b] = paired("standby-forward");
  // Within two dead times of pairing, a claim is ignored (a handover may be in flight).
  assert.deepEqual(b.onHeartbeat(100, hbOf(a)), []);
  // b claims active too (a lost takeover notice, say): a outranks it and stays.
  const claim = hbOf(b, { state: "active", role: "active" });
  assert.deepEqual(a.onHeartbeat(110, claim), [], "just after pairing: ignored");
  assert.deepEqual(a.onHeartbeat(200.5, claim), [], "a wins and stays");
  assert.equal(a.state, "active");
  const [c, d] = paired("standby-forward");
  const acts = d.onHeartbeat(110, hbOf(c));
  assert.deepEqual(acts, [], "d is standby: no conflict");
  // d claims active too and hears c's active heartbeat later than 2 dead times after pairing.
  const forced = d.requestFailover(110);
  assert.equal(forced.ok, true);
  assert.equal(d.state, "active");
  assert.deepEqual(d.onHeartbeat(200, hbOf(c)), [], "just after its own change: ignored");
  assert.equal(d.state, "active");
  assert.deepEqual(d.onHeartbeat(210, hbOf(c)), [], "2 dead times: still ignored");
  const lose = d.onHeartbeat(210.5, hbOf(c));
  assert.deepEqual(kinds(lose), ["roles"]);
  assert.deepEqual(events(lose), [
    "role: active/active -> standby/standby: role conflict resolved",
  ]);
  assert.equal(d.state, "standby");
});

Deno.test("both claiming standby: the lower priority takes active", () => {
  const [a, b] = paired("standby-forward");
  a.onTakeover("active"); // a steps down without b taking over.
  assert.equal(a.state, "standby");
  // b hears a standby claim; b loses on priority, so b becomes active.
  const acts = b.onHeartbeat(200, hbOf(a));
  assert.deepEqual(kinds(acts), ["roles", "announce"], "standby-forward: the active receives");
  assert.deepEqual(events(acts), [
    "role: standby/standby -> active/active: role conflict resolved",
  ]);
  assert.equal(b.state, "active");
  // a, the winner of a standby conflict, stays standby.
  assert.deepEqual(a.onHeartbeat(200, hbOf(a, { priority: 100, epoch: 2 })), []);
  assert.equal(a.state, "standby");
});

Deno.test("a role claim without syncComplete is not a conflict", () => {
  const [a, b] = paired("standby-forward");
  assert.deepEqual(a.onHeartbeat(200, hbOf(b, { state: "active", syncComplete: false })), []);
  assert.equal(a.state, "active");
});

// ---------------------------------------------------------------- stall

Deno.test("a stall longer than stallMs drops the roles; the peer's word restores them", () => {
  const [a, b] = paired("standby-forward");
  assert.deepEqual(a.tick(150), [], "a 50 ms gap is not a stall");
  const acts = a.tick(201);
  assert.deepEqual(kinds(acts), ["roles"]);
  assert.deepEqual(events(acts), ["stall: loop stalled 51 ms"]);
  assert.deepEqual(rf(a), [false, false], "no stale roles after waking");
  assert.equal(a.state, "active", "the state stays until the peer is heard");
  assert.equal(a.policy.receiver, false);
  assert.deepEqual(a.tick(202), [], "nothing heard yet: wait");
  assert.deepEqual(a.onHeartbeat(203, hbOf(b)), []);
  const back = a.tick(204);
  assert.deepEqual(kinds(back), ["roles"]);
  assert.deepEqual(rf(a), [true, false]);
  assert.equal(a.state, "active");
  assert.deepEqual(a.tick(205), []);
});

Deno.test("a stall while holding no role emits no roles action", () => {
  const [a] = paired("active-forward");
  // A standby in active-forward neither receives nor forwards.
  const b2 = unit("active-forward", "standby", 2);
  b2.onHeartbeat(0, hbOf(a));
  b2.tick(10);
  const acts = b2.tick(100);
  assert.deepEqual(kinds(acts), []);
  assert.deepEqual(events(acts), ["stall: loop stalled 90 ms"]);
});

Deno.test("a unit woken from a freeze rejoins when its peer took over", () => {
  const [a, b] = paired("standby-forward");
  // a frozen for 2 s; b took over meanwhile.
  for (let t = 110; t <= 2100; t += 10) b.tick(t);
  assert.equal(b.state, "solo");
  const wake = a.tick(2100);
  assert.deepEqual(kinds(wake), ["roles"]);
  assert.deepEqual(rf(a), [false, false]);
  assert.deepEqual(kinds(b.onHeartbeat(2105, hbOf(a))), ["roles"]);
  assert.equal(b.state, "solo", "the survivor keeps the addresses");
  const acts = a.onHeartbeat(2105, hbOf(b));
  assert.deepEqual(kinds(acts), ["roles", "join"], "stale table dropped, resync");
  assert.equal(a.state, "joining");
  assert.deepEqual(kinds(a.tick(2106)), ["roles"]);
  assert.deepEqual(rf(a), [false, false]);
});

Deno.test("a woken unit whose peer stays silent serves alone after max(2 dead times, 1 s)", () => {
  for (const who of ["a", "b"] as const) {
    const [a, b] = paired("standby-forward");
    const p = who === "a" ? a : b;
    p.tick(1000);
    assert.deepEqual(rf(p), [false, false]);
    for (let t = 1010; t <= 2000; t += 10) assert.deepEqual(p.tick(t), [], `t=${t}`);
    assert.equal(p.state, who === "a" ? "active" : "standby", "not before a second of silence");
    const acts = p.tick(2000.5);
    // Whoever serves alone after waking claims the addresses: the peer may have taken them.
    assert.deepEqual(kinds(acts), ["roles", "roles", "announce"], who);
    assert.equal(p.state, "solo");
    assert.equal(p.peer, "down");
    assert.deepEqual(rf(p), [true, true]);
  }
});

Deno.test("a lone unit's pause shorter than the startup wait is not a stall", () => {
  const a = unit("standby-forward", "active", 1);
  for (let t = 0; t <= 1000; t += 10) a.tick(t);
  assert.equal(a.state, "solo");
  assert.equal(a.peer, "unknown");
  // No peer up: only a pause longer than a peer's boot wait may hide a takeover.
  assert.deepEqual(a.tick(1500), []);
  assert.deepEqual(a.tick(2500), [], "exactly the startup wait");
  assert.deepEqual(rf(a), [true, true]);
  const stall = a.tick(3500.5);
  assert.deepEqual(kinds(stall), ["roles"]);
  assert.deepEqual(events(stall), ["stall: loop stalled 1001 ms"]);
  assert.deepEqual(rf(a), [false, false]);
  for (let t = 3510; t <= 4500; t += 10) assert.deepEqual(a.tick(t), []);
  // Nobody answered for a second: serve alone again, and claim the addresses.
  assert.deepEqual(kinds(a.tick(4501)), ["roles", "announce"]);
  assert.deepEqual(rf(a), [true, true]);
  assert.equal(a.state, "solo");
  assert.equal(a.peer, "down");
});

Deno.test("a survivor whose peer is down is judged against the startup wait too", () => {
  const [a] = paired("standby-forward", { startupMs: 400 });
  for (let t = 110; t <= 160; t += 10) a.tick(t);
  assert.equal(a.peer, "down");
  assert.deepEqual(a.tick(560), [], "400 ms: not a stall without a peer");
  assert.deepEqual(rf(a), [true, true]);
  assert.deepEqual(kinds(a.tick(960.5)), ["roles"]);
  assert.deepEqual(rf(a), [false, false]);
});

Deno.test("a larger stallMs tolerates longer pauses; the wake silence is 2 dead times when larger", () => {
  const [a, b] = paired("standby-forward", { stallMs: 300 });
  // After a pause the loop reads the queued heartbeats before its timers run.
  a.onHeartbeat(400, hbOf(b));
  assert.deepEqual(a.tick(400), [], "300 ms is not a stall");
  a.onHeartbeat(700.5, hbOf(b));
  const acts = a.tick(700.5);
  assert.deepEqual(kinds(acts), ["roles"]);
  assert.deepEqual(events(acts), ["stall: loop stalled 301 ms"]);
  const opts = { ...BASE, intervalMs: 200, deadAfter: 5, mode: "standby-forward" as Mode };
  const c = new Pair({ ...opts, role: "active", epoch: 1 }, 0);
  const d = new Pair({ ...opts, role: "standby", epoch: 2 }, 0);
  exchange(c, d, 0, 400, { step: 200 });
  assert.equal(c.state, "active");
  c.tick(1500); // stall: gap 1100 > 1000
  for (let t = 1700; t <= 3500; t += 200) c.tick(t);
  c.tick(3500);
  assert.equal(c.state, "active", "2 × 1000 ms of silence not passed yet");
  c.tick(3500.5);
  assert.equal(c.state, "solo");
});

Deno.test("stalls are not judged while booting or joining", () => {
  const a = unit("standby-forward", "active", 1);
  a.tick(0);
  assert.deepEqual(a.tick(500), [], "booting");
  const b = unit("standby-forward", "standby", 2);
  for (let t = 0; t <= 1000; t += 10) b.tick(t);
  const c = unit("standby-forward", "active", 3, 1000);
  c.onHeartbeat(1000, hbOf(b));
  c.tick(1000);
  assert.equal(c.state, "joining");
  assert.deepEqual(events(c.tick(1040)), [], "joining: no stall event");
});

// ---------------------------------------------------------------- planned switchover

Deno.test("switchover refusals: no_peer, not_synced, peer_not_synced, in_progress", () => {
  // No peer: booting, alone, or solo with a joining peer.
  const boot = unit("standby-forward", "active", 1);
  let o = boot.requestFailover(1);
  assert.equal(o.ok, false);
  assert.equal(o.ok === false && o.reason, "no_peer");
  assert.deepEqual(events(o.actions), ["failover: refused: no_peer"]);
  assert.deepEqual(kinds(o.actions), []);

  const holder = unit("standby-forward", "active", 1);
  for (let t = 0; t <= 1000; t += 10) holder.tick(t);
  const joiner = unit("standby-forward", "standby", 2, 1000);
  joiner.onHeartbeat(1010, hbOf(holder));
  holder.onHeartbeat(1010, hbOf(joiner));
  assert.equal(holder.peer, "up");
  o = holder.requestFailover(1015);
  assert.equal(o.ok === false && o.reason, "no_peer", "a solo unit has nobody synced");
  o = joiner.requestFailover(1015);
  assert.equal(o.ok === false && o.reason, "not_synced");
  assert.deepEqual(events(o.actions), ["failover: refused: not_synced"]);

  // Paired, but the peer reports no complete sync, or is joining.
  const [a, b] = paired("standby-forward");
  a.onHeartbeat(110, hbOf(b, { syncComplete: false }));
  o = a.requestFailover(111);
  assert.equal(o.ok === false && o.reason, "peer_not_synced");
  a.onHeartbeat(120, hbOf(b, { state: "joining" }));
  o = a.requestFailover(121);
  assert.equal(o.ok === false && o.reason, "peer_not_synced");
  a.onHeartbeat(130, hbOf(b));

  // In progress: a second request while the first is not confirmed.
  o = a.requestFailover(131);
  assert.equal(o.ok, true);
  assert.deepEqual(kinds(o.actions), ["failover_request"]);
  assert.deepEqual(events(o.actions), ["failover: asked peer to take over"]);
  assert.equal(a.state, "active", "the active keeps its role until the peer takes over");
  o = a.requestFailover(132);
  assert.equal(o.ok === false && o.reason, "in_progress");
  assert.deepEqual(events(o.actions), ["failover: refused: in_progress"]);

  // A peer that is down: no_peer, even when the last heartbeat said synced.
  const [c] = paired("standby-forward");
  for (let t = 110; t <= 160; t += 10) c.tick(t);
  assert.equal(c.state, "solo");
  o = c.requestFailover(170);
  assert.equal(o.ok === false && o.reason, "no_peer");
});

Deno.test("a peer-down state alone refuses a switchover (not only solo)", () => {
  // A joiner whose holder died: not solo yet, peer down.
  const b = unit("standby-forward", "standby", 1);
  for (let t = 0; t <= 1000; t += 10) b.tick(t);
  const a = unit("standby-forward", "active", 2, 1000);
  a.onHeartbeat(1010, hbOf(b));
  for (let t = 1020; t <= 1070; t += 10) a.tick(t);
  assert.equal(a.peer, "down");
  assert.equal(a.state, "joining");
  const o = a.requestFailover(1080);
  assert.equal(o.ok === false && o.reason, "no_peer");
});

Deno.test("a synced standby hearing a joining peer refuses with peer_not_synced", () => {
  const [a, b] = paired("standby-forward");
  b.onHeartbeat(110, hbOf(a, { state: "joining", syncComplete: true }));
  const o = b.requestFailover(111);
  assert.equal(o.ok === false && o.reason, "peer_not_synced");
  assert.equal(b.state, "standby");
});

/** Runs a switchover asked of `asked`; returns every action of both, checking a receiver exists throughout. */
function switchover(asked: Pair, other: Pair, now: number): Action[] {
  const log: Action[] = [];
  const receiver = () => assert.ok(asked.receiver || other.receiver, "never without a receiver");
  const o = asked.requestFailover(now);
  assert.equal(o.ok, true);
  log.push(...o.actions);
  receiver();
  for (const x of o.actions) {
    if (x.kind === "failover_request") {
      const moved = other.onFailoverRequest(now + 1);
      log.push(...moved);
      receiver();
      const t = moved.find((m) => m.kind === "takeover");
      assert.ok(t && t.kind === "takeover", "the peer moved and said so");
      log.push(...asked.onTakeover(t.role, now + 2));
    } else if (x.kind === "takeover") {
      log.push(...other.onTakeover(x.role, now + 1));
    }
    receiver();
  }
  return log;
}

Deno.test("planned switchover through the active swaps the roles; the new receiver moves first", () => {
  for (const mode of MODES) {
    const [a, b] = paired(mode);
    const aWillReceive = rolesFor(mode, "standby", "standby").receiver;
    const o = a.requestFailover(105);
    assert.equal(o.ok, true);
    // standby-first: a becomes the receiver, so it moves first; otherwise b does.
    assert.deepEqual(
      kinds(o.actions),
      aWillReceive ? ["roles", "announce", "takeover"] : ["failover_request"],
      mode,
    );
    if (aWillReceive) {
      assert.equal(a.state, "standby");
      assert.deepEqual(o.actions.find((x) => x.kind === "takeover"), {
        kind: "takeover",
        role: "standby",
      });
      // The notice reaches b (a heartbeat of a's standby claim first would do the same: b
      // loses the conflict on priority and takes active).
      const step = b.onTakeover("standby", 110);
      assert.deepEqual(kinds(step), ["roles"], mode);
      assert.deepEqual(events(step), [
        "role: standby/standby -> active/active: peer took the standby role",
      ]);
      assert.equal(b.policy.relay, true, "b gave the receiver role up: it relays");
      assert.deepEqual(kinds(exchange(a, b, 120, 230)), [], `${mode}: settled`);
    } else {
      assert.equal(a.state, "active", "the active keeps its role until the peer moved");
      // Heartbeats cross before the request arrives: both say what they were; no conflict.
      assert.deepEqual(exchange(a, b, 110, 130).filter((x) => x.kind !== "event"), []);
      const take = b.onFailoverRequest(135);
      assert.deepEqual(kinds(take), ["roles", "announce", "takeover"], mode);
      assert.equal(b.state, "active");
      assert.deepEqual(kinds(exchange(a, b, 140, 230)), [], `${mode}: a is handing over`);
      assert.equal(a.state, "active");
      const step = a.onTakeover("active", 235);
      assert.deepEqual(kinds(step), ["roles"], mode);
      assert.deepEqual(events(step), [
        "role: active/active -> standby/standby: peer took the active role",
      ]);
      assert.equal(a.policy.relay, true, "a gave the receiver role up: it relays");
    }
    assert.equal(a.role, "standby");
    assert.equal(b.role, "active");
    const after = exchange(a, b, 240, 2000);
    assert.equal(count(after, "roles"), 1, `${mode}: only the relay ending`);
    assert.equal(a.policy.relay || b.policy.relay, false, "relaying ended");
    assert.equal(a.state, "standby", mode);
    assert.equal(b.state, "active", mode);
    assert.equal(Number(a.receiver) + Number(b.receiver), 1, mode);
    assert.equal(Number(a.forwarder) + Number(b.forwarder), 1, mode);
    assert.deepEqual(rf(b), [
      rolesFor(mode, "active", "active").receiver,
      rolesFor(mode, "active", "active").forwarder,
    ]);
    // And back again, asked of either unit.
    switchover(b, a, 2010);
    assert.equal(a.state, "active", mode);
    assert.equal(b.state, "standby", mode);
    exchange(a, b, 2020, 4000);
    switchover(b, a, 4010);
    assert.equal(a.state, "standby", mode);
    assert.equal(b.state, "active", mode);
  }
});

Deno.test("a switchover request to the standby: it moves first when it will receive, else asks", () => {
  const [a, b] = paired("standby-forward");
  const o = b.requestFailover(105);
  assert.equal(o.ok, true);
  assert.deepEqual(kinds(o.actions), ["roles", "announce", "takeover"]);
  assert.deepEqual(events(o.actions), [
    "role: standby/standby -> active/active: planned switchover",
  ]);
  assert.equal(b.state, "active");
  assert.deepEqual(rf(b), [true, false]);
  assert.deepEqual(kinds(a.onTakeover("active", 106)), ["roles"]);
  assert.equal(a.state, "standby");
  assert.deepEqual(rf(a), [false, true]);
  exchange(a, b, 110, 1000);
  assert.equal(b.state, "active");
  assert.equal(a.state, "standby");
  // standby-first: the standby is the receiver; the active must move first.
  const [c, d] = paired("standby-first");
  const q = d.requestFailover(105);
  assert.deepEqual(kinds(q.actions), ["failover_request"]);
  assert.equal(d.state, "standby");
  const moved = c.onFailoverRequest(106);
  assert.deepEqual(kinds(moved), ["roles", "announce", "takeover"]);
  assert.equal(c.state, "standby");
  assert.deepEqual(kinds(d.onTakeover("standby", 107)), ["roles"]);
  assert.equal(d.state, "active");
  assert.deepEqual(rf(c), [true, false]);
  assert.deepEqual(rf(d), [false, true]);
});

Deno.test("a lost takeover notice: the pair settles back on one active, the configured one", () => {
  const [a, b] = paired("standby-forward");
  assert.equal(a.requestFailover(105).ok, true);
  b.onFailoverRequest(106);
  assert.equal(b.state, "active");
  // The takeover notice is lost. After two dead times b yields to the higher priority.
  const log = exchange(a, b, 110, 2000);
  assert.equal(a.state, "active");
  assert.equal(b.state, "standby");
  assert.equal(count(log, "roles"), 1, "b stepped down once; a never moved");
  assert.equal(a.requestFailover(2005).ok, true, "the handover timed out: a may ask again");
});

Deno.test("a failover request reaches only a synced standby", () => {
  const [a, b] = paired("standby-forward");
  assert.deepEqual(a.onFailoverRequest(), [], "an active that would not receive ignores it");
  assert.equal(a.state, "active");
  const j = unit("standby-forward", "standby", 3);
  assert.deepEqual(j.onFailoverRequest(), [], "a joiner ignores it");
  assert.equal(j.state, "joining");
  b.synced = false;
  assert.deepEqual(b.onFailoverRequest(), [], "an unsynced standby ignores it");
  assert.equal(b.state, "standby");
  assert.equal(b.mayServeSync, false, "nor may it serve a sync");
  const o = b.requestFailover(200);
  assert.equal(o.ok === false && o.reason, "not_synced", "nor take over when asked directly");
  assert.equal(b.state, "standby");
});

Deno.test("syncComplete without a time is stamped with the latest input's time", () => {
  const c = unit("standby-forward", "standby", 3);
  const solo: PeerHeartbeat = {
    role: "active",
    state: "solo",
    receiver: true,
    forwarder: true,
    syncComplete: true,
    priority: 200,
    epoch: 1,
  };
  assert.deepEqual(kinds(c.onHeartbeat(400, solo)), ["roles", "join"]);
  c.syncComplete();
  assert.equal(c.state, "standby");
  // Paired since 400: the holder's solo heartbeats are in flight for two dead times.
  assert.deepEqual(c.onHeartbeat(500, solo), []);
  assert.deepEqual(kinds(c.onHeartbeat(500.5, solo)), ["roles", "join"]);
});

Deno.test("a takeover notice makes only the unit holding that role step aside", () => {
  const [a, b] = paired("standby-forward");
  assert.deepEqual(b.onTakeover("active"), [], "b does not hold the active role");
  assert.equal(b.state, "standby");
  assert.deepEqual(a.onTakeover("standby"), [], "a does not hold the standby role");
  assert.equal(a.state, "active");
  for (let t = 110; t <= 160; t += 10) a.tick(t);
  assert.equal(a.state, "solo");
  assert.deepEqual(a.onTakeover("active"), [], "a solo unit keeps everything");
  assert.equal(a.state, "solo");
});

Deno.test("an unconfirmed handover is given up after 1 s", () => {
  const [a, b] = paired("standby-forward");
  assert.equal(a.requestFailover(100).ok, true);
  exchange(a, b, 110, 1100);
  const o = a.requestFailover(1100);
  assert.equal(o.ok === false && o.reason, "in_progress", "1000 ms is not past the bound");
  a.tick(1100.5);
  assert.equal(a.requestFailover(1101).ok, true);
});

Deno.test("a handover ends when the peer dies or confirms", () => {
  const [a, b] = paired("standby-forward");
  assert.equal(a.requestFailover(100).ok, true);
  a.onTakeover("active");
  assert.equal(a.state, "standby");
  exchange(a, b, 110, 400);
  // Back: b is still standby (it never took over), a standby too: conflict resolves.
  assert.equal([a, b].filter((p) => p.state === "active").length, 1);

  const [c] = paired("standby-forward");
  assert.equal(c.requestFailover(100).ok, true);
  for (let t = 110; t <= 160; t += 10) c.tick(t);
  assert.equal(c.state, "solo");
  // d comes back as a new process and syncs; c may hand over again.
  const d2 = unit("standby-forward", "standby", 9, 170);
  d2.onHeartbeat(170, hbOf(c));
  c.onHeartbeat(170, hbOf(d2));
  d2.syncComplete(180);
  c.onHeartbeat(190, hbOf(d2));
  assert.equal(c.state, "active");
  assert.equal(c.requestFailover(200).ok, true, "the old handover did not survive the peer");
});

Deno.test("wire codes: role and state by index, as peers of every version read them", () => {
  assert.deepEqual(ROLE_CODES, ["active", "standby"]);
  const states: UnitState[] = ["active", "standby", "solo", "joining"];
  assert.deepEqual(STATE_CODES, states);
  assert.deepEqual(MODES, ["active-forward", "standby-forward", "standby-first"]);
});
