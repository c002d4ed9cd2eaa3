import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { parse, stringify } from "yaml";
import { ipv4ToString, macToString } from "../wire/addr.ts";
import { configDigest } from "./digest.ts";
import { labConfigText } from "./lab_config.ts";
import { DEFAULT_BUSY_POLL_MS } from "./schema.ts";
import { restartField } from "./reload.ts";
import {
  type Config,
  ConfigError,
  deriveMac,
  loadConfig,
  type Overrides,
  parseConfig,
} from "./load.ts";

const TESTDATA = fileURLToPath(new URL("./testdata/", import.meta.url));
const A_TEXT = Deno.readTextFileSync(`${TESTDATA}a.yaml`);
const KEY = "0123456789abcdef0123456789abcdef\n";

/** In-memory files under /cfg, so tests need no disk and can inject broken key files. */
function fakeFs(files: Record<string, string>): (path: string) => Uint8Array {
  return (path) => {
    const text = files[path];
    if (text === undefined) {
      throw new Deno.errors.NotFound(`No such file or directory (os error 2): readfile '${path}'`);
    }
    return new TextEncoder().encode(text);
  };
}

// deno-lint-ignore no-explicit-any
type Doc = Record<string, any>;

const FILES = { "/cfg/peer.key": KEY, "/cfg/api.token": "s3cret\n" };

function parseA(
  mutate: (doc: Doc) => void = () => {},
  overrides: Overrides = {},
  files: Record<string, string> = FILES,
): Config {
  const doc = parse(A_TEXT);
  mutate(doc);
  return parseConfig(stringify(doc), "/cfg", overrides, fakeFs(files));
}

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  assert.fail("expected a ConfigError");
}

interface BadCase {
  field: string;
  mutate: (d: Doc) => void;
  overrides?: Overrides;
  files?: Record<string, string>;
  /** Substring the message must contain besides the field. */
  says?: string;
}

