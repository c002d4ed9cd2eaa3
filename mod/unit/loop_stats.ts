/**
 * How long the data-plane loop went without coming back to read frames (issue 11: "the longest
 * loop pause under saturation ≤ 10 ms"). A pause is the time from one turn's start to the next
 * one's, minus the time the loop slept in poll() because nothing was ready: a turn slowed by a
 * GC, a blocking TAP write or a page fault counts, an idle wait does not. Kept as the longest
 * pause ever and the longest of each of the last 60 seconds, so an operator (and the bench)
 * can read "the longest pause in the last minute" without resetting anything.
 * @module
 */

/** Seconds kept in the sliding window. */
export const LOOP_WINDOW_S = 60;

export class LoopStats {
  /** The longest pause of each second, indexed by whole second modulo the window. */
  readonly #perSecond = new Float64Array(LOOP_WINDOW_S);
  /** Which whole second each slot holds; a slot from an older minute reads as 0. */
  readonly #slotSecond = new Float64Array(LOOP_WINDOW_S).fill(-1);
  longestMs = 0;
  turns = 0;
  /** Time spent spinning in the busy-poll before sleeping, ms (its CPU cost). */
  busyPollMs = 0;
  /** Spins that found a ready fd before their bound (a wake-up saved). */
  busyPollHits = 0;

  /** Records one pause of `ms` ending at `now` (ms on the unit's clock). */
  pause(ms: number, now: number): void {
    this.turns++;
    if (ms > this.longestMs) this.longestMs = ms;
    const sec = Math.floor(now / 1000), slot = sec % LOOP_WINDOW_S;
    if (this.#slotSecond[slot] !== sec) {
      this.#slotSecond[slot] = sec;
      this.#perSecond[slot] = ms;
    } else if (ms > this.#perSecond[slot]!) this.#perSecond[slot] = ms;
  }

  /** The longest pause that ended within the last {@link LOOP_WINDOW_S} seconds before `now`. */
  longestRecentMs(now: number): number {
    const sec = Math.floor(now / 1000);
    let max = 0;
    for (let i = 0; i < LOOP_WINDOW_S; i++) {
      const s = this.#slotSecond[i]!;
      if (s > sec - LOOP_WINDOW_S && s <= sec && this.#perSecond[i]! > max) {
        max = this.#perSecond[i]!;
      }
    }
    return max;
  }
}
