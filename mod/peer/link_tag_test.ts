import assert from "node:assert/strict";
import { createCipheriv } from "node:crypto";
import { linkKey, LinkTag, nativeLinkTag } from "./link_tag.ts";

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

Deno.test("LinkTag: the reference (node's cipher) reproduces RFC 8439 §2.8.2's tag", () => {
  // RFC 8439 §2.8.2 encrypts a plaintext too; node's cipher (a second implementation) checks the
  // key and nonce handling on the RFC's own key, and ours must agree with it on AAD-only input.
  const key = Uint8Array.from({ length: 32 }, (_, i) => 0x80 + i);
  const nonce = Uint8Array.from([7, 0, 0, 0, 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47]);
  const c = createCipheriv("chacha20-poly1305", key, nonce, { authTagLength: 16 });
  c.setAAD(
    Uint8Array.from([0x50, 0x51, 0x52, 0x53, 0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7]),
    {
      plaintextLength: 114,
    },
  );
  const text = new TextEncoder().encode(
    "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, " +
      "sunscreen would be it.",
  );
  c.update(text);
  c.final();
  assert.equal(hex(new Uint8Array(c.getAuthTag())), "1ae10b594f09e26a7e902ecbd0600691");
});

Deno.test("LinkTag: libcrypto and node:crypto give the same tag, for any length and nonce", () => {
  assert.equal(nativeLinkTag(), true, "libcrypto.so.3 did not load (the lab installs libssl3)");
  let seed = 7;
  const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24;
  for (const pskLen of [1, 16, 32, 65]) {
    const psk = Uint8Array.from({ length: pskLen }, rnd);
    const native = new LinkTag(psk), fallback = new LinkTag(psk, false);
    assert.equal(native.native, true);
    assert.equal(fallback.native, false);
    for (const len of [0, 1, 15, 16, 17, 100, 8192, 65507]) {
      const data = Uint8Array.from({ length: len }, rnd);
      const nonce = Uint8Array.from({ length: 12 }, rnd);
      const a = native.tag(nonce, data).slice();
      assert.equal(hex(fallback.tag(nonce, data)), hex(a), `psk ${pskLen}, ${len} bytes`);
      // Reference: node's cipher under the derived key.
      const c = createCipheriv("chacha20-poly1305", linkKey(psk), nonce, { authTagLength: 16 });
      c.setAAD(data, { plaintextLength: 0 });
      c.final();
      assert.equal(hex(new Uint8Array(c.getAuthTag())), hex(a));
    }
  }
});

Deno.test("LinkTag: the tag moves with every byte, the nonce and the key", () => {
  const t = new LinkTag(new Uint8Array([1, 2, 3]));
  const data = new Uint8Array(300).fill(9), nonce = new Uint8Array(12);
  const base = hex(t.tag(nonce, data));
  for (const i of [0, 1, 150, 299]) {
    data[i]! ^= 1;
    assert.notEqual(hex(t.tag(nonce, data)), base, `byte ${i}`);
    data[i]! ^= 1;
  }
  assert.equal(hex(t.tag(nonce, data)), base, "and comes back: the context restarts per call");
  nonce[11] = 1;
  assert.notEqual(hex(t.tag(nonce, data)), base, "nonce");
  nonce[11] = 0;
  assert.notEqual(hex(new LinkTag(new Uint8Array([1, 2, 4])).tag(nonce, data)), base, "key");
  assert.throws(() => t.tag(new Uint8Array(8), data), RangeError);
  // The key is derived, never the pre-shared key itself.
  assert.notEqual(hex(linkKey(new Uint8Array(32))), hex(new Uint8Array(32)));
  assert.equal(linkKey(new Uint8Array([5])).length, 32);
});
