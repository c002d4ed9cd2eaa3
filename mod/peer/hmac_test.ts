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
    for (const len of [0, 1, 63, 64, 65, 1000, 9000]) {
      const buf = Uint8Array.from({ length: 64 + len + 8 }, rnd);
      const before = buf.slice();
      const data = buf.subarray(64, 64 + len);
      const want = hex(createHmac("sha256", k).update(data).digest());
      assert.equal(hex(h.mac(data)), want, `key ${keyLen}, message ${len}, with room`);
      assert.deepEqual(buf, before, "the borrowed bytes are restored");
      assert.equal(hex(h.mac(data.slice())), want, `key ${keyLen}, message ${len}, copied`);
    }
  }
});
