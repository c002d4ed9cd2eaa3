/**
 * The pair's fail-safe rules: health, unit maintenance and preemption (issue 9). Two `Pair`s
 * exchange heartbeats and the planned-switchover control records as the unit would.
 */
import assert from "node:assert/strict";
import { type Action, Pair, type PairOptions, reasonWord } from "./pair.ts";
import type { LocalHealth, Mode, PeerHeartbeat } from "./types.ts";

const BASE = { intervalMs: 10, deadAfter: 5, peered: true, peerWarmupMs: 0 } as const;
const WELL: LocalHealth = { healthy: true, settled: true, maintenance: false };
const SICK: LocalHealth = { healthy: false, settled: true, maintenance: false };
const MAINT: LocalHealth = { healthy: true, settled: true, maintenance: true };

function hbOf(p: Pair): PeerHeartbeat {
  return {
    role: p.role,
    state: p.state,
    receiver: p.receiver,
    forwarder: p.forwarder,
    syncComplete: p.synced,
    priority: p.priority,
    epoch: p.epoch,
    healthy: p.local.healthy,
    maintenance: p.local.maintenance,
  };
}

/** Two units, a (configured active) and b, with everything each one said, in order. */
class Duo {
  readonly a: Pair;
  readonly b: Pair;
  readonly log: { a: Action[]; b: Action[] } = { a: [], b: [] };
  t = 0;
  aAlive = true;

  constructor(mode: Mode, extra: Partial<PairOptions> = {}) {
    this.a = new Pair({ ...BASE, mode, role: "active", epoch: 1, ...extra }, 0);
    this.b = new Pair({ ...BASE, mode, role: "standby", epoch: 2, ...extra }, 0);
  }

  /** Records `acts` of `from` and delivers its control records to the other unit. */
  deliver(from: "a" | "b", acts: Action[]): void {
    this.log[from].push(...acts);
    const to = from === "a" ? "b" : "a";
    const peer = this[to];
    if (from === "a" && !this.aAlive) return;
    for (const x of acts) {
      if (x.kind === "failover_request") this.deliver(to, peer.onFailoverRequest(this.t));
      if (x.kind === "takeover") this.deliver(to, peer.onTakeover(x.role, this.t));
    }
  }

  /** Ticks and exchanges heartbeats every 10 ms until `until`. */
  run(until: number): this {
    for (; this.t <= until; this.t += 10) {
      if (this.aAlive) this.deliver("a", this.a.tick(this.t));
      this.deliver("b", this.b.tick(this.t));
      if (this.aAlive) {
        this.deliver("b", this.b.onHeartbeat(this.t, hbOf(this.a)));
        this.deliver("a", this.a.onHeartbeat(this.t, hbOf(this.b)));
      }
    }
    this.t = until;
    return this;
  }

  set(u: "a" | "b", local: LocalHealth): this {
    this.deliver(u, this[u].setLocal(local, this.t));
    return this;
  }

  /** `a`'s and `b`'s states. */
  get states(): [string, string] {
    return [this.a.state, this.b.state];
  }

  /** The notify actions of `u` as `state reason`. */
  notes(u: "a" | "b"): string[] {
    return this.log[u].flatMap((x) => x.kind === "notify" ? [`${x.state} ${x.reason}`] : []);
  }
}

/** A settled pair: a active, b standby, both synced, heartbeats flowing up to t = 200. */
function settled(mode: Mode = "active-forward", extra: Partial<PairOptions> = {}): Duo {
  const d = new Duo(mode, extra).run(200);
  assert.deepEqual(d.states, ["active", "standby"]);
  return d;
}

Deno.test("an unhealthy receiver hands over to its healthy synced peer (planned switchover)", () => {
  const d = settled();
  d.set("a", SICK).run(400);
  assert.deepEqual(d.states, ["standby", "active"]);
  assert.equal(d.b.receiver, true);
  assert.equal(d.a.receiver, false);
  assert.deepEqual(d.notes("a").slice(-1), ["standby unhealthy"]);
  assert.deepEqual(d.notes("b").slice(-1), ["active planned-switchover"]);
  // Healthy again without preempt: it stays standby (no flap back).
  d.set("a", WELL).run(2000);
  assert.deepEqual(d.states, ["standby", "active"]);
});

