import assert from "node:assert/strict";
import {
  ICMPV6_CODE_ADDR_UNREACHABLE,
  ICMPV6_CODE_ADMIN,
  ICMPV6_CODE_HOP_LIMIT,
  ICMPV6_CODE_NO_ROUTE,
  ICMPV6_CODE_PORT_UNREACHABLE,
  ICMPV6_DEST_UNREACHABLE,
  ICMPV6_ECHO_REPLY,
  ICMPV6_ECHO_REQUEST,
  ICMPV6_HEADER_LEN,
  ICMPV6_PACKET_TOO_BIG,
  ICMPV6_PARAM_PROBLEM,
  ICMPV6_TIME_EXCEEDED,
  Icmpv6Packet,
  isIcmpv6Error,
  NDP_NEIGHBOR_ADVERT,
  NDP_NEIGHBOR_SOLICIT,
  NDP_REDIRECT,
  NDP_ROUTER_ADVERT,
  NDP_ROUTER_SOLICIT,
  turnEchoReply6,
} from "./icmpv6.ts";
import { Ipv6Packet, PROTO_ICMPV6, pseudoHeaderSum6, writeIpv6Header } from "./ipv6.ts";
import { ETHERTYPE_IPV4, ETHERTYPE_IPV6, writeEthernet } from "./ethernet.ts";
import { parseIpv6, parseMac } from "./addr.ts";
import { fromHex, fuzz, prng, randomBytes, upperChecksumOk6 } from "./test_util.ts";

const MAC_CLIENT = parseMac("02:00:00:00:00:02")!;
const MAC_APP = parseMac("02:00:5e:00:00:03")!;
const CLIENT = parseIpv6("2001:db8::2")!;
const VIP = parseIpv6("2001:db8::10")!;

// Echo request id 0x27a5 seq 1 with 4 data bytes; checksum filled in by the tests.
const ECHO = fromHex("80" + "00" + "0000" + "27a5" + "0001" + "deadbeef");

/** Ethernet + IPv6 + the ICMPv6 message `icmp` (checksum filled), from client to VIP. */
function icmpFrame(icmp: Uint8Array, src = CLIENT, dst = VIP, hopLimit = 57): Uint8Array {
  const frame = new Uint8Array(14 + 40 + icmp.length);
  writeEthernet(frame, 0, MAC_APP, MAC_CLIENT, ETHERTYPE_IPV6);
  writeIpv6Header(frame, 14, icmp.length, PROTO_ICMPV6, hopLimit, src, dst);
  frame.set(icmp, 54);
  const v = new Icmpv6Packet(frame, 54, frame.length);
  v.fillChecksum(pseudoHeaderSum6(src, dst, PROTO_ICMPV6, icmp.length));
  return frame;
}

Deno.test("Icmpv6Packet.checked rejects anything shorter than 8 bytes", () => {
  for (let len = 0; len < ICMPV6_HEADER_LEN; len++) {
    assert.equal(Icmpv6Packet.checked(ECHO.subarray(0, len)), undefined, `length ${len}`);
  }
  assert.ok(Icmpv6Packet.checked(ECHO.subarray(0, 8)));
  const v = new Icmpv6Packet();
  assert.equal(v.check(ECHO, 5, ECHO.length), false, "7 bytes from offset 5");
  assert.equal(v.check(ECHO, 4, ECHO.length), true);
  assert.equal(v.off, 4);
});

Deno.test("Icmpv6Packet getters and setters: type, code, rest, echo id/seq, embedded", () => {
  const p = Icmpv6Packet.checked(ECHO.slice())!;
  assert.equal(p.type, ICMPV6_ECHO_REQUEST);
  assert.equal(p.code, 0);
  assert.equal(p.echoId, 0x27a5);
  assert.equal(p.echoSeq, 1);
  assert.equal(p.rest, 0x27a50001);
  assert.equal(p.embeddedOff, 8);
  assert.deepEqual(p.embedded, fromHex("deadbeef"));
  assert.equal(p.length, 12);
  const ptb = Icmpv6Packet.checked(fromHex("0200" + "0000" + "00000500"))!;
  assert.equal(ptb.rest, 1280, "Packet Too Big MTU");
  p.rest = 0xfffffffe;
  assert.equal(p.rest, 0xfffffffe);
  assert.deepEqual(p.bytes.subarray(4, 8), fromHex("fffffffe"));
  p.echoId = 0x1234;
  p.echoSeq = 0xabcd;
  p.type = 3;
  p.code = 1;
  p.checksum = 0xbeef;
  assert.deepEqual(p.bytes.subarray(0, 8), fromHex("0301beef1234abcd"));
});

