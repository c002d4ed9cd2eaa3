/**
 * One poll(2) over every fd of the data plane (TAPs and the peer socket).
 * The wait runs off the JS thread (`nonblocking: true`), once per idle
 * period; the caller then drains each ready fd with synchronous reads, so the
 * per-frame path never pays a thread hop.
 * @module
 */

import { libc } from "./ffi.ts";
import { ERRNO, lastErrno, OsError } from "./errors.ts";

const POLLIN = 0x001;
const POLLERR = 0x008;
const POLLHUP = 0x010;
const POLLNVAL = 0x020;
/** Revents that mean "go and read this fd": data, or an error the read will report. */
const READY = POLLIN | POLLERR | POLLHUP | POLLNVAL;
/** sizeof(struct pollfd): int fd, short events, short revents. */
const POLLFD_SIZE = 8;
/** The ready set is a 32-bit mask, one bit per fd index. */
export const MAX_POLL_FDS = 32;
/** Upper bound of one wait, so shutdown and timers are never starved for long. */
export const MAX_POLL_MS = 1000;

/** Clamps a timeout to whole milliseconds in [0, {@link MAX_POLL_MS}], rounding up. */
export function clampTimeout(timeoutMs: number): number {
  if (Number.isNaN(timeoutMs) || timeoutMs <= 0) return 0;
  return Math.min(MAX_POLL_MS, Math.ceil(timeoutMs));
}

/** Waits for readability on a fixed set of fds. */
export class Poller {
  readonly fds: readonly number[];
  readonly #pollfds: Uint8Array;
  readonly #view: DataView;
  readonly #nfds: bigint;
  #waiting = false;

  /** @throws RangeError for more than {@link MAX_POLL_FDS} fds */
  constructor(fds: number[]) {
    if (fds.length > MAX_POLL_FDS) {
      throw new RangeError(`Poller: at most ${MAX_POLL_FDS} fds, got ${fds.length}`);
    }
    this.fds = [...fds];
    this.#pollfds = new Uint8Array(fds.length * POLLFD_SIZE);
    this.#view = new DataView(this.#pollfds.buffer);
    this.#nfds = BigInt(fds.length);
    fds.forEach((fd, i) => {
      // A negative fd is skipped by the kernel (revents 0): handy for in-memory ports.
      this.#view.setInt32(i * POLLFD_SIZE, fd, true);
      this.#view.setInt16(i * POLLFD_SIZE + 4, POLLIN, true);
    });
  }

  /**
   * Waits up to timeoutMs (clamped, see {@link clampTimeout}) without
   * blocking the event loop. Resolves with bit i set when fds[i] is readable
   * or errored; 0 on timeout. One wait at a time: the kernel writes into the
   * shared pollfd array while it runs.
   */
  async wait(timeoutMs: number): Promise<number> {
    if (this.#waiting) throw new Error("Poller.wait: a wait is already in flight");
    this.#waiting = true;
    try {
      const n = await libc().poll_wait(this.#pollfds, this.#nfds, clampTimeout(timeoutMs));
      // errno of a failed nonblocking call stayed on its worker thread; a
      // zero-timeout poll here either yields the ready set or a readable errno.
      return n < 0 ? this.#pollSync(0) : this.#mask();
    } finally {
      this.#waiting = false;
    }
  }

  /** Blocking variant of {@link wait}: holds the JS thread for up to timeoutMs. */
  waitSync(timeoutMs: number): number {
    if (this.#waiting) throw new Error("Poller.waitSync: a wait is already in flight");
    return this.#pollSync(clampTimeout(timeoutMs));
  }

  #pollSync(timeout: number): number {
    const n = libc().poll(this.#pollfds, this.#nfds, timeout);
    if (n >= 0) return this.#mask();
    const errno = lastErrno();
    // An interrupted wait reports nothing ready; the caller loops anyway.
    if (errno === ERRNO.EINTR) return 0;
    throw new OsError("poll", errno, this.fds.join(","));
  }

  #mask(): number {
    let mask = 0;
    for (let i = 0; i < this.fds.length; i++) {
      if (this.#view.getInt16(i * POLLFD_SIZE + 6, true) & READY) mask |= 1 << i;
    }
    return mask >>> 0;
  }
}
