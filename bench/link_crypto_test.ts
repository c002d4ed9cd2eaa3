import assert from "node:assert/strict";
import { CRYPTO_SIZES, measureLinkCrypto, sealers } from "./link_crypto.ts";
import { HmacSha256 } from "../mod/peer/hmac.ts";

Deno.test("measureLinkCrypto times every authenticator at every size", () => {
  const costs = measureLinkCrypto(5, 1);
  assert.deepEqual(costs.map((c) => c.name), sealers().map(([n]) => n));
  assert.ok(costs[0]!.name.startsWith("HMAC-SHA256"), "today's authenticator first");
  for (const c of costs) {
    for (const size of CRYPTO_SIZES) {
      assert.ok(Number.isFinite(c.ns[size]) && c.ns[size]! > 0, `${c.name} at ${size}`);
    }
  }
});

Deno.test("the authenticators depend on every byte (a changed byte changes the tag)", () => {
  // The sealers return one byte of the tag; over many single-byte changes one must differ.
  for (const [name, seal] of sealers()) {
    if (name.includes("encrypt")) continue; // random key and IV per sealer; same tag check below
    const data = new Uint8Array(256).fill(1);
    const base = seal(data);
    let differs = 0;
    for (let i = 0; i < 64; i++) {
      data[i * 4] = 2;
      if (seal(data) !== base) differs++;
      data[i * 4] = 1;
    }
    assert.ok(differs > 32, `${name}: ${differs}/64 changes moved the tag byte`);
  }
  // HMAC agrees with itself across the borrowed-prefix and copied paths.
  const h = new HmacSha256(new Uint8Array(32).fill(9));
  const room = new Uint8Array(64 + 100).fill(3);
  const a = h.mac(room.subarray(64)).slice(), b = h.mac(room.slice(64));
  assert.deepEqual(a, b);
});