const BAD: BadCase[] = [
  { field: "node.name", mutate: (d) => (d.node.name = "bad name!"), says: "not a node name" },
  { field: "node.name", mutate: (d) => delete d.node.name, says: "missing" },
  { field: "nodes", mutate: (d) => (d.nodes = { name: "x" }), says: "unknown key" },
  { field: "role", mutate: (d) => (d.role = "leader"), says: "must be one of active, standby" },
  { field: "role", mutate: (d) => delete d.role, says: "--role" },
  { field: "mode", mutate: (d) => (d.mode = "hot"), says: '(got "hot")' },
  { field: "mode", mutate: (d) => delete d.mode, says: "--mode" },
  {
    field: "interfaces.Front",
    mutate: (d) => (d.interfaces.Front = d.interfaces.front),
    says: "interface name",
  },
  {
    field: "interfaces.front.tap",
    mutate: (d) => (d.interfaces.front.tap = "tap-name-too-long-16"),
    says: "TAP device name",
  },
  {
    field: "interfaces.front.address",
    mutate: (d) => (d.interfaces.front.address = "198.51.100.3"),
    says: "address/prefix",
  },
  {
    field: "interfaces.front.address",
    mutate: (d) => (d.interfaces.front.address = "198.51.100.3/33"),
  },
  {
    field: "interfaces.front.mac",
    mutate: (d) => (d.interfaces.front.mac = "01:00:5e:00:00:01"),
    says: "multicast",
  },
  { field: "interfaces.front.mac", mutate: (d) => (d.interfaces.front.mac = "02:00:00") },
  {
    field: "interfaces.front.mtu",
    mutate: (d) => (d.interfaces.front.mtu = 67),
    says: "68..65535",
  },
  { field: "interfaces.front.mtu", mutate: (d) => (d.interfaces.front.mtu = 65536) },
  { field: "interfaces.front.mtu", mutate: (d) => (d.interfaces.front.mtu = 1500.5) },
  { field: "interfaces.front.mtu", mutate: (d) => (d.interfaces.front.mtu = "1500") },
  { field: "interfaces.front.jumbo", mutate: (d) => (d.interfaces.front.jumbo = true) },
  { field: "interfaces", mutate: (d) => (d.interfaces = {}), says: "at least 1" },
  {
    field: "interfaces",
    mutate: (d) => {
      for (let i = 0; i < 8; i++) {
        d.interfaces[`x${i}`] = { tap: `t${i}`, address: `10.${i}.0.1/24` };
      }
    },
    says: "at most 8",
  },
  {
    field: "interfaces.back.tap",
    mutate: (d) => (d.interfaces.back.tap = "tnd-front"),
    says: "also used by interfaces.front",
  },
  {
    field: "interfaces.back.address",
    mutate: (d) => (d.interfaces.back.address = "198.51.100.5/24"),
    says: "overlaps",
  },
  {
    field: "floating[0].interface",
    mutate: (d) => (d.floating[0].interface = "side"),
    says: "not one of the interfaces",
  },
  {
    field: "floating[1].address",
    mutate: (d) => (d.floating[1].address = "192.0.2.9/24"),
    says: "not in the subnet of interfaces.back",
  },
  {
    field: "floating[0].address",
    mutate: (d) => (d.floating[0].address = "198.51.100.3/24"),
    says: "self address",
  },
  { field: "floating", mutate: (d) => (d.floating = []), says: "at least 1 entry" },
  {
    field: "floating[1].address",
    mutate: (d) => d.floating.push({ ...d.floating[0] }) && d.floating.splice(1, 1),
    says: "already floating[0]",
  },
  { field: "services", mutate: (d) => delete d.services, says: "missing" },
  {
    field: "services[0].listen",
    mutate: (d) => (d.services[0].listen = "198.51.100.10"),
    says: "IPv4 or [IPv6]:port address",
  },
  {
    field: "services[0].listen",
    mutate: (d) => (d.services[0].listen = "198.51.100.11:7000"),
    says: "not a floating address",
  },
  {
    field: "services[1].protocol",
    mutate: (d) => (d.services[1].protocol = "sctp"),
    says: "must be one of tcp, udp",
  },
  { field: "services[0].backends", mutate: (d) => (d.services[0].backends = []) },
  {
    field: "services[0].backends[1]",
    mutate: (d) => (d.services[0].backends[1] = "192.0.2.50:7000"),
    says: "not in the subnet of any interface",
  },
  {
    field: "services[0].backends[1]",
    mutate: (d) => (d.services[0].backends[1] = d.services[0].backends[0]),
    says: "already services[0].backends[0]",
  },
  {
    field: "services[0].backends[0]",
    mutate: (d) => (d.services[0].backends[0] = "203.0.113.1:7000"),
    says: "address of this appliance",
  },
  { field: "services[2].scheduler", mutate: (d) => (d.services[2].scheduler = "random") },
  {
    field: "services[2].listen",
    mutate: (d) => (d.services[2].listen = d.services[0].listen),
    says: "already services[0]",
  },
  {
    field: "services[0].source_nat",
    mutate: (d) => (d.services[0].source_nat = "203.0.113.3"),
    says: "not a floating address",
  },
  {
    field: "services[0].source_nat",
    mutate: (d) => (d.services[0].source_nat = "198.51.100.10"),
    says: "reached through interfaces.back",
  },
  { field: "services[0].source_nat", mutate: (d) => (d.services[0].source_nat = "203.0.113") },
  {
    field: "services[1].randomize_isn",
    mutate: (d) => (d.services[1].randomize_isn = true),
    says: "only applies to protocol tcp",
  },
  {
    field: "services[0].randomize_isn",
    mutate: (d) => (d.services[0].randomize_isn = "yes"),
    says: "not true or false",
  },
  {
    field: "services[0].pickup",
    mutate: (d) => (d.services[0].pickup = true),
    says: "needs scheduler maglev",
  },
  {
    field: "services[1].pickup",
    mutate: (d) => (d.services[1].pickup = true),
    says: "only applies to protocol tcp",
  },
  {
    field: "services[2].pickup",
    mutate: (d) => (d.services[2].pickup = true, d.services[2].randomize_isn = true),
    says: "cannot be used with randomize_isn",
  },
  {
    field: "services[2].pickup",
    mutate: (d) => (d.services[2].pickup = true, d.services[2].source_nat = "203.0.113.1"),
    says: "cannot be used with source_nat",
  },
  {
    field: "services[1].syn_proxy",
    mutate: (d) => (d.services[1].syn_proxy = "on"),
    says: "only applies to protocol tcp",
  },
  {
    field: "services[2].syn_proxy",
    mutate: (d) => (d.services[2].pickup = true, d.services[2].syn_proxy = "auto"),
    says: "cannot be used with pickup",
  },
  {
    field: "services[0].syn_proxy",
    mutate: (d) => (d.services[0].syn_proxy = "sometimes"),
    says: "must be one of off, on, auto",
  },
  { field: "services[0].port", mutate: (d) => (d.services[0].port = 7000), says: "unknown key" },
  {
    // A typo'd key is reported rather than the "missing listen" it causes.
    field: "services[0].listn",
    mutate: (d) => (d.services[0].listn = d.services[0].listen) && delete d.services[0].listen,
    says: "unknown key",
  },
  { field: "peer.listen", mutate: (d) => (d.peer.listen = "192.0.2.1:0") },
  {
    field: "peer.address",
    mutate: (d) => (d.peer.address = d.peer.listen),
    says: "same as peer.listen",
  },
  {
    field: "peer.heartbeat_interval",
    mutate: (d) => (d.peer.heartbeat_interval = "10"),
    says: "not a duration",
  },
  {
    field: "peer.heartbeat_interval",
    mutate: (d) => (d.peer.heartbeat_interval = 10),
    says: "not a duration",
  },
  {
    field: "peer.heartbeat_interval",
    mutate: (d) => (d.peer.heartbeat_interval = "20s"),
    says: "out of range 1ms..10s",
  },
  {
    field: "peer.heartbeat_intervall",
    mutate: (d) => (d.peer.heartbeat_intervall = "20ms"),
    says: "unknown key",
  },
  { field: "peer.dead_after", mutate: (d) => (d.peer.dead_after = 1), says: "out of range 2..100" },
  { field: "peer.dead_after", mutate: (d) => (d.peer.dead_after = 2.5), says: "not an integer" },
  {
    field: "peer.hold_new_flows",
    mutate: (d) => (d.peer.hold_new_flows = "20ms"),
    says: "only valid with mode active-forward (mode is standby-forward)",
  },
  {
    field: "peer.hold_new_flows",
    mutate: (d) => (d.peer.hold_new_flows = "2s"),
    overrides: { mode: "active-forward" },
    says: "out of range",
  },
  {
    field: "peer.mirror_payload",
    mutate: (d) => (d.peer.mirror_payload = "payload"),
    says: "headers, full",
  },
  { field: "peer.garp_repeat", mutate: (d) => (d.peer.garp_repeat = 21) },
  { field: "peer.probe", mutate: (d) => (d.peer.probe = "on") },
  { field: "peer.key_file", mutate: (d) => delete d.peer.key_file, says: "missing" },
  {
    field: "peer.key_file",
    mutate: () => {},
    files: { ...FILES, "/cfg/peer.key": "short-key\n" },
    says: "holds 9 bytes; the key needs at least 16",
  },
  {
    field: "peer.key_file",
    mutate: (d) => (d.peer.key_file = "nope.key"),
    says: "cannot read /cfg/nope.key: No such file or directory",
  },
  { field: "api.listen", mutate: (d) => (d.api.listen = "localhost:9090") },
  {
    field: "api.token_file",
    mutate: (d) => (d.api.token_file = "../other/api.token"),
    says: "cannot read /other/api.token",
  },
  {
    field: "api.token_file",
    mutate: () => {},
    files: { ...FILES, "/cfg/api.token": " \n" },
    says: "is empty",
  },
  { field: "flows.capacity", mutate: (d) => (d.flows = { capacity: 100 }), says: "1024..16777216" },
  {
    field: "timeouts.tcp_established",
    mutate: (d) => (d.timeouts = { tcp_established: "forever" }),
    says: "not a duration",
  },
  {
    field: "timeouts.tcp_syn",
    mutate: (d) => (d.timeouts = { tcp_syn: "0.5s" }),
    says: "out of range 1s..720h",
  },
  { field: "timeouts.sctp", mutate: (d) => (d.timeouts = { sctp: "1m" }), says: "unknown key" },
  { field: "log.level", mutate: (d) => (d.log.level = "verbose"), says: "debug, info" },
  { field: "log.format", mutate: (d) => (d.log.format = "xml"), says: "text, json" },
  { field: "log", mutate: (d) => (d.log = "info"), says: "expected a mapping" },
];

