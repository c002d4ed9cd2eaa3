/**
 * The bulk-sync sender (claims 20, 21): the unit that holds the state sends a joiner its whole
 * flow table, busiest connections first, while live mirroring goes on. Pure: the unit feeds it
 * requests, progress reports and time, and sends what it asks for.
 *
 * Flow control: at most `batch` entries per turn and `window` entries beyond what the joiner
 * reported receiving, so the joiner's socket never overflows (it did at a million flows
 * without a window). A repeated request restarts from the top: the joiner lost the start or
 * stalled.
 * @module
 */

/** What the sender needs from the unit for one turn. */
export interface SyncSenderPort {
  /** The flow is still live (flows that ended since the order was taken are skipped). */
  live(flow: number): boolean;
  /** Sends one FLOW record for `flow`. */
  sendFlow(flow: number): void;
}

export interface SyncSenderOptions {
  /** Entries sent per turn at most. */
  batch: number;
  /** Entries in flight beyond the joiner's last progress report. */
  window: number;
}

export class SyncSender {
  readonly #opts: SyncSenderOptions;
  #order: Int32Array | null = null;
  #pos = 0;
  #sent = 0;
  #acked = 0;

  constructor(opts: SyncSenderOptions) {
    this.#opts = opts;
  }

  /** A sync is under way. */
  get active(): boolean {
    return this.#order !== null;
  }
  /** Entries sent so far in this sync. */
  get sent(): number {
    return this.#sent;
  }
  /** Position in the order and its length (the API's progress). */
  get progress(): { done: number; total: number } {
    return { done: this.#pos, total: this.#order?.length ?? 0 };
  }

  /**
   * The joiner asked for the table: starts (or restarts) sending `order` (flow ids, busiest
   * first). Returns the entry count for the BEGIN record.
   */
  start(order: Int32Array): number {
    this.#order = order;
    this.#pos = 0;
    this.#sent = 0;
    this.#acked = 0;
    return order.length;
  }

  /** The joiner reported `got` entries received: the window opens. */
  onProgress(got: number): void {
    if (this.#order && got > this.#acked) this.#acked = Math.min(got, this.#sent);
  }

  /** True when a turn would send something now (the loop should not sleep). */
  get ready(): boolean {
    return this.#order !== null && this.#sent - this.#acked < this.#opts.window;
  }

  /**
   * Sends the next entries allowed. Returns the END record's count (entries actually sent)
   * when the order is exhausted, and -1 while the sync goes on.
   */
  pump(port: SyncSenderPort): number {
    const order = this.#order;
    if (!order) return -1;
    const room = Math.min(this.#opts.batch, this.#opts.window - (this.#sent - this.#acked));
    let n = 0;
    for (; this.#pos < order.length && n < room; this.#pos++) {
      const f = order[this.#pos]!;
      if (!port.live(f)) continue;
      port.sendFlow(f);
      n++;
    }
    this.#sent += n;
    if (this.#pos < order.length) return -1;
    this.#order = null;
    return this.#sent;
  }

  /** Abandons the sync (the joiner is gone). */
  stop(): void {
    this.#order = null;
  }
}
