/**
 * Split brain end to end (DESIGN.md "Heartbeat": split brain resolves to exactly one owner and
 * the flows either side created during the split are merged, not dropped): two units in one
 * process, memory ports for their data interfaces, real UDP on 127.0.0.1 for the peer link, a
 * switch in the test that cuts the link both ways.
 */
import assert from "node:assert/strict";
import {
  BACKENDS,
  CLIENT,
  labEngineConfig,
  learnNeighbors,
  parseOut,
  seeded,
  tcpFrame,
  VIP,
} from "../engine/testing.ts";
import { FLOW_FIELDS, type FlowEntry } from "../flow/fields.ts";
import { libc } from "../port/ffi.ts";
import { MemoryPort } from "../port/memory.ts";
import { Unit } from "./unit.ts";
import { LOCAL, openLanes } from "./test_util.ts";

// Load libc before the tests: the sanitizer counts a library opened inside a test as a leak.
libc();

const KEY = new TextEncoder().encode("split brain test key, 32 bytes!!");
const INTERVAL_MS = 20;
const DEAD_AFTER = 25;
const DEAD_MS = INTERVAL_MS * DEAD_AFTER;
const SLACK_MS = 250 * INTERVAL_MS;

/** The link between the two units: `cut` loses every datagram, both ways. */
const link = { cut: false };

/** A unit's data and control lanes, whose sends the cut link swallows. */
function cuttableLanes() {
  const lanes = openLanes();
  for (const s of [lanes.data, lanes.control]) {
    const real = s.sendTo.bind(s);
    s.sendTo = (buf, len, ip, port) => link.cut || real(buf, len, ip, port);
  }
  return lanes;
}

class Node {
  readonly front = new MemoryPort("front");
  readonly back = new MemoryPort("back");
  readonly socks = cuttableLanes();
  u!: Unit;
  #ctrl = new AbortController();
  #done: Promise<void> = Promise.resolve();

  constructor(readonly name: "a" | "b") {}

  build(peer: Node): void {
    this.u = new Unit(
      {
        node: this.name,
        mode: "standby-forward",
        role: this.name === "a" ? "active" : "standby",
        version: "test",
        engine: labEngineConfig(this.name),
        configDigest: "00112233445566ff",
        rng: seeded(this.name === "a" ? 31 : 32),
        peer: {
          ip: LOCAL,
          port: peer.socks.base,
          key: KEY,
          intervalMs: INTERVAL_MS,
          deadAfter: DEAD_AFTER,
          holdNewFlowsMs: 0,
          garpRepeat: 1,
          probe: true,
        },
      },
      [this.front, this.back],
      { data: this.socks.data, control: this.socks.control },
    );
    learnNeighbors(this.u.engine);
    this.#done = this.u.run(this.#ctrl.signal);
  }

  async close(): Promise<void> {
    this.#ctrl.abort();
    await this.#done;
    for (const s of this.socks.all) s.close();
  }
}

