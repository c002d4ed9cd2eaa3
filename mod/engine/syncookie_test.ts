import assert from "node:assert/strict";
import {
  checkCookie,
  COOKIE_SLOT_MS,
  cookieHash,
  cookieMss,
  cookieSack,
  cookieWscale,
  makeCookie,
  MSS_TABLE,
  mssIndex,
  SynSecret,
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
  const c = makeCookie(s, S, D, 40000, 7000, 12345, 7, 7, true, now);
  assert.equal(checkCookie(s, S, D, 40000, 7000, 12345, c, now), true);
  assert.equal(
    checkCookie(s, S, D, 40000, 7000, 12345, c, now + COOKIE_SLOT_MS),
    true,
    "next slot",
  );
  assert.equal(checkCookie(s, S + 1, D, 40000, 7000, 12345, c, now), false, "other source");
  assert.equal(checkCookie(s, S, D + 1, 40000, 7000, 12345, c, now), false, "other destination");
  assert.equal(checkCookie(s, S, D, 40001, 7000, 12345, c, now), false, "other source port");
  assert.equal(checkCookie(s, S, D, 40000, 7001, 12345, c, now), false, "other destination port");
  assert.equal(checkCookie(s, S, D, 40000, 7000, 12346, c, now), false, "other client ISN");
  assert.equal(checkCookie(s, S, D, 40000, 7000, 12345, c ^ 1, now), false, "one bit off");
  // The options are covered by the hash: a client cannot raise its MSS or change its options.
  assert.equal(checkCookie(s, S, D, 40000, 7000, 12345, c ^ (1 << 27), now), false, "MSS bits");
  assert.equal(checkCookie(s, S, D, 40000, 7000, 12345, c ^ (1 << 23), now), false, "wscale");
  assert.equal(checkCookie(s, S, D, 40000, 7000, 12345, c ^ (1 << 22), now), false, "SACK bit");
  assert.equal(checkCookie(secret(8), S, D, 40000, 7000, 12345, c, now), false, "other secret");
  assert.equal(checkCookie(new SynSecret(), S, D, 40000, 7000, 12345, c, now), false, "no secret");
});

Deno.test("syncookie: a cookie expires after two slots and is never from the future", () => {
  const s = secret();
  const now = 50 * COOKIE_SLOT_MS + 10;
  const c = makeCookie(s, S, D, 1, 2, 3, 0, -1, false, now);
  assert.equal(checkCookie(s, S, D, 1, 2, 3, c, now + 2 * COOKIE_SLOT_MS), false, "expired");
  assert.equal(checkCookie(s, S, D, 1, 2, 3, c, now - COOKIE_SLOT_MS), false, "from the future");
  // 32 slots later the counter's 2 bits wrap, but the full counter is in the hash.
  assert.equal(checkCookie(s, S, D, 1, 2, 3, c, now + 32 * COOKIE_SLOT_MS), false, "wrapped");
});

Deno.test("syncookie: after one rotation the previous secret validates, after two it does not", () => {
  const s = secret();
  const rng = seeded(99);
  const c = makeCookie(s, S, D, 1, 2, 3, 4, 2, false, 0);
  s.rotate(rng, 10);
  assert.equal(checkCookie(s, S, D, 1, 2, 3, c, 10), true);
  s.rotate(rng, 20);
  assert.equal(checkCookie(s, S, D, 1, 2, 3, c, 20), false);
});

Deno.test("syncookie: the secret crosses to the peer as 32 bytes and validates there", () => {
  const s = secret();
  const c = makeCookie(s, S, D, 1, 2, 3, 5, 0, true, 0);
  const peer = new SynSecret();
  assert.equal(peer.install(s.export(), s.version, 0), true);
  assert.deepEqual([...peer.words], [...s.words]);
  assert.equal(checkCookie(peer, S, D, 1, 2, 3, c, 0), true);
  assert.equal(peer.install(new Uint8Array(31), 1, 0), false, "short data refused");
});

Deno.test("syncookie: MSS rounds down to the table; MSS, window scale and SACK round-trip", () => {
  assert.equal(MSS_TABLE[mssIndex(1460)], 1460);
  assert.equal(MSS_TABLE[mssIndex(1459)], 1452);
  assert.equal(MSS_TABLE[mssIndex(9000)], 1460);
  assert.equal(mssIndex(100), 0);
  const s = secret();
  for (const ws of [-1, 0, 7, 14, 20]) {
    for (const sack of [false, true]) {
      for (let m = 0; m < 8; m++) {
        const c = makeCookie(s, S, D, 1, 2, 3, m, ws, sack, 0);
        assert.equal(checkCookie(s, S, D, 1, 2, 3, c, 0), true);
        assert.equal(cookieMss(c), MSS_TABLE[m]);
        assert.equal(cookieWscale(c), ws > 14 ? 14 : ws, "clamped to RFC 7323's 14");
        assert.equal(cookieSack(c), sack);
      }
    }
  }
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
    const c = makeCookie(s, S + i, D, 1, 2, i, 7, 7, true, 0);
    if (checkCookie(s, S + i, D, 1, 2, i, c, 0)) ok++;
  }
  const ms = performance.now() - t0;
  assert.equal(ok, n);
  console.log(`syncookie: ${Math.round((2 * n) / ms * 1000)} hashes/s`);
  assert.ok(ms < 4000, `${ms} ms`);
});
