/**
 * Ethernet II frames (IEEE 802.3 with an EtherType, as carried by a Linux TAP with IFF_NO_PI).
 *
 * Decision: the engine never parses past an 802.1Q tag (EtherType 0x8100) nor passes one
 * through. A trunk's tags are stripped and inserted at the unit's edge (`wire/vlan.ts`,
 * `unit/trunk.ts`); a tagged frame that still reaches the engine is for a VLAN not configured on
 * its TAP and is counted and dropped as `vlan_unknown`, since forwarding it would leak frames
 * between VLANs.
 * The frame check sequence is never present on a TAP, so it is not modelled.
 * @module
 */

import { readU16, writeU16 } from "./bytes.ts";

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_VLAN = 0x8100;
export const ETHERTYPE_IPV6 = 0x86dd;

/** Length of the Ethernet II header: dst (6), src (6), EtherType (2). */
export const ETHERNET_HEADER_LEN = 14;

const DST = 0;
const SRC = 6;
const ETHERTYPE = 12;
const EMPTY = new Uint8Array(0);

/**
 * View of an Ethernet II frame at `buf[off, end)`. Re-pointable with {@link EthernetFrame.check}
 * so the data path reuses one view per packet instead of allocating.
 */
export class EthernetFrame {
  buf: Uint8Array;
  off: number;
  end: number;

  /** Wraps `bytes[off, end)` without checks; use {@link EthernetFrame.checked} on untrusted input. */
  constructor(bytes: Uint8Array = EMPTY, off = 0, end = bytes.length) {
    this.buf = bytes;
    this.off = off;
    this.end = end;
  }

  /** A view, or undefined when `bytes` cannot hold an Ethernet header (< 14 bytes). */
  static checked(bytes: Uint8Array): EthernetFrame | undefined {
    const v = new EthernetFrame();
    return v.check(bytes, 0, bytes.length) ? v : undefined;
  }

  /** Points the view at `buf[off, end)`; false (view unchanged) when no header fits. */
  check(buf: Uint8Array, off: number, end: number): boolean {
    if (end - off < ETHERNET_HEADER_LEN) return false;
    this.buf = buf;
    this.off = off;
    this.end = end;
    return true;
  }

  /** The frame as a subarray (allocates a view: not for the per-packet path). */
  get bytes(): Uint8Array {
    return this.buf.subarray(this.off, this.end);
  }
  /** Destination MAC: a 6-byte subarray aliasing the frame. */
  get dst(): Uint8Array {
    return this.buf.subarray(this.off + DST, this.off + DST + 6);
  }
  set dst(mac: Uint8Array) {
    copyMac(mac, this.buf, this.off + DST);
  }
  /** Source MAC: a 6-byte subarray aliasing the frame. */
  get src(): Uint8Array {
    return this.buf.subarray(this.off + SRC, this.off + SRC + 6);
  }
  set src(mac: Uint8Array) {
    copyMac(mac, this.buf, this.off + SRC);
  }
  /** True when the destination MAC equals `mac` (no allocation). */
  dstIs(mac: Uint8Array): boolean {
    return macEquals(this.buf, this.off + DST, mac);
  }
  get etherType(): number {
    return readU16(this.buf, this.off + ETHERTYPE);
  }
  set etherType(value: number) {
    writeU16(this.buf, this.off + ETHERTYPE, value);
  }
  /** Offset of the payload in `buf`. */
  get payloadOff(): number {
    return this.off + ETHERNET_HEADER_LEN;
  }
  /** Everything after the header (may include padding up to the 60-byte minimum frame). */
  get payload(): Uint8Array {
    return this.buf.subarray(this.off + ETHERNET_HEADER_LEN, this.end);
  }
  /** True when the destination is a group (multicast or broadcast) address (I/G bit set). */
  get isGroupDst(): boolean {
    return (this.buf[this.off + DST]! & 1) === 1;
  }
}

/** True when `buf[at, at + 6)` equals `mac`. */
export function macEquals(buf: Uint8Array, at: number, mac: Uint8Array): boolean {
  return buf[at] === mac[0] && buf[at + 1] === mac[1] && buf[at + 2] === mac[2] &&
    buf[at + 3] === mac[3] && buf[at + 4] === mac[4] && buf[at + 5] === mac[5];
}

/** Writes the 6 bytes of `mac` at `buf[at]` (a byte loop: `set` on a subarray would allocate). */
export function copyMac(mac: Uint8Array, buf: Uint8Array, at: number): void {
  buf[at] = mac[0]!;
  buf[at + 1] = mac[1]!;
  buf[at + 2] = mac[2]!;
  buf[at + 3] = mac[3]!;
  buf[at + 4] = mac[4]!;
  buf[at + 5] = mac[5]!;
}

/** A parsed Ethernet header as plain values. */
export interface EthernetRepr {
  dst: Uint8Array;
  src: Uint8Array;
  etherType: number;
}

/** Parse/emit companion of {@link EthernetRepr}. */
export const EthernetRepr = {
  /** Copies the header fields out of a frame (the MACs are copies, not aliases). */
  parse(frame: EthernetFrame): EthernetRepr {
    return { dst: frame.dst.slice(), src: frame.src.slice(), etherType: frame.etherType };
  },
  /** Writes the 14-byte header at the start of `buf`; returns the number of bytes written. */
  emit(repr: EthernetRepr, buf: Uint8Array): number {
    writeEthernet(buf, 0, repr.dst, repr.src, repr.etherType);
    return ETHERNET_HEADER_LEN;
  },
};

/** Writes an Ethernet header at `buf[at]` without allocating. */
export function writeEthernet(
  buf: Uint8Array,
  at: number,
  dst: Uint8Array,
  src: Uint8Array,
  etherType: number,
): void {
  copyMac(dst, buf, at + DST);
  copyMac(src, buf, at + SRC);
  writeU16(buf, at + ETHERTYPE, etherType);
}