Deno.test(`config: each bad value names exactly its field (${BAD.length} cases)`, () => {
  assert.ok(BAD.length >= 25);
  for (const c of BAD) {
    const err = configError(() => parseA(c.mutate, c.overrides ?? {}, c.files ?? FILES));
    assert.equal(err.field, c.field, `${c.field}: got ${err.message}`);
    assert.ok(err.message.startsWith(`config: ${c.field}: `), err.message);
    if (c.says !== undefined) assert.ok(err.message.includes(c.says), `${c.field}: ${err.message}`);
    assert.ok(!err.message.includes("\n"), "one line");
  }
});

Deno.test("config: a bad backend gets the exact message from the design", () => {
  const err = configError(() => parseA((d) => (d.services[1].backends[0] = "203.0.113.999:7000")));
  assert.equal(
    err.message,
    'config: services[1].backends[0]: "203.0.113.999:7000" is not an IPv4 or [IPv6]:port address',
  );
});

Deno.test("config: YAML syntax errors name the line", () => {
  const text = "node: { name: a }\nrole: active\nservices: [1, 2\nmode: x\n";
  const err = configError(() => parseConfig(text, "/cfg", {}, fakeFs(FILES)));
  assert.equal(err.line, 4);
  assert.match(err.message, /^config: line 4: /);
  assert.ok(!err.message.includes("\n"));
  const dup = configError(() => parseConfig("role: active\nrole: standby\n", "/cfg"));
  assert.match(dup.message, /^config: line 2: Map keys must be unique/);
});

