/**
 * What sealing a peer-link batch would cost with each authenticator `node:crypto` offers (issue
 * 11, "the peer link's cost"): the HMAC-SHA256 the link uses today (`mod/peer/hmac.ts`), AES-256-GCM
 * and ChaCha20-Poly1305 (RFC 8439), each over one batch of the link's default size (8 KiB) and
 * over 64 KiB. The AEADs authenticate the batch as additional data (GMAC-style: no encryption,
 * as today) and, separately, encrypt it too. Figures are ns per call, best of `rounds`.
 *
 * A measurement only: the link's wire format is unchanged.
 * @module
 */
import { createCipheriv, randomBytes } from "node:crypto";
import { HmacSha256 } from "../mod/peer/hmac.ts";
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

/** A fresh AEAD cipher (one per message, as `node:crypto` requires). */
function cipher(alg: Aead, key: Uint8Array, iv: Uint8Array) {
  return alg === "aes-256-gcm"
    ? createCipheriv(alg, key, iv, { authTagLength: 16 })
    : createCipheriv(alg, key, iv, { authTagLength: 16 });
}

function hmacSealer(): Sealer {
  const h = new HmacSha256(randomBytes(32));
  return (data) => h.mac(data)[0]!;
}

/** An AEAD over `data` as additional data only (authentication, no encryption). */
function aeadAuth(alg: Aead): Sealer {
  const key = randomBytes(32), iv = randomBytes(12);
  return (data) => {
    const c = cipher(alg, key, iv);
    c.setAAD(data);
    c.final();
    return c.getAuthTag()[0]!;
  };
}

/** An AEAD encrypting `data` (confidentiality too). */
function aeadSeal(alg: Aead): Sealer {
  const key = randomBytes(32), iv = randomBytes(12);
  return (data) => {
    const c = cipher(alg, key, iv);
    const out = c.update(data);
    c.final();
    return out[0]! ^ c.getAuthTag()[0]!;
  };
}

/** The authenticators compared, by name. */
export function sealers(): [string, Sealer][] {
  return [
    ["HMAC-SHA256 (today)", hmacSealer()],
    ["AES-256-GCM, authenticate only", aeadAuth("aes-256-gcm")],
    ["ChaCha20-Poly1305, authenticate only", aeadAuth("chacha20-poly1305")],
    ["AES-256-GCM, encrypt", aeadSeal("aes-256-gcm")],
    ["ChaCha20-Poly1305, encrypt", aeadSeal("chacha20-poly1305")],
  ];
}

/** Measures every authenticator: `n` calls per size, best of `rounds`. */
export function measureLinkCrypto(n = 2000, rounds = 3): CryptoCost[] {
  // 64 bytes of room before the data, as the link's batches have (the HMAC borrows them).
  const room = new Uint8Array(64 + Math.max(...CRYPTO_SIZES));
  room.forEach((_, i) => room[i] = (i * 31) & 0xff);
  const out: CryptoCost[] = [];
  for (const [name, seal] of sealers()) {
    const ns: Record<number, number> = {};
    for (const size of CRYPTO_SIZES) {
      const data = room.subarray(64, 64 + size);
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
