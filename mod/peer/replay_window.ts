/**
 * Anti-replay sliding window over 32-bit sequence numbers, after RFC 4303
 * §3.4.3 with the block bitmap of RFC 6479: advancing the window clears
 * whole 32-bit blocks instead of shifting the bitmap bit by bit, so cost
 * does not grow with the window size.
 * @module
 */

export class ReplayWindow {
  /** Sequences accepted behind the highest one seen (RFC 4303's W). */
  readonly size: number;
  readonly #bitmap: Uint32Array;
  readonly #mask: number;
  /** Highest sequence accepted so far; 0 = none (valid sequences start at 1). */
  #top = 0;

  /** `size` must be a multiple of 32 (whole bitmap blocks), at least 32. */
  constructor(size = 1024) {
    if (!Number.isInteger(size) || size < 32 || size % 32 !== 0 || size > 1 << 24) {
      throw new RangeError(`replay window must be a multiple of 32 in [32, 2^24]: ${size}`);
    }
    this.size = size;
    // RFC 6479 §2: one block more than the window, rounded to a power of two,
    // so the block being advanced into never aliases one still inside the window.
    let blocks = 1;
    while (blocks < size / 32 + 1) blocks *= 2;
    this.#bitmap = new Uint32Array(blocks);
    this.#mask = blocks - 1;
  }

  /** Highest sequence accepted; 0 when none. */
  get top(): number {
    return this.#top;
  }

  /** Forgets everything (the peer restarted with a new epoch). */
  reset(): void {
    this.#bitmap.fill(0);
    this.#top = 0;
  }

  /** Whether `seq` is new and inside the window. Does not record it. */
  check(seq: number): boolean {
    if (!Number.isInteger(seq) || seq < 1 || seq > 0xffffffff) return false;
    if (seq > this.#top) return true;
    if (this.#top - seq >= this.size) return false;
    const block = this.#bitmap[(seq >>> 5) & this.#mask]!;
    return (block & (1 << (seq & 31))) === 0;
  }

  /** Records `seq` as seen, sliding the window when it is the newest. Call after `check`. */
  update(seq: number): void {
    if (seq > this.#top) {
      const cur = this.#top >>> 5;
      let diff = (seq >>> 5) - cur;
      if (diff > this.#bitmap.length) diff = this.#bitmap.length;
      for (let i = 1; i <= diff; i++) this.#bitmap[(cur + i) & this.#mask] = 0;
      this.#top = seq;
    }
    const idx = (seq >>> 5) & this.#mask;
    this.#bitmap[idx] = this.#bitmap[idx]! | (1 << (seq & 31));
  }
}
