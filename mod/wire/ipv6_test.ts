import assert from "node:assert/strict";
import { parseIpv6 } from "./addr.ts";
import { internetChecksum } from "./checksum.ts";
import {
  EXT_DEST_OPTS,
  EXT_FRAGMENT,
  EXT_HOP_BY_HOP,
  EXT_ROUTING,
  IPV6_HEADER_LEN,
  Ipv6Packet,
  MAX_EXT_HEADERS,
  pseudoHeaderSum6,
  writeIpv6Header,
} from "./ipv6.ts";
import { PROTO_TCP, PROTO_UDP } from "./ipv4.ts";

const SRC = parseIpv6("2001:db8:100::2")!;
const DST = parseIpv6("2001:db8:100::10")!;

/** A packet with the given extension headers (each `[type, body length in bytes]`). */
function packet(exts: [number, number][], upper: number, upperLen = 8): Uint8Array {
  const extLen = exts.reduce((n, [, len]) => n + len, 0);
  const buf = new Uint8Array(IPV6_HEADER_LEN + extLen + upperLen);
  writeIpv6Header(buf, 0, extLen + upperLen, exts[0]?.[0] ?? upper, 64, SRC, DST);
  let at = IPV6_HEADER_LEN;
  exts.forEach(([type, len], i) => {
    buf[at] = exts[i + 1]?.[0] ?? upper;
    if (type !== EXT_FRAGMENT) buf[at + 1] = len / 8 - 1;
    at += len;
  });
  return buf;
}

Deno.test("ipv6: the header's fields and addresses read back as written", () => {
  const buf = packet([], PROTO_TCP, 20);
  const ip = Ipv6Packet.checked(buf)!;
  assert.ok(ip);
  assert.equal(ip.payloadLength, 20);
  assert.equal(ip.nextHeader, PROTO_TCP);
  assert.equal(ip.protocol, PROTO_TCP);
  assert.equal(ip.hopLimit, 64);
  assert.equal(ip.payloadOff, 40);
  assert.equal(ip.packetEnd, 60);
  assert.equal(ip.upperLength, 20);
  assert.deepEqual([0, 1, 2, 3].map((i) => ip.src(i)), Array.from(SRC));
  assert.deepEqual([0, 1, 2, 3].map((i) => ip.dst(i)), Array.from(DST));
  ip.hopLimit = 3;
  ip.setDst(3, 0x99);
  assert.equal(buf[7], 3);
  assert.equal(ip.dst(3), 0x99);
  assert.equal(ip.fragOff, -1);
  assert.equal(ip.isFragment, false);
});

Deno.test("ipv6: the extension-header walk reaches the upper layer and records the fragment header", () => {
  const buf = packet([[EXT_HOP_BY_HOP, 8], [EXT_ROUTING, 24], [EXT_FRAGMENT, 8], [
    EXT_DEST_OPTS,
    16,
  ]], PROTO_UDP);
  // Fragment: offset 1448 (181 × 8), M set, id 0xdeadbeef.
  const frag = 40 + 8 + 24;
  buf[frag + 2] = (1448 >> 8) & 0xff;
  buf[frag + 3] = (1448 & 0xf8) | 1;
  buf.set([0xde, 0xad, 0xbe, 0xef], frag + 4);
  const ip = Ipv6Packet.checked(buf)!;
  assert.ok(ip);
  assert.equal(ip.protocol, PROTO_UDP);
  assert.equal(ip.nextHeader, EXT_HOP_BY_HOP);
  assert.equal(ip.payloadOff, 40 + 8 + 24 + 8 + 16);
  assert.equal(ip.protoFieldOff, 40 + 8 + 24 + 8, "the last extension names the upper layer");
  assert.equal(ip.fragOff, frag);
  assert.equal(ip.fragmentOffset, 1448);
  assert.equal(ip.moreFragments, true);
  assert.equal(ip.fragmentId, 0xdeadbeef);
  assert.equal(ip.isFragment, true);
  // An atomic fragment (offset 0, M clear; RFC 6946) is a whole datagram.
  buf[frag + 2] = 0;
  buf[frag + 3] = 0;
  assert.equal(Ipv6Packet.checked(buf)!.isFragment, false);
});

Deno.test("ipv6: malformed packets are refused, never thrown on", () => {
  const ok = packet([[EXT_DEST_OPTS, 8]], PROTO_TCP, 20);
  assert.ok(Ipv6Packet.checked(ok));
  const cases: [string, Uint8Array][] = [
    ["shorter than a header", ok.slice(0, 39)],
    ["version 4", ((b) => (b[0] = 0x45, b))(ok.slice())],
    ["payload length past the bytes", ((b) => (b[5] = 200, b))(ok.slice())],
    ["jumbogram payload length 0", ((b) => (b[4] = 0, b[5] = 0, b))(ok.slice())],
    ["extension header past the payload", ((b) => (b[41] = 9, b))(ok.slice())],
    ["hop-by-hop not first", packet([[EXT_DEST_OPTS, 8], [EXT_HOP_BY_HOP, 8]], PROTO_TCP)],
    ["two fragment headers", packet([[EXT_FRAGMENT, 8], [EXT_FRAGMENT, 8]], PROTO_UDP)],
    [
      "a chain longer than the bound",
      packet(Array.from({ length: MAX_EXT_HEADERS + 1 }, () => [EXT_DEST_OPTS, 8]), PROTO_TCP),
    ],
  ];
  for (const [name, bytes] of cases) assert.equal(Ipv6Packet.checked(bytes), undefined, name);
  // A chain of exactly the bound is fine.
  const longest = packet(
    Array.from({ length: MAX_EXT_HEADERS }, () => [EXT_DEST_OPTS, 8]),
    PROTO_TCP,
  );
  assert.equal(Ipv6Packet.checked(longest)?.protocol, PROTO_TCP);
});

Deno.test("ipv6: padding after the payload is excluded; a quoted header trusts no length", () => {
  const buf = new Uint8Array(80);
  buf.set(packet([], PROTO_TCP, 20));
  const ip = Ipv6Packet.checked(buf)!;
  assert.equal(ip.packetEnd, 60);
  // An ICMPv6 error's quote is cut short: checkHeader then walkQuoted still find the ports.
  const quoted = packet([[EXT_DEST_OPTS, 8]], PROTO_UDP, 1000).slice(0, 40 + 8 + 8);
  const q = new Ipv6Packet();
  assert.equal(q.check(quoted, 0, quoted.length), false, "its payload length lies");
  assert.ok(q.checkHeader(quoted, 0, quoted.length) && q.walkQuoted());
  assert.equal(q.protocol, PROTO_UDP);
  assert.equal(q.payloadOff, 48);
});

Deno.test("ipv6: the pseudo-header sum (RFC 8200 §8.1) matches a by-hand sum, from the view or words", () => {
  const buf = packet([], PROTO_UDP, 12);
  const ip = Ipv6Packet.checked(buf)!;
  const bytes = new Uint8Array(40);
  bytes.set(buf.subarray(8, 40), 0);
  new DataView(bytes.buffer).setUint32(32, 12);
  bytes[39] = PROTO_UDP;
  const byHand = (~internetChecksum(bytes, 0, 40)) & 0xffff;
  const fold = (s: number) => {
    while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
    return s;
  };
  assert.equal(fold(ip.pseudoSum(12, PROTO_UDP)), byHand);
  assert.equal(pseudoHeaderSum6(SRC, DST, PROTO_UDP, 12), byHand);
});
