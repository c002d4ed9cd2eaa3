/**
 * The Internet checksum (RFC 1071) and its incremental update (RFC 1624).
 *
 * Sums are kept *unfolded* while they are built (a JS number holds far more than the 2^32 a 64 KiB
 * packet can reach), then folded once. Incremental updates use RFC 1624 eqn 3,
 * `HC' = ~(~HC + ~m + m')`, which — unlike RFC 1141's eqn 2 — never produces the negative zero
 * 0xffff when a full recompute would give 0x0000.
 * @module
 */

/**
 * One's-complement running sum of the 16-bit big-endian words in `bytes[start, end)`, unfolded,
 * added to `initial`. An odd trailing byte is padded with a zero low byte (RFC 1071 §4.1).
 */
export function sum16(bytes: Uint8Array, start: number, end: number, initial = 0): number {
  let sum = initial;
  let i = start;
  const even = end - ((end - start) & 1);
  for (; i < even; i += 2) sum += (bytes[i]! << 8) | bytes[i + 1]!;
  if (i < end) sum += bytes[i]! << 8;
  return sum;
}

/** Folds an unfolded sum to 16 bits with end-around carry (RFC 1071 §2(C)). */
export function fold(sum: number): number {
  // Division rather than `>>> 16` so sums beyond 2^32 (many chained buffers) still fold right.
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}

/**
 * The checksum to store: the complement of the folded sum of `bytes[start, end)` plus `initial`
 * (e.g. a pseudo-header sum). Over a region that already holds a correct checksum it yields 0.
 */
export function internetChecksum(
  bytes: Uint8Array,
  start: number,
  end: number,
  initial = 0,
): number {
  return ~fold(sum16(bytes, start, end, initial)) & 0xffff;
}

/** Unfolded sum of the TCP/UDP IPv4 pseudo-header (RFC 9293 §3.1, RFC 768). */
export function pseudoHeaderSum(src: number, dst: number, proto: number, length: number): number {
  return (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + proto + length;
}

/** Updates `checksum` for one 16-bit word changing from `oldWord` to `newWord` (RFC 1624 eqn 3). */
export function adjust16(checksum: number, oldWord: number, newWord: number): number {
  return ~fold((~checksum & 0xffff) + (~oldWord & 0xffff) + (newWord & 0xffff)) & 0xffff;
}

/**
 * Updates `checksum` for a 32-bit value (an IPv4 address, a sequence number) changing from
 * `oldValue` to `newValue`: RFC 1624 eqn 3 applied to both of its words at once.
 */
export function adjust32(checksum: number, oldValue: number, newValue: number): number {
  return ~fold(
    (~checksum & 0xffff) + (~oldValue >>> 16) + (~oldValue & 0xffff) + (newValue >>> 16) +
      (newValue & 0xffff),
  ) & 0xffff;
}

/**
 * The change a 32-bit value makes to a one's-complement sum when it goes from `oldValue` to
 * `newValue`: `~m + m'` for each of its 16-bit words (RFC 1624 eqn 3). Deltas add up; apply the
 * total once with {@link applyDelta}. Small integers only, so a caller that sums several never
 * boxes a 32-bit number.
 */
export function wordDelta32(oldValue: number, newValue: number): number {
  return (~oldValue >>> 16) + (~oldValue & 0xffff) + (newValue >>> 16) + (newValue & 0xffff);
}

/** `checksum` updated by a summed delta: `~(~HC + delta)`, folded (RFC 1624 eqn 3). */
export function applyDelta(checksum: number, delta: number): number {
  return ~fold((~checksum & 0xffff) + delta) & 0xffff;
}
