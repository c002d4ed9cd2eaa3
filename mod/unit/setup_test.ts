import assert from "node:assert/strict";
import { parse, stringify } from "yaml";
import { type Config, parseConfig } from "../config/load.ts";
import { labConfigText } from "../config/lab_config.ts";
import { configDigest } from "../config/digest.ts";
import type { Mode } from "../ha/types.ts";
import { ipv4ToString, ipv6ToString, macToString } from "../wire/addr.ts";
import { engineConfig, unitSetup, VERSION, virtualMac } from "./setup.ts";

const KEY = "0123456789abcdef0123456789abcdef";
const FILES: Record<string, string> = {
  "/cfg/peer.key": KEY + "\n",
  "/cfg/api.token": "s3cret\n",
};
const readFile = (path: string): Uint8Array => {
  const text = FILES[path];
  if (text === undefined) throw new Deno.errors.NotFound(path);
  return new TextEncoder().encode(text);
};

// deno-lint-ignore no-explicit-any
type Doc = Record<string, any>;

/**
 * Lab unit `unit`'s config, optionally edited as a YAML document first. IPv4 only unless
 * `ipv6`: the IPv4 tests see exactly the lab they were written for.
 */
function lab(
  unit: "a" | "b",
  edit: (d: Doc) => void = () => {},
  mode: Mode = "standby-forward",
  ipv6 = false,
): Config {
  const doc = parse(
    labConfigText({ unit, keyFile: "/cfg/peer.key", tokenFile: "/cfg/api.token", mode, ipv6 }),
  ) as Doc;
  edit(doc);
  return parseConfig(stringify(doc), "/cfg", {}, readFile);
}

const hex = (m: Uint8Array) => macToString(m);

Deno.test("virtualMac: locally administered unicast 02:74:6e, then pair id and interface", () => {
  assert.equal(hex(virtualMac(0x1234, 0)), "02:74:6e:12:34:00");
  assert.equal(hex(virtualMac(0xabcd, 7)), "02:74:6e:ab:cd:07");
  assert.equal(hex(virtualMac(1, 1)), "02:74:6e:00:01:01");
  assert.equal(hex(virtualMac(65535, 255)), "02:74:6e:ff:ff:ff");
  const m = virtualMac(0x8001, 3);
  assert.equal(m.length, 6);
  assert.equal(m[0]! & 1, 0, "unicast");
  assert.equal(m[0]! & 2, 2, "locally administered");
});

Deno.test("virtual MACs: the same on both units of a pair, from the pair identity alone", () => {
  const a = engineConfig(lab("a"));
  const b = engineConfig(lab("b"));
  assert.equal(a.virtualMacs.length, 2);
  assert.deepEqual(a.virtualMacs.map(hex), b.virtualMacs.map(hex));
  assert.notEqual(hex(a.virtualMacs[0]!), hex(a.virtualMacs[1]!), "one per interface");
  // The units' own MACs differ.
  assert.notEqual(hex(a.interfaces[0]!.mac), hex(b.interfaces[0]!.mac));
  // An explicit pair id is used as is.
  const c = engineConfig(lab("a", (d) => d.peer.pair_id = 0x0102));
  assert.deepEqual(c.virtualMacs.map(hex), ["02:74:6e:01:02:00", "02:74:6e:01:02:01"]);
  const d = engineConfig(lab("b", (d) => d.peer.pair_id = 0x0102));
  assert.deepEqual(d.virtualMacs.map(hex), c.virtualMacs.map(hex));
});

Deno.test("virtual MACs do not move when a service or a backend is edited", () => {
  const before = engineConfig(lab("a")).virtualMacs.map(hex);
  const edits: ((d: Doc) => void)[] = [
    (d) => d.services[0].backends = ["203.0.113.22:7000"],
    (d) => d.services.pop(),
    (d) => d.services[1].listen = "198.51.100.10:9999",
    (d) => d.services[0].scheduler = "maglev",
  ];
  for (const edit of edits) {
    const cfg = lab("a", edit);
    assert.notEqual(
      configDigest(cfg),
      configDigest(lab("a")),
      "(the edit changes the config)",
    );
    assert.deepEqual(engineConfig(cfg).virtualMacs.map(hex), before);
  }
  // Nor does renaming the node (a per-node field).
  assert.deepEqual(engineConfig(lab("a", (d) => d.node.name = "x")).virtualMacs.map(hex), before);
});

