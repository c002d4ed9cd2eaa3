/**
 * Two real units on loopback (real loops, real peer link): unit maintenance hands the receiver
 * role over and survives a restart, a failed link check hands it over, the flags reach the
 * peer, and notify runs in order, once each.
 */
import assert from "node:assert/strict";
import { labEngineConfig, learnNeighbors, seeded } from "../engine/testing.ts";
import type { Mode, Role } from "../ha/types.ts";
import { libc } from "../port/ffi.ts";
import { MemoryPort } from "../port/memory.ts";
import type { CarrierPort } from "./failsafe.ts";
import { type FailsafeSetup, Unit } from "./unit.ts";
import { LOCAL, openLanes, type TestLanes } from "./test_util.ts";

libc();

const KEY = new TextEncoder().encode("unit failsafe test key, 32 bytes");
const INTERVAL_MS = 20;
const DEAD_AFTER = 25;
/** Boot wait (pair.ts: max(1 s, 4 dead times)) plus slack for a busy machine. */
const PAIR_MS = Math.max(1000, 4 * INTERVAL_MS * DEAD_AFTER) + 5000;
/** A switchover: a few heartbeats and two dead times (pair.ts guard), plus slack. */
const SWITCH_MS = 2 * INTERVAL_MS * DEAD_AFTER + 5000;

