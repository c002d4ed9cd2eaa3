/**
 * HMAC-SHA256 (RFC 2104) over one-shot SHA-256 calls, allocation-light.
 *
 * `createHmac` creates a native resource per call; a busy peer link seals
 * thousands of batches a second, and the first major GC then spent ~300 ms
 * finalizing them, long enough for the peer to declare the unit dead. Here
 * the padded keys are computed once, and the inner hash runs over the
 * message with the 64-byte ipad block written just before it (the caller's
 * buffers keep that much room), so nothing but two small digests is
 * allocated per MAC.
 * @module
 */
import { hash } from "node:crypto";

const BLOCK = 64;

export class HmacSha256 {
  readonly #ipad = new Uint8Array(BLOCK);
  readonly #opad = new Uint8Array(BLOCK);
  readonly #outer = new Uint8Array(BLOCK + 32);
  readonly #saved = new Uint8Array(BLOCK);
  #scratch = new Uint8Array(0);

  constructor(key: Uint8Array) {
    // RFC 2104 §2: a key longer than the block is hashed first.
    const k = key.length > BLOCK ? sha256(key) : key;
    for (let i = 0; i < BLOCK; i++) {
      const b = k[i] ?? 0;
      this.#ipad[i] = b ^ 0x36;
      this.#opad[i] = b ^ 0x5c;
    }
    this.#outer.set(this.#opad);
  }

  /**
   * The full 32-byte MAC of `data`. When `data` has 64 bytes of its own
   * buffer in front of it, they are borrowed (and restored) for the ipad
   * block; otherwise the message is copied once.
   */
  mac(data: Uint8Array): Uint8Array {
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
    return sha256(this.#outer);
  }
}

function sha256(data: Uint8Array): Uint8Array {
  return hash("sha256", data, "buffer") as unknown as Uint8Array;
}
