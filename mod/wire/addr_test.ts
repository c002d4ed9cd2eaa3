import assert from "node:assert/strict";
import {
  ipToString,
  ipv4ToString,
  ipv6ToString,
  macToString,
  parseIpv4,
  parseIpv6,
  parseMac,
  prefixMask,
  sameSubnet,
  sameSubnet6,
} from "./addr.ts";
const assertEquals = (a: unknown, b: unknown, msg?: string) => assert.deepEqual(a, b, msg);

Deno.test("parseIpv4 accepts dotted quads and rejects everything else", () => {
  assert.equal(parseIpv4("198.51.100.10"), 0xc633640a);
  assert.equal(parseIpv4("255.255.255.255"), 0xffffffff);
  for (const bad of ["", "1.2.3", "1.2.3.4.5", "256.1.1.1", "a.b.c.d", "1.2.3.-4", "01234.1.1.1"]) {
    assert.equal(parseIpv4(bad), undefined, bad);
  }
  assert.equal(ipv4ToString(0xcb007101), "203.0.113.1");
});

Deno.test("prefix masks and subnet tests", () => {
  assert.equal(prefixMask(24), 0xffffff00);
  assert.equal(prefixMask(0), 0);
  assert.equal(prefixMask(32), 0xffffffff);
  assert.ok(sameSubnet(parseIpv4("203.0.113.20")!, parseIpv4("203.0.113.1")!, 24));
  assert.ok(!sameSubnet(parseIpv4("198.51.100.2")!, parseIpv4("203.0.113.1")!, 24));
});

Deno.test("MAC round trip and rejection", () => {
  const mac = parseMac("02:00:5e:10:aB:ff")!;
  assert.equal(macToString(mac), "02:00:5e:10:ab:ff");
  assert.equal(parseMac("02:00:5e:10:ab"), undefined);
  assert.equal(parseMac("zz:00:5e:10:ab:ff"), undefined);
});

Deno.test("parseIpv6 and ipv6ToString round-trip RFC 5952 text", () => {
  const cases: [string, string][] = [
    ["2001:db8:100::10", "2001:db8:100::10"],
    ["2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1"],
    ["::", "::"],
    ["::1", "::1"],
    ["fe80::1:2", "fe80::1:2"],
    ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"],
    ["2001:0:0:1::1", "2001:0:0:1::1"],
    ["::ffff:198.51.100.2", "::ffff:c633:6402"],
  ];
  for (const [input, want] of cases) {
    const w = parseIpv6(input);
    assertEquals(w === undefined ? undefined : ipv6ToString(w), want, input);
  }
  for (
    const bad of [
      "",
      ":::",
      "1::2::3",
      "12345::",
      "1:2:3:4:5:6:7:8:9",
      "g::1",
      "1.2.3.4",
      "1:2:3:4:5:6:7::8:9",
    ]
  ) {
    assertEquals(parseIpv6(bad), undefined, bad);
  }
});

Deno.test("sameSubnet6 compares the prefix bits only", () => {
  const a = parseIpv6("2001:db8:100::2")!, b = parseIpv6("2001:db8:100::ffff")!;
  const c = parseIpv6("2001:db8:113::2")!;
  assertEquals(sameSubnet6(a, b, 64), true);
  assertEquals(sameSubnet6(a, c, 64), false);
  assertEquals(sameSubnet6(a, c, 40), true);
  assertEquals(sameSubnet6(a, b, 128), false);
});

Deno.test("ipToString picks the family from the high words", () => {
  assertEquals(ipToString(0xc6336402), "198.51.100.2");
  assertEquals(ipToString(0x10, 0x20010db8, 0x01000000, 0), "2001:db8:100::10");
});