Deno.test("in standby-first the receiver is the standby: it is the one that hands over", () => {
  const d = settled("standby-first");
  assert.equal(d.b.receiver, true);
  d.set("a", SICK).run(400);
  // a is not the receiver: nothing moves.
  assert.deepEqual(d.states, ["active", "standby"]);
  d.set("a", WELL).set("b", SICK).run(800);
  assert.equal(d.a.receiver, true);
  assert.equal(d.b.receiver, false);
});

Deno.test("a healthy receiver keeps the role when its peer is unhealthy", () => {
  const d = settled();
  d.set("b", SICK).run(1000);
  assert.deepEqual(d.states, ["active", "standby"]);
  assert.equal(d.a.peerHealthy, false);
  assert.equal(d.b.peerHealthy, true);
});

Deno.test("both unhealthy: nothing moves, in either order", () => {
  const d = settled();
  d.set("b", SICK).run(400);
  d.set("a", SICK).run(2000);
  assert.deepEqual(d.states, ["active", "standby"]);
  const e = settled();
  e.set("a", SICK).run(400); // hands over to b
  assert.deepEqual(e.states, ["standby", "active"]);
  e.set("b", SICK).run(2000); // b sick too: it stays, a does not take it back
  assert.deepEqual(e.states, ["standby", "active"]);
  assert.equal(e.log.a.filter((x) => x.kind === "failover_request").length, 1);
  assert.equal(e.log.b.filter((x) => x.kind === "failover_request").length, 0);
});

Deno.test("an unhealthy unit does not take the receiver role from a healthy peer", () => {
  const d = settled();
  d.set("b", SICK).run(400);
  // Manual switchover towards the sick peer: refused with the reason.
  const o = d.a.requestFailover(d.t);
  assert.equal(o.ok, false);
  assert.equal(!o.ok && o.reason, "peer_unhealthy");
  // A request that reaches it anyway (an old peer) is ignored.
  const acts = d.b.onFailoverRequest(d.t);
  assert.deepEqual(acts.filter((x) => x.kind !== "event"), []);
  assert.equal(d.b.state, "standby");
});

Deno.test("a dead peer is taken over whatever this unit's health or maintenance", () => {
  for (const local of [SICK, MAINT]) {
    const d = settled();
    d.set("b", local).run(400);
    d.aAlive = false;
    d.run(600);
    assert.equal(d.b.state, "solo");
    assert.equal(d.b.receiver, true);
    const ev = d.log.b.flatMap((x) => x.kind === "event" ? [x.detail] : []);
    assert.ok(ev.some((e) => /taking over from a dead peer although/.test(e)), ev.join("\n"));
    assert.deepEqual(d.notes("b").slice(-1), ["solo peer-dead"]);
  }
});

Deno.test("maintenance: the receiver hands over; the unit then refuses the role", () => {
  const d = settled();
  d.set("a", MAINT).run(400);
  assert.deepEqual(d.states, ["standby", "active"]);
  assert.deepEqual(d.notes("a").slice(-1), ["standby maintenance"]);
  // b even sick keeps it: a unit in maintenance is less fit than a sick one.
  d.set("b", SICK).run(1000);
  assert.deepEqual(d.states, ["standby", "active"]);
  const o = d.b.requestFailover(d.t);
  assert.equal(!o.ok && o.reason, "peer_in_maintenance");
  assert.equal(d.a.onFailoverRequest(d.t).filter((x) => x.kind !== "event").length, 0);
  // Maintenance off, no preempt: a stays standby; b, sick, now hands the role to a.
  d.set("a", WELL).run(1400);
  assert.deepEqual(d.states, ["active", "standby"]);
});

Deno.test("maintenance of a standby moves nothing", () => {
  const d = settled();
  d.set("b", MAINT).run(1000);
  assert.deepEqual(d.states, ["active", "standby"]);
  assert.equal(d.log.b.filter((x) => x.kind === "failover_request").length, 0);
});

Deno.test("preempt: the configured-active unit takes its role back after the delay", () => {
  const d = settled("active-forward", { preempt: true, preemptDelayMs: 500 });
  d.set("a", SICK).run(400);
  assert.deepEqual(d.states, ["standby", "active"]);
  const back = d.t;
  d.set("a", WELL).run(back + 480);
  assert.deepEqual(d.states, ["standby", "active"], "not before the delay");
  d.run(back + 600);
  assert.deepEqual(d.states, ["active", "standby"], "after the delay");
  assert.deepEqual(d.notes("a").slice(-1), ["active preempt"]);
  // It stays there: the peer is configured standby and never preempts.
  d.run(3000);
  assert.deepEqual(d.states, ["active", "standby"]);
});