async function until(what: string, cond: () => boolean, limitMs: number): Promise<void> {
  const start = performance.now();
  while (!cond()) {
    if (performance.now() - start > limitMs) assert.fail(`not within ${limitMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

const syn = (sport: number) =>
  tcpFrame({
    dstMac: labEngineConfig("a").virtualMacs[0]!,
    src: CLIENT,
    dst: VIP,
    sport,
    dport: 7000,
    seq: sport,
    flags: 0x02,
  });

const ipv4 = (p: MemoryPort) => p.sent.filter((f) => f[12] === 8 && f[13] === 0);

function entryOf(u: Unit, sport: number): FlowEntry | undefined {
  const ref = u.engine.flows.lookup(6, CLIENT, sport, VIP, 7000);
  return ref >= 0 && (ref & 1) === 0 ? u.engine.flows.entry(ref >> 1) : undefined;
}

Deno.test({
  name: "split brain: both serve alone, then exactly one owner; the loser's new flows are merged",
  sanitizeOps: true,
  sanitizeResources: true,
  async fn() {
    link.cut = false;
    const a = new Node("a"), b = new Node("b");
    try {
      a.build(b);
      b.build(a);
      const paired = () =>
        a.u.pair.state === "active" && b.u.pair.state === "standby" &&
        a.u.pair.peer === "up" && b.u.pair.peer === "up";
      await until("paired", paired, SLACK_MS);
      // A flow from before the split, held by both.
      a.front.inject(syn(48000));
      await until("both hold it", () => b.u.engine.flows.count === 1, SLACK_MS);

      // The link is cut: each declares the other dead and serves alone.
      link.cut = true;
      await until(
        "both solo",
        () => a.u.pair.state === "solo" && b.u.pair.state === "solo",
        DEAD_MS + SLACK_MS,
      );
      a.back.take();
      b.back.take();
      a.front.inject(syn(48001)); // only a sees this client
      b.front.inject(syn(48002)); // only b sees this one
      a.front.inject(syn(48003)); // and this one reaches both: a conflict
      b.front.inject(syn(48003));
      await until("a forwards its two", () => ipv4(a.back).length === 2, SLACK_MS);
      await until("b forwards its two", () => ipv4(b.back).length === 2, SLACK_MS);
      assert.equal(a.u.engine.flows.count, 3);
      assert.equal(b.u.engine.flows.count, 3);
      const aConflict = entryOf(a.u, 48003)!;

      // The link is back: b (lower priority) yields and joins; a keeps the addresses and takes
      // b's new flow; the flow both opened keeps a's decisions.
      link.cut = false;
      await until("one owner again", paired, SLACK_MS);
      assert.equal(a.u.engine.flows.count, 4, "48000, 48001, 48002 (merged), 48003 (a's)");
      const sa = a.u.snapshot();
      assert.equal(sa.counters.merged_flows, 1);
      assert.equal(sa.counters.merge_conflicts, 1);
      assert.ok(entryOf(a.u, 48002), "b's flow was merged, not dropped");
      assert.deepEqual(entryOf(a.u, 48003), aConflict);
      assert.ok(
        b.u.snapshot().events.some((e) =>
          e.detail === "sent the peer 2 flows opened during the split"
        ),
      );
      // b resynced from a: the same table, field for field.
      await until("b synced", () => b.u.engine.flows.count === 4, SLACK_MS);
      for (const sport of [48000, 48001, 48002, 48003]) {
        const x = entryOf(a.u, sport)!, y = entryOf(b.u, sport);
        assert.ok(y, `${sport} on b`);
        for (const { name } of FLOW_FIELDS) {
          assert.equal(y[name], x[name], `${sport}.${name}`);
        }
      }
      assert.equal(b.u.digest, a.u.digest);
      // And the pair forwards as one again: a receives, b emits.
      b.back.take();
      a.front.inject(syn(48004));
      await until("b forwards", () => ipv4(b.back).length === 1, SLACK_MS);
      const out = parseOut(ipv4(b.back)[0]!);
      assert.equal(out.tcp!.srcPort, 48004);
      assert.ok(BACKENDS.includes(out.ip.dst));
    } finally {
      link.cut = false;
      await a.close();
      await b.close();
    }
  },
});

Deno.test({
  name: "planned switchover: frames still sent to the old receiver are relayed to the new one",
  sanitizeOps: true,
  sanitizeResources: true,
  async fn() {
    link.cut = false;
    const a = new Node("a"), b = new Node("b");
    try {
      a.build(b);
      b.build(a);
      await until(
        "paired",
        () => a.u.pair.state === "active" && b.u.pair.state === "standby",
        SLACK_MS,
      );
      const r = await a.u.failover();
      assert.equal(r.ok, true);
      await until(
        "roles swapped",
        () => a.u.pair.state === "standby" && b.u.pair.state === "active",
        SLACK_MS,
      );
      // standby-forward: b receives now, a forwards. a relays for half a second.
      assert.equal(a.u.engine.roles.receiver, false);
      assert.equal(a.u.engine.roles.relay, true);
      assert.equal(b.u.engine.roles.relay, false);
      a.back.take();
      // A client whose switch still sends to a: a hands the SYN to b, b decides, a emits.
      a.front.inject(syn(49000));
      await until("a emits the SYN b decided", () => ipv4(a.back).length === 1, SLACK_MS);
      assert.equal(a.u.snapshot().counters.relayed, 1);
      assert.ok(entryOf(b.u, 49000), "b, the receiver, made the flow");
      assert.deepEqual(entryOf(a.u, 49000), entryOf(b.u, 49000));
      assert.deepEqual(ipv4(b.back), [], "b does not forward in standby-forward");
    } finally {
      await a.close();
      await b.close();
    }
  },
});
