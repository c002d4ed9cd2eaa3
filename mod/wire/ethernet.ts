/**
 * Ethernet II frames (IEEE 802.3 with an EtherType, as carried by a Linux TAP with IFF_NO_PI).
 *
 * Decision: 802.1Q-tagged frames (EtherType 0x8100) are not parsed past the tag nor passed
 * through; the engine counts and drops them as `vlan_tagged`. The lab and the product topology
 * are untagged, and forwarding a tag we do not understand would leak frames between VLANs.
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

/** Zero-copy view of an Ethernet II frame. */
export class EthernetFrame {
  /** The whole frame, as given. */
  readonly bytes: Uint8Array;

  /** Wraps `bytes` without checks; use {@link EthernetFrame.checked} on untrusted input. */
  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
  }

  /** A view, or undefined when `bytes` cannot hold an Ethernet header (< 14 bytes). */
  static checked(bytes: Uint8Array): EthernetFrame | undefined {
    return bytes.length < ETHERNET_HEADER_LEN ? undefined : new EthernetFrame(bytes);
  }

  /** Destination MAC: a 6-byte subarray aliasing the frame. */
  get dst(): Uint8Array {
    return this.bytes.subarray(DST, DST + 6);
  }
  set dst(mac: Uint8Array) {
    this.bytes.set(mac.subarray(0, 6), DST);
  }

  /** Source MAC: a 6-byte subarray aliasing the frame. */
  get src(): Uint8Array {
    return this.bytes.subarray(SRC, SRC + 6);
  }
  set src(mac: Uint8Array) {
    this.bytes.set(mac.subarray(0, 6), SRC);
  }

  get etherType(): number {
    return readU16(this.bytes, ETHERTYPE);
  }
  set etherType(value: number) {
    writeU16(this.bytes, ETHERTYPE, value);
  }

  /** Everything after the header (may include padding up to the 60-byte minimum frame). */
  get payload(): Uint8Array {
    return this.bytes.subarray(ETHERNET_HEADER_LEN);
  }

  /** True when the destination is a group (multicast or broadcast) address (I/G bit set). */
  get isGroupDst(): boolean {
    return (this.bytes[DST]! & 1) === 1;
  }
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
    const frame = new EthernetFrame(buf);
    frame.dst = repr.dst;
    frame.src = repr.src;
    frame.etherType = repr.etherType;
    return ETHERNET_HEADER_LEN;
  },
};