Deno.test("constants match RFC 4443 / RFC 4861 and isIcmpv6Error is type < 128", () => {
  assert.deepEqual(
    [ICMPV6_DEST_UNREACHABLE, ICMPV6_PACKET_TOO_BIG, ICMPV6_TIME_EXCEEDED, ICMPV6_PARAM_PROBLEM],
    [1, 2, 3, 4],
  );
  assert.deepEqual(
    [
      ICMPV6_CODE_NO_ROUTE,
      ICMPV6_CODE_ADMIN,
      ICMPV6_CODE_ADDR_UNREACHABLE,
      ICMPV6_CODE_PORT_UNREACHABLE,
      ICMPV6_CODE_HOP_LIMIT,
    ],
    [0, 1, 3, 4, 0],
  );
  assert.deepEqual([ICMPV6_ECHO_REQUEST, ICMPV6_ECHO_REPLY], [128, 129]);
  assert.deepEqual(
    [
      NDP_ROUTER_SOLICIT,
      NDP_ROUTER_ADVERT,
      NDP_NEIGHBOR_SOLICIT,
      NDP_NEIGHBOR_ADVERT,
      NDP_REDIRECT,
    ],
    [133, 134, 135, 136, 137],
  );
  for (let t = 0; t < 256; t++) assert.equal(isIcmpv6Error(t), t < 128, `type ${t}`);
});

Deno.test("fillChecksum covers pseudo-header + message; folded and unfolded sums agree", () => {
  const frame = icmpFrame(ECHO);
  const ip = Ipv6Packet.checked(frame.subarray(14))!;
  assert.ok(upperChecksumOk6(ip.buf), "independent recompute");
  const icmp = Icmpv6Packet.checked(frame.subarray(54))!;
  const folded = pseudoHeaderSum6(CLIENT, VIP, PROTO_ICMPV6, icmp.length);
  const unfolded = ip.pseudoSum(icmp.length, PROTO_ICMPV6);
  assert.ok(icmp.verifyChecksum(folded));
  assert.ok(icmp.verifyChecksum(unfolded));
  const stored = icmp.checksum;
  icmp.fillChecksum(unfolded);
  assert.equal(icmp.checksum, stored);
  // The pseudo-header matters: another length or address breaks it.
  assert.equal(icmp.verifyChecksum(pseudoHeaderSum6(CLIENT, VIP, PROTO_ICMPV6, 13)), false);
  assert.equal(icmp.verifyChecksum(pseudoHeaderSum6(VIP, VIP, PROTO_ICMPV6, 12)), false);
  assert.equal(icmp.verifyChecksum(0), false, "ICMPv4-style (no pseudo-header) fails");
  icmp.buf[icmp.off + 11] = icmp.buf[icmp.off + 11]! ^ 1;
  assert.equal(icmp.verifyChecksum(folded), false);
});

Deno.test("fillChecksum matches the independent recompute on random messages", () => {
  const next = prng(4443);
  for (let i = 0; i < 300; i++) {
    const icmp = randomBytes(next, 8 + (next() % 60));
    const src = new Uint32Array([next(), next(), next(), next()]);
    const dst = new Uint32Array([next(), next(), next(), next()]);
    const frame = icmpFrame(icmp, src, dst);
    assert.ok(upperChecksumOk6(frame.subarray(14)), `run ${i}`);
  }
});

Deno.test("rewriteTypeCode matches a full recompute", () => {
  const next = prng(1624);
  for (let i = 0; i < 500; i++) {
    const frame = icmpFrame(randomBytes(next, 8 + (next() % 30)));
    const ip = Ipv6Packet.checked(frame.subarray(14))!;
    const p = new Icmpv6Packet(frame, 54, frame.length);
    p.rewriteTypeCode(next() & 0xff, next() & 0xff);
    assert.ok(p.verifyChecksum(ip.pseudoSum(p.length, PROTO_ICMPV6)), `run ${i}`);
    assert.ok(upperChecksumOk6(frame.subarray(14)));
  }
});