Deno.test("config: empty file, non-mapping and unresolved alias are one-line errors", () => {
  assert.equal(configError(() => parseConfig("", "/cfg")).message, "config: the file is empty");
  assert.equal(
    configError(() => parseConfig("- a\n", "/cfg")).message,
    "config: the top level must be a mapping",
  );
  assert.match(configError(() => parseConfig("a: *nope\n", "/cfg")).message, /^config: .*alias/i);
});

Deno.test("config: a missing file says so like the shell does", () => {
  const err = configError(() => loadConfig("tandem.yaml", {}, fakeFs({})));
  assert.equal(err.message, "config: cannot read tandem.yaml: No such file or directory");
  const real = configError(() => loadConfig("/nonexistent-tandem-dir/tandem.yaml"));
  assert.equal(
    real.message,
    "config: cannot read /nonexistent-tandem-dir/tandem.yaml: No such file or directory",
  );
});

Deno.test("config: the lab file for unit a resolves to numbers", () => {
  const c = loadConfig(`${TESTDATA}a.yaml`);
  assert.equal(c.node.name, "a");
  assert.equal(c.role, "active");
  assert.equal(c.mode, "standby-forward");
  assert.deepEqual(c.interfaces.map((i) => [i.name, i.tap, ipv4ToString(i.address), i.prefix]), [
    ["front", "tnd-front", "198.51.100.3", 24],
    ["back", "tnd-back", "203.0.113.3", 24],
  ]);
  assert.deepEqual(c.floating.map((f) => [ipv4ToString(f.address), f.prefix, f.interface]), [
    ["198.51.100.10", 24, "front"],
    ["203.0.113.1", 24, "back"],
  ]);
  assert.equal(c.services.length, 3);
  const echo = c.services[0]!;
  assert.equal(echo.listen.address, 0xc633640a);
  assert.equal(echo.listen.port, 7000);
  assert.equal(echo.interface, "front");
  assert.deepEqual(echo.backends.map((b) => [b.text, b.interface]), [
    ["203.0.113.20:7000", "back"],
    ["203.0.113.21:7000", "back"],
  ]);
  assert.equal(c.services[1]!.protocol, "udp");
  assert.equal(c.services[2]!.scheduler, "maglev");
  const peer = c.peer!;
  assert.equal(peer.listen.text, "192.0.2.1:4790");
  assert.equal(peer.address.text, "192.0.2.2:4790");
  assert.equal(peer.keyFile, `${TESTDATA}peer.key`);
  assert.equal(peer.key.length, 64, "trailing newline trimmed, hex kept as bytes");
  assert.equal(peer.heartbeatIntervalMs, 10);
  assert.equal(peer.deadAfter, 5);
  assert.equal(c.api.listen.text, "127.0.0.1:9090");
  assert.equal(c.api.token, "lab-test-token-0123456789");
});

