/**
 * A {@link FramePort} wrapper that loses sent frames on purpose — every Nth,
 * a seeded random percentage, or all of them — to test loss recovery. A lost
 * frame reports success, like a frame dropped further down the wire.
 * @module
 */

import type { FramePort } from "./frame_port.ts";
import { xorshift32Unit } from "../util/prng.ts";

/** Options for {@link FaultPort}. */
export interface FaultOptions {
  /** Drop the Nth, 2Nth, … sent frame (1-based). 0 disables. */
  dropEvery?: number;
  /** Drop this percentage (0–100) of sent frames at random. */
  dropPercent?: number;
  /** PRNG seed, so a failing run can be replayed. */
  seed?: number;
}

/** Wraps a port and drops some of what is sent through it, counting both outcomes. */
export class FaultPort implements FramePort {
  readonly inner: FramePort;
  /** Mutable at run time, e.g. to start losing frames mid-test. */
  dropEvery: number;
  dropPercent: number;
  /** When true every sent frame is lost (a cut cable). */
  blackhole = false;
  /** Frames lost on purpose. */
  dropped = 0;
  /** Frames handed to the inner port (whatever it answered). */
  passed = 0;
  #attempts = 0;
  readonly #random: () => number;

  constructor(inner: FramePort, options: FaultOptions = {}) {
    this.inner = inner;
    this.dropEvery = options.dropEvery ?? 0;
    this.dropPercent = options.dropPercent ?? 0;
    this.#random = xorshift32Unit(options.seed ?? 1);
  }

  get name(): string {
    return this.inner.name;
  }

  get fd(): number {
    return this.inner.fd;
  }

  recv(buf: Uint8Array): number {
    return this.inner.recv(buf);
  }

  send(frame: Uint8Array, len: number = frame.length): boolean {
    this.#attempts++;
    // Draw on every send so the random sequence does not depend on the other rules.
    const roll = this.#random() * 100;
    const lose = this.blackhole ||
      (this.dropEvery > 0 && this.#attempts % this.dropEvery === 0) ||
      roll < this.dropPercent;
    if (lose) {
      this.dropped++;
      return true;
    }
    this.passed++;
    return this.inner.send(frame, len);
  }

  close(): void {
    this.inner.close();
  }
}
