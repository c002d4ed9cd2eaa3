/**
 * IEEE 802.1Q VLAN tags: the 4 bytes (TPID 0x8100, then PCP:3 DEI:1 VID:12) between the source
 * MAC and the EtherType. The unit's trunk edge (`unit/trunk.ts`) strips the tag before the
 * engine sees a frame and inserts it again on the way out, so the engine only ever handles
 * untagged Ethernet II.
 *
 * Both moves shift only the 12 MAC bytes, never the payload: a tag is removed by moving the
 * MACs 4 bytes forward (the frame then starts 4 bytes later), and inserted by moving them 4
 * bytes back into headroom the caller guarantees. Nothing allocates.
 * @module
 */

import { readU16, writeU16 } from "./bytes.ts";

/** Tag Protocol Identifier of a customer VLAN tag (IEEE 802.1Q §9.5). */
export const TPID_8021Q = 0x8100;
/** Length of the tag (TPID + TCI). */
export const VLAN_TAG_LEN = 4;
/** An Ethernet header with one tag: dst, src, tag, EtherType. */
export const VLAN_HEADER_LEN = 18;
/** The lowest and highest VID a port may be configured with: 0 and 4095 are reserved (§9.6). */
export const VID_MIN = 1;
export const VID_MAX = 4094;

const MACS = 12;
const VID_MASK = 0x0fff;

/** True when the frame at `buf[off]` carries an 802.1Q tag (the caller checked 14 bytes). */
export function isTagged(buf: Uint8Array, off: number): boolean {
  return readU16(buf, off + MACS) === TPID_8021Q;
}

/**
 * The VID of the tagged frame at `buf[off]`; 0 for a priority-tagged frame, which 802.1Q
 * (§6.9.1) assigns to the port's untagged VLAN. The caller checked 18 bytes.
 */
export function tagVid(buf: Uint8Array, off: number): number {
  return readU16(buf, off + MACS + 2) & VID_MASK;
}

/**
 * Removes the tag of the frame at `buf[off]` in place: the MACs move 4 bytes forward, over the
 * tag. Returns the new start of the (untagged) frame, `off + 4`.
 */
export function stripTag(buf: Uint8Array, off: number): number {
  // Backwards, so the overlapping move reads each byte before it is overwritten.
  for (let i = MACS - 1; i >= 0; i--) buf[off + VLAN_TAG_LEN + i] = buf[off + i]!;
  return off + VLAN_TAG_LEN;
}

/**
 * Inserts a tag for `vid` (PCP 0, DEI 0) before the EtherType of the untagged frame at
 * `buf[off]`, using the 4 bytes before `off` as headroom (`off >= 4`): the MACs move 4 bytes
 * back. Returns the new start of the tagged frame, `off - 4`.
 */
export function insertTag(buf: Uint8Array, off: number, vid: number): number {
  const at = off - VLAN_TAG_LEN;
  for (let i = 0; i < MACS; i++) buf[at + i] = buf[off + i]!;
  writeU16(buf, at + MACS, TPID_8021Q);
  writeU16(buf, at + MACS + 2, vid & VID_MASK);
  return at;
}

/**
 * Writes the first 16 bytes of the tagged copy of the untagged frame at `src[off]` to
 * `dst[at]`: its MACs, then a tag for `vid`. The caller copies the rest, `src[off + 12, end)`,
 * to `dst[at + 16]` (with `copyWithin` where it can, so no view is made per frame). `dst` must
 * not overlap the MACs of `src`.
 */
export function writeTaggedHead(
  dst: Uint8Array,
  at: number,
  src: Uint8Array,
  off: number,
  vid: number,
): void {
  for (let i = 0; i < MACS; i++) dst[at + i] = src[off + i]!;
  writeU16(dst, at + MACS, TPID_8021Q);
  writeU16(dst, at + MACS + 2, vid & VID_MASK);
}

/** Bytes of an untagged frame that precede what follows the tag in its tagged copy (the MACs). */
export const VLAN_MACS_LEN = MACS;