Deno.test("virtual MACs differ for another pair", () => {
  const one = engineConfig(lab("a", (d) => d.peer.pair_id = 7)).virtualMacs.map(hex);
  const two = engineConfig(lab("a", (d) => d.peer.pair_id = 8)).virtualMacs.map(hex);
  assert.notDeepEqual(one, two);
  assert.deepEqual(one, ["02:74:6e:00:07:00", "02:74:6e:00:07:01"]);
  // Derived from other HA endpoints: another pair, other MACs.
  const other = engineConfig(lab("a", (d) => {
    d.peer.listen = "192.0.2.9:4790";
    d.peer.address = "192.0.2.10:4790";
  }));
  assert.notDeepEqual(other.virtualMacs.map(hex), engineConfig(lab("a")).virtualMacs.map(hex));
});

Deno.test("engineConfig: interfaces, floating addresses and services as the engine takes them", () => {
  const cfg = lab("a", (d) => {
    d.services[0].source_nat = undefined;
    d.flows = { capacity: 4096 };
  });
  const e = engineConfig(cfg);
  assert.deepEqual(
    e.interfaces.map((i) => [i.name, ipv4ToString(i.ip), i.prefix, hex(i.mac)]),
    cfg.interfaces.map((i) => [i.name, ipv4ToString(i.address), i.prefix, hex(i.mac)]),
  );
  assert.deepEqual(e.interfaces.map((i) => i.name), ["front", "back"]);
  assert.deepEqual(
    e.floating.map((f) => [ipv4ToString(f.ip), f.prefix, f.iface]),
    [["198.51.100.10", 24, 0], ["203.0.113.1", 24, 1]],
  );
  assert.deepEqual(
    e.services.map((s) => [
      s.name,
      s.proto,
      ipv4ToString(s.vip),
      s.port,
      s.iface,
      s.backends.map((b) => `${ipv4ToString(b.ip)}:${b.port}`),
      s.scheduler,
      s.snatIp,
      s.randomizeIsn,
    ]),
    [
      [
        "echo",
        6,
        "198.51.100.10",
        7000,
        0,
        ["203.0.113.20:7000", "203.0.113.21:7000"],
        "round-robin",
        0,
        false,
      ],
      [
        "echo-udp",
        17,
        "198.51.100.10",
        7001,
        0,
        ["203.0.113.20:7001", "203.0.113.21:7001"],
        "round-robin",
        0,
        false,
      ],
      [
        "http",
        6,
        "198.51.100.10",
        80,
        0,
        ["203.0.113.20:80", "203.0.113.21:80"],
        "round-robin",
        0,
        false,
      ],
    ],
  );
  assert.equal(e.capacity, 4096);
  assert.deepEqual(e.timeouts, cfg.timeouts);
  assert.equal(e.arpQueueLimit, 64);
});

Deno.test("engineConfig: a source NAT address and ISN randomisation pass through", () => {
  const cfg = lab("a", (d) => {
    d.services[0].source_nat = "203.0.113.1";
    d.services[0].randomize_isn = true;
  });
  const s = engineConfig(cfg).services[0]!;
  assert.equal(ipv4ToString(s.snatIp), "203.0.113.1");
  assert.equal(s.randomizeIsn, true);
});

Deno.test("engineConfig: syn_proxy passes through (auto by default for tcp, off for udp)", () => {
  const def = engineConfig(lab("a", () => {})).services;
  assert.deepEqual(def.map((s) => [s.proto, s.synProxy]).filter(([p]) => p === 17)[0], [17, "off"]);
  assert.equal(def.find((s) => s.proto === 6)!.synProxy, "auto");
  const on = engineConfig(lab("a", (d) => (d.services[0].syn_proxy = "on"))).services[0]!;
  assert.equal(on.synProxy, "on");
});

Deno.test("engineConfig: peer.mirror_payload reaches the engine (headers by default)", () => {
  assert.equal(engineConfig(lab("a")).mirrorPayload, "headers");
  const full = lab("a", (d) => (d.peer.mirror_payload = "full"), "active-forward");
  assert.equal(engineConfig(full).mirrorPayload, "full");
  assert.equal(engineConfig(lab("a", (d) => delete d.peer)).mirrorPayload, "headers");
});

