import assert from "node:assert/strict";
import { parseCidr, parseDuration, parseEndpoint } from "./schema.ts";

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

Deno.test("parseDuration: ms, s, m, h with decimals", () => {
  assert.equal(parseDuration("10ms"), 10);
  assert.equal(parseDuration("0.25ms"), 0.25);
  assert.equal(parseDuration("1.5s"), 1500);
  assert.equal(parseDuration("2m"), 120_000);
  assert.equal(parseDuration("2h"), 7_200_000);
  for (const bad of ["10", "ms", "-1s", "1 s", "1d", "1.s", "250us"]) {
    assert.equal(parseDuration(bad), undefined, bad);
  }
});
