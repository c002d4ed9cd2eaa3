/**
 * Weighted round-robin backend selection, smooth (nginx's "smooth weighted round-robin"): each
 * pick adds every backend's weight to its credit, takes the backend with the most credit and
 * charges it the total. Weights 5,1,1 give a a b a c a a, not a a a a a b c, so no backend
 * gets a burst. Stateful, so only the unit that creates a flow may pick; the peer applies the
 * mirrored choice (DESIGN.md "Determinism rule").
 * @module
 */

export class RoundRobin {
  readonly n: number;
  readonly #weights: Int32Array;
  readonly #credit: Int32Array;
  readonly #total: number;

  /**
   * `n` backends of weight 1, or one weight per backend. A weight of 0 (drained, down, in
   * maintenance) is never picked; with every weight 0, `pick` returns -1.
   */
  constructor(n: number, weights?: readonly number[]) {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`need at least one backend: ${n}`);
    if (weights !== undefined && weights.length !== n) {
      throw new RangeError(`${weights.length} weights for ${n} backends`);
    }
    this.n = n;
    this.#weights = Int32Array.from(weights ?? new Array<number>(n).fill(1));
    this.#credit = new Int32Array(n);
    let total = 0;
    for (const w of this.#weights) {
      if (w < 0 || !Number.isInteger(w)) throw new RangeError(`bad weight: ${w}`);
      total += w;
    }
    this.#total = total;
  }

  /** The next backend index, or -1 when every weight is 0. */
  pick(): number {
    if (this.#total === 0) return -1;
    const w = this.#weights, c = this.#credit;
    let best = -1;
    for (let i = 0; i < this.n; i++) {
      if (w[i] === 0) continue;
      c[i]! += w[i]!;
      if (best < 0 || c[i]! > c[best]!) best = i;
    }
    c[best]! -= this.#total;
    return best;
  }
}