Deno.test("config: defaults are applied", () => {
  const c = parseA((d) => {
    delete d.services[1].scheduler;
    delete d.peer.heartbeat_interval;
    delete d.peer.dead_after;
    delete d.peer.garp_repeat;
    delete d.peer.probe;
    delete d.api;
    delete d.log;
  });
  assert.equal(c.services[1]!.scheduler, "round-robin");
  assert.equal(c.services[0]!.sourceNat, undefined);
  assert.equal(c.services[0]!.randomizeIsn, false);
  assert.deepEqual(
    {
      hb: c.peer!.heartbeatIntervalMs,
      dead: c.peer!.deadAfter,
      hold: c.peer!.holdNewFlowsMs,
      payload: c.peer!.mirrorPayload,
      garp: c.peer!.garpRepeat,
      probe: c.peer!.probe,
    },
    { hb: 4, dead: 6, hold: 0, payload: "headers", garp: 3, probe: true },
  );
  assert.equal(c.api.listen.text, "127.0.0.1:9090");
  assert.equal(c.api.token, undefined);
  assert.equal(c.flows.capacity, 1_048_576);
  assert.deepEqual(c.timeouts, {
    tcpSyn: 30_000,
    tcpEstablished: 7_200_000,
    tcpFin: 120_000,
    tcpTimeWait: 120_000,
    tcpClose: 10_000,
    udp: 30_000,
    udpStream: 180_000,
    icmp: 30_000,
  });
  assert.deepEqual(c.log, { level: "info", format: "text" });
  // An appliance's heartbeats must not wait behind other load (docs/pair.md).
  assert.equal(c.scheduling, "realtime");
  assert.equal(c.busyPollMs, DEFAULT_BUSY_POLL_MS);
});

Deno.test("config: busy_poll takes a duration up to 10 ms; more is refused by name", () => {
  assert.equal(parseA((d) => d.busy_poll = "50us").busyPollMs, 0.05);
  assert.equal(parseA((d) => d.busy_poll = "0ms").busyPollMs, 0);
  assert.throws(() => parseA((d) => d.busy_poll = "11ms"), /busy_poll.*out of range 0ms\.\.10ms/);
  assert.throws(() => parseA((d) => d.busy_poll = 5), /busy_poll/);
});

Deno.test("config: given values are converted (durations with decimals, SNAT, ISN)", () => {
  const c = parseA((d) => {
    d.mode = "active-forward";
    d.peer.hold_new_flows = "20ms";
    d.peer.heartbeat_interval = "1.5s";
    d.timeouts = { tcp_established: "1.5h", udp: "45s" };
    d.services[0].source_nat = "203.0.113.1";
    d.services[0].randomize_isn = true;
    d.flows = { capacity: 4096 };
  });
  assert.equal(c.peer!.holdNewFlowsMs, 20);
  assert.equal(c.peer!.heartbeatIntervalMs, 1500);
  assert.equal(c.timeouts.tcpEstablished, 5_400_000);
  assert.equal(c.timeouts.udp, 45_000);
  assert.equal(c.timeouts.tcpSyn, 30_000, "unset timeouts keep their default");
  assert.equal(c.services[0]!.sourceNat, 0xcb007101);
  assert.equal(c.services[0]!.randomizeIsn, true);
  assert.equal(c.flows.capacity, 4096);
  assert.equal(c.services[0]!.pickup, false, "pickup is off by default");
  assert.equal(parseA((d) => (d.services[2].pickup = true)).services[2]!.pickup, true);
});

Deno.test("config: flags override the file", () => {
  const c = parseA(() => {}, {
    role: "standby",
    mode: "standby-first",
    api: "127.0.0.1:9191",
    logLevel: "debug",
    logFormat: "json",
  });
  assert.equal(c.role, "standby");
  assert.equal(c.mode, "standby-first");
  assert.equal(c.api.listen.text, "127.0.0.1:9191");
  assert.equal(c.api.token, "s3cret", "the token file still comes from the file");
  assert.deepEqual(c.log, { level: "debug", format: "json" });
  // Flags also fill in what the file leaves out.
  const bare = parseA((d) => {
    delete d.role;
    delete d.mode;
    delete d.api;
  }, { role: "active", mode: "active-forward", api: "127.0.0.1:0" });
  assert.equal(bare.role, "active");
  assert.equal(bare.mode, "active-forward");
  assert.equal(bare.api.listen.port, 0);
});

Deno.test("config: relative key and token paths resolve against the config's folder", () => {
  const seen: string[] = [];
  const files: Record<string, string> = {
    "/etc/tandem/peer.key": KEY,
    "/etc/tandem/keys/api.token": "tok\n",
    "/abs/peer.key": KEY,
  };
  const read = (p: string): Uint8Array => {
    seen.push(p);
    return fakeFs(files)(p);
  };
  const doc = parse(A_TEXT);
  doc.api.token_file = "keys/api.token";
  const c = parseConfig(stringify(doc), "/etc/tandem", {}, read);
  assert.equal(c.peer!.keyFile, "/etc/tandem/peer.key");
  assert.equal(c.api.tokenFile, "/etc/tandem/keys/api.token");
  assert.equal(c.api.token, "tok");
  assert.deepEqual(seen, ["/etc/tandem/peer.key", "/etc/tandem/keys/api.token"]);
  doc.peer.key_file = "/abs/peer.key";
  assert.equal(parseConfig(stringify(doc), "/etc/tandem", {}, read).peer!.keyFile, "/abs/peer.key");
});

