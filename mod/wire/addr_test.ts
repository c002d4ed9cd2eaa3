import assert from "node:assert/strict";
import { ipv4ToString, macToString, parseIpv4, parseMac, prefixMask, sameSubnet } from "./addr.ts";

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
