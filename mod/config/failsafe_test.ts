/** Config of the fail-safes: `track`, `preempt`, `preempt_delay`, `state_dir`, `notify`. */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { parse, stringify } from "yaml";
import { ConfigError, parseConfig } from "./load.ts";
import { DEFAULT_STATE_DIR } from "./schema.ts";
import { parseIpv4 } from "../wire/addr.ts";

const TESTDATA = fileURLToPath(new URL("./testdata/", import.meta.url));
const A_TEXT = Deno.readTextFileSync(`${TESTDATA}a.yaml`);
const FILES: Record<string, string> = {
  "/cfg/peer.key": "0123456789abcdef0123456789abcdef\n",
  "/cfg/api.token": "s3cret\n",
};

// deno-lint-ignore no-explicit-any
type Doc = Record<string, any>;

function parseA(mutate: (doc: Doc) => void = () => {}) {
  const doc = parse(A_TEXT);
  mutate(doc);
  return parseConfig(stringify(doc), "/cfg", {}, (p) => {
    const t = FILES[p];
    if (t === undefined) throw new Deno.errors.NotFound(p);
    return new TextEncoder().encode(t);
  });
}

function errorOf(mutate: (doc: Doc) => void): ConfigError {
  try {
    parseA(mutate);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  assert.fail("expected a ConfigError");
}

Deno.test("failsafe config: defaults (nothing tracked, no preempt, /var/lib/tandem)", () => {
  const f = parseA().failsafe;
  assert.deepEqual(f, {
    track: null,
    preempt: false,
    preemptDelayMs: 0,
    stateDir: DEFAULT_STATE_DIR,
    notify: undefined,
  });
});

Deno.test("failsafe config: track resolves interfaces, devices and defaults", () => {
  const f = parseA((d) => {
    d.track = {
      links: [{ interface: "front", device: "eth0" }, { interface: "back" }],
      gateways: [{ address: "198.51.100.2", interface: "front" }],
    };
    d.preempt = true;
    d.preempt_delay = "30s";
    d.state_dir = "state";
    d.notify = "/etc/tandem/notify.sh";
  }).failsafe;
  assert.deepEqual(f.track, {
    links: [
      { interface: "front", iface: 0, device: "eth0" },
      { interface: "back", iface: 1, device: "tnd-back" },
    ],
    gateways: [{ address: parseIpv4("198.51.100.2"), interface: "front", iface: 0 }],
    intervalMs: 1000,
    fall: 3,
    rise: 2,
  });
  assert.equal(f.preempt, true);
  assert.equal(f.preemptDelayMs, 30_000);
  assert.equal(f.stateDir, "/cfg/state", "relative to the config's folder");
  assert.equal(f.notify, "/etc/tandem/notify.sh");
});

Deno.test("failsafe config: each bad value names its field", () => {
  const cases: [string, (d: Doc) => void][] = [
    ["track.links[0].interface", (d) => d.track = { links: [{ interface: "nope" }] }],
    ["track.links[0].device", (d) => d.track = { links: [{ interface: "front", device: "a b" }] }],
    [
      "track.gateways[0].address",
      (d) => d.track = { gateways: [{ address: "203.0.113.9", interface: "front" }] },
    ],
    [
      "track.gateways[0].address",
      (d) => d.track = { gateways: [{ address: "198.51.100.10", interface: "front" }] },
    ],
    [
      "track.gateways[0].address",
      (d) => d.track = { gateways: [{ address: "1.2.3", interface: "front" }] },
    ],
    [
      "track.gateways[0].interface",
      (d) => d.track = { gateways: [{ address: "198.51.100.2", interface: "x" }] },
    ],
    ["track.interval", (d) => d.track = { interval: "10ms" }],
    ["track.fall", (d) => d.track = { fall: 0 }],
    ["track.rise", (d) => d.track = { rise: 1.5 }],
    ["track.extra", (d) => d.track = { extra: 1 }],
    ["preempt", (d) => d.preempt = "yes"],
    ["preempt_delay", (d) => d.preempt_delay = "2d"],
    ["state_dir", (d) => d.state_dir = ""],
    ["notify", (d) => d.notify = 5],
  ];
  for (const [field, mutate] of cases) {
    const e = errorOf(mutate);
    assert.equal(e.field, field, e.message);
    assert.ok(!e.message.includes("\n"), "one line");
  }
});
