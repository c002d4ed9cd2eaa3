/**
 * What tagging a peer-link batch costs with each authenticator at hand (issue 11, "the peer
 * link's cost"): the link's own tag (`mod/peer/link_tag.ts`: ChaCha20-Poly1305 through libcrypto,
 * the batch as additional data), the HMAC-SHA256 it replaced, and `node:crypto`'s AES-256-GCM and
 * ChaCha20-Poly1305 (a cipher object per call), each over one batch of the link's default size (8
 * KiB) and over 64 KiB. Figures are ns per call, best of `rounds`.
 * @module
 */
import { createCipheriv, createHmac, randomBytes } from "node:crypto";
import { LinkTag } from "../mod/peer/link_tag.ts";
import { DEFAULT_MAX_BATCH } from "../mod/peer/batch.ts";

/** One authenticator's cost, ns per call, at each size. */
export interface CryptoCost {
  name: string;
  /** Size in bytes → ns per call. */
  ns: Record<number, number>;
}

export const CRYPTO_SIZES: readonly number[] = [DEFAULT_MAX_BATCH, 65536];

type Sealer = (data: Uint8Array) => number;
type Aead = "aes-256-gcm" | "chacha20-poly1305";

/** The link's tag: a new nonce per call, as batches have. */
function linkSealer(): Sealer {
  const t = new LinkTag(randomBytes(32)), nonce = new Uint8Array(12);
  let n = 0;
  return (data) => {
    nonce[11] = n++;
    return t.tag(nonce, data)[0]!;
  };
}

/** HMAC-SHA256, the link's tag until batch version 3. */
function hmacSealer(): Sealer {
  const key = randomBytes(32);
  return (data) => createHmac("sha256", key).update(data).digest()[0]!;
}

/** An AEAD over `data` as additional data only (authentication, no encryption). */
function aeadAuth(alg: Aead): Sealer {
  const key = randomBytes(32), iv = randomBytes(12);
  return (data) => {
    // Two calls: the overloads for GCM and ChaCha20-Poly1305 options differ in type only.
    const c = alg === "aes-256-gcm"
      ? createCipheriv(alg, key, iv, { authTagLength: 16 })
      : createCipheriv(alg, key, iv, { authTagLength: 16 });
    c.setAAD(data, { plaintextLength: 0 });
    c.final();
    return c.getAuthTag()[0]!;
  };
}

/** The authenticators compared, by name; the link's own first. */
export function sealers(): [string, Sealer][] {
  const native = new LinkTag(new Uint8Array(32)).native;
  return [
    [`ChaCha20-Poly1305 (the link's tag, ${native ? "libcrypto" : "node:crypto"})`, linkSealer()],
    ["HMAC-SHA256 (node:crypto; the tag before batch version 3)", hmacSealer()],
    ["AES-256-GCM, authenticate only (node:crypto)", aeadAuth("aes-256-gcm")],
    ["ChaCha20-Poly1305, authenticate only (node:crypto)", aeadAuth("chacha20-poly1305")],
  ];
}

/** Measures every authenticator: `n` calls per size, best of `rounds`. */
export function measureLinkCrypto(n = 2000, rounds = 3): CryptoCost[] {
  const buf = new Uint8Array(Math.max(...CRYPTO_SIZES));
  buf.forEach((_, i) => buf[i] = (i * 31) & 0xff);
  const out: CryptoCost[] = [];
  for (const [name, seal] of sealers()) {
    const ns: Record<number, number> = {};
    for (const size of CRYPTO_SIZES) {
      const data = buf.subarray(0, size);
      let sink = 0;
      for (let i = 0; i < Math.min(n, 200); i++) sink += seal(data); // warm-up
      let best = Infinity;
      for (let r = 0; r < rounds; r++) {
        const t0 = performance.now();
        for (let i = 0; i < n; i++) sink += seal(data);
        best = Math.min(best, ((performance.now() - t0) * 1e6) / n);
      }
      if (sink < 0) throw new Error("unreachable");
      ns[size] = best;
    }
    out.push({ name, ns });
  }
  return out;
}
