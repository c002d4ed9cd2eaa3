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

/**
 * Independent check of an IPv6 upper-layer checksum (RFC 8200 §8.1): builds the pseudo-header
 * as bytes, appends `packet[40, 40 + payload length)` (no extension headers), and sums it
 * naively, without `checksum.ts`. True when the total is 0xffff (the stored checksum is right).
 */
export function upperChecksumOk6(packet: Uint8Array): boolean {
  const len = (packet[4]! << 8) | packet[5]!;
  const all = new Uint8Array(40 + len + 1);
  all.set(packet.subarray(8, 40), 0);
  all[32] = len >>> 24;
  all[33] = (len >>> 16) & 0xff;
  all[34] = (len >>> 8) & 0xff;
  all[35] = len & 0xff;
  all[39] = packet[6]!;
  all.set(packet.subarray(40, 40 + len), 40);
  let sum = 0;
  for (let i = 0; i + 1 < all.length; i += 2) sum += all[i]! * 256 + all[i + 1]!;
  while (sum > 0xffff) sum = (sum % 0x10000) + Math.floor(sum / 0x10000);
  return sum === 0xffff;
}
