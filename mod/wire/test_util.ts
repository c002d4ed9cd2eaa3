/**
 * Helpers for the wire tests only (not re-exported by `mod.ts`): a seeded PRNG so failures
 * reproduce, a no-throw fuzz loop, and hex conversion for golden frames.
 * @module
 */
import { xorshift32 } from "../util/prng.ts";

/** The project's seeded PRNG (u32 values), so failures reproduce. */
export const prng: (seed: number) => () => number = xorshift32;

/** Random bytes of the given length from `next`. */
export function randomBytes(next: () => number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = next() & 0xff;
  return out;
}

/**
 * Feeds `runs` random arrays (length 0..maxLen) to `fn`, which must not throw. To reach deep
 * branches, `shape` may patch each array first (e.g. set a valid version nibble half the time).
 * Returns how many inputs `fn` accepted (returned something other than undefined).
 */
export function fuzz(
  seed: number,
  runs: number,
  maxLen: number,
  fn: (bytes: Uint8Array) => unknown,
  shape?: (bytes: Uint8Array, next: () => number) => void,
): number {
  const next = prng(seed);
  let accepted = 0;
  for (let i = 0; i < runs; i++) {
    const bytes = randomBytes(next, next() % (maxLen + 1));
    shape?.(bytes, next);
    if (fn(bytes) !== undefined) accepted++;
  }
  return accepted;
}

/** Parses a hex string (whitespace ignored). */
export function fromHex(hex: string): Uint8Array {
  const clean = hex.replace(/\s+/g, "");
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** A buffer pre-filled with 0xa5 so fields an emitter forgot to write show up. */
export function poisoned(length: number): Uint8Array {
  return new Uint8Array(length).fill(0xa5);
}