Deno.test("config: the peer key is the file's bytes minus one trailing newline", () => {
  const c = parseA(() => {}, {}, { ...FILES, "/cfg/peer.key": "0123456789abcdef\r\n" });
  assert.equal(new TextDecoder().decode(c.peer!.key), "0123456789abcdef");
});

Deno.test("config: no peer section means a unit working alone", () => {
  const c = parseA((d) => delete d.peer);
  assert.equal(c.peer, undefined);
});

Deno.test("config: default MACs are deterministic, locally administered unicast, per node", () => {
  const a = parseA();
  const again = parseA();
  const b = parseA((d) => (d.node.name = "b"));
  for (const i of a.interfaces) {
    assert.equal(i.macDerived, true);
    assert.equal(i.mac[0]! & 0x03, 0x02, "U/L bit set, I/G bit clear");
  }
  assert.deepEqual(a.interfaces[0]!.mac, again.interfaces[0]!.mac);
  assert.deepEqual(a.interfaces[0]!.mac, deriveMac("a", "front"));
  assert.notDeepEqual(a.interfaces[0]!.mac, a.interfaces[1]!.mac);
  assert.notDeepEqual(a.interfaces[0]!.mac, b.interfaces[0]!.mac);
  const given = parseA((d) => (d.interfaces.front.mac = "02:00:00:00:0a:01"));
  assert.equal(macToString(given.interfaces[0]!.mac), "02:00:00:00:0a:01");
  assert.equal(given.interfaces[0]!.macDerived, false);
});

Deno.test("digest: equal for lab units a and b, different when shared fields change", () => {
  const a = loadConfig(`${TESTDATA}a.yaml`);
  const b = loadConfig(`${TESTDATA}b.yaml`);
  assert.match(configDigest(a), /^[0-9a-f]{16}$/);
  assert.equal(configDigest(a), configDigest(b));
  // Per-node fields do not count.
  const local = parseA((d) => {
    d.node.name = "z";
    d.interfaces.front.mac = "02:00:00:00:0a:01";
    d.peer.listen = "192.0.2.5:4790";
  }, { role: "standby", api: "127.0.0.1:9999" });
  assert.equal(configDigest(local), configDigest(a));
  const backend = parseA((d) => (d.services[0].backends[1] = "203.0.113.22:7000"));
  assert.notEqual(configDigest(backend), configDigest(a));
  assert.notEqual(configDigest(parseA(() => {}, { mode: "standby-first" })), configDigest(a));
  const vip = parseA((d) => d.floating.push({ address: "198.51.100.11/24", interface: "front" }));
  assert.notEqual(configDigest(vip), configDigest(a));
});

Deno.test("lab config: both units parse and agree on the digest", () => {
  const files = { "/lab/peer.key": KEY, "/lab/api.token": "t\n" };
  const opts = { keyFile: "/lab/peer.key", tokenFile: "/lab/api.token" };
  const a = parseConfig(
    labConfigText({ unit: "a", ...opts }),
    "/",
    { mode: "standby-forward" },
    fakeFs(files),
  );
  const b = parseConfig(
    labConfigText({ unit: "b", ...opts }),
    "/",
    { mode: "standby-forward" },
    fakeFs(files),
  );
  assert.equal(a.role, "active");
  assert.equal(b.role, "standby");
  assert.equal(ipv4ToString(b.interfaces[0]!.address), "198.51.100.4");
  assert.equal(a.peer!.address.text, b.peer!.listen.text);
  assert.equal(a.api.listen.text, "127.0.0.1:9090");
  assert.deepEqual(a.services.map((s) => `${s.listen.port}/${s.protocol}`), [
    "7000/tcp",
    "7001/udp",
    "80/tcp",
    // The IPv6 twins (dual stack by default), after the IPv4 services.
    "7000/tcp",
    "7001/udp",
    "80/tcp",
  ]);
  assert.equal(configDigest(a), configDigest(b));
  const held = parseConfig(
    labConfigText({ unit: "a", ...opts, holdNewFlows: 20, mode: "active-forward" }),
    "/",
    {},
    fakeFs(files),
  );
  assert.equal(held.mode, "active-forward");
  assert.equal(held.peer!.holdNewFlowsMs, 20);
});

