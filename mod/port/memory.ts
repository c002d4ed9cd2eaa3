/**
 * An in-memory {@link FramePort} for tests: frames injected on one side come
 * out of recv, frames sent are kept as copies.
 * @module
 */

import { ERRNO, OsError } from "./errors.ts";
import type { FramePort } from "./frame_port.ts";

/** Options for {@link MemoryPort}. */
export interface MemoryPortOptions {
  /**
   * How many sent frames may sit in {@link MemoryPort.sent} before send
   * returns false, like a full device queue (EAGAIN). Unbounded by default.
   */
  capacity?: number;
}

/** A FramePort backed by two arrays. */
export class MemoryPort implements FramePort {
  readonly name: string;
  readonly fd = -1;
  /** Copies of every frame accepted by send, oldest first. */
  sent: Uint8Array[] = [];
  /** Frames refused because the queue was at capacity. */
  refused = 0;
  capacity: number;
  #rx: Uint8Array[] = [];
  #rxHead = 0;
  #closed = false;

  constructor(name = "mem", options: MemoryPortOptions = {}) {
    this.name = name;
    this.capacity = options.capacity ?? Infinity;
  }

  /** Queues a copy of frame for a later recv. */
  inject(frame: Uint8Array): void {
    this.#rx.push(frame.slice());
  }

  /** Frames injected and not yet received. */
  get pending(): number {
    return this.#rx.length - this.#rxHead;
  }

  /** Returns the sent frames and empties the queue, making room under capacity again. */
  take(): Uint8Array[] {
    const out = this.sent;
    this.sent = [];
    return out;
  }

  recv(buf: Uint8Array): number {
    this.#check("read");
    const frame = this.#rx[this.#rxHead];
    if (frame === undefined) return 0;
    this.#rxHead++;
    if (this.#rxHead === this.#rx.length) {
      this.#rx = [];
      this.#rxHead = 0;
    }
    // A short buffer truncates, as read(2) on a TAP does.
    const n = Math.min(frame.length, buf.length);
    buf.set(frame.subarray(0, n));
    return n;
  }

  send(frame: Uint8Array, len: number = frame.length): boolean {
    this.#check("write");
    if (this.sent.length >= this.capacity) {
      this.refused++;
      return false;
    }
    this.sent.push(frame.slice(0, len));
    return true;
  }

  close(): void {
    this.#closed = true;
  }

  #check(syscall: string): void {
    if (this.#closed) throw new OsError(syscall, ERRNO.EBADF, this.name);
  }
}
