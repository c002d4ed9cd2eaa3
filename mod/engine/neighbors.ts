/**
 * The neighbour cache (ARP, and NDP for IPv6: RFC 4861 §5.1) of one interface, with a bounded queue of packets waiting for
 * resolution (RFC 1122 §2.3.2.2: SHOULD keep at least one; we keep `limit`). Time is an input;
 * `tick` retries and expires requests.
 *
 * Every packet looks up its next hop here, so the index is open addressing over a
 * `Uint32Array` of addresses: a `Map` keyed by an IPv4 address would box it (most addresses
 * exceed V8's small-integer range) and make garbage per packet. It grows by doubling, the only
 * time it allocates. Queueing copies the frame: it only happens while a neighbour is
 * unresolved, never on an established flow's path.
 * @module
 */

/** Retry an unanswered request after this long; give up after `RETRIES`. */
export const ARP_RETRY_MS = 300;
export const ARP_RETRIES = 3;

/** A packet waiting for its next hop, with what `deliver` needs to send it later. */
export interface Queued {
  frame: Uint8Array;
  vnet: Uint8Array;
  /** Its flow (re-checked when sent: it may have ended meanwhile), or -1. */
  flow: number;
  flags: number;
  ingress: number;
  time: number;
}

/** No high words: an IPv4 address. */
const V4 = new Uint32Array(3);

interface Entry {
  /** IPv4 address, or the low word of an IPv6 one. */
  ip: number;
  /** The IPv6 address's high words (zeros for IPv4). */
  hi: Uint32Array;
  /** The neighbour's MAC once resolved. */
  mac: Uint8Array;
  resolved: boolean;
  updated: number;
  queue: Queued[];
  requestedAt: number;
  tries: number;
}

const INITIAL_SLOTS = 64;

export class Neighbors {
  readonly #limit: number;
  /**
   * Address per index slot, as four words (an IPv4 address has three zero high words);
   * `#slot[i]` = entry number + 1, 0 = empty.
   */
  #keys = new Uint32Array(INITIAL_SLOTS * 4);
  #slot = new Int32Array(INITIAL_SLOTS);
  #mask = INITIAL_SLOTS - 1;
  readonly #entries: Entry[] = [];

  constructor(limit: number) {
    this.#limit = limit;
  }

