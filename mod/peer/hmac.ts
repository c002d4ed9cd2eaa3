/**
 * HMAC-SHA256 (RFC 2104) without a per-call allocation.
 *
 * Through libcrypto's one-shot HMAC() over FFI when the host has OpenSSL 3: the digest is written
 * into a buffer of ours. node:crypto is the fallback: `createHmac` creates a native resource per
 * call (the first major GC then spent ~300 ms finalizing them), and even its one-shot `hash`
 * returns a fresh buffer per call, whose memory went back to malloc in bursts after a GC: a busy
 * link's loop stood still for 100–480 ms in free() (issue 11). On that path the padded keys are
 * computed once, and the inner hash runs over the message with the 64-byte ipad block written
 * just before it (the caller's buffers keep that much room).
 * @module
 */
import { hash } from "node:crypto";
import { type Libcrypto, libcrypto } from "../port/ffi.ts";

const BLOCK = 64;
const DIGEST = 32;
/** Opened when this module loads, not inside some caller's first MAC (a test's leak check). */
const LIB = libcrypto();

/** True when MACs go through libcrypto (the unit warns at start when they do not). */
export function nativeHmac(): boolean {
  return LIB !== null;
}

export class HmacSha256 {
  readonly #key: Uint8Array;
  readonly #ipad = new Uint8Array(BLOCK);
  readonly #opad = new Uint8Array(BLOCK);
  readonly #outer = new Uint8Array(BLOCK + DIGEST);
  readonly #saved = new Uint8Array(BLOCK);
  readonly #out = new Uint8Array(DIGEST);
  readonly #outLen = new Uint8Array(4);
  readonly #lib: Libcrypto | null;
  readonly #md: Deno.PointerValue = null;
  #scratch = new Uint8Array(0);

  /** `native: false` forces the node:crypto path (tests compare the two). */
  constructor(key: Uint8Array, native = true) {
    // RFC 2104 §2: a key longer than the block is hashed first.
    const k = key.length > BLOCK ? sha256(key) : key;
    this.#key = k.slice();
    for (let i = 0; i < BLOCK; i++) {
      const b = k[i] ?? 0;
      this.#ipad[i] = b ^ 0x36;
      this.#opad[i] = b ^ 0x5c;
    }
    this.#outer.set(this.#opad);
    // An empty key would reach HMAC() as a NULL pointer, which OpenSSL reads as "no new key".
    this.#lib = native && k.length > 0 ? LIB : null;
    if (this.#lib) this.#md = this.#lib.EVP_sha256();
    if (this.#md === null) this.#lib = null;
  }

  /** True when MACs are computed by libcrypto. */
  get native(): boolean {
    return this.#lib !== null;
  }

  /**
   * The full 32-byte MAC of `data`, in a buffer this object reuses: read it before the next
   * call. On the fallback path, when `data` has 64 bytes of its own buffer in front of it, they
   * are borrowed (and restored) for the ipad block; otherwise the message is copied once.
   */
  mac(data: Uint8Array): Uint8Array {
    if (this.#lib !== null) {
      const key = this.#key, out = this.#out;
      if (this.#lib.HMAC(this.#md, key, key.length, data, BigInt(data.length), out, this.#outLen)) {
        return out;
      }
      throw new Error("libcrypto HMAC() failed");
    }
    let inner: Uint8Array;
    if (data.byteOffset >= BLOCK) {
      const framed = new Uint8Array(data.buffer, data.byteOffset - BLOCK, BLOCK + data.length);
      this.#saved.set(framed.subarray(0, BLOCK));
      framed.set(this.#ipad);
      inner = sha256(framed);
      framed.set(this.#saved);
    } else {
      if (this.#scratch.length < BLOCK + data.length) {
        this.#scratch = new Uint8Array(BLOCK + data.length);
      }
      this.#scratch.set(this.#ipad);
      this.#scratch.set(data, BLOCK);
      inner = sha256(this.#scratch.subarray(0, BLOCK + data.length));
    }
    this.#outer.set(inner, BLOCK);
    this.#out.set(sha256(this.#outer));
    return this.#out;
  }
}

function sha256(data: Uint8Array): Uint8Array {
  return hash("sha256", data, "buffer") as unknown as Uint8Array;
}
