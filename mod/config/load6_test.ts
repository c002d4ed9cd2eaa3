import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { parse, stringify } from "yaml";
import { ipv6ToString } from "../wire/addr.ts";
import { canonicalConfig, configDigest } from "./digest.ts";
import { type Config, ConfigError, parseConfig } from "./load.ts";
import { restartField } from "./reload.ts";
import { type LabConfigOptions, labConfigText } from "./lab_config.ts";

const TESTDATA = fileURLToPath(new URL("./testdata/", import.meta.url));
const A6_TEXT = Deno.readTextFileSync(`${TESTDATA}a6.yaml`);

// deno-lint-ignore no-explicit-any
type Doc = Record<string, any>;

function parseA6(mutate: (doc: Doc) => void = () => {}): Config {
  const doc = parse(A6_TEXT);
  mutate(doc);
  return parseConfig(stringify(doc), "/cfg", {}, () => new Uint8Array());
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

const v6 = (w: ArrayLike<number> | undefined): string => w === undefined ? "-" : ipv6ToString(w);

Deno.test("config v6: the dual-stack file resolves IPv6 words beside the IPv4 numbers", () => {
  const c = parseA6();
  const [front, back] = c.interfaces;
  assert.equal(v6(front!.address6), "2001:db8:100::3");
  assert.equal(front!.prefix6, 64);
  assert.equal(v6(back!.address6), "2001:db8:113::3");
  assert.equal(front!.address, 0xc6336403, "IPv4 self unchanged");
  assert.deepEqual(
    c.floating.map((f) => [v6(f.address6), f.address, f.prefix, f.interface]),
    [
      ["-", 0xc633640a, 24, "front"],
      ["-", 0xcb007101, 24, "back"],
      ["2001:db8:100::10", 0x10, 64, "front"],
      ["2001:db8:113::1", 0x1, 64, "back"],
    ],
  );
  const [echo, echo6] = c.services;
  assert.equal(echo!.listen.address6, undefined);
  assert.equal(echo!.sourceNat6, undefined);
  assert.ok(!("address6" in echo!.backends[0]!), "IPv4 backends gain no key");
  assert.equal(echo6!.listen.text, "[2001:db8:100::10]:7000");
  assert.equal(echo6!.listen.address, 0x10);
  assert.equal(echo6!.interface, "front");
  assert.deepEqual(
    echo6!.backends.map((b) => [b.text, v6(b.address6), b.address, b.interface, b.weight]),
    [
      ["[2001:db8:113::20]:7000", "2001:db8:113::20", 0x20, "back", 1],
      ["[2001:db8:113::21]:7000", "2001:db8:113::21", 0x21, "back", 2],
    ],
  );
  assert.equal(v6(echo6!.sourceNat6), "2001:db8:113::1");
  assert.equal(echo6!.sourceNat, 1);
});

Deno.test("config v6: an IPv4-only interface has no address6 keys at all", () => {
  const c = parseA6((d) => {
    delete d.interfaces.back.address6;
    d.floating.pop();
    d.services.pop();
  });
  assert.ok(!("address6" in c.interfaces[1]!) && !("prefix6" in c.interfaces[1]!));
  assert.ok(!("address6" in c.floating[0]!));
});

interface Bad {
  field: string;
  mutate: (d: Doc) => void;
  says: string;
}

const BAD6: Bad[] = [
  {
    field: "interfaces.front.address6",
    mutate: (d) => (d.interfaces.front.address6 = "2001:db8:100::3"),
    says: "is not an IPv6 address/prefix (e.g. 2001:db8:100::3/64)",
  },
  {
    field: "interfaces.front.address6",
    mutate: (d) => (d.interfaces.front.address6 = "2001:db8:100::3/129"),
    says: "not an IPv6 address/prefix",
  },
  {
    field: "interfaces.front.address6",
    mutate: (d) => (d.interfaces.front.address6 = "198.51.100.3/24"),
    says: "not an IPv6 address/prefix",
  },
  {
    field: "interfaces.back.address6",
    mutate: (d) => (d.interfaces.back.address6 = "2001:db8:100::4/48"),
    says: "overlaps interfaces.front",
  },
  {
    field: "floating[2].address",
    mutate: (d) => (d.floating[2].address = "2001:db8:999::10/64"),
    says: "2001:db8:999::10 is not in the subnet of interfaces.front (2001:db8:100::3/64)",
  },
  {
    field: "floating[2].address",
    mutate: (d) => delete d.interfaces.front.address6,
    says: "is IPv6 but interfaces.front has no address6",
  },
  {
    field: "floating[2].address",
    mutate: (d) => (d.floating[2].address = "2001:db8:100::3/64"),
    says: "is the self address of interfaces.front",
  },
  {
    field: "floating[2].address",
    mutate: (d) => (d.floating[2].address = "2001:db8:100::g/64"),
    says: "is not an IPv4 or IPv6 address/prefix",
  },
  {
    field: "floating[3].address",
    mutate: (d) =>
      (d.floating[3].address = "2001:db8:100:0::10/64") && (d.floating[3].interface = "front"),
    says: "already floating[2]",
  },
  {
    field: "services[1].listen",
    mutate: (d) => (d.services[1].listen = "[2001:db8:100::11]:7000"),
    says: "2001:db8:100::11 is not a floating address",
  },
  {
    field: "services[1].backends[1]",
    mutate: (d) => (d.services[1].backends[1] = "203.0.113.21:7000"),
    says:
      "203.0.113.21:7000 is IPv4 but listen [2001:db8:100::10]:7000 is IPv6: a service's listen, " +
      "backends and source_nat must be one family",
  },
  {
    field: "services[0].backends[0]",
    mutate: (d) => (d.services[0].backends[0] = "[2001:db8:113::20]:7000"),
    says: "is IPv6 but listen 198.51.100.10:7000 is IPv4",
  },
  {
    field: "services[1].source_nat",
    mutate: (d) => (d.services[1].source_nat = "203.0.113.1"),
    says: "203.0.113.1 is IPv4 but listen [2001:db8:100::10]:7000 is IPv6",
  },
  {
    field: "services[0].source_nat",
    mutate: (d) => (d.services[0].source_nat = "2001:db8:113::1"),
    says: "is IPv6 but listen 198.51.100.10:7000 is IPv4",
  },
  {
    field: "services[1].source_nat",
    mutate: (d) => (d.services[1].source_nat = "2001:db8:113::9"),
    says: "2001:db8:113::9 is not a floating address",
  },
  {
    field: "services[1].source_nat",
    mutate: (d) => (d.services[1].source_nat = "2001:db8::g"),
    says: '"2001:db8::g" is not an IPv4 or IPv6 address',
  },
  {
    field: "services[1].backends[0]",
    mutate: (d) => (d.services[1].backends[0] = "[2001:db8:999::20]:7000"),
    says: "is not in the subnet of any interface",
  },
  {
    field: "services[1].backends[0]",
    mutate: (d) => (d.services[1].backends[0] = "[2001:db8:113::3]:7000"),
    says: "is an address of this appliance",
  },
  {
    field: "services[1].backends[0]",
    mutate: (d) => (d.services[1].backends[0] = "[2001:db8:113::1]:7000"),
    says: "is an address of this appliance",
  },
  {
    field: "services[1].backends[1]",
    mutate: (d) => (d.services[1].backends[1] = "[2001:DB8:113:0::20]:7000"),
    says: "[2001:db8:113::20]:7000 is already services[1].backends[0]",
  },
  {
    field: "services[1].backends[1].address",
    mutate: (d) => (d.services[1].backends[1] = { address: "[2001:db8:113::21]" }),
    says: "is not an IPv4 or [IPv6]:port address",
  },
  {
    field: "track.gateways[0].address",
    mutate: (d) => (d.track = { gateways: [{ address: "2001:db8:113::99", interface: "back" }] }),
    says: '"2001:db8:113::99" is IPv6; only IPv4 is supported here',
  },
  {
    field: "api.listen",
    mutate: (d) => (d.api.listen = "[::1]:9090"),
    says: '"[::1]:9090" is IPv6; only IPv4 is supported here',
  },
];

Deno.test(`config v6: each bad IPv6 value names its field in one line (${BAD6.length} cases)`, () => {
  for (const c of BAD6) {
    const err = configError(() => parseA6(c.mutate));
    assert.equal(err.field, c.field, `${c.field}: got ${err.message}`);
    assert.ok(err.message.startsWith(`config: ${c.field}: `), err.message);
    assert.ok(err.message.includes(c.says), `${c.field}: ${err.message}`);
    assert.ok(!err.message.includes("\n"), "one line");
  }
});

Deno.test("config v6: a malformed [IPv6]:port listen gets the exact message", () => {
  const err = configError(() => parseA6((d) => (d.services[0].listen = "[2001:db8::g]:70")));
  assert.equal(
    err.message,
    'config: services[0].listen: "[2001:db8::g]:70" is not an IPv4 or [IPv6]:port address',
  );
});

Deno.test("config v6: duplicate listens compare canonical text", () => {
  const err = configError(() =>
    parseA6((d) =>
      d.services.push({ ...d.services[1], name: "again", listen: "[2001:db8:100:0::10]:7000" })
    )
  );
  assert.equal(err.field, "services[2].listen");
  assert.match(err.message, /\[2001:db8:100::10\]:7000\/tcp is already services\[1\]/);
  // The same port on the IPv4 VIP is another service.
  const c = parseA6((d) =>
    d.services.push({ ...d.services[0], name: "v4-twin", listen: "198.51.100.10:7001" })
  );
  assert.equal(c.services.length, 3);
});

Deno.test("digest and reload: IPv6 fields count, the IPv4 text is unchanged", () => {
  const c = parseA6();
  const text = canonicalConfig(c);
  assert.ok(text.includes('["2001:db8:100::10/64","front"]'), text);
  assert.ok(text.includes('"198.51.100.10/24"'), text);
  assert.ok(text.includes('"2001:db8:113::1"'), "source_nat in RFC 5952 text");
  assert.equal(configDigest(parseA6()), configDigest(c), "deterministic");
  assert.notEqual(
    configDigest(parseA6((d) => {
      d.floating[2].address = "2001:db8:100::11/64";
      d.services[1].listen = "[2001:db8:100::11]:7000";
    })),
    configDigest(c),
  );
  assert.equal(restartField(c, parseA6()), undefined);
  assert.equal(
    restartField(c, parseA6((d) => (d.interfaces.front.address6 = "2001:db8:100::5/64"))),
    "interfaces",
  );
  assert.equal(
    restartField(
      c,
      parseA6((d) => {
        d.floating[3].address = "2001:db8:113::2/64";
        d.services[1].source_nat = "2001:db8:113::2";
      }),
    ),
    "floating",
  );
  // Services are what a reload may change: a new IPv6 listen needs no restart.
  assert.equal(
    restartField(c, parseA6((d) => (d.services[1].listen = "[2001:db8:100::10]:7002"))),
    undefined,
  );
});

Deno.test("lab config: dual stack by default, IPv4 only with ipv6: false", () => {
  const opts = { keyFile: "/lab/peer.key", tokenFile: "/lab/api.token", mode: "standby-forward" };
  const read = () => new TextEncoder().encode("0123456789abcdef0123456789abcdef\n");
  const load = (unit: "a" | "b", ipv6?: boolean) =>
    parseConfig(labConfigText({ unit, ...opts, ipv6 } as LabConfigOptions), "/", {}, read);
  for (const unit of ["a", "b"] as const) {
    const c = load(unit);
    const self = unit === "a" ? "3" : "4";
    assert.deepEqual(
      c.interfaces.map((i) => [i.name, v6(i.address6), i.prefix6]),
      [["front", `2001:db8:100::${self}`, 64], ["back", `2001:db8:113::${self}`, 64]],
    );
    assert.deepEqual(c.floating.slice(2).map((f) => [v6(f.address6), f.prefix, f.interface]), [
      ["2001:db8:100::10", 64, "front"],
      ["2001:db8:113::1", 64, "back"],
    ]);
    const six = c.services.slice(3);
    assert.deepEqual(six.map((s) => [s.name, s.listen.text, s.protocol]), [
      ["echo6", "[2001:db8:100::10]:7000", "tcp"],
      ["udp-echo6", "[2001:db8:100::10]:7001", "udp"],
      ["http6", "[2001:db8:100::10]:80", "tcp"],
    ]);
    for (const [i, s] of six.entries()) {
      const twin = c.services[i]!;
      assert.deepEqual(s.health, twin.health, `${s.name}: the same checks as ${twin.name}`);
      assert.deepEqual(
        s.backends.map((b) => b.text),
        [`[2001:db8:113::20]:${twin.listen.port}`, `[2001:db8:113::21]:${twin.listen.port}`],
      );
    }
  }
  assert.equal(configDigest(load("a")), configDigest(load("b")), "the units agree");
  const v4 = load("a", false);
  assert.equal(v4.floating.length, 2);
  assert.deepEqual(v4.services.map((s) => s.name), ["echo", "echo-udp", "http"]);
  assert.ok(v4.interfaces.every((i) => i.address6 === undefined));
  assert.ok(
    !labConfigText({ unit: "a", ...opts, ipv6: false } as LabConfigOptions).includes("2001:"),
  );
  // The IPv4 lab's digest text holds no IPv6 entries: it is what it was before dual stack.
  assert.ok(!canonicalConfig(v4).includes("2001:"));
});
