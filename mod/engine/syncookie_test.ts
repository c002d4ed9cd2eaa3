import assert from "node:assert/strict";
import {
  checkCookie,
  COOKIE_SLOT_MS,
  cookieHash,
  encodeTsOptions,
  makeCookie,
  MSS_TABLE,
  mssIndex,
  SynSecret,
  tsSack,
  tsWscale,
} from "./syncookie.ts";
import { seeded } from "./testing.ts";

const S = 0xc6336402, D = 0xc633640a;

function secret(seed = 7, now = 0): SynSecret {
  const s = new SynSecret();
  s.rotate(seeded(seed), now);
  return s;
}

Deno.test("syncookie: the cookie validates for its own tuple and ISN only", () => {
  const s = secret();
  const now = 1_000_000;
  const c = makeCookie(s, S, D, 40000, 7000, 12345, 7, now);
  assert.equal(checkCookie(s, S, D, 40000, 7000, 12345, c, now), 7);
  assert.equal(checkCookie(s, S, D, 40000, 7000, 12345, c, now + COOKIE_SLOT_MS), 7, "next slot");
  assert.equal(checkCookie(s, S + 1, D, 40000, 7000, 12345, c, now), -1, "other source");
  assert.equal(checkCookie(s, S, D + 1, 40000, 7000, 12345, c, now), -1, "other destination");
  assert.equal(checkCookie(s, S, D, 40001, 7000, 12345, c, now), -1, "other source port");
  assert.equal(checkCookie(s, S, D, 40000, 7001, 12345, c, now), -1, "other destination port");
  assert.equal(checkCookie(s, S, D, 40000, 7000, 12346, c, now), -1, "other client ISN");
  assert.equal(checkCookie(s, S, D, 40000, 7000, 12345, c ^ 1, now), -1, "one bit off");
  // The MSS index is covered by the hash: a client cannot raise it.
  assert.equal(checkCookie(s, S, D, 40000, 7000, 12345, c ^ (1 << 24), now), -1, "MSS bits");
  assert.equal(checkCookie(secret(8), S, D, 40000, 7000, 12345, c, now), -1, "other secret");
  assert.equal(checkCookie(new SynSecret(), S, D, 40000, 7000, 12345, c, now), -1, "no secret");
});

Deno.test("syncookie: a cookie expires after two slots and is never from the future", () => {
  const s = secret();
  const now = 50 * COOKIE_SLOT_MS + 10;
  const c = makeCookie(s, S, D, 1, 2, 3, 0, now);
  assert.equal(checkCookie(s, S, D, 1, 2, 3, c, now + 2 * COOKIE_SLOT_MS), -1, "expired");
  assert.equal(checkCookie(s, S, D, 1, 2, 3, c, now - COOKIE_SLOT_MS), -1, "from the future");
  // 32 slots later the counter's 5 bits wrap, but the full counter is in the hash.
  assert.equal(checkCookie(s, S, D, 1, 2, 3, c, now + 32 * COOKIE_SLOT_MS), -1, "wrapped");
});

Deno.test("syncookie: after one rotation the previous secret validates, after two it does not", () => {
  const s = secret();
  const rng = seeded(99);
  const c = makeCookie(s, S, D, 1, 2, 3, 4, 0);
  s.rotate(rng, 10);
  assert.equal(checkCookie(s, S, D, 1, 2, 3, c, 10), 4);
  s.rotate(rng, 20);
  assert.equal(checkCookie(s, S, D, 1, 2, 3, c, 20), -1);
});

Deno.test("syncookie: the secret crosses to the peer as 32 bytes and validates there", () => {
  const s = secret();
  const c = makeCookie(s, S, D, 1, 2, 3, 5, 0);
  const peer = new SynSecret();
  assert.equal(peer.install(s.export(), s.version, 0), true);
  assert.deepEqual([...peer.words], [...s.words]);
  assert.equal(checkCookie(peer, S, D, 1, 2, 3, c, 0), 5);
  assert.equal(peer.install(new Uint8Array(31), 1, 0), false, "short data refused");
});

Deno.test("syncookie: MSS rounds down to the table, options round-trip through the TSval", () => {
  assert.equal(MSS_TABLE[mssIndex(1460)], 1460);
  assert.equal(MSS_TABLE[mssIndex(1459)], 1452);
  assert.equal(MSS_TABLE[mssIndex(9000)], 1460);
  assert.equal(mssIndex(100), 0);
  for (const ws of [-1, 0, 7, 14]) {
    for (const sack of [false, true]) {
      const ts = encodeTsOptions(0x12345678, ws, sack);
      assert.equal(tsWscale(ts), ws);
      assert.equal(tsSack(ts), sack);
      assert.ok(ts <= 0x12345678 && 0x12345678 - ts < 32, "never ahead of the clock");
    }
  }
  assert.equal(tsWscale(encodeTsOptions(0, 20, false)), 14, "clamped to RFC 7323's 14");
});

Deno.test("syncookie: the hash spreads (no two of 10000 tuples share a 24-bit cookie hash)", () => {
  const s = secret();
  const seen = new Set<number>();
  let collisions = 0;
  for (let i = 0; i < 10_000; i++) {
    const h = cookieHash(s.words, 0, S + i, D, 7000, i * 7919, 3) & 0xffffff;
    if (seen.has(h)) collisions++;
    seen.add(h);
  }
  // Birthday bound for 10k draws from 2^24: about 3 expected.
  assert.ok(collisions < 20, `collisions ${collisions}`);
});

Deno.test("syncookie: validating is affordable (well over 100k cookies/s)", () => {
  const s = secret();
  const n = 200_000;
  const t0 = performance.now();
  let ok = 0;
  for (let i = 0; i < n; i++) {
    const c = makeCookie(s, S + i, D, 1, 2, i, 7, 0);
    if (checkCookie(s, S + i, D, 1, 2, i, c, 0) >= 0) ok++;
  }
  const ms = performance.now() - t0;
  assert.equal(ok, n);
  console.log(`syncookie: ${Math.round((2 * n) / ms * 1000)} hashes/s`);
  assert.ok(ms < 4000, `${ms} ms`);
});
