/**
 * The verdict of one fail-safe check with hysteresis, as keepalived's `track_script` `rise` and
 * `fall` (and HAProxy's health checks): `fall` failures in a row take an up check down, `rise`
 * successes in a row bring a down check up, so one lost probe or one flap moves nothing. Pure:
 * results come in, the verdict goes out.
 * @module
 */

/** `unknown` until the first result, which sets the verdict at once (no evidence either way). */
export type CheckVerdict = "unknown" | "up" | "down";

export class Hysteresis {
  readonly rise: number;
  readonly fall: number;
  verdict: CheckVerdict = "unknown";
  /** Consecutive results that disagree with the verdict. */
  #streak = 0;
  /** Results observed, and failures among them (for the status counters). */
  results = 0;
  failures = 0;

  constructor(rise: number, fall: number) {
    if (!(rise >= 1 && fall >= 1)) throw new RangeError("rise and fall must be at least 1");
    this.rise = rise;
    this.fall = fall;
  }

  /** One check result; returns true when the verdict changed. */
  observe(ok: boolean): boolean {
    this.results++;
    if (!ok) this.failures++;
    const want = ok ? "up" : "down";
    if (this.verdict === "unknown") {
      this.verdict = want;
      return true;
    }
    if (this.verdict === want) {
      this.#streak = 0;
      return false;
    }
    this.#streak++;
    if (this.#streak < (ok ? this.rise : this.fall)) return false;
    this.verdict = want;
    this.#streak = 0;
    return true;
  }
}
