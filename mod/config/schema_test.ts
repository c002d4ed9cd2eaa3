import assert from "node:assert/strict";
import { ipv6ToString } from "../wire/addr.ts";
import {
  addrText,
  family,
  parseAddr,
  parseCidr,
  parseCidr6,
  parseDuration,
  parseEndpoint,
  sameAddr,
} from "./schema.ts";

Deno.test("parseEndpoint: address and port, canonical text, port 0 only when allowed", () => {
  assert.deepEqual(parseEndpoint("192.0.2.1:4790"), {
    address: 0xc0000201,
    port: 4790,
    text: "192.0.2.1:4790",
  });
  for (const bad of ["192.0.2.1", "192.0.2.1:", "192.0.2.1:65536", "192.0.2:80", "x:80", ":80"]) {
    assert.equal(parseEndpoint(bad), undefined, bad);
  }
  assert.equal(parseEndpoint("127.0.0.1:0"), undefined);
  assert.equal(parseEndpoint("127.0.0.1:0", true)?.port, 0);
});

Deno.test("parseCidr: prefix 1..32 only", () => {
  assert.deepEqual(parseCidr("203.0.113.3/24"), { address: 0xcb007103, prefix: 24 });
  assert.equal(parseCidr("203.0.113.3/32")?.prefix, 32);
  for (const bad of ["203.0.113.3", "203.0.113.3/0", "203.0.113.3/33", "203.0.113.3/x"]) {
    assert.equal(parseCidr(bad), undefined, bad);
  }
});

Deno.test("parseDuration: us, ms, s, m, h with decimals", () => {
  assert.equal(parseDuration("250us"), 0.25);
  assert.equal(parseDuration("10ms"), 10);
  assert.equal(parseDuration("0.25ms"), 0.25);
  assert.equal(parseDuration("1.5s"), 1500);
  assert.equal(parseDuration("2m"), 120_000);
  assert.equal(parseDuration("2h"), 7_200_000);
  for (const bad of ["10", "ms", "-1s", "1 s", "1d", "1.s", "250µs", "1ns"]) {
    assert.equal(parseDuration(bad), undefined, bad);
  }
});

Deno.test("parseEndpoint: [IPv6]:port, canonical RFC 5952 text, low word in address", () => {
  const e = parseEndpoint("[2001:DB8:100:0:0:0:0:10]:7000")!;
  assert.equal(e.text, "[2001:db8:100::10]:7000");
  assert.equal(e.port, 7000);
  assert.deepEqual([...e.address6!], [0x20010db8, 0x01000000, 0, 0x10]);
  assert.equal(e.address, 0x10);
  for (
    const bad of [
      "2001:db8::1:80",
      "[2001:db8::g]:70",
      "[2001:db8::1]",
      "[2001:db8::1]:65536",
      "[]:80",
    ]
  ) {
    assert.equal(parseEndpoint(bad), undefined, bad);
  }
  assert.equal(parseEndpoint("[::1]:0", true)?.text, "[::1]:0");
});

Deno.test("parseCidr6: prefix 1..128, IPv6 only; parseCidr stays IPv4", () => {
  const c = parseCidr6("2001:db8:100::3/64")!;
  assert.equal(c.prefix, 64);
  assert.equal(ipv6ToString(c.address6!), "2001:db8:100::3");
  assert.equal(c.address, 3);
  assert.equal(parseCidr6("::1/128")?.prefix, 128);
  for (const bad of ["2001:db8::3", "2001:db8::3/0", "2001:db8::3/129", "198.51.100.3/24"]) {
    assert.equal(parseCidr6(bad), undefined, bad);
  }
  assert.equal(parseCidr("2001:db8::3/64"), undefined);
});

Deno.test("sameAddr: families never compare equal, IPv6 compares every word", () => {
  const v6 = parseAddr("::10")!;
  const v4 = parseAddr("0.0.0.16")!;
  assert.equal(v6.address, v4.address, "same low word");
  assert.equal(sameAddr(v6, v4), false);
  assert.equal(sameAddr(parseAddr("2001:db8::10")!, parseAddr("2001:db9::10")!), false);
  assert.equal(sameAddr(parseAddr("2001:db8::10")!, parseAddr("2001:DB8:0::10")!), true);
  assert.equal(addrText(parseAddr("2001:db8:0:0:1:0:0:1")!), "2001:db8::1:0:0:1");
  assert.equal(family(v4), "ipv4");
  assert.equal(family(v6), "ipv6");
  assert.equal(parseAddr("1.2.3"), undefined);
  assert.equal(parseAddr("fe80::1%eth0"), undefined);
});
