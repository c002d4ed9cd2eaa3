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
import { ETHERNET_HEADER_LEN, EthernetFrame, ETHERTYPE_ARP, ETHERTYPE_IPV4 } from "./ethernet.ts";

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

/** Zero-copy view of an Ethernet/IPv4 ARP packet. */
export class ArpPacket {
  readonly bytes: Uint8Array;

  /** Wraps `bytes` without checks; use {@link ArpPacket.checked} on untrusted input. */
  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
  }

  /** A view, or undefined unless ≥ 28 bytes with htype 1, ptype 0x0800, hlen 6, plen 4. */
  static checked(bytes: Uint8Array): ArpPacket | undefined {
    if (bytes.length < ARP_LEN) return undefined;
    if (readU16(bytes, HTYPE) !== ARP_HTYPE_ETHERNET || readU16(bytes, PTYPE) !== ETHERTYPE_IPV4) {
      return undefined;
    }
    if (bytes[HLEN] !== 6 || bytes[PLEN] !== 4) return undefined;
    return new ArpPacket(bytes);
  }

  get op(): number {
    return readU16(this.bytes, OP);
  }
  set op(value: number) {
    writeU16(this.bytes, OP, value);
  }
  /** Sender hardware address (aliases the packet). */
  get sha(): Uint8Array {
    return this.bytes.subarray(SHA, SHA + 6);
  }
  set sha(mac: Uint8Array) {
    this.bytes.set(mac.subarray(0, 6), SHA);
  }
  /** Sender protocol address, u32. */
  get spa(): number {
    return readU32(this.bytes, SPA);
  }
  set spa(addr: number) {
    writeU32(this.bytes, SPA, addr);
  }
  /** Target hardware address (aliases the packet). */
  get tha(): Uint8Array {
    return this.bytes.subarray(THA, THA + 6);
  }
  set tha(mac: Uint8Array) {
    this.bytes.set(mac.subarray(0, 6), THA);
  }
  /** Target protocol address, u32. */
  get tpa(): number {
    return readU32(this.bytes, TPA);
  }
  set tpa(addr: number) {
    writeU32(this.bytes, TPA, addr);
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
    writeU16(buf, HTYPE, ARP_HTYPE_ETHERNET);
    writeU16(buf, PTYPE, ETHERTYPE_IPV4);
    buf[HLEN] = 6;
    buf[PLEN] = 4;
    const packet = new ArpPacket(buf);
    packet.op = repr.op;
    packet.sha = repr.sha;
    packet.spa = repr.spa;
    packet.tha = repr.tha;
    packet.tpa = repr.tpa;
    return ARP_LEN;
  },
};

/**
 * Writes an Ethernet frame carrying ARP into `buf`: Ethernet src = `senderMac`, dst = `ethDst`.
 * Returns the length written (42), or 0 when `buf` is shorter than that.
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
  const eth = new EthernetFrame(buf);
  eth.dst = ethDst;
  eth.src = senderMac;
  eth.etherType = ETHERTYPE_ARP;
  ArpRepr.emit(
    { op, sha: senderMac, spa: senderIp, tha: targetMac, tpa: targetIp },
    buf.subarray(ETHERNET_HEADER_LEN),
  );
  return ARP_FRAME_LEN;
}

/**
 * A gratuitous ARP announcing `ip` at `mac` (RFC 5227 §3): a broadcast request with
 * spa = tpa = `ip` and a zero target MAC. Returns the length written (42) or 0 if `buf` is short.
 */
export function buildGratuitousArp(buf: Uint8Array, mac: Uint8Array, ip: number): number {
  return buildArpFrame(buf, ARP_REQUEST, mac, ip, ZERO_MAC, ip, BROADCAST_MAC);
}
