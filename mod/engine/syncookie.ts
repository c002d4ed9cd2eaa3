/**
 * SYN cookies (RFC 4987 §3.6): the SYN-ACK's initial sequence number encodes what a listener
 * would have kept for a half-open connection, so nothing is stored until the client's ACK
 * proves the handshake. Written for tandem from the RFC's description and the ideas of Linux's
 * `tcp_syncookies`; no code is taken from either.
 *
 * Layout of the 32-bit cookie (the SYN-ACK's ISN):
 *
 *   31..30  time counter mod 4 (64 s slots; a cookie lives at most 2 slots)
 *   29..27  index of the client's MSS in {@link MSS_TABLE}
 *   26..23  the client's window scale (0..14; 15 = none)
 *   22      the client offered SACK
 *   21..0   keyed hash of (saddr, daddr, sport, dport, client ISN, full counter, bits 31..22)
 *
 * The options ride in the ISN itself, not in the TSval as Linux's do: a proxy cannot keep the
 * timestamps it gave the client once the backend picks its own, without a per-flow timestamp
 * offset the flow row does not have, so proxied connections go without timestamps (the SYN-ACK
 * offers none and the SYN to the backend carries none). The price is 22 hash bits instead of
 * ~24: a blind forger needs about 2^21 tries per accepted ACK (two secrets are checked).
 *
 * The key is the pair's shared secret (`CTRL_SECRET`, claims 23, 24): either unit validates a
 * cookie the other made. A rotation keeps the previous secret, so a cookie made just before it
 * still validates.
 *
 * The hash is HalfSipHash-2-4 (Aumasson and Bernstein's 32-bit SipHash variant), written here on
 * 32-bit words so validating a cookie allocates nothing; a flood is tens of thousands of SYNs a
 * second. Its 64-bit key is the secret's first two words and the other two are hashed in first.
 * @module
 */

/** Milliseconds per counter slot (64 s, as Linux). */
export const COOKIE_SLOT_MS = 64_000;
/** Slots a cookie stays valid after the one it was made in. */
export const COOKIE_MAX_AGE = 1;
/** A secret is replaced this often; the previous one keeps validating (≥ a cookie's life). */
export const SECRET_ROTATE_MS = 4 * COOKIE_SLOT_MS;

/** MSS values a cookie can carry (3 bits): a client's MSS is rounded down to one of them. */
export const MSS_TABLE: readonly number[] = [536, 1200, 1300, 1360, 1400, 1440, 1452, 1460];

const WSCALE_NONE = 15;
const HASH_MASK = 0x3fffff;

const rotl = (x: number, b: number): number => (x << b) | (x >>> (32 - b));

let v0 = 0, v1 = 0, v2 = 0, v3 = 0;

function round(): void {
  v0 = (v0 + v1) | 0;
  v1 = rotl(v1, 5) ^ v0;
  v0 = rotl(v0, 16);
  v2 = (v2 + v3) | 0;
  v3 = rotl(v3, 8) ^ v2;
  v0 = (v0 + v3) | 0;
  v3 = rotl(v3, 7) ^ v0;
  v2 = (v2 + v1) | 0;
  v1 = rotl(v1, 13) ^ v2;
  v2 = rotl(v2, 16);
}

function absorb(m: number): void {
  v3 ^= m;
  round();
  round();
  v0 ^= m;
}

/**
 * HalfSipHash-2-4 with the key `s[k], s[k+1]` over the words `s[k+2], s[k+3], a..f`; a u32.
 * Module-level state instead of locals passed around: no allocation, no boxing.
 */
export function cookieHash(
  s: Uint32Array,
  k: number,
  a: number,
  b: number,
  c: number,
  d: number,
  e: number,
): number {
  const k0 = s[k]!, k1 = s[k + 1]!;
  v0 = k0;
  v1 = k1;
  v2 = 0x6c796765 ^ k0;
  v3 = 0x74656462 ^ k1;
  absorb(s[k + 2]!);
  absorb(s[k + 3]!);
  absorb(a);
  absorb(b);
  absorb(c);
  absorb(d);
  absorb(e);
  // Final block: the message length in bytes in the top byte.
  const fin = (7 * 4) << 24;
  absorb(fin);
  v2 ^= 0xff;
  round();
  round();
  round();
  round();
  return (v1 ^ v3) >>> 0;
}

/**
 * The secret both units hold: current and previous, 4 words each. `version` changes with every
 * new secret, so the unit knows when to send it to its peer.
 */
export class SynSecret {
  /** Words 0..3: current; 4..7: previous. */
  readonly words: Uint32Array = new Uint32Array(8);
  /** 0: none yet. Bumped by every rotation or install. */
  version = 0;
  /** When the receiver rotates next (ms). */
  nextRotate = 0;

  get ready(): boolean {
    return this.version !== 0;
  }

  /** A new current secret from `rng` (an input: determinism rule); the old one becomes previous. */
  rotate(rng: () => number, now: number): void {
    const w = this.words;
    if (this.version === 0) { for (let i = 0; i < 4; i++) w[4 + i] = rng() >>> 0; }
    else for (let i = 0; i < 4; i++) w[4 + i] = w[i]!;
    for (let i = 0; i < 4; i++) w[i] = rng() >>> 0;
    this.version = (this.version + 1) >>> 0 || 1;
    this.nextRotate = now + SECRET_ROTATE_MS;
  }

