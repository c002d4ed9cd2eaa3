/**
 * The project's one seeded PRNG: xorshift32 (Marsaglia 2003). Deterministic streams make test
 * runs, fuzz runs and generated traffic repeat exactly. Not for secrets: the engine's own
 * randomness (SNAT ports, sequence offsets) is an input, fed from `crypto.getRandomValues` in
 * the running unit.
 * @module
 */

/** A seeded generator of u32 values; a zero seed is replaced so the stream still moves. */
export function xorshift32(seed: number): () => number {
  let s = seed >>> 0 || 0x9e3779b9;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

/** A seeded generator of floats uniform in [0, 1). */
export function xorshift32Unit(seed: number): () => number {
  const next = xorshift32(seed);
  return () => next() / 0x100000000;
}
