import assert from "node:assert/strict";
import { CRYPTO_SIZES, measureLinkCrypto, sealers } from "./link_crypto.ts";

Deno.test("measureLinkCrypto times every authenticator at every size", () => {
  const costs = measureLinkCrypto(5, 1);
  assert.deepEqual(costs.map((c) => c.name), sealers().map(([n]) => n));
  assert.ok(costs[0]!.name.includes("the link's tag"), "the link's own tag first");
  for (const c of costs) {
    for (const size of CRYPTO_SIZES) {
      assert.ok(Number.isFinite(c.ns[size]) && c.ns[size]! > 0, `${c.name} at ${size}`);
    }
  }
});

Deno.test("the authenticators depend on every byte (a changed byte changes the tag)", () => {
  // The sealers return one byte of the tag; over many single-byte changes one must differ. The
  // link's sealer moves its nonce per call, so its own tag of unchanged data moves too: compare
  // against a changed byte only where the nonce stays put (the other three).
  for (const [name, seal] of sealers().slice(1)) {
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
});
