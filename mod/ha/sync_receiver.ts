/**
 * The bulk-sync receiver (claims 20, 21): a joining unit asks its peer for the flow table,
 * takes the entries, reports progress, and completes only when every entry the sender counted
 * arrived; a lost entry or a stalled sender means asking again, never serving with holes.
 * Pure: the unit feeds it records and time, and does what it returns.
 * @module
 */

/** What the receiver asks of the unit after an input. */
export type SyncRxAction =
  /** Send a SYNC_REQUEST. */
  | { kind: "request" }
  /** Drop every flow: the sender's whole table follows. */
  | { kind: "clear" }
  /** Send a SYNC_PROGRESS with `got` (it opens the sender's window). */
  | { kind: "progress"; got: number }
  /** Every entry arrived: the joiner may serve. */
  | { kind: "complete"; got: number }
  /** A line for the timeline. */
  | { kind: "event"; detail: string };

export interface SyncReceiverOptions {
  /** Ask again when no BEGIN came this long after a request. */
  requestEveryMs: number;
  /** Report progress this often while receiving. */
  progressEveryMs: number;
  /** Give up on a sync that received nothing this long, and ask again. */
  stallMs: number;
}

export const SYNC_RX_DEFAULTS: SyncReceiverOptions = {
  requestEveryMs: 200,
  progressEveryMs: 20,
  stallMs: 1000,
};

export type SyncRxState = "idle" | "requesting" | "receiving";

export class SyncReceiver {
  readonly #o: SyncReceiverOptions;
  #state: SyncRxState = "idle";
  #expected = 0;
  #got = 0;
  #requestedAt = -Infinity;
  #lastRx = 0;
  #progressAt = -Infinity;

  constructor(o: SyncReceiverOptions = SYNC_RX_DEFAULTS) {
    this.#o = o;
  }

  get state(): SyncRxState {
    return this.#state;
  }
  /** A sync is wanted or under way. */
  get active(): boolean {
    return this.#state !== "idle";
  }
  get got(): number {
    return this.#got;
  }
  /** Entries the sender announced (0 before its BEGIN). */
  get expected(): number {
    return this.#state === "receiving" ? this.#expected : 0;
  }

  /** The pair decided to join: ask for the table now. */
  start(now: number): SyncRxAction[] {
    this.#state = "requesting";
    this.#got = 0;
    this.#expected = 0;
    this.#requestedAt = now;
    return [{ kind: "clear" }, { kind: "request" }];
  }

  /** The unit no longer joins (it completed, or serves alone): ignore what still arrives. */
  stop(): void {
    this.#state = "idle";
  }

  /** BEGIN with `total` entries: everything the sender holds now follows. */
  onBegin(total: number, now: number): SyncRxAction[] {
    if (this.#state === "idle") return [];
    // A restarted sync must not keep flows the sender has since dropped: start clean.
    this.#state = "receiving";
    this.#expected = total;
    this.#got = 0;
    this.#lastRx = now;
    this.#progressAt = -Infinity;
    return [{ kind: "clear" }, {
      kind: "event",
      detail: `bulk sync from peer started: ${total} flows`,
    }];
  }

  /** Whether a FLOW entry arriving now belongs to the sync (take it, then call `onEntry`). */
  get accepting(): boolean {
    return this.#state === "receiving";
  }

  /** One entry was taken. */
  onEntry(now: number): void {
    this.#got++;
    this.#lastRx = now;
  }

  /** END: the sender counted `sent` entries. */
  onEnd(sent: number): SyncRxAction[] {
    if (this.#state !== "receiving") return [];
    if (this.#got >= sent) {
      this.#state = "idle";
      return [{ kind: "complete", got: this.#got }];
    }
    // Lost entries on the peer link: ask again rather than serve with holes.
    this.#state = "requesting";
    this.#requestedAt = -Infinity;
    return [{ kind: "event", detail: `bulk sync incomplete (${this.#got}/${sent}); retrying` }];
  }

  /** Timers: request again, report progress, notice a stall. `peerUp`: requests can be heard. */
  tick(now: number, peerUp: boolean): SyncRxAction[] {
    if (this.#state === "requesting") {
      if (peerUp && now - this.#requestedAt > this.#o.requestEveryMs) {
        this.#requestedAt = now;
        return [{ kind: "request" }];
      }
      return [];
    }
    if (this.#state !== "receiving") return [];
    if (now - this.#lastRx > this.#o.stallMs) {
      this.#state = "requesting";
      this.#requestedAt = -Infinity;
      return [{
        kind: "event",
        detail: `bulk sync stalled at ${this.#got}/${this.#expected}; asking again`,
      }];
    }
    if (now - this.#progressAt >= this.#o.progressEveryMs) {
      this.#progressAt = now;
      return [{ kind: "progress", got: this.#got }];
    }
    return [];
  }

  /** When `tick` wants to run next. */
  nextDeadline(now: number): number {
    if (this.#state === "receiving") {
      return Math.max(now, Math.min(this.#progressAt + this.#o.progressEveryMs, now + 20));
    }
    if (this.#state === "requesting") {
      return Math.max(now + 1, this.#requestedAt + this.#o.requestEveryMs + 1);
    }
    return Infinity;
  }
}
