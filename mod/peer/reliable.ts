/**
 * Reliable delivery for the data lane of the peer link (DESIGN.md "The peer link": a gap is
 * asked for again and resent from a bounded ring, so a record lost on the link costs about
 * one peer round trip, not an endpoint's retransmission timer; conntrackd's FT-FW does this
 * for state, we do it for packets).
 *
 * The sender keeps every sealed data datagram in a {@link ResendRing}, bounded by bytes and
 * by age, until the peer's cumulative acknowledgment (carried by its heartbeats) covers it;
 * it resends what a NACK names. The same ring is what a survivor replays when its peer dies:
 * frames it handed over for emission that the peer never confirmed.
 *
 * The receiver runs datagrams through an {@link InOrder}: records are applied in sequence
 * order, a datagram that arrives past a gap is held (bounded) while the gap is NACKed, and a
 * gap that does not fill in time is given up on, counted, and skipped.
 * @module
 */

/** Sealed datagrams kept for resending and replay. */
export class ResendRing {
  readonly #store: Uint8Array;
  readonly #maxAgeMs: number;
  // Descriptors of the kept datagrams, oldest at `#head`, in a ring of `#slots`.
  readonly #seq: Float64Array;
  readonly #off: Int32Array;
  readonly #len: Int32Array;
  readonly #time: Float64Array;
  #head = 0;
  #count = 0;
  /** Where the next datagram is written in `#store`. */
  #write = 0;
  /** Datagrams dropped before the peer acknowledged them (too old, or no room). */
  dropped = 0;
  /** Datagrams sent again because a NACK named them. */
  resent = 0;

  constructor(maxBytes = 16 << 20, maxAgeMs = 2000, slots = 65536) {
    this.#store = new Uint8Array(maxBytes);
    this.#maxAgeMs = maxAgeMs;
    this.#seq = new Float64Array(slots);
    this.#off = new Int32Array(slots);
    this.#len = new Int32Array(slots);
    this.#time = new Float64Array(slots);
  }

  /** Datagrams kept (all unacknowledged). */
  get size(): number {
    return this.#count;
  }