  /** Installs the peer's secret (32 bytes, big-endian words: current then previous). */
  install(data: Uint8Array, version: number, now: number): boolean {
    if (data.length < 32) return false;
    for (let i = 0; i < 8; i++) {
      const o = i * 4;
      this.words[i] = ((data[o]! << 24) | (data[o + 1]! << 16) | (data[o + 2]! << 8) |
        data[o + 3]!) >>> 0;
    }
    this.version = version >>> 0 || 1;
    this.nextRotate = now + SECRET_ROTATE_MS;
    return true;
  }

  /** The 32 bytes {@link install} reads. */
  export(): Uint8Array {
    const out = new Uint8Array(32);
    for (let i = 0; i < 8; i++) {
      const v = this.words[i]!, o = i * 4;
      out[o] = v >>> 24;
      out[o + 1] = (v >>> 16) & 0xff;
      out[o + 2] = (v >>> 8) & 0xff;
      out[o + 3] = v & 0xff;
    }
    return out;
  }
}

/** The time counter at `now` (ms). */
export function cookieCounter(now: number): number {
  return Math.floor(now / COOKIE_SLOT_MS) >>> 0;
}

/** Index of the largest table MSS ≤ `mss` (0 when the client's is smaller than them all). */
export function mssIndex(mss: number): number {
  let i = MSS_TABLE.length - 1;
  while (i > 0 && MSS_TABLE[i]! > mss) i--;
  return i;
}

/**
 * The cookie for a SYN `saddr:sport → daddr:dport` with ISN `isn` at `now`: its options are
 * the MSS index, window scale (-1: none) and SACK-permitted the SYN offered. For IPv6, the
 * addresses are the low words and `hi` the high ones (source 0-2, destination 3-5).
 */
export function makeCookie(
  secret: SynSecret,
  saddr: number,
  daddr: number,
  sport: number,
  dport: number,
  isn: number,
  mssIdx: number,
  wscale: number,
  sack: boolean,
  now: number,
  hi: Uint32Array = NO_HI,
): number {
  const ws = wscale < 0 ? WSCALE_NONE : Math.min(wscale, 14);
  const opts = ((mssIdx & 7) << 5) | (ws << 1) | (sack ? 1 : 0);
  return cookieWith(
    secret.words,
    0,
    saddr,
    daddr,
    sport,
    dport,
    isn,
    cookieCounter(now),
    opts,
    hi,
  );
}

/** High address words of IPv4 (none). */
const NO_HI = new Uint32Array(6);

function cookieWith(
  w: Uint32Array,
  k: number,
  saddr: number,
  daddr: number,
  sport: number,
  dport: number,
  isn: number,
  counter: number,
  opts: number,
  hi: Uint32Array,
): number {
  // An IPv6 address is first compressed to a word by the same keyed hash (an unkeyed fold
  // would let a client that got a cookie for its address find another address it does not
  // own whose fold matches, and open a connection in that address's name).
  if ((hi[0]! | hi[1]! | hi[2]! | hi[3]! | hi[4]! | hi[5]!) !== 0) {
    saddr = cookieHash(w, k, hi[0]!, hi[1]!, hi[2]!, saddr, 0x5a);
    daddr = cookieHash(w, k, hi[3]!, hi[4]!, hi[5]!, daddr, 0xda);
  }
  const h = cookieHash(
    w,
    k,
    saddr,
    daddr,
    ((sport << 16) | dport) >>> 0,
    isn,
    counter * 256 + opts,
  );
  return (((counter & 3) << 30) | (opts << 22) | (h & HASH_MASK)) >>> 0;
}

/**
 * Checks the cookie `cookie` (the client ACK's ack − 1) of the connection whose client ISN was
 * `isn` (its ACK's seq − 1). True when it is one of ours, made in this counter slot or the one
 * before, with the current or the previous secret.
 */
export function checkCookie(
  secret: SynSecret,
  saddr: number,
  daddr: number,
  sport: number,
  dport: number,
  isn: number,
  cookie: number,
  now: number,
  hi: Uint32Array = NO_HI,
): boolean {
  if (!secret.ready) return false;
  const cur = cookieCounter(now);
  const age = (cur - (cookie >>> 30)) & 3;
  if (age > COOKIE_MAX_AGE) return false;
  const counter = cur - age;
  const opts = (cookie >>> 22) & 0xff;
  const w = secret.words;
  return cookieWith(w, 0, saddr, daddr, sport, dport, isn, counter, opts, hi) === cookie ||
    cookieWith(w, 4, saddr, daddr, sport, dport, isn, counter, opts, hi) === cookie;
}

/** The client's MSS a (valid) cookie carries. */
export function cookieMss(cookie: number): number {
  return MSS_TABLE[(cookie >>> 27) & 7]!;
}

/** The client's window scale a cookie carries; -1: it offered none. */
export function cookieWscale(cookie: number): number {
  const ws = (cookie >>> 23) & 15;
  return ws === WSCALE_NONE ? -1 : ws;
}

/** Whether the client offered SACK (RFC 2018), from its cookie. */
export function cookieSack(cookie: number): boolean {
  return ((cookie >>> 22) & 1) === 1;
}