Deno.test("config: backends take a weight and an admin state; health and persistence resolve", () => {
  const c = parseA((d) => {
    d.services[0].backends[1] = { address: "203.0.113.21:7000", weight: 3, admin: "draining" };
    d.services[0].health = { kind: "http", path: "/ready", expect: 204 };
    d.services[0].persistence = "5m";
    d.services[0].on_backend_down = "reset";
    d.on_service_removed = "reset";
  });
  const s = c.services[0]!;
  assert.deepEqual(s.backends.map((b) => [b.text, b.weight, b.admin]), [
    ["203.0.113.20:7000", 1, "enabled"],
    ["203.0.113.21:7000", 3, "draining"],
  ]);
  assert.deepEqual(s.health, {
    kind: "http",
    intervalMs: 2000,
    timeoutMs: 1000,
    rise: 2,
    fall: 3,
    port: 0,
    path: "/ready",
    expect: 204,
  });
  assert.equal(s.persistenceMs, 300_000);
  assert.equal(s.onBackendDown, "reset");
  assert.equal(c.onServiceRemoved, "reset");
  // Without a health block nothing is checked; without persistence there is none.
  const plain = parseA().services[1]!;
  assert.equal(plain.health.kind, "none");
  assert.equal(plain.persistenceMs, 0);
});