  /** Bytes the kept datagrams take. */
  get bytes(): number {
    let n = 0;
    for (let i = 0; i < this.#count; i++) n += this.#len[(this.#head + i) % this.#seq.length]!;
    return n;
  }

  /** The oldest and newest kept sequence numbers, or 0 when empty. */
  get first(): number {
    return this.#count === 0 ? 0 : this.#seq[this.#head]!;
  }
  get last(): number {
    return this.#count === 0 ? 0 : this.#seq[(this.#head + this.#count - 1) % this.#seq.length]!;
  }

  /** Keeps a copy of the datagram sealed with `seq` (sequence numbers only grow). */
  push(seq: number, dg: Uint8Array, now: number): void {
    const len = dg.length, store = this.#store, slots = this.#seq.length;
    if (len > store.length) {
      this.dropped++;
      return;
    }
    let at = this.#write;
    if (at + len > store.length) at = 0;
    // Make room: evict the oldest while they overlap the bytes we are about to write.
    while (this.#count > 0 && (this.#count === slots || this.#overlaps(at, len))) this.#evict();
    store.set(dg, at);
    const i = (this.#head + this.#count) % slots;
    this.#seq[i] = seq;
    this.#off[i] = at;
    this.#len[i] = len;
    this.#time[i] = now;
    this.#count++;
    this.#write = at + len;
  }

  #overlaps(at: number, len: number): boolean {
    const h = this.#head;
    const off = this.#off[h]!, end = off + this.#len[h]!;
    return at < end && off < at + len;
  }

  #evict(): void {
    this.dropped++;
    this.#pop();
  }

  #pop(): void {
    this.#head = (this.#head + 1) % this.#seq.length;
    this.#count--;
    if (this.#count === 0) this.#write = 0;
  }

  /** The peer applied everything up to `seq`: forget it. */
  ack(seq: number): void {
    while (this.#count > 0 && this.#seq[this.#head]! <= seq) this.#pop();
  }

  /** Drops what is older than the age bound (counted): the peer is not coming back for it. */
  expire(now: number): void {
    while (this.#count > 0 && now - this.#time[this.#head]! > this.#maxAgeMs) this.#evict();
  }

  /** The kept datagram with `seq`, as a view into the ring, or undefined. */
  get(seq: number): Uint8Array | undefined {
    if (this.#count === 0) return undefined;
    const k = seq - this.#seq[this.#head]!;
    if (k < 0 || k >= this.#count || !Number.isInteger(k)) return undefined;
    const i = (this.#head + k) % this.#seq.length;
    if (this.#seq[i] !== seq) return undefined;
    return this.#store.subarray(this.#off[i]!, this.#off[i]! + this.#len[i]!);
  }

  /** Every kept datagram, oldest first (a survivor replays them), then forgets them all. */
  drain(each: (dg: Uint8Array, seq: number) => void): number {
    const n = this.#count;
    while (this.#count > 0) {
      const h = this.#head;
      each(this.#store.subarray(this.#off[h]!, this.#off[h]! + this.#len[h]!), this.#seq[h]!);
      this.#pop();
    }
    return n;
  }
}

/** What to do with a data datagram that arrived. */
export const IN_ORDER_DELIVER = 0;
export const IN_ORDER_HELD = 1;
export const IN_ORDER_OLD = 2;

export interface InOrderOptions {
  /**
   * NACK a gap again when it has not filled this long after the first NACK; each further retry
   * waits twice as long as the one before (up to 16×).
   */
  nackRetryMs: number;
  /**
   * A gap known only from the sender's heartbeat (no later batch arrived) is asked for after
   * this long: the batches are most likely still queued in our socket, not lost.
   */
  tailGraceMs: number;
  /** Give up on a gap this long after it was first seen. */
  giveUpMs: number;
  /** Datagrams held past a gap at most (a longer gap is given up on). */
  maxHeld: number;
}

export const IN_ORDER_DEFAULTS: InOrderOptions = {
  nackRetryMs: 5,
  tailGraceMs: 8,
  giveUpMs: 250,
  maxHeld: 1024,
};

/** A gap to ask for: sequence numbers `from` through `to`. */
export interface Nack {
  from: number;
  to: number;
}

/**
 * Sequencing on the receiving side: which datagram to apply now, which to hold, what to ask
 * for again. Sequence numbers start over with each sender epoch (`reset`).
 */
export class InOrder {
  readonly #o: InOrderOptions;
  /** The next sequence number to apply; 0 before the first datagram of an epoch. */
  #next = 0;
  readonly #held = new Map<number, Uint8Array>();
  /** Highest sequence known to exist: received, or announced by the sender's heartbeat. */
  #top = 0;
  /** When the current gap was first seen; -Infinity while there is none. */
  #gapSince = -Infinity;
  /** The `#next` that `#gapSince` is about: once `#next` moves, the gap ahead is a new one. */
  #gapAt = 0;
  #nackedAt = -Infinity;
  /** NACKs sent for the current gap. */
  #asks = 0;
  /** The highest sequence a NACK has asked for in this epoch. */
  #askedTo = 0;
  /** Datagrams given up on (never recovered). */
  lost = 0;
  /** Datagrams asked for again that arrived (a resend, or a late original). */
  recovered = 0;
  /** NACKs sent. */
  nacks = 0;

  constructor(o: InOrderOptions = IN_ORDER_DEFAULTS) {
    this.#o = o;
  }

  /** The highest sequence applied in order (what the cumulative ack says). */
  get applied(): number {
    return this.#next === 0 ? 0 : this.#next - 1;
  }

  /** Datagrams held past a gap. */
  get holding(): number {
    return this.#held.size;
  }

  /** A new sender epoch: sequence numbers start over. */
  reset(): void {
    this.#next = 0;
    this.#held.clear();
    this.#top = 0;
    this.#askedTo = 0;
    this.#gapSince = -Infinity;
  }

  /**
   * A datagram with `seq` arrived (authenticated). DELIVER: apply it now, then call
   * {@link takeHeld} until it returns undefined; HELD: keep a copy with {@link hold}; OLD: a
   * duplicate, or part of a gap already given up on: ignore it.
   */
  offer(seq: number, now: number): number {
    if (this.#next === 0) this.#next = seq;
    if (seq < this.#next || this.#held.has(seq)) return IN_ORDER_OLD;
    if (seq > this.#top) this.#top = seq;
    if (seq === this.#next) {
      this.#next++;
      if (seq <= this.#askedTo) this.recovered++;
      return IN_ORDER_DELIVER;
    }
    // Past a gap: ask for it at once (datagrams on one link rarely reorder).
    if (this.#gapSince === -Infinity) this.#newGap(now, -Infinity);
    return IN_ORDER_HELD;
  }

  /** Keeps a copy of a datagram `offer` said to hold. */
  hold(seq: number, dg: Uint8Array): void {
    this.#held.set(seq, dg.slice());
  }

  /** The next held datagram now in order, or undefined; call until undefined. */
  takeHeld(): Uint8Array | undefined {
    const dg = this.#held.get(this.#next);
    if (dg !== undefined) {
      this.#held.delete(this.#next);
      this.#next++;
      return dg;
    }
    if (this.#top < this.#next) this.#gapSince = -Infinity;
    return undefined;
  }

  /**
   * The sender's latest sequence (its heartbeat carries it): a lost tail shows up as a gap. It
   * is asked for only after a retry interval, since the datagrams may still be on their way.
   */
  senderTop(seq: number, now: number): void {
    if (this.#next === 0 || seq < this.#next || seq <= this.#top) return;
    this.#top = seq;
    if (this.#gapSince === -Infinity) {
      this.#newGap(now, now - this.#o.nackRetryMs + this.#o.tailGraceMs);
    }
  }

  /** `#next` moved past the gap the timers are about, to one no NACK has covered yet. */
  #freshGap(): boolean {
    return this.#gapAt !== this.#next && this.#next > this.#askedTo;
  }

  #newGap(now: number, nackedAt: number): void {
    this.#gapSince = now;
    this.#gapAt = this.#next;
    this.#nackedAt = nackedAt;
    this.#asks = 0;
  }

  /**
   * How long after the last NACK the current gap is asked for again. A receiver that falls
   * behind (a flood of small frames) finds the resend queued behind its own backlog: asking
   * every 5 ms then had the sender resend the same batches again and again into that backlog
   * (30 000 duplicate batches in 5 s of 64-byte UDP through the pair), which only deepened it.
   */
  #retryMs(): number {
    return this.#o.nackRetryMs * (1 << Math.min(Math.max(this.#asks - 1, 0), 4));
  }

  /**
   * Timers. Returns the gap to NACK now (a first ask or a retry), or undefined. A gap older
   * than the bound, or more datagrams held than allowed, is given up on: skipped and counted,
   * after which {@link takeHeld} yields what was behind it.
   */
  tick(now: number, lagging = false): Nack | undefined {
    if (this.#next === 0 || this.#top < this.#next) {
      this.#gapSince = -Infinity;
      return undefined;
    }
    // A gap left behind one that filled (or was given up on) is a new gap: its own bound,
    // and asked for at once. Under steady loss gaps follow each other, and one timer for the
    // whole chain would give up on a gap seen just now.
    if (this.#gapSince === -Infinity || this.#freshGap()) this.#newGap(now, -Infinity);
    let low = this.#top + 1;
    for (const s of this.#held.keys()) if (s < low) low = s;
    const missingTo = low - 1;
    if (now - this.#gapSince > this.#o.giveUpMs || this.#held.size > this.#o.maxHeld) {
      this.lost += missingTo - this.#next + 1;
      this.#next = missingTo + 1;
      this.#gapSince = -Infinity;
      return undefined;
    }
    if (now - this.#nackedAt < this.#retryMs()) return undefined;
    // Still reading a backlog and nothing past the gap has arrived: what is missing is most
    // likely in that backlog. Ask once the reader has caught up. Past the gap, ask once; a
    // resend is then most likely in that backlog too: ask again once caught up.
    if (lagging && (this.#held.size === 0 || this.#asks > 0)) return undefined;
    this.#nackedAt = now;
    this.#asks++;
    if (missingTo > this.#askedTo) this.#askedTo = missingTo;
    this.nacks++;
    return { from: this.#next, to: missingTo };
  }

  /** When `tick` wants to run next. */
  nextDeadline(now: number): number {
    if (this.#next === 0 || this.#top < this.#next) return Infinity;
    if (this.#gapSince === -Infinity || this.#freshGap()) return now;
    const retry = this.#nackedAt + this.#retryMs();
    return Math.max(now, Math.min(retry, this.#gapSince + this.#o.giveUpMs + 1));
  }
}
