/**
 * Big-endian (network order) field access on a `Uint8Array`, shared by the wire views. Plain
 * functions rather than a `DataView` so that constructing a view allocates nothing beyond itself.
 * Callers guarantee the offsets are in range (the views' `checked` constructors do).
 * @module
 */

/** Reads the big-endian u16 at `offset`. */
export function readU16(bytes: Uint8Array, offset: number): number {
  return (bytes[offset]! << 8) | bytes[offset + 1]!;
}

/** Writes `value` (low 16 bits) big-endian at `offset`. */
export function writeU16(bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = value >>> 8;
  bytes[offset + 1] = value;
}

/** Reads the big-endian u32 at `offset` as an unsigned number. */
export function readU32(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) |
    bytes[offset + 3]!) >>> 0;
}

/** Writes `value` (as u32) big-endian at `offset`. */
export function writeU32(bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = value >>> 24;
  bytes[offset + 1] = value >>> 16;
  bytes[offset + 2] = value >>> 8;
  bytes[offset + 3] = value;
}
