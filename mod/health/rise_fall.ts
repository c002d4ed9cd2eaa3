/**
 * Hysteresis of a health check, as keepalived's checkers and HAProxy's `rise`/`fall` work: a
 * target that is up goes down after `fall` failed checks in a row, and comes back after `rise`
 * good ones in a row. One odd result never flips it. Pure: the caller feeds results.
 * @module
 */

export class RiseFall {
  readonly rise: number;
  readonly fall: number;
  #up: boolean;
  /** Results in a row that disagree with the current state. */
  #run = 0;

  constructor(rise: number, fall: number, up = true) {
    if (!(rise >= 1 && fall >= 1)) {
      throw new RangeError(`rise and fall must be ≥ 1: ${rise}, ${fall}`);
    }
    this.rise = rise;
    this.fall = fall;
    this.#up = up;
  }

  get up(): boolean {
    return this.#up;
  }

  /** Feeds one result; returns true when the state flipped. */
  record(ok: boolean): boolean {
    if (ok === this.#up) {
      this.#run = 0;
      return false;
    }
    if (++this.#run < (this.#up ? this.fall : this.rise)) return false;
    this.#up = ok;
    this.#run = 0;
    return true;
  }
}
