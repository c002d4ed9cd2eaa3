/**
 * Round-robin backend selection: each new flow goes to the next backend.
 * Stateful, so only the unit that creates a flow may pick; the peer applies
 * the mirrored choice (DESIGN.md "Determinism rule").
 * @module
 */

export class RoundRobin {
  readonly n: number;
  #next = 0;

  constructor(n: number) {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`need at least one backend: ${n}`);
    this.n = n;
  }

  /** The next backend index, cycling 0 … n−1. */
  pick(): number {
    const i = this.#next;
    this.#next = i + 1 === this.n ? 0 : i + 1;
    return i;
  }
}
