/**
 * The neighbour (ARP) cache of one interface, with a bounded queue of packets
 * waiting for resolution (RFC 1122 §2.3.2.2: SHOULD keep at least one; we
 * keep `limit`). Time is an input; `tick` retries and expires requests.
 * @module
 */
import type { MirrorRecord } from "./types.ts";

/** Retry an unanswered request after this long; give up after `RETRIES`. */
const RETRY_MS = 300;
const RETRIES = 3;

export interface Queued {
  frame: Uint8Array;
  rec: MirrorRecord;
}

interface Entry {
  mac: Uint8Array | undefined;
  updated: number;
  queue: Queued[];
  requestedAt: number;
  tries: number;
}

export class Neighbors {
  readonly #entries = new Map<number, Entry>();
  readonly #limit: number;

  constructor(limit: number) {
    this.#limit = limit;
  }

  has(ip: number): boolean {
    return this.#entries.get(ip)?.mac !== undefined;
  }

  lookup(ip: number): Uint8Array | undefined {
    return this.#entries.get(ip)?.mac;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Records `ip` at `mac`; returns the packets that were waiting for it, if any. */
  learn(ip: number, mac: Uint8Array, now: number): Queued[] | null {
    let e = this.#entries.get(ip);
    if (!e) {
      e = { mac: undefined, updated: now, queue: [], requestedAt: 0, tries: 0 };
      this.#entries.set(ip, e);
    }
    if (!e.mac || !sameMac(e.mac, mac)) e.mac = Uint8Array.from(mac.subarray(0, 6));
    e.updated = now;
    e.tries = 0;
    if (e.queue.length === 0) return null;
    const q = e.queue;
    e.queue = [];
    return q;
  }

  /**
   * Queues a copy of a packet until `ip` resolves. Returns 1 when a request
   * should go out now, 0 when one is already outstanding, -1 when the queue is full.
   */
  enqueue(ip: number, frame: Uint8Array, rec: MirrorRecord, now: number): number {
    let e = this.#entries.get(ip);
    if (!e) {
      e = { mac: undefined, updated: now, queue: [], requestedAt: 0, tries: 0 };
      this.#entries.set(ip, e);
    }
    if (e.queue.length >= this.#limit) return -1;
    const copy = Uint8Array.from(frame);
    e.queue.push({
      frame: copy,
      rec: {
        ...rec,
        nextHop: new Uint8Array(6),
        vnet: Uint8Array.from(rec.vnet ?? []),
        frame: copy,
      },
    });
    if (e.tries === 0) {
      e.tries = 1;
      e.requestedAt = now;
      return 1;
    }
    return 0;
  }

  /** Retries outstanding requests and drops queues that waited too long. */
  tick(now: number): { expired: number; retry: number[]; deadline: number } {
    let expired = 0;
    let deadline = Infinity;
    const retry: number[] = [];
    for (const [ip, e] of this.#entries) {
      if (e.mac !== undefined || e.tries === 0) continue;
      if (now - e.requestedAt >= RETRY_MS) {
        if (e.tries >= RETRIES) {
          expired += e.queue.length;
          this.#entries.delete(ip);
          continue;
        }
        e.tries++;
        e.requestedAt = now;
        retry.push(ip);
      }
      deadline = Math.min(deadline, e.requestedAt + RETRY_MS);
    }
    return { expired, retry, deadline };
  }
}

function sameMac(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < 6; i++) if (a[i] !== b[i]) return false;
  return true;
}
