/**
 * One ArrayBuffer carved into a unit's I/O buffers (TAP receive and transmit, peer receive,
 * the data lane's batch). Moving a frame between them (into a mirror record, or out of a peer
 * datagram toward a TAP) is then a `copyWithin` on one view: no view object per packet, so the
 * established-flow path makes no garbage.
 * @module
 */

export class Arena {
  /** A view of the whole buffer. */
  readonly whole: Uint8Array;
  readonly #regions = new Map<string, Uint8Array>();

  /** `sizes`: each region's name and byte length, laid out in order. */
  constructor(sizes: readonly (readonly [name: string, bytes: number])[]) {
    let total = 0;
    for (const [, n] of sizes) total += n;
    this.whole = new Uint8Array(total);
    let at = 0;
    for (const [name, n] of sizes) {
      this.#regions.set(name, this.whole.subarray(at, at + n));
      at += n;
    }
  }

  /** The region called `name`. */
  region(name: string): Uint8Array {
    const r = this.#regions.get(name);
    if (!r) throw new RangeError(`no arena region ${name}`);
    return r;
  }

  /**
   * Copies `src[off, end)` to `dst[at]`: a `copyWithin` when both live in this arena, else a
   * plain copy (which makes one view).
   */
  copy(dst: Uint8Array, at: number, src: Uint8Array, off: number, end: number): void {
    const w = this.whole;
    if (src.buffer === w.buffer && dst.buffer === w.buffer) {
      w.copyWithin(dst.byteOffset + at, src.byteOffset + off, src.byteOffset + end);
    } else dst.set(src.subarray(off, end), at);
  }
}