async function until(what: string, ms: number, ok: () => boolean): Promise<void> {
  const end = performance.now() + ms;
  while (!ok()) {
    if (performance.now() > end) throw new Error(`timed out after ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

class Node {
  readonly socks: TestLanes = openLanes();
  readonly notes: string[] = [];
  unit: Unit | undefined;
  #ctrl: AbortController | undefined;
  #done: Promise<void> | undefined;

  constructor(readonly name: "a" | "b") {}

  start(role: Role, mode: Mode, peer: Node, fs: Partial<FailsafeSetup> = {}): Unit {
    const junk = new Uint8Array(65536);
    for (const s of this.socks.all) while (s.recvFrom(junk) > 0);
    const u = new Unit(
      {
        node: this.name,
        mode,
        role,
        version: "test",
        engine: labEngineConfig(this.name, { capacity: 1024 }),
        configDigest: "00112233445566ff",
        rng: seeded(this.name === "a" ? 1 : 2),
        peer: {
          ip: LOCAL,
          port: peer.socks.base,
          key: KEY,
          intervalMs: INTERVAL_MS,
          deadAfter: DEAD_AFTER,
          holdNewFlowsMs: 0,
          garpRepeat: 1,
          probe: false,
        },
        failsafe: {
          track: null,
          preempt: false,
          preemptDelayMs: 0,
          stateDir: null,
          notify: "/notify",
          notifyRunner: (_script, args) => {
            this.notes.push(args.join(" "));
            return Promise.resolve(0);
          },
          ...fs,
        },
      },
      [new MemoryPort("front"), new MemoryPort("back")],
      this.socks,
    );
    learnNeighbors(u.engine);
    this.unit = u;
    this.#ctrl = new AbortController();
    this.#done = u.run(this.#ctrl.signal);
    return u;
  }

  get u(): Unit {
    return this.unit!;
  }

  async stop(): Promise<void> {
    this.#ctrl?.abort();
    await this.#done;
    this.#ctrl = undefined;
  }

  async close(): Promise<void> {
    await this.stop();
    for (const s of this.socks.all) s.close();
  }
}

async function paired(a: Node, b: Node): Promise<void> {
  await until(
    "a active, b standby",
    PAIR_MS,
    () =>
      a.u.pair.state === "active" && b.u.pair.state === "standby" &&
      a.u.pair.peerHb?.state === "standby" && b.u.pair.peerHb?.state === "active",
  );
}

Deno.test({
  name: "maintenance: the receiver hands over, refuses the role, and stays so across a restart",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "tandem-maint-" });
    const a = new Node("a"), b = new Node("b");
    try {
      a.start("active", "standby-forward", b, { stateDir: dir });
      b.start("standby", "standby-forward", a);
      await paired(a, b);
      const r = await a.u.maintenance(true);
      assert.equal(r.ok, true, r.message);
      await until("b receives", SWITCH_MS, () => b.u.pair.receiver && !a.u.pair.receiver);
      assert.equal(a.u.pair.state, "standby");
      assert.equal(a.u.snapshot().failsafe.maintenance, true);
      assert.equal(b.u.pair.peerHb?.maintenance, true, "the flag reached the peer");
      assert.deepEqual(JSON.parse(await Deno.readTextFile(`${dir}/state.json`)), {
        maintenance: true,
      });
      // b may not hand the role back to a unit in maintenance.
      const f = await b.u.failover();
      assert.equal(f.ok, false);
      assert.equal(f.reason, "peer_in_maintenance");
      // Restart a: it comes back in maintenance, joins, and stays out of the receiver role.
      await a.stop();
      a.start("active", "standby-forward", b, { stateDir: dir });
      assert.equal(a.u.snapshot().failsafe.maintenance, true, "kept across the restart");
      await until("a synced standby again", PAIR_MS, () => a.u.pair.state === "standby");
      assert.equal(b.u.pair.receiver, true);
      // Off: no preempt configured, so a stays standby.
      assert.equal((await a.u.maintenance(false)).ok, true);
      assert.deepEqual(JSON.parse(await Deno.readTextFile(`${dir}/state.json`)), {
        maintenance: false,
      });
      await new Promise((r) => setTimeout(r, 4 * INTERVAL_MS * DEAD_AFTER));
      assert.equal(a.u.pair.state, "standby");
      assert.equal(b.u.pair.peerHb?.maintenance, false);
    } finally {
      await a.close();
      await b.close();
      await Deno.remove(dir, { recursive: true });
    }
    // Notify: in order, once each. a's first life, then its second.
    assert.deepEqual(a.notes, [
      "joining start",
      "active fresh-pair",
      "maintenance operator",
      "standby maintenance",
      "joining start",
      "maintenance restart",
      "standby bulk-sync-complete",
      "standby maintenance-off",
    ]);
    assert.equal(b.notes[0], "joining start");
    assert.match(b.notes[1] ?? "", /^standby /);
    assert.equal(b.notes[2], "active planned-switchover");
  },
});

Deno.test({
  name: "maintenance on a receiver with no peer ready is refused with peer-not-ready",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const a = new Node("a"), b = new Node("b");
    try {
      a.start("active", "active-forward", b);
      await until("solo", PAIR_MS, () => a.u.pair.state === "solo");
      const r = await a.u.maintenance(true);
      assert.deepEqual([r.ok, r.reason], [false, "peer-not-ready"]);
      assert.equal(a.u.snapshot().failsafe.maintenance, false);
    } finally {
      await a.close();
      await b.close();
    }
  },
});

Deno.test({
  name: "a link that loses carrier: fall results later the receiver hands over; back up, no flap",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    let carrier = true;
    const port: CarrierPort = { carrier: () => carrier };
    const track = {
      links: [{ interface: "front", device: "eth0" }],
      gateways: [],
      intervalMs: 20,
      rise: 2,
      fall: 3,
    };
    const a = new Node("a"), b = new Node("b");
    try {
      a.start("active", "active-forward", b, { track, carrier: port });
      b.start("standby", "active-forward", a);
      await paired(a, b);
      assert.deepEqual(a.u.snapshot().failsafe.checks, [
        { name: "link front", kind: "link", target: "eth0", up: true },
      ]);
      carrier = false;
      await until("b receives", SWITCH_MS, () => b.u.pair.receiver && !a.u.pair.receiver);
      const s = a.u.snapshot();
      assert.equal(s.failsafe.healthy, false);
      assert.equal(s.failsafe.checks[0]!.up, false);
      assert.ok(s.counters.failsafe_check_failures! >= 3);
      assert.equal(b.u.snapshot().failsafe.peerHealthy, false);
      carrier = true;
      await until("a healthy", SWITCH_MS, () => a.u.snapshot().failsafe.healthy);
      await new Promise((r) => setTimeout(r, 4 * INTERVAL_MS * DEAD_AFTER));
      assert.equal(b.u.pair.receiver, true, "no preempt: b keeps the role");
      assert.ok(a.notes.includes("standby unhealthy"), a.notes.join(", "));
    } finally {
      await a.close();
      await b.close();
    }
  },
});

Deno.test("a unit tells its pair at once that a gateway check has no verdict yet", () => {
  const u = new Unit(
    {
      node: "a",
      mode: "active-forward",
      role: "active",
      version: "test",
      engine: labEngineConfig("a", { capacity: 1024 }),
      configDigest: "00112233445566ff",
      rng: seeded(1),
      peer: null,
      failsafe: {
        track: {
          links: [],
          gateways: [{ interface: "front", iface: 0, ip: 0xc6336402 }],
          intervalMs: 1000,
          rise: 2,
          fall: 3,
        },
        preempt: true,
        preemptDelayMs: 0,
        stateDir: null,
        notify: null,
      },
    },
    [new MemoryPort("front"), new MemoryPort("back")],
    null,
  );
  assert.deepEqual(u.pair.local, { healthy: true, settled: false, maintenance: false });
  assert.deepEqual(u.snapshot().failsafe.checks, [
    { name: "gateway front", kind: "gateway", target: "198.51.100.2", up: true },
  ]);
  assert.equal(u.snapshot().failsafe.peerHealthy, null, "no peer");
});
