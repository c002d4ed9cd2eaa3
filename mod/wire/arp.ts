/**
 * ARP for IPv4 over Ethernet (RFC 826). Only htype 1 / ptype 0x0800 / hlen 6 / plen 4 is
 * accepted: that is the only combination an Ethernet IPv4 appliance can answer.
 *
 * A gratuitous ARP (RFC 5227 §3 "ARP Announcement") is a request whose sender and target protocol
 * addresses are both the claimed address, sent to the broadcast MAC; {@link buildGratuitousArp}
 * builds one for taking over a floating address.
 * @module
 */

import { readU16, readU32, writeU16, writeU32 } from "./bytes.ts";
import { BROADCAST_MAC } from "./addr.ts";
import {
  copyMac,
  ETHERNET_HEADER_LEN,
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  writeEthernet,
} from "./ethernet.ts";

export const ARP_REQUEST = 1;
export const ARP_REPLY = 2;
/** ARP hardware type for Ethernet (RFC 826, IANA "Hardware Types"). */
export const ARP_HTYPE_ETHERNET = 1;
/** Length of an Ethernet/IPv4 ARP packet. */
export const ARP_LEN = 28;
/** Length of an Ethernet frame carrying ARP, without padding to 60. */
export const ARP_FRAME_LEN: number = ETHERNET_HEADER_LEN + ARP_LEN;

const HTYPE = 0;
const PTYPE = 2;
const HLEN = 4;
const PLEN = 5;
const OP = 6;
const SHA = 8;
const SPA = 14;
const THA = 18;
const TPA = 24;

const ZERO_MAC = new Uint8Array(6);

const EMPTY = new Uint8Array(0);

/** View of an Ethernet/IPv4 ARP packet at `buf[off, …)`; re-pointable with `check`. */
export class ArpPacket {
  buf: Uint8Array;
  off: number;

  /** Wraps `bytes` at `off` without checks; use {@link ArpPacket.checked} on untrusted input. */
  constructor(bytes: Uint8Array = EMPTY, off = 0) {
    this.buf = bytes;
    this.off = off;
  }

  /** A view, or undefined unless ≥ 28 bytes with htype 1, ptype 0x0800, hlen 6, plen 4. */
  static checked(bytes: Uint8Array): ArpPacket | undefined {
    const v = new ArpPacket();
    return v.check(bytes, 0, bytes.length) ? v : undefined;
  }

  /** Points the view at `buf[off, end)` when it holds an Ethernet/IPv4 ARP packet. */
  check(buf: Uint8Array, off: number, end: number): boolean {
    if (end - off < ARP_LEN) return false;
    if (
      readU16(buf, off + HTYPE) !== ARP_HTYPE_ETHERNET ||
      readU16(buf, off + PTYPE) !== ETHERTYPE_IPV4
    ) {
      return false;
    }
    if (buf[off + HLEN] !== 6 || buf[off + PLEN] !== 4) return false;
    this.buf = buf;
    this.off = off;
    return true;
  }

  /** The 28 bytes as a subarray (allocates: not for the per-packet path). */
  get bytes(): Uint8Array {
    return this.buf.subarray(this.off, this.off + ARP_LEN);
  }
  get op(): number {
    return readU16(this.buf, this.off + OP);
  }
  set op(value: number) {
    writeU16(this.buf, this.off + OP, value);
  }
  /** Offset of the sender hardware address in `buf`. */
  get shaOff(): number {
    return this.off + SHA;
  }
  /** Sender hardware address (aliases the packet). */
  get sha(): Uint8Array {
    return this.buf.subarray(this.off + SHA, this.off + SHA + 6);
  }
  set sha(mac: Uint8Array) {
    copyMac(mac, this.buf, this.off + SHA);
  }
  /** Sender protocol address, u32. */
  get spa(): number {
    return readU32(this.buf, this.off + SPA);
  }
  set spa(addr: number) {
    writeU32(this.buf, this.off + SPA, addr);
  }
  /** Target hardware address (aliases the packet). */
  get tha(): Uint8Array {
    return this.buf.subarray(this.off + THA, this.off + THA + 6);
  }
  set tha(mac: Uint8Array) {
    copyMac(mac, this.buf, this.off + THA);
  }
  /** Target protocol address, u32. */
  get tpa(): number {
    return readU32(this.buf, this.off + TPA);
  }
  set tpa(addr: number) {
    writeU32(this.buf, this.off + TPA, addr);
  }
}

/** A parsed ARP packet as plain values (MACs copied). */
export interface ArpRepr {
  op: number;
  sha: Uint8Array;
  spa: number;
  tha: Uint8Array;
  tpa: number;
}

/** Parse/emit companion of {@link ArpRepr}. */
export const ArpRepr = {
  parse(packet: ArpPacket): ArpRepr {
    return {
      op: packet.op,
      sha: packet.sha.slice(),
      spa: packet.spa,
      tha: packet.tha.slice(),
      tpa: packet.tpa,
    };
  },
  /** Writes the 28-byte packet at the start of `buf` (≥ 28 bytes); returns 28. */
  emit(repr: ArpRepr, buf: Uint8Array): number {
    writeArp(buf, 0, repr.op, repr.sha, repr.spa, repr.tha, repr.tpa);
    return ARP_LEN;
  },
};

/** Writes an Ethernet/IPv4 ARP packet at `buf[at]`, allocating nothing. */
function writeArp(
  buf: Uint8Array,
  at: number,
  op: number,
  sha: Uint8Array,
  spa: number,
  tha: Uint8Array,
  tpa: number,
): void {
  writeU16(buf, at + HTYPE, ARP_HTYPE_ETHERNET);
  writeU16(buf, at + PTYPE, ETHERTYPE_IPV4);
  buf[at + HLEN] = 6;
  buf[at + PLEN] = 4;
  writeU16(buf, at + OP, op);
  copyMac(sha, buf, at + SHA);
  writeU32(buf, at + SPA, spa);
  copyMac(tha, buf, at + THA);
  writeU32(buf, at + TPA, tpa);
}

/**
 * Writes an Ethernet frame carrying ARP into `buf`: Ethernet src = `senderMac`, dst = `ethDst`.
 * Returns the length written (42), or 0 when `buf` is shorter than that. Allocates nothing.
 */
export function buildArpFrame(
  buf: Uint8Array,
  op: number,
  senderMac: Uint8Array,
  senderIp: number,
  targetMac: Uint8Array,
  targetIp: number,
  ethDst: Uint8Array,
): number {
  if (buf.length < ARP_FRAME_LEN) return 0;
  writeEthernet(buf, 0, ethDst, senderMac, ETHERTYPE_ARP);
  writeArp(buf, ETHERNET_HEADER_LEN, op, senderMac, senderIp, targetMac, targetIp);
  return ARP_FRAME_LEN;
}

/**
 * A gratuitous ARP announcing `ip` at `mac` (RFC 5227 §3): a broadcast request with
 * spa = tpa = `ip` and a zero target MAC. Returns the length written (42) or 0 if `buf` is short.
 */
export function buildGratuitousArp(buf: Uint8Array, mac: Uint8Array, ip: number): number {
  return buildArpFrame(buf, ARP_REQUEST, mac, ip, ZERO_MAC, ip, BROADCAST_MAC);
}
