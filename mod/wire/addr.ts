/**
 * Address helpers shared by config, engine and wire. IPv4 addresses travel as
 * unsigned 32-bit numbers so flow keys stay in typed arrays; MACs as 6 bytes.
 * @module
 */

/** Parses dotted-quad IPv4; returns undefined for anything else (no throws on user input). */
export function parseIpv4(text: string): number | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = value * 256 + octet;
  }
  return value >>> 0;
}

export function ipv4ToString(addr: number): string {
  return `${addr >>> 24}.${(addr >>> 16) & 255}.${(addr >>> 8) & 255}.${addr & 255}`;
}

/** Network mask for a prefix length, as an unsigned 32-bit number. */
export function prefixMask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

export function sameSubnet(a: number, b: number, prefix: number): boolean {
  const mask = prefixMask(prefix);
  return ((a & mask) >>> 0) === ((b & mask) >>> 0);
}

/** Parses `aa:bb:cc:dd:ee:ff`; undefined when malformed. */
export function parseMac(text: string): Uint8Array | undefined {
  const parts = text.split(":");
  if (parts.length !== 6 || !parts.every((p) => /^[0-9a-fA-F]{2}$/.test(p))) return undefined;
  return Uint8Array.from(parts.map((p) => parseInt(p, 16)));
}

export function macToString(mac: Uint8Array): string {
  return Array.from(mac.subarray(0, 6), (b) => b.toString(16).padStart(2, "0")).join(":");
}

export const BROADCAST_MAC: Uint8Array = new Uint8Array([255, 255, 255, 255, 255, 255]);

/**
 * IPv6 addresses (RFC 4291) travel as four unsigned 32-bit words in network order: the engine
 * keeps the low word where an IPv4 address would be and the three high words beside it, which
 * are zero for IPv4 (the ::/96 block is deprecated and never forwarded, RFC 4291 §2.5.5.1).
 */
export type Ip6 = Uint32Array;

/** Parses RFC 4291 §2.2 text (with `::`, and a dotted IPv4 tail); undefined when malformed. */
export function parseIpv6(text: string): Ip6 | undefined {
  if (text.length === 0 || text.length > 45 || !/^[0-9a-fA-F:.]+$/.test(text)) return undefined;
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const groups = (s: string): number[] | undefined => {
    if (s === "") return [];
    const out: number[] = [];
    const parts = s.split(":");
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      if (i === parts.length - 1 && part.includes(".")) {
        const v4 = parseIpv4(part);
        if (v4 === undefined) return undefined;
        out.push(v4 >>> 16, v4 & 0xffff);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(part)) out.push(parseInt(part, 16));
      else return undefined;
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (head === undefined || tail === undefined) return undefined;
  let all: number[];
  if (halves.length === 2) {
    const fill = 8 - head.length - tail.length;
    if (fill < 1) return undefined;
    all = [...head, ...new Array<number>(fill).fill(0), ...tail];
  } else all = head;
  if (all.length !== 8) return undefined;
  const w = new Uint32Array(4);
  for (let i = 0; i < 4; i++) w[i] = ((all[i * 2]! << 16) | all[i * 2 + 1]!) >>> 0;
  return w;
}

/** RFC 5952 text: lowercase, the longest run of two or more zero groups as `::`. */
export function ipv6ToString(w: ArrayLike<number>): string {
  const g: number[] = [];
  for (let i = 0; i < 4; i++) g.push(w[i]! >>> 16, w[i]! & 0xffff);
  let best = -1, bestLen = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (a: number[]) => a.map((x) => x.toString(16)).join(":");
  if (best < 0) return hex(g);
  return `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}

/** True when the first `prefix` bits of `a` and `b` (4 words each) are equal. */
export function sameSubnet6(a: ArrayLike<number>, b: ArrayLike<number>, prefix: number): boolean {
  for (let i = 0; i < 4; i++) {
    const bits = Math.max(0, Math.min(32, prefix - i * 32));
    if (bits === 0) return true;
    const mask = prefixMask(bits);
    if (((a[i]! & mask) >>> 0) !== ((b[i]! & mask) >>> 0)) return false;
  }
  return true;
}

/** An address as text: IPv4 when the high words are zero (`hi` absent or zeros), else IPv6. */
export function ipToString(lo: number, h0 = 0, h1 = 0, h2 = 0): string {
  if ((h0 | h1 | h2) === 0) return ipv4ToString(lo);
  return ipv6ToString([h0, h1, h2, lo]);
}

/** `host:port`, with an IPv6 host in brackets (RFC 5952 §6). */
export function withPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** An address given as IPv4 `ip`, or as the whole IPv6 `ip6` when set (engine config shape). */
export function addrText(ip: number, ip6?: ArrayLike<number>): string {
  return ip6 ? ipv6ToString(ip6) : ipv4ToString(ip);
}