Deno.test("preempt waits for every check to settle, and never runs in maintenance", () => {
  const d = settled("active-forward", { preempt: true });
  d.set("a", MAINT).run(400);
  assert.deepEqual(d.states, ["standby", "active"]);
  d.run(1500);
  assert.deepEqual(d.states, ["standby", "active"], "maintenance: no preempt");
  d.set("a", { healthy: true, settled: false, maintenance: false }).run(2500);
  assert.deepEqual(d.states, ["standby", "active"], "checks not settled: no preempt");
  d.set("a", WELL).run(2700);
  assert.deepEqual(d.states, ["active", "standby"]);
});

Deno.test("preempt after a restart: the returning unit joins, syncs, then takes its role back", () => {
  for (const preempt of [false, true]) {
    const d = settled("standby-forward", { preempt, preemptDelayMs: 100 });
    d.aAlive = false;
    d.run(400);
    assert.equal(d.b.state, "solo");
    // a reboots: a new process, a new epoch; it joins the solo peer.
    const a = new Pair(
      {
        ...BASE,
        mode: "standby-forward",
        role: "active",
        epoch: 500,
        preempt,
        preemptDelayMs: 100,
      },
      d.t,
    );
    (d as { a: Pair }).a = a;
    d.aAlive = true;
    d.run(600);
    assert.equal(a.state, "joining");
    d.deliver("a", a.syncComplete(d.t));
    d.run(2000);
    assert.deepEqual(
      d.states,
      preempt ? ["active", "standby"] : ["standby", "active"],
      `preempt ${preempt}`,
    );
  }
});

Deno.test("reasonWord: the first clause of a why, dashed", () => {
  assert.equal(reasonWord("peer dead"), "peer-dead");
  assert.equal(reasonWord("peer is solo: joining as standby"), "peer-is-solo");
  assert.equal(reasonWord("woke from a stall, peer silent"), "woke-from-a-stall-peer-silent");
  assert.equal(reasonWord(":"), "unknown");
});

Deno.test("standby-forward: the receiver forwards itself while its forwarder peer is less fit", () => {
  const d = settled("standby-forward");
  assert.deepEqual([d.a.receiver, d.a.forwarder, d.b.forwarder], [true, false, true]);
  d.set("b", SICK).run(400);
  assert.deepEqual(d.states, ["active", "standby"], "the receiver stays");
  assert.deepEqual([d.a.receiver, d.a.forwarder], [true, true], "and emits itself");
  assert.equal(d.a.policy.mirror, true, "still mirroring: b can take over");
  d.set("b", WELL).run(600);
  assert.deepEqual([d.a.forwarder, d.b.forwarder], [false, true], "b forwards again");
  // The receiver itself sick: it hands over, and the new receiver forwards for it.
  d.set("a", SICK).run(1200);
  assert.deepEqual(d.states, ["standby", "active"]);
  assert.deepEqual([d.b.receiver, d.b.forwarder], [true, true]);
  // Peer dead: solo, both roles, whatever the flag said.
  d.aAlive = false;
  d.run(1600);
  assert.deepEqual([d.b.state, d.b.receiver, d.b.forwarder], ["solo", true, true]);
});

Deno.test("standby-first: a sick forwarder (the active) leaves emission to the receiver", () => {
  const d = settled("standby-first");
  assert.deepEqual([d.b.receiver, d.b.forwarder, d.a.forwarder], [true, false, true]);
  d.set("a", SICK).run(400);
  assert.deepEqual(d.states, ["active", "standby"]);
  assert.deepEqual([d.b.receiver, d.b.forwarder], [true, true]);
});

Deno.test("a unit in maintenance that took over from a dead peer hands back once it is synced", () => {
  const d = settled();
  d.set("b", MAINT).run(400);
  d.aAlive = false;
  d.run(600);
  assert.equal(d.b.state, "solo");
  const a = new Pair({ ...BASE, mode: "active-forward", role: "active", epoch: 700 }, d.t);
  (d as { a: Pair }).a = a;
  d.aAlive = true;
  d.run(800);
  assert.equal(a.state, "joining");
  assert.equal(d.b.receiver, true, "b serves until a is synced");
  d.deliver("a", a.syncComplete(d.t));
  d.run(1600);
  assert.deepEqual(d.states, ["active", "standby"]);
  assert.equal(d.notes("b").at(-1), "standby maintenance");
});
