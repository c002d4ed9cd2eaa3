import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { HmacSha256 } from "./hmac.ts";

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

Deno.test("HmacSha256 matches RFC 4231 test case 2 and node's createHmac", () => {
  const key = new TextEncoder().encode("Jefe");
  const msg = new TextEncoder().encode("what do ya want for nothing?");
  assert.equal(
    hex(new HmacSha256(key).mac(msg)),
    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
  );
  let seed = 3;
  const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) & 255;
  for (const keyLen of [1, 16, 32, 64, 65, 131]) {
    const k = Uint8Array.from({ length: keyLen }, rnd);
    const h = new HmacSha256(k);
    const fallback = new HmacSha256(k, false);
    assert.equal(fallback.native, false);
    for (const len of [0, 1, 63, 64, 65, 1000, 9000]) {
      const buf = Uint8Array.from({ length: 64 + len + 8 }, rnd);
      const before = buf.slice();
      const data = buf.subarray(64, 64 + len);
      const want = hex(createHmac("sha256", k).update(data).digest());
      for (const m of [h, fallback]) {
        const path = m.native ? "libcrypto" : "node:crypto";
        assert.equal(hex(m.mac(data)), want, `${path}: key ${keyLen}, message ${len}, with room`);
        assert.deepEqual(buf, before, "the borrowed bytes are restored");
        assert.equal(
          hex(m.mac(data.slice())),
          want,
          `${path}: key ${keyLen}, message ${len}, copied`,
        );
      }
    }
  }
});

Deno.test("HmacSha256 uses libcrypto where the host has it (every Debian with curl does)", () => {
  // The lab and CI install curl, which brings libssl3: the native path must be the one tested.
  const h = new HmacSha256(new Uint8Array([1, 2, 3]));
  assert.equal(h.native, true, "libcrypto.so.3 did not load");
  // The digest buffer is reused: a second MAC overwrites the first.
  const a = h.mac(new Uint8Array([1])).slice();
  const b = h.mac(new Uint8Array([2]));
  assert.notDeepEqual(a, b);
  assert.equal(h.mac(new Uint8Array([1])), b, "one buffer, reused");
});
