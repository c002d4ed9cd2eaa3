/**
 * Shared fixtures for the flow and peer-link tests: one flow with a distinct, non-zero value in
 * every field (so a field read from or written to the wrong place shows), its wire bytes in
 * both row layouts written out by hand, and a generator of distinct flows.
 * @module
 */
import type { FlowEntry } from "./fields.ts";
import { ST_TCP_ESTABLISHED } from "./states.ts";

/** Every field distinct and non-zero; integers fill their width, floats have fractions. */
export const SAMPLE: Readonly<FlowEntry> = {
  proto: 6,
  state: ST_TCP_ESTABLISHED,
  service: 0x0203,
  backend: 0x0405,
  oSrc: 0xc0000201,
  oSport: 40001,
  oDst: 0xcb007101,
  oDport: 443,
  rSrc: 0xcb007114,
  rSport: 7000,
  rDst: 0xc6336405,
  rDport: 61000,
  oSrcHi0: 0x20010db8,
  oSrcHi1: 0x01000001,
  oSrcHi2: 0x00020003,
  oDstHi0: 0x20010db9,
  oDstHi1: 0x01000004,
  oDstHi2: 0x00050006,
  rSrcHi0: 0x20010dba,
  rSrcHi1: 0x01130007,
  rSrcHi2: 0x00080009,
  rDstHi0: 0x20010dbb,
  rDstHi1: 0x0100000a,
  rDstHi2: 0x000b000c,
  seqOffset: 0xdeadbeef,
  tcpBits: 0x0d,
  oSeqNext: 0x10203040,
  oAck: 0x50607080,
  oWin: 0x9192,
  oTsVal: 0xa1a2a3a4,
  oTsEcr: 0xb1b2b3b4,
  rSeqNext: 0xc1c2c3c4,
  rAck: 0xd1d2d3d4,
  rWin: 0xe1e2,
  rTsVal: 0xf1f2f3f4,
  rTsEcr: 0x01020304,
  packets: 2 ** 40 + 3,
  bytes: 2 ** 50 + 5,
  created: 1_700_000_000_000.5,
  lastSeen: 1_700_000_009_999.25,
};

/** {@link SAMPLE} as a MIRROR_ROW: the mirrored fields in field order, big-endian (35 bytes). */
// deno-fmt-ignore
export const SAMPLE_MIRROR_BYTES: readonly number[] = [
  0x06, // proto
  0x03, // state
  0x02, 0x03, // service
  0x04, 0x05, // backend
  0xc0, 0x00, 0x02, 0x01, // oSrc
  0x9c, 0x41, // oSport 40001
  0xcb, 0x00, 0x71, 0x01, // oDst
  0x01, 0xbb, // oDport 443
  0xcb, 0x00, 0x71, 0x14, // rSrc
  0x1b, 0x58, // rSport 7000
  0xc6, 0x33, 0x64, 0x05, // rDst
  0xee, 0x48, // rDport 61000
  0xde, 0xad, 0xbe, 0xef, // seqOffset
  0x0d, // tcpBits
];

/** {@link SAMPLE}'s IPv6 high words as a MIRROR6_ROW, big-endian (48 bytes). */
// deno-fmt-ignore
export const SAMPLE_MIRROR6_BYTES: readonly number[] = [
  0x20, 0x01, 0x0d, 0xb8, // oSrcHi0
  0x01, 0x00, 0x00, 0x01, // oSrcHi1
  0x00, 0x02, 0x00, 0x03, // oSrcHi2
  0x20, 0x01, 0x0d, 0xb9, // oDstHi0
  0x01, 0x00, 0x00, 0x04, // oDstHi1
  0x00, 0x05, 0x00, 0x06, // oDstHi2
  0x20, 0x01, 0x0d, 0xba, // rSrcHi0
  0x01, 0x13, 0x00, 0x07, // rSrcHi1
  0x00, 0x08, 0x00, 0x09, // rSrcHi2
  0x20, 0x01, 0x0d, 0xbb, // rDstHi0
  0x01, 0x00, 0x00, 0x0a, // rDstHi1
  0x00, 0x0b, 0x00, 0x0c, // rDstHi2
];

/** {@link SAMPLE} as a SYNC_ROW: every field in field order, big-endian (151 bytes). */
// deno-fmt-ignore
export const SAMPLE_SYNC_BYTES: readonly number[] = [
  ...SAMPLE_MIRROR_BYTES,
  ...SAMPLE_MIRROR6_BYTES,
  0x10, 0x20, 0x30, 0x40, // oSeqNext
  0x50, 0x60, 0x70, 0x80, // oAck
  0x91, 0x92, // oWin
  0xa1, 0xa2, 0xa3, 0xa4, // oTsVal
  0xb1, 0xb2, 0xb3, 0xb4, // oTsEcr
  0xc1, 0xc2, 0xc3, 0xc4, // rSeqNext
  0xd1, 0xd2, 0xd3, 0xd4, // rAck
  0xe1, 0xe2, // rWin
  0xf1, 0xf2, 0xf3, 0xf4, // rTsVal
  0x01, 0x02, 0x03, 0x04, // rTsEcr
  0x42, 0x70, 0x00, 0x00, 0x00, 0x00, 0x30, 0x00, // packets 2^40 + 3
  0x43, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x14, // bytes 2^50 + 5
  0x42, 0x78, 0xbc, 0xfe, 0x56, 0x80, 0x08, 0x00, // created
  0x42, 0x78, 0xbc, 0xfe, 0x58, 0xf0, 0xf4, 0x00, // lastSeen
];

/** The high address words of an IPv4 flow: all zero (`fields.ts`). */
export const IPV4_HI_FIELDS: Readonly<Partial<FlowEntry>> = Object.fromEntries(
  ["oSrc", "oDst", "rSrc", "rDst"].flatMap((a) => [0, 1, 2].map((i) => [`${a}Hi${i}`, 0])),
);

/**
 * Flow `i` of a family of distinct connections: client 198.51.100.x:port → VIP
 * 198.51.100.10:7000, DNAT to backend 203.0.113.20 + (i % 3):7000 and back. No two values of `i`
 * below 15 million share a tuple in either direction.
 */
export function flowN(i: number, over: Partial<FlowEntry> = {}): Partial<FlowEntry> {
  const client = 0xc6336400 + 2 + (i % 250);
  const port = 1024 + Math.floor(i / 250);
  const backend = 0xcb007114 + (i % 3);
  return {
    proto: 6,
    state: ST_TCP_ESTABLISHED,
    service: i % 5,
    backend: i % 3,
    oSrc: client,
    oSport: port,
    oDst: 0xc633640a,
    oDport: 7000,
    rSrc: backend,
    rSport: 7000,
    rDst: client,
    rDport: port,
    ...IPV4_HI_FIELDS,
    ...over,
  };
}