  #find(ip: number, hi: Uint32Array, at: number): Entry | undefined {
    const keys = this.#keys, slot = this.#slot, mask = this.#mask;
    for (let i = keyHash(ip, hi, at) & mask;; i = (i + 1) & mask) {
      const s = slot[i]!;
      if (s === 0) return undefined;
      const k = i * 4;
      if (
        keys[k + 3] === ip && keys[k] === hi[at] && keys[k + 1] === hi[at + 1] &&
        keys[k + 2] === hi[at + 2]
      ) return this.#entries[s - 1];
    }
  }

  #create(ip: number, hi: Uint32Array, at: number, now: number): Entry {
    const e: Entry = {
      ip,
      hi: Uint32Array.of(hi[at]!, hi[at + 1]!, hi[at + 2]!),
      mac: new Uint8Array(6),
      resolved: false,
      updated: now,
      queue: [],
      requestedAt: 0,
      tries: 0,
    };
    this.#entries.push(e);
    if (this.#entries.length * 2 > this.#slot.length) this.#grow();
    else this.#put(e, this.#entries.length);
    return e;
  }

  #put(e: Entry, n: number): void {
    const mask = this.#mask;
    let i = keyHash(e.ip, e.hi, 0) & mask;
    while (this.#slot[i] !== 0) i = (i + 1) & mask;
    const k = i * 4;
    this.#keys[k] = e.hi[0]!;
    this.#keys[k + 1] = e.hi[1]!;
    this.#keys[k + 2] = e.hi[2]!;
    this.#keys[k + 3] = e.ip;
    this.#slot[i] = n;
  }

  #grow(): void {
    const size = this.#slot.length * 2;
    this.#keys = new Uint32Array(size * 4);
    this.#slot = new Int32Array(size);
    this.#mask = size - 1;
    this.#entries.forEach((e, i) => this.#put(e, i + 1));
  }

  #remove(e: Entry): void {
    // Rare (an unresolved neighbour given up on): rebuild the index without it.
    const i = this.#entries.indexOf(e);
    if (i < 0) return;
    this.#entries.splice(i, 1);
    this.#keys.fill(0);
    this.#slot.fill(0);
    this.#entries.forEach((x, k) => this.#put(x, k + 1));
  }

  /**
   * Whether `ip` is a resolved neighbour. Every method takes an IPv6 address as its low word
   * `ip` and its high words `hi[at, at + 3)`; IPv4 leaves `hi` out.
   */
  has(ip: number, hi: Uint32Array = V4, at = 0): boolean {
    return this.#find(ip, hi, at)?.resolved === true;
  }

  /** Whether `ip` has an entry, resolved or still being asked for. */
  known(ip: number, hi: Uint32Array = V4, at = 0): boolean {
    return this.#find(ip, hi, at) !== undefined;
  }

  /** The neighbour's MAC, or undefined while unknown or unresolved. Allocation-free. */
  lookup(ip: number, hi: Uint32Array = V4, at = 0): Uint8Array | undefined {
    const e = this.#find(ip, hi, at);
    return e !== undefined && e.resolved ? e.mac : undefined;
  }

  /**
   * {@link lookup} of the IPv6 address whose four words are `a`: the per-packet IPv6 path.
   * No address travels as a number argument, so none is boxed when V8 does not inline it.
   */
  lookup6(a: Uint32Array): Uint8Array | undefined {
    const keys = this.#keys, slot = this.#slot, mask = this.#mask;
    for (let i = keyHash(a[3]!, a, 0) & mask;; i = (i + 1) & mask) {
      const s = slot[i]!;
      if (s === 0) return undefined;
      const k = i * 4;
      if (
        keys[k + 3] === a[3] && keys[k] === a[0] && keys[k + 1] === a[1] && keys[k + 2] === a[2]
      ) {
        const e = this.#entries[s - 1]!;
        return e.resolved ? e.mac : undefined;
      }
    }
  }

  get size(): number {
    return this.#entries.length;
  }

  /**
   * Records `ip` at the MAC in `buf[at, at + 6)`; returns the packets that were waiting for
   * it, if any. A known neighbour is refreshed without allocating.
   */
  learn(
    ip: number,
    buf: Uint8Array,
    at: number,
    now: number,
    hi: Uint32Array = V4,
    hiAt = 0,
  ): Queued[] | null {
    const e = this.#find(ip, hi, hiAt) ?? this.#create(ip, hi, hiAt, now);
    const mac = e.mac;
    for (let i = 0; i < 6; i++) mac[i] = buf[at + i]!;
    e.resolved = true;
    e.updated = now;
    e.tries = 0;
    if (e.queue.length === 0) return null;
    const q = e.queue;
    e.queue = [];
    return q;
  }

  /**
   * Queues a packet until `ip` resolves. Returns 1 when a request should go out now, 0 when
   * one is already outstanding, -1 when the queue is full.
   */
  enqueue(ip: number, item: Queued, now: number, hi: Uint32Array = V4, at = 0): number {
    const e = this.#find(ip, hi, at) ?? this.#create(ip, hi, at, now);
    if (e.queue.length >= this.#limit) return -1;
    e.queue.push(item);
    if (e.tries === 0) {
      e.tries = 1;
      e.requestedAt = now;
      return 1;
    }
    return 0;
  }

  /**
   * Retries outstanding requests (`retry(ip, hi)`: ARP, or a neighbour solicitation when `hi`
   * is not all zero) and drops queues that waited too long. Returns how many queued packets
   * were dropped and when to tick again.
   */
  tick(
    now: number,
    retry: (ip: number, hi: Uint32Array) => void,
  ): { expired: number; deadline: number } {
    let expired = 0;
    let deadline = Infinity;
    for (const e of [...this.#entries]) {
      if (e.resolved || e.tries === 0) continue;
      if (now - e.requestedAt >= ARP_RETRY_MS) {
        if (e.tries >= ARP_RETRIES) {
          expired += e.queue.length;
          this.#remove(e);
          continue;
        }
        e.tries++;
        e.requestedAt = now;
        retry(e.ip, e.hi);
      }
      deadline = Math.min(deadline, e.requestedAt + ARP_RETRY_MS);
    }
    return { expired, deadline };
  }
}

/**
 * Index hash of an address (murmur3's finaliser over the words folded by multiplication). Int32
 * arithmetic only and no calls: a 32-bit result returned across a call V8 does not inline is
 * boxed, which would make garbage per packet.
 */
function keyHash(ip: number, hi: Uint32Array, at: number): number {
  let h = ip ^ Math.imul(hi[at]!, 0x9e3779b1) ^ Math.imul(hi[at + 1]!, 0x85ebca6b) ^
    Math.imul(hi[at + 2]!, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}
