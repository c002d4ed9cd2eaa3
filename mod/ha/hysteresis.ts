/**
 * The verdict of one fail-safe check: the rise/fall hysteresis of the backend checks
 * (`health/rise_fall.ts`, keepalived's and HAProxy's `rise` and `fall`), plus an `unknown`
 * verdict before the first result, which sets the verdict at once (there is no evidence either
 * way to weigh it against), and counts of results for the status. Pure: results come in, the
 * verdict goes out.
 * @module
 */
import { RiseFall } from "../health/rise_fall.ts";

/** `unknown` until the first result. */
export type CheckVerdict = "unknown" | "up" | "down";

export class Hysteresis {
  readonly rise: number;
  readonly fall: number;
  #rf: RiseFall | null = null;
  /** Results observed, and failures among them (for the status counters). */
  results = 0;
  failures = 0;

  constructor(rise: number, fall: number) {
    if (!(rise >= 1 && fall >= 1)) throw new RangeError("rise and fall must be at least 1");
    this.rise = rise;
    this.fall = fall;
  }

  get verdict(): CheckVerdict {
    return this.#rf === null ? "unknown" : this.#rf.up ? "up" : "down";
  }

  /** One check result; returns true when the verdict changed. */
  observe(ok: boolean): boolean {
    this.results++;
    if (!ok) this.failures++;
    if (this.#rf === null) {
      this.#rf = new RiseFall(this.rise, this.fall, ok);
      return true;
    }
    return this.#rf.record(ok);
  }
}
