/**
 * Maglev consistent hashing (Eisenbud et al., "Maglev: A Fast and Reliable
 * Software Network Load Balancer", NSDI 2016, §3.4). Each backend walks its
 * own permutation of the lookup table, `(offset + j·skip) mod M`, and the
 * backends take turns claiming their next free slot. Every backend ends up
 * with ⌊M/N⌋ or ⌈M/N⌉ slots, and removing one backend moves few slots that
 * belonged to the others.
 * @module
 */
import { hash32 } from "../util/hash.ts";

/** The two seeds of the paper's two hash functions h1 (offset) and h2 (skip). */
const SEED_OFFSET = 0x6d61676c;
const SEED_SKIP = 0x65762121;
/** The paper's default table size: a prime, ≫ the number of backends. */
export const MAGLEV_DEFAULT_SIZE = 65537;

/** Trial division: the table sizes in use are ≤ a few million. */
export function isPrime(n: number): boolean {
  if (!Number.isInteger(n) || n < 2) return false;
  if (n % 2 === 0) return n === 2;
  for (let d = 3; d * d <= n; d += 2) if (n % d === 0) return false;
  return true;
}

export class Maglev {
  readonly size: number;
  readonly backends: readonly string[];
  /** Slot → backend index. */
  readonly table: Int32Array;

  /**
   * `backends`: names such as "203.0.113.20:7000"; the same names in the same
   * order give the same table on every run and every unit. `tableSize` must
   * be prime (so every skip is coprime with it and each permutation visits
   * every slot) and at least the number of backends.
   *
   * `weights` (default all 1): as the paper suggests for weighted backends, a backend takes
   * turns in proportion to its weight: each round adds its weight to a credit, and it claims a
   * slot for every whole largest weight in that credit. A weight of 0 (down, drained) claims
   * none; its name still fixes the others' permutations, so taking it out moves only its own
   * slots. With every weight 0 the table is empty and `pick` returns -1.
   */
  constructor(
    backends: string[],
    tableSize: number = MAGLEV_DEFAULT_SIZE,
    weights?: readonly number[],
  ) {
    if (!isPrime(tableSize)) throw new RangeError(`Maglev table size must be prime: ${tableSize}`);
    if (backends.length === 0) throw new RangeError("Maglev needs at least one backend");
    if (backends.length > tableSize) {
      throw new RangeError(`more backends (${backends.length}) than table slots (${tableSize})`);
    }
    const m = tableSize, n = backends.length;
    this.size = m;
    this.backends = [...backends];
    const skip = new Uint32Array(n);
    const pos = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      const name = backends[i]!;
      pos[i] = hash32(name, SEED_OFFSET) % m;
      skip[i] = (hash32(name, SEED_SKIP) % (m - 1)) + 1;
    }
    if (weights !== undefined && weights.length !== n) {
      throw new RangeError(`${weights.length} weights for ${n} backends`);
    }
    const w = Float64Array.from(weights ?? new Array<number>(n).fill(1));
    let maxW = 0;
    for (const x of w) {
      if (!(x >= 0) || !Number.isInteger(x)) throw new RangeError(`bad weight: ${x}`);
      if (x > maxW) maxW = x;
    }
    const credit = new Float64Array(n);
    const table = new Int32Array(m).fill(-1);
    this.table = table;
    if (maxW === 0) return;
    let filled = 0;
    // Pseudocode of §3.4 (Figure 4 / populate): turns in backend order; each
    // takes the next slot of its permutation not yet claimed.
    outer: for (;;) {
      for (let i = 0; i < n; i++) {
        credit[i]! += w[i]!;
        if (credit[i]! < maxW) continue;
        credit[i]! -= maxW;
        let c = pos[i]!;
        const s = skip[i]!;
        while (table[c] !== -1) {
          c += s;
          if (c >= m) c -= m;
        }
        table[c] = i;
        c += s;
        pos[i] = c >= m ? c - m : c;
        if (++filled === m) break outer;
      }
    }
  }

  /** Backend index for a flow hash (u32), or -1 when no backend has weight. */
  pick(hash: number): number {
    return this.table[(hash >>> 0) % this.size]!;
  }
}