Deno.test("unitSetup: node, mode, role, version, digest and the peer's settings", () => {
  const cfg = lab("b", (d) => {
    d.peer.heartbeat_interval = "20ms";
    d.peer.dead_after = 4;
    d.peer.garp_repeat = 5;
    d.peer.probe = false;
  }, "active-forward");
  const s = unitSetup(cfg);
  assert.equal(s.node, "b");
  assert.equal(s.mode, "active-forward");
  assert.equal(s.role, "standby");
  assert.equal(s.version, VERSION);
  assert.equal(s.configDigest, configDigest(cfg));
  assert.deepEqual(s.engine, engineConfig(cfg));
  assert.ok(s.peer);
  assert.deepEqual({ ...s.peer, key: [...s.peer.key] }, {
    ip: 0xc0000201, // 192.0.2.1: a's HA address
    port: 4790,
    key: [...new TextEncoder().encode(KEY)],
    intervalMs: 20,
    deadAfter: 4,
    holdNewFlowsMs: 0,
    garpRepeat: 5,
    probe: false,
  });
  // A unit process: the loop may block its thread while traffic flows; busy-poll as configured.
  assert.equal(s.blockingWait, true);
  assert.equal(s.busyPollMs, cfg.busyPollMs);
  const held = unitSetup(lab("a", (d) => d.peer.hold_new_flows = "15ms", "active-forward"));
  assert.equal(held.peer?.holdNewFlowsMs, 15);
  assert.equal(held.role, "active");
});

Deno.test("unitSetup: no peer configured, no peer setup", () => {
  const s = unitSetup(lab("a", (d) => delete d.peer));
  assert.equal(s.peer, null);
  // Alone, the pair id comes from the node name: the MACs are still pair-wide constants.
  assert.equal(s.engine.virtualMacs.length, 2);
});

Deno.test("engineConfig: each interface's mtu reaches the engine", () => {
  assert.deepEqual(engineConfig(lab("a")).interfaces.map((i) => i.mtu), [1500, 1500]);
  const e = engineConfig(lab("a", (d) => (d.interfaces.back.mtu = 1400)));
  assert.deepEqual(e.interfaces.map((i) => [i.name, i.mtu]), [["front", 1500], ["back", 1400]]);
});

Deno.test("engineConfig: dual stack adds IPv6 words, low words in the plain fields", () => {
  const e = engineConfig(lab("a", () => {}, "standby-forward", true));
  const w = (x: ArrayLike<number> | undefined) => x === undefined ? "-" : ipv6ToString(x);
  assert.deepEqual(
    e.interfaces.map((i) => [i.name, w(i.ip6), i.prefix6]),
    [["front", "2001:db8:100::3", 64], ["back", "2001:db8:113::3", 64]],
  );
  assert.deepEqual(
    e.floating.map((f) => [w(f.ip6), f.ip, f.prefix, f.iface]),
    [
      ["-", 0xc633640a, 24, 0],
      ["-", 0xcb007101, 24, 1],
      ["2001:db8:100::10", 0x10, 64, 0],
      ["2001:db8:113::1", 0x1, 64, 1],
    ],
  );
  const six = e.services.slice(3);
  assert.deepEqual(
    six.map((s) => [s.name, s.proto, w(s.vip6), s.vip, s.port, s.iface, s.snatIp, "snatIp6" in s]),
    [
      ["echo6", 6, "2001:db8:100::10", 0x10, 7000, 0, 0, false],
      ["udp-echo6", 17, "2001:db8:100::10", 0x10, 7001, 0, 0, false],
      ["http6", 6, "2001:db8:100::10", 0x10, 80, 0, 0, false],
    ],
  );
  assert.deepEqual(
    six[0]!.backends.map((b) => [w(b.ip6), b.ip, b.port]),
    [["2001:db8:113::20", 0x20, 7000], ["2001:db8:113::21", 0x21, 7000]],
  );
  assert.deepEqual(six[0]!.health, e.services[0]!.health, "the same checks as the IPv4 twin");
  const snat = engineConfig(
    lab("a", (d) => (d.services[3].source_nat = "2001:db8:113::1"), "standby-forward", true),
  ).services[3]!;
  assert.equal(w(snat.snatIp6), "2001:db8:113::1");
  assert.equal(snat.snatIp, 1);
});

Deno.test("engineConfig: the IPv4 part of a dual-stack lab maps exactly as the IPv4-only lab", () => {
  const v4 = engineConfig(lab("a"));
  const ds = engineConfig(lab("a", () => {}, "standby-forward", true));
  assert.ok(v4.interfaces.every((i) => !("ip6" in i) && !("prefix6" in i)), "no IPv6 keys");
  assert.ok(v4.floating.every((f) => !("ip6" in f)));
  assert.ok(v4.services.every((s) => !("vip6" in s) && s.backends.every((b) => !("ip6" in b))));
  assert.deepEqual(
    ds.interfaces.map(({ ip6: _a, prefix6: _b, ...rest }) => rest),
    v4.interfaces,
  );
  assert.deepEqual(ds.floating.slice(0, 2), v4.floating);
  assert.deepEqual(ds.services.slice(0, 3), v4.services);
  // The engine gets its own copy of the words.
  const cfg = lab("a", () => {}, "standby-forward", true);
  const e = engineConfig(cfg);
  assert.notEqual(e.interfaces[0]!.ip6, cfg.interfaces[0]!.address6);
});