Deno.test("turnEchoReply6: the request becomes the reply, field by field", () => {
  const frame = icmpFrame(ECHO);
  frame[15] = 0xab; // traffic class / flow label bits stay as they were
  frame[17] = 0xcd;
  const before = frame.slice();
  assert.equal(turnEchoReply6(frame), true);
  assert.deepEqual(frame.subarray(0, 6), MAC_CLIENT, "dst MAC = request's src");
  assert.deepEqual(frame.subarray(6, 12), MAC_APP, "src MAC = request's dst");
  assert.deepEqual(frame.subarray(12, 14), before.subarray(12, 14));
  assert.deepEqual(frame.subarray(14, 21), before.subarray(14, 21), "version..next header");
  assert.equal(frame[21], 64, "hop limit 64");
  const ip = Ipv6Packet.checked(frame.subarray(14))!;
  for (let i = 0; i < 4; i++) {
    assert.equal(ip.src(i), VIP[i]);
    assert.equal(ip.dst(i), CLIENT[i]);
  }
  assert.equal(frame[54], ICMPV6_ECHO_REPLY);
  assert.equal(frame[55], 0);
  assert.deepEqual(frame.subarray(58), before.subarray(58), "id, seq and data unchanged");
  assert.ok(upperChecksumOk6(frame.subarray(14)), "checksum equals a full recompute");
  // Twice is not allowed: a reply is not a request.
  const reply = frame.slice();
  assert.equal(turnEchoReply6(frame), false);
  assert.deepEqual(frame, reply);
});

Deno.test("turnEchoReply6 honours off/end and ignores Ethernet padding", () => {
  const inner = icmpFrame(ECHO);
  const frame = new Uint8Array(inner.length + 20);
  frame.set(inner, 6);
  assert.equal(turnEchoReply6(frame, 6, 6 + inner.length + 8), true);
  assert.deepEqual(frame.subarray(0, 6), new Uint8Array(6));
  assert.ok(upperChecksumOk6(frame.subarray(20)));
});

Deno.test("turnEchoReply6 refuses anything but a plain unicast echo request, untouched", () => {
  const cases: [string, Uint8Array][] = [];
  const add = (name: string, f: Uint8Array) => cases.push([name, f]);
  const reply = ECHO.slice();
  reply[0] = ICMPV6_ECHO_REPLY;
  add("echo reply", icmpFrame(reply));
  const other = icmpFrame(ECHO);
  other[13] = ETHERTYPE_IPV4 & 0xff;
  other[12] = ETHERTYPE_IPV4 >>> 8;
  add("IPv4 EtherType", other);
  add("truncated", icmpFrame(ECHO).subarray(0, 60));
  add("short Ethernet", icmpFrame(ECHO).subarray(0, 10));
  const v4 = icmpFrame(ECHO);
  v4[14] = 0x45;
  add("version 4", v4);
  add("multicast destination", icmpFrame(ECHO, CLIENT, parseIpv6("ff02::1")!));
  add("multicast source", icmpFrame(ECHO, parseIpv6("ff02::1")!, VIP));
  add("unspecified source", icmpFrame(ECHO, parseIpv6("::")!, VIP));
  // Hop-by-hop header (8 bytes: next header 58, length 0, PadN) before the echo request.
  const ext = new Uint8Array(14 + 40 + 8 + ECHO.length);
  writeEthernet(ext, 0, MAC_APP, MAC_CLIENT, ETHERTYPE_IPV6);
  writeIpv6Header(ext, 14, 8 + ECHO.length, 0, 64, CLIENT, VIP);
  ext.set(fromHex("3a00010400000000"), 54);
  ext.set(ECHO, 62);
  assert.ok(Ipv6Packet.checked(ext.subarray(14)), "the extension chain itself is valid");
  add("extension header", ext);
  for (const [name, f] of cases) {
    const copy = f.slice();
    assert.equal(turnEchoReply6(f), false, name);
    assert.deepEqual(f, copy, `${name}: untouched`);
  }
});

Deno.test("fuzz: Icmpv6Packet.checked and turnEchoReply6 never throw", () => {
  fuzz(58, 2000, 80, (b) => Icmpv6Packet.checked(b));
  fuzz(59, 3000, 120, (b) => turnEchoReply6(b) || undefined, (b, next) => {
    if (b.length > 14) {
      b[12] = 0x86;
      b[13] = 0xdd;
    }
    if (b.length > 54) {
      b[14] = 0x60;
      b[18] = 0;
      b[19] = Math.min(255, b.length - 54 - (next() & 3));
      b[20] = next() & 1 ? 58 : next() & 0xff;
      b[54] = next() & 1 ? 128 : next() & 0xff;
    }
  });
});
