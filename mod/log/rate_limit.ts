/**
 * Rate-limited warnings for events that can arrive at line rate (drops by reason, forged peer
 * records): at most one message per reason per interval, and that message sums up everything
 * counted since the previous one, so a flood costs one log line a second instead of a million.
 * Pure: the caller passes the time.
 * @module
 */

/** Options of {@link RateLimitedWarning}. */
export interface RateLimitOptions {
  /** Minimum time between two messages for the same reason, in ms; default 1000. */
  intervalMs?: number;
  /** Message prefix, e.g. `drops` or `peer records rejected`; default `drops`. */
  label?: string;
}

interface ReasonState {
  /** When the last message for this reason was returned. */
  lastEmit: number;
  /** Count observed since then and not yet reported. */
  pending: number;
}

/** `250ms`, `1s`, `1.5s`: a short human span. */
function span(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  return `${Number((ms / 1000).toFixed(1))}s`;
}

/** Per-reason rate limiter for warnings; see the module doc. */
export class RateLimitedWarning {
  readonly intervalMs: number;
  readonly label: string;
  #reasons = new Map<string, ReasonState>();

  constructor(opts: RateLimitOptions = {}) {
    this.intervalMs = opts.intervalMs ?? 1000;
    this.label = opts.label ?? "drops";
  }

  /**
   * Records `count` events of `reason` at time `now` (ms). Returns the message to log, or
   * undefined when one was already returned for this reason within the interval (the count is
   * then carried into the next message).
   */
  observe(now: number, reason: string, count = 1): string | undefined {
    const state = this.#reasons.get(reason);
    if (state === undefined) {
      // First sighting: report at once, an operator wants to know a new kind of drop started.
      this.#reasons.set(reason, { lastEmit: now, pending: 0 });
      return `${this.label}: ${reason} +${count}`;
    }
    state.pending += count;
    const elapsed = now - state.lastEmit;
    if (elapsed < this.intervalMs) return undefined;
    const message = `${this.label}: ${reason} +${state.pending} in ${span(elapsed)}`;
    state.lastEmit = now;
    state.pending = 0;
    return message;
  }

  /**
   * Summaries of counts still held back whose interval has passed at `now` (for a periodic
   * timer, so the tail of a burst is not lost). Reasons with nothing pending are forgotten, so a
   * later recurrence is reported at once again.
   */
  flush(now: number): string[] {
    const out: string[] = [];
    for (const [reason, state] of this.#reasons) {
      const elapsed = now - state.lastEmit;
      if (elapsed < this.intervalMs) continue;
      if (state.pending > 0) {
        out.push(`${this.label}: ${reason} +${state.pending} in ${span(elapsed)}`);
        state.lastEmit = now;
        state.pending = 0;
      } else {
        this.#reasons.delete(reason);
      }
    }
    return out;
  }
}
