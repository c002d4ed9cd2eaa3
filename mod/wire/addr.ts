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
