import assert from "node:assert/strict";
import { hash32, hashTuple } from "./hash.ts";

Deno.test("hash32 matches the published MurmurHash3 x86_32 test vectors", () => {
  const vectors: [string | Uint8Array, number, number][] = [
    ["", 0, 0],
    ["", 1, 0x514e28b7],
    ["", 0xffffffff, 0x81f16f39],
    [new Uint8Array(4), 0, 0x2362f9de],
    ["aaaa", 0x9747b28c, 0x5a97808a],
    ["abc", 0, 0xb3dd93fa],
    ["Hello, world!", 0x9747b28c, 0x24884cba],
    ["The quick brown fox jumps over the lazy dog", 0x9747b28c, 0x2fa826cd],
  ];
  for (const [data, seed, want] of vectors) {
    assert.equal(hash32(data, seed), want, `${String(data)} seed ${seed.toString(16)}`);
  }
});

Deno.test("hash32 of a string equals hash32 of its UTF-8 bytes, for every tail length", () => {
  for (const s of ["a", "ab", "abc", "abcd", "abcde", "203.0.113.20:7000", "é✓"]) {
    assert.equal(hash32(s, 7), hash32(new TextEncoder().encode(s), 7));
  }
});

Deno.test("hashTuple equals hash32 over the documented 16-byte little-endian layout", () => {
  const cases = [
    [6, 0xc0000201, 40000, 0xcb007101, 80, 0],
    [17, 0xffffffff, 65535, 0, 0, 0x12345678],
    [1, 0xc6336401, 0, 0xc6336402, 0, 0xffffffff],
  ] as const;
  for (const [proto, sip, sp, dip, dp, seed] of cases) {
    const b = new DataView(new ArrayBuffer(16));
    b.setUint32(0, sip, true);
    b.setUint32(4, dip, true);
    b.setUint32(8, ((sp << 16) | dp) >>> 0, true);
    b.setUint32(12, proto, true);
    const want = hash32(new Uint8Array(b.buffer), seed);
    assert.equal(hashTuple(proto, sip, sp, dip, dp, seed), want);
  }
});

Deno.test("hashTuple is an unsigned 32-bit integer and sensitive to every field", () => {
  const base = hashTuple(6, 0xc0000201, 40000, 0xcb007101, 80, 0);
  assert.ok(Number.isInteger(base) && base >= 0 && base <= 0xffffffff);
  const variants = [
    hashTuple(17, 0xc0000201, 40000, 0xcb007101, 80, 0),
    hashTuple(6, 0xc0000202, 40000, 0xcb007101, 80, 0),
    hashTuple(6, 0xc0000201, 40001, 0xcb007101, 80, 0),
    hashTuple(6, 0xc0000201, 40000, 0xcb007102, 80, 0),
    hashTuple(6, 0xc0000201, 40000, 0xcb007101, 81, 0),
    hashTuple(6, 0xc0000201, 40000, 0xcb007101, 80, 1),
  ];
  for (const v of variants) assert.notEqual(v, base);
});

Deno.test("hashTuple spreads consecutive source ports evenly over 8 buckets", () => {
  const buckets = new Array<number>(8).fill(0);
  for (let p = 0; p < 8000; p++) buckets[hashTuple(6, 0xc0000201, p, 0xcb007101, 80, 0) & 7]!++;
  for (const b of buckets) assert.ok(b > 850 && b < 1150, `bucket ${b}`);
});