Deno.test("config: bad backend, health and persistence values name their field", () => {
  const cases: [(d: Doc) => void, string][] = [
    [
      (d) => d.services[0].backends[0] = { address: "203.0.113.20:7000", weight: 300 },
      "services[0].backends[0].weight: 300 is out of range 0..256",
    ],
    [
      (d) => d.services[0].backends[0] = { address: "203.0.113.20:7000", admin: "off" },
      "services[0].backends[0].admin: must be one of enabled, draining, maintenance",
    ],
    [(d) => d.services[0].health = { kind: "udp" }, "services[0].health.kind: must be one of"],
    [
      (d) => d.services[0].health = { interval: "1s", timeout: "2s" },
      "services[0].health.timeout: must not be longer than health.interval",
    ],
    [(d) => d.services[0].health = { path: "x y" }, "services[0].health.path:"],
    [(d) => d.services[0].persistence = "10ms", 'services[0].persistence: "10ms" is out of range'],
  ];
  for (const [mutate, want] of cases) {
    const err = configError(() => parseA(mutate));
    assert.ok(err.message.startsWith(`config: ${want}`), `${err.message} ≠ ${want}`);
  }
  const udp = configError(() => parseA((d) => d.services[1].health = { kind: "tcp" }));
  assert.match(udp.message, /services\[1\]\.health\.port: a udp service's tcp or http check/);
});

/** Lab unit a with its back segment moved onto VLAN 113 of the front TAP (a trunk). */
function trunked(d: Doc): void {
  d.interfaces.front.offload = false;
  d.interfaces.back = { tap: "tnd-front", address: "203.0.113.3/24", vlan: 113, offload: false };
}

Deno.test("config: VLAN interfaces share a trunk TAP, one untagged; vlan defaults to 0", () => {
  assert.deepEqual(parseA().interfaces.map((i) => i.vlan), [0, 0]);
  const c = parseA(trunked);
  assert.deepEqual(c.interfaces.map((i) => [i.name, i.tap, i.vlan]), [
    ["front", "tnd-front", 0],
    ["back", "tnd-front", 113],
  ]);
  // Also all tagged, with nothing untagged on the TAP.
  const all = parseA((d) => (trunked(d), d.interfaces.front.vlan = 4094));
  assert.deepEqual(all.interfaces.map((i) => i.vlan), [4094, 113]);
});

Deno.test("config: bad VLAN setups name their field in one line", () => {
  const cases: BadCase[] = [
    {
      field: "interfaces.back.vlan",
      mutate: (d) => (trunked(d), d.interfaces.front.vlan = 113),
      says: '113 is also used on tap "tnd-front" by interfaces.front',
    },
    {
      field: "interfaces.back.tap",
      mutate: (d) => (trunked(d), delete d.interfaces.back.vlan),
      says: "only one interface per TAP may be untagged",
    },
    { field: "interfaces.back.vlan", mutate: (d) => (trunked(d), d.interfaces.back.vlan = 0) },
    {
      field: "interfaces.back.vlan",
      mutate: (d) => (trunked(d), d.interfaces.back.vlan = 4095),
      says: "out of range 1..4094",
    },
    {
      field: "interfaces.back.vlan",
      mutate: (d) => (trunked(d), d.interfaces.back.vlan = "113"),
      says: "not an integer",
    },
    {
      field: "interfaces.front.offload",
      mutate: (d) => (trunked(d), delete d.interfaces.front.offload),
      says: "must be false when VLANs are configured (interfaces.back is vlan 113)",
    },
    {
      field: "interfaces.back.offload",
      mutate: (d) => (trunked(d), d.interfaces.back.offload = true),
      says: "must be false",
    },
  ];
  for (const c of cases) {
    const err = configError(() => parseA(c.mutate));
    assert.equal(err.field, c.field, `${c.field}: got ${err.message}`);
    assert.ok(err.message.startsWith(`config: ${c.field}: `), err.message);
    if (c.says !== undefined) assert.ok(err.message.includes(c.says), `${c.field}: ${err.message}`);
    assert.ok(!err.message.includes("\n"), "one line");
  }
});

Deno.test("digest: VLAN ids count only when configured; a different VLAN changes it", () => {
  const plain = configDigest(parseA((d) => (d.interfaces.front.offload = false)));
  assert.equal(plain, configDigest(parseA()), "no VLAN: the digest of before VLANs existed");
  const v113 = configDigest(parseA(trunked));
  const v114 = configDigest(parseA((d) => (trunked(d), d.interfaces.back.vlan = 114)));
  assert.notEqual(v113, plain);
  assert.notEqual(v113, v114);
});

Deno.test("lab config: with a VLAN the back interface is that VLAN, offload off everywhere", () => {
  const text = labConfigText({
    unit: "a",
    keyFile: "/cfg/peer.key",
    tokenFile: "/cfg/api.token",
    vlan: 113,
  });
  const c = parseConfig(text, "/cfg", { mode: "standby-forward" }, fakeFs(FILES));
  assert.deepEqual(c.interfaces.map((i) => [i.name, i.tap, i.vlan, i.offload]), [
    ["front", "tnd-front", 0, false],
    ["back", "tnd-back", 113, false],
  ]);
});

Deno.test("config: an interface's mtu defaults to Ethernet's 1500 ", () => {
  const plain = parseA();
  assert.deepEqual(plain.interfaces.map((i) => i.mtu), [1500, 1500]);
  const jumbo = parseA((d) => (d.interfaces.back.mtu = 9000));
  assert.deepEqual(jumbo.interfaces.map((i) => [i.name, i.mtu]), [["front", 1500], ["back", 9000]]);
  // RFC 791's floor: every link carries 68 bytes.
  assert.equal(parseA((d) => (d.interfaces.front.mtu = 68)).interfaces[0]!.mtu, 68);
});

Deno.test("syn_proxy: auto for tcp by default, off for udp and pickup, on and off as set", () => {
  const c = parseA();
  assert.deepEqual(c.services.map((s) => s.synProxy), ["auto", "off", "auto"]);
  const p = parseA((d) => (d.services[2].pickup = true));
  assert.equal(p.services[2]!.synProxy, "off");
  const set = parseA((d) => (d.services[0].syn_proxy = "on", d.services[2].syn_proxy = "off"));
  assert.deepEqual(set.services.map((s) => s.synProxy), ["on", "off", "off"]);
  const off = parseA((d) => (d.services[1].syn_proxy = "off"));
  assert.equal(off.services[1]!.synProxy, "off");
});

Deno.test("syn_proxy: a non-default choice changes the config digest, the default does not", () => {
  const base = configDigest(parseA());
  assert.equal(configDigest(parseA((d) => (d.services[0].syn_proxy = "auto"))), base);
  assert.notEqual(configDigest(parseA((d) => (d.services[0].syn_proxy = "on"))), base);
  assert.notEqual(configDigest(parseA((d) => (d.services[0].syn_proxy = "off"))), base);
});

Deno.test("config: peer.mirror_payload is any mode's, headers by default, and reloads live", () => {
  for (const mode of ["active-forward", "standby-forward", "standby-first"] as const) {
    const c = parseA((d) => (d.peer.mirror_payload = "full"), { mode });
    assert.equal(c.peer!.mirrorPayload, "full", mode);
  }
  const running = parseA();
  assert.equal(running.peer!.mirrorPayload, "headers");
  // It only changes what later mirror records carry: no restart.
  assert.equal(restartField(running, parseA((d) => (d.peer.mirror_payload = "full"))), undefined);
  assert.equal(restartField(running, parseA((d) => (d.peer.garp_repeat = 5))), "peer");
});
