/**
 * 32-bit non-cryptographic hashing: MurmurHash3 x86_32 (Austin Appleby,
 * public domain algorithm), written from its description. Integer-only
 * (`Math.imul`, shifts), so the per-packet tuple hash allocates nothing.
 * @module
 */

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;
const ENCODER = new TextEncoder();

/** Mixes one 32-bit block into the running state. */
function mixK(h: number, k: number): number {
  k = Math.imul(k, C1);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, C2);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** Final avalanche: every input bit affects every output bit. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** MurmurHash3 x86_32 of `data` (strings as UTF-8); an unsigned 32-bit result. */
export function hash32(data: Uint8Array | string, seed: number): number {
  const b = typeof data === "string" ? ENCODER.encode(data) : data;
  const n = b.length;
  const blocks = n & ~3;
  let h = seed | 0;
  for (let i = 0; i < blocks; i += 4) {
    // Little-endian blocks, as the reference reads them on x86.
    h = mixK(h, b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24));
  }
  const tail = n & 3;
  if (tail !== 0) {
    // The 1–3 trailing bytes, little-endian, mixed without the rotate of h.
    let k = b[blocks]!;
    if (tail > 1) k ^= b[blocks + 1]! << 8;
    if (tail > 2) k ^= b[blocks + 2]! << 16;
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, C2);
  }
  return fmix32(h ^ n);
}

/**
 * Hash of a flow's 5-tuple, for backend selection per packet. Equal to
 * `hash32` over the 16 bytes `srcIp, dstIp, srcPort << 16 | dstPort, proto`
 * as little-endian u32 words, computed without building them.
 */
export function hashTuple(
  proto: number,
  srcIp: number,
  srcPort: number,
  dstIp: number,
  dstPort: number,
  seed: number,
): number {
  let h = seed | 0;
  h = mixK(h, srcIp | 0);
  h = mixK(h, dstIp | 0);
  h = mixK(h, ((srcPort & 0xffff) << 16) | (dstPort & 0xffff));
  h = mixK(h, proto & 0xff);
  return fmix32(h ^ 16);
}
