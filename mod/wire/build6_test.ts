import assert from "node:assert/strict";
import {
  buildIcmpv6Error,
  buildTcpData6,
  buildTcpRst6,
  buildTcpSegment6,
  buildTcpSyn6,
  ICMPV6_ERROR_MAX_FRAME_LEN,
  mayReplyWithIcmpv6Error,
  TCP6_AT,
  TCP_RST6_FRAME_LEN,
} from "./build6.ts";
import {
  ICMPV6_CODE_PORT_UNREACHABLE,
  ICMPV6_DEST_UNREACHABLE,
  ICMPV6_PACKET_TOO_BIG,
  ICMPV6_PARAM_PROBLEM,
  ICMPV6_TIME_EXCEEDED,
  Icmpv6Packet,
} from "./icmpv6.ts";
import {
  IPV6_MIN_MTU,
  Ipv6Packet,
  PROTO_ICMPV6,
  pseudoHeaderSum6,
  writeIpv6Header,
} from "./ipv6.ts";
import { PROTO_TCP, PROTO_UDP } from "./ipv4.ts";
import { EthernetFrame, ETHERTYPE_IPV6 } from "./ethernet.ts";
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, TcpSegment } from "./tcp.ts";
import { ipv6ToString, parseIpv6, parseMac } from "./addr.ts";
import { fromHex, fuzz, poisoned, upperChecksumOk6 } from "./test_util.ts";

const MAC_APP = parseMac("02:00:5e:00:00:03")!;
const MAC_CLIENT = parseMac("02:00:00:00:00:02")!;
const CLIENT = parseIpv6("2001:db8::2")!;
const VIP = parseIpv6("2001:db8::10")!;

/** An IPv6 packet (no extension headers) with protocol `proto` and payload `upper`. */
function packet6(proto: number, upper: Uint8Array, src = CLIENT, dst = VIP): Uint8Array {
  const buf = new Uint8Array(40 + upper.length);
  writeIpv6Header(buf, 0, upper.length, proto, 57, src, dst);
  buf.set(upper, 40);
  return buf;
}

/** An IPv6/UDP packet from the client with `n` payload bytes (checksum left 0). */
function udp6(n: number, src = CLIENT, dst = VIP): Uint8Array {
  const udp = new Uint8Array(8 + n).map((_, i) => i);
  udp.set(fromHex("9c411b59"), 0);
  udp[4] = (8 + n) >>> 8;
  udp[5] = (8 + n) & 0xff;
  return packet6(PROTO_UDP, udp, src, dst);
}

/** An IPv6 packet carrying the ICMPv6 message of `type` (checksum not needed here). */
function icmp6(type: number, src = CLIENT, dst = VIP): Uint8Array {
  return packet6(
    PROTO_ICMPV6,
    fromHex(type.toString(16).padStart(2, "0") + "00000000000000"),
    src,
    dst,
  );
}

/** An IPv6/TCP packet from the client, checksum filled. */
function tcp6(flags: number, seq: number, ack: number, payload = new Uint8Array(0)): Uint8Array {
  const seg = new Uint8Array(20 + payload.length);
  seg.set(fromHex("9c401b58"), 0);
  new DataView(seg.buffer).setUint32(4, seq);
  new DataView(seg.buffer).setUint32(8, ack);
  seg[12] = 5 << 4;
  seg[13] = flags;
  seg[15] = 100;
  seg.set(payload, 20);
  const p = packet6(PROTO_TCP, seg);
  new TcpSegment(p, 40, p.length).fillChecksumWithPseudo(
    pseudoHeaderSum6(CLIENT, VIP, PROTO_TCP, seg.length),
  );
  return p;
}

function check(bytes: Uint8Array): Ipv6Packet {
  const ip = Ipv6Packet.checked(bytes);
  assert.ok(ip);
  return ip;
}

/** Parses a built frame down to IPv6, asserting the Ethernet header and the L4 checksum. */
function ipOf(frame: Uint8Array, len: number): Ipv6Packet {
  const eth = EthernetFrame.checked(frame.subarray(0, len))!;
  assert.deepEqual(eth.src, MAC_APP);
  assert.deepEqual(eth.dst, MAC_CLIENT);
  assert.equal(eth.etherType, ETHERTYPE_IPV6);
  const ip = check(eth.payload);
  assert.equal(ip.packetEnd, len - 14, "no trailing bytes");
  assert.equal(ip.hopLimit, 64);
  assert.ok(upperChecksumOk6(ip.buf), "checksum equals an independent recompute");
  return ip;
}

function addr(ip: Ipv6Packet, which: "src" | "dst"): string {
  return ipv6ToString([0, 1, 2, 3].map((i) => which === "src" ? ip.src(i) : ip.dst(i)));
}

Deno.test("mayReplyWithIcmpv6Error follows RFC 4443 §2.4 (e)", () => {
  assert.ok(mayReplyWithIcmpv6Error(check(udp6(4))));
  assert.ok(mayReplyWithIcmpv6Error(check(icmp6(128))), "echo request");
  for (const t of [1, 2, 3, 4, 100, 127]) {
    assert.equal(mayReplyWithIcmpv6Error(check(icmp6(t))), false, `ICMPv6 error ${t}`);
  }
  assert.equal(mayReplyWithIcmpv6Error(check(icmp6(137))), false, "redirect");
  for (const s of ["::", "::1", "ff02::1", "ff0e::1234"]) {
    assert.equal(mayReplyWithIcmpv6Error(check(udp6(4, parseIpv6(s)!))), false, `source ${s}`);
  }
  assert.ok(mayReplyWithIcmpv6Error(check(udp6(4, parseIpv6("::2")!))), "::2 is not loopback");
  const mcast = check(udp6(4, CLIENT, parseIpv6("ff05::1:3")!));
  assert.equal(mayReplyWithIcmpv6Error(mcast), false, "multicast destination");
  assert.equal(mayReplyWithIcmpv6Error(mcast, ICMPV6_DEST_UNREACHABLE, 4), false);
  assert.equal(mayReplyWithIcmpv6Error(mcast, ICMPV6_TIME_EXCEEDED, 0), false);
  assert.ok(mayReplyWithIcmpv6Error(mcast, ICMPV6_PACKET_TOO_BIG, 0), "Packet Too Big excepted");
  assert.ok(mayReplyWithIcmpv6Error(mcast, ICMPV6_PARAM_PROBLEM, 2), "unrecognized option");
  assert.equal(mayReplyWithIcmpv6Error(mcast, ICMPV6_PARAM_PROBLEM, 0), false);
});

Deno.test("mayReplyWithIcmpv6Error: a later fragment may get an error; its payload is not read", () => {
  // Fragment header (next header 58, offset 8 bytes or 0, M flag) before 8 bytes of payload
  // whose first byte looks like an ICMPv6 error type.
  const frag = (offsetAndFlags: number) => {
    const upper = new Uint8Array(16);
    upper[0] = PROTO_ICMPV6;
    upper[2] = offsetAndFlags >>> 8;
    upper[3] = offsetAndFlags & 0xff;
    upper[7] = 9;
    upper[8] = 1; // "type 1" at the upper-layer offset
    return check(packet6(44, upper));
  };
  const later = frag(8 | 1);
  assert.equal(later.isFragment, true);
  assert.equal(later.fragmentOffset, 8);
  assert.ok(mayReplyWithIcmpv6Error(later), "non-first fragment: allowed, RFC 8200 §4.5");
  assert.equal(mayReplyWithIcmpv6Error(frag(1)), false, "first fragment of an ICMPv6 error");
});

Deno.test("buildIcmpv6Error: port unreachable quotes the whole small original", () => {
  const original = udp6(11);
  const buf = poisoned(1600);
  const len = buildIcmpv6Error(
    buf,
    MAC_APP,
    MAC_CLIENT,
    VIP,
    CLIENT,
    ICMPV6_DEST_UNREACHABLE,
    ICMPV6_CODE_PORT_UNREACHABLE,
    original,
  );
  assert.equal(len, 14 + 40 + 8 + original.length);
  assert.equal(buf[len], 0xa5);
  const ip = ipOf(buf, len);
  assert.equal(ip.protocol, PROTO_ICMPV6);
  assert.equal(addr(ip, "src"), "2001:db8::10");
  assert.equal(addr(ip, "dst"), "2001:db8::2");
  const icmp = Icmpv6Packet.checked(buf.subarray(54, len))!;
  assert.ok(icmp.verifyChecksum(ip.pseudoSum(icmp.length, PROTO_ICMPV6)));
  assert.equal(icmp.type, ICMPV6_DEST_UNREACHABLE);
  assert.equal(icmp.code, ICMPV6_CODE_PORT_UNREACHABLE);
  assert.equal(icmp.rest, 0);
  assert.deepEqual(icmp.embedded, original);
  const quoted = new Ipv6Packet();
  assert.ok(quoted.checkHeader(icmp.buf, icmp.embeddedOff, icmp.end));
  assert.equal(quoted.protocol, PROTO_UDP);
});

Deno.test("buildIcmpv6Error: Packet Too Big carries the MTU and is capped at 1280 bytes", () => {
  const original = udp6(1452); // a 1500-byte packet
  const padded = new Uint8Array(original.length + 30); // Ethernet padding is not quoted
  padded.set(original);
  const buf = poisoned(1600);
  const len = buildIcmpv6Error(
    buf,
    MAC_APP,
    MAC_CLIENT,
    VIP,
    CLIENT,
    ICMPV6_PACKET_TOO_BIG,
    0,
    padded,
    1400,
  );
  assert.equal(len, ICMPV6_ERROR_MAX_FRAME_LEN);
  assert.equal(len - 14, IPV6_MIN_MTU, "the error packet is exactly the minimum MTU");
  assert.equal(buf[len], 0xa5);
  const ip = ipOf(buf, len);
  const icmp = Icmpv6Packet.checked(buf.subarray(54, len))!;
  assert.equal(icmp.type, ICMPV6_PACKET_TOO_BIG);
  assert.equal(icmp.rest, 1400);
  assert.deepEqual(icmp.embedded, original.subarray(0, IPV6_MIN_MTU - 48));
  assert.equal(ip.payloadLength, IPV6_MIN_MTU - 40);
});

Deno.test("buildIcmpv6Error: a short buf cuts the quote; too short for 48 bytes refuses", () => {
  const original = udp6(200);
  const buf = poisoned(14 + 40 + 8 + 100);
  const args = [MAC_APP, MAC_CLIENT, VIP, CLIENT, ICMPV6_TIME_EXCEEDED, 0] as const;
  const len = buildIcmpv6Error(buf, ...args, original);
  assert.equal(len, buf.length);
  ipOf(buf, len);
  assert.equal(buildIcmpv6Error(poisoned(14 + 40 + 8 + 47), ...args, original), 0);
  assert.equal(buildIcmpv6Error(poisoned(14 + 40 + 8 + 48), ...args, original), 110);
  // A tiny original (header + 4 bytes) fits whole in a buffer just big enough.
  const tiny = packet6(PROTO_UDP, new Uint8Array(4));
  assert.equal(buildIcmpv6Error(poisoned(14 + 40 + 8 + 44), ...args, tiny), 106);
});

Deno.test("buildIcmpv6Error refuses what RFC 4443 §2.4 (e) forbids and what is not IPv6", () => {
  const args = [MAC_APP, MAC_CLIENT, VIP, CLIENT, ICMPV6_DEST_UNREACHABLE, 0] as const;
  const buf = poisoned(1600);
  assert.equal(buildIcmpv6Error(buf, ...args, icmp6(1)), 0, "about an error");
  assert.equal(buildIcmpv6Error(buf, ...args, udp6(4, parseIpv6("::")!)), 0, "from ::");
  assert.equal(buildIcmpv6Error(buf, ...args, udp6(4, CLIENT, parseIpv6("ff02::1")!)), 0);
  const ptb = [MAC_APP, MAC_CLIENT, VIP, CLIENT, ICMPV6_PACKET_TOO_BIG, 0] as const;
  assert.ok(buildIcmpv6Error(buf, ...ptb, udp6(4, CLIENT, parseIpv6("ff02::1")!), 1280) > 0);
  const v4 = udp6(4);
  v4[0] = 0x45;
  assert.equal(buildIcmpv6Error(buf, ...args, v4), 0, "version 4");
  assert.equal(buildIcmpv6Error(buf, ...args, udp6(4).subarray(0, 39)), 0, "truncated header");
  const lying = udp6(4);
  lying[5] = 40;
  assert.equal(buildIcmpv6Error(buf, ...args, lying), 0, "payload length past the bytes");
  const jumbo = udp6(4);
  jumbo[5] = 0;
  assert.equal(buildIcmpv6Error(buf, ...args, jumbo), 0, "jumbogram");
});

Deno.test("buildIcmpv6Error quotes a packet whose extension chain is broken (Parameter Problem)", () => {
  // Routing header claiming 8 × 8 more bytes than the 16-byte payload holds.
  const original = packet6(43, fromHex("1108000000000000" + "0000000000000000"));
  assert.equal(Ipv6Packet.checked(original), undefined);
  const padded = new Uint8Array(original.length + 6); // Ethernet padding is not quoted
  padded.set(original);
  const buf = poisoned(200);
  const len = buildIcmpv6Error(
    buf,
    MAC_APP,
    MAC_CLIENT,
    VIP,
    CLIENT,
    ICMPV6_PARAM_PROBLEM,
    0,
    padded,
    41,
  );
  assert.equal(len, 14 + 40 + 8 + original.length);
  ipOf(buf, len);
  assert.deepEqual(buf.subarray(62, len), original);
});

Deno.test("buildIcmpv6Error: original may alias buf (the offending frame itself)", () => {
  const original = udp6(1452);
  const frame = new Uint8Array(1600);
  frame.set(MAC_APP, 0);
  frame.set(original, 14);
  const expected = poisoned(1600);
  const args = [MAC_APP, MAC_CLIENT, VIP, CLIENT, ICMPV6_DEST_UNREACHABLE, 4] as const;
  const want = buildIcmpv6Error(expected, ...args, original);
  const len = buildIcmpv6Error(frame, ...args, frame, 0, 14, 14 + original.length);
  assert.equal(len, want);
  assert.deepEqual(frame.subarray(0, len), expected.subarray(0, want));
});

Deno.test("buildTcpRst6: with ACK, <SEQ=SEG.ACK><CTL=RST> (RFC 9293 §3.10.7.1)", () => {
  const offending = tcp6(TCP_ACK | TCP_PSH, 1000, 0xfffffff0, new Uint8Array(5));
  const buf = poisoned(200);
  const len = buildTcpRst6(buf, MAC_APP, MAC_CLIENT, offending);
  assert.equal(len, TCP_RST6_FRAME_LEN);
  assert.equal(len, 74);
  assert.equal(buf[len], 0xa5);
  const ip = ipOf(buf, len);
  assert.equal(addr(ip, "src"), "2001:db8::10");
  assert.equal(addr(ip, "dst"), "2001:db8::2");
  assert.equal(ip.protocol, PROTO_TCP);
  const seg = new TcpSegment(buf, TCP6_AT, len);
  assert.ok(seg.verifyWithPseudo(pseudoHeaderSum6(VIP, CLIENT, PROTO_TCP, 20)));
  assert.deepEqual([seg.srcPort, seg.dstPort], [7000, 40000]);
  assert.equal(seg.flags, TCP_RST);
  assert.equal(seg.seqNumber, 0xfffffff0);
  assert.equal(seg.ackNumber, 0);
  assert.equal(seg.window, 0);
});

Deno.test("buildTcpRst6: without ACK, <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>", () => {
  const offending = tcp6(TCP_SYN | TCP_FIN, 0xfffffffe, 77, new Uint8Array(3));
  const buf = poisoned(200);
  const len = buildTcpRst6(buf, MAC_APP, MAC_CLIENT, offending);
  ipOf(buf, len);
  const seg = new TcpSegment(buf, TCP6_AT, len);
  assert.equal(seg.flags, TCP_RST | TCP_ACK);
  assert.equal(seg.seqNumber, 0);
  assert.equal(seg.ackNumber, (0xfffffffe + 3 + 2) >>> 0, "payload + SYN + FIN, wrapped");
});

Deno.test("buildTcpRst6 refuses a RST, non-TCP, fragments, multicast, short buf; may alias", () => {
  const buf = poisoned(200);
  assert.equal(buildTcpRst6(buf, MAC_APP, MAC_CLIENT, tcp6(TCP_RST, 1, 0)), 0, "RST");
  assert.equal(buildTcpRst6(buf, MAC_APP, MAC_CLIENT, udp6(20)), 0, "UDP");
  assert.equal(buildTcpRst6(poisoned(73), MAC_APP, MAC_CLIENT, tcp6(TCP_SYN, 1, 0)), 0);
  const truncated = tcp6(TCP_SYN, 1, 0).subarray(0, 50);
  assert.equal(buildTcpRst6(buf, MAC_APP, MAC_CLIENT, truncated), 0, "truncated");
  const syn = tcp6(TCP_SYN, 1, 0);
  const toMcast = syn.slice();
  toMcast[24] = 0xff;
  assert.equal(buildTcpRst6(buf, MAC_APP, MAC_CLIENT, toMcast), 0, "multicast destination");
  const fromMcast = syn.slice();
  fromMcast[8] = 0xff;
  assert.equal(buildTcpRst6(buf, MAC_APP, MAC_CLIENT, fromMcast), 0, "multicast source");
  const fromNone = syn.slice();
  fromNone.fill(0, 8, 24);
  assert.equal(buildTcpRst6(buf, MAC_APP, MAC_CLIENT, fromNone), 0, "unspecified source");
  // A fragment: Fragment header (next header TCP, offset 0, M set) before the segment.
  const frag = new Uint8Array(syn.length + 8);
  frag.set(syn.subarray(0, 40));
  frag[6] = 44;
  frag[5] = syn[5]! + 8;
  frag.set(fromHex("0600000100000001"), 40);
  frag.set(syn.subarray(40), 48);
  assert.equal(check(frag).protocol, PROTO_TCP);
  assert.equal(buildTcpRst6(buf, MAC_APP, MAC_CLIENT, frag), 0, "fragment");
  // The offending frame's own buffer: every field is read before anything is written.
  const frame = new Uint8Array(200);
  frame.set(syn, 14);
  const want = poisoned(200);
  const wantLen = buildTcpRst6(want, MAC_APP, MAC_CLIENT, syn);
  assert.equal(buildTcpRst6(frame, MAC_APP, MAC_CLIENT, frame, 14, 14 + syn.length), wantLen);
  assert.deepEqual(frame.subarray(0, wantLen), want.subarray(0, wantLen));
});

Deno.test("buildTcpSyn6: options laid out as buildTcpSyn's, checksum over the IPv6 pseudo-header", () => {
  const buf = poisoned(200);
  const len = buildTcpSyn6(
    buf,
    MAC_CLIENT,
    MAC_APP,
    VIP,
    CLIENT,
    7000,
    40000,
    0x12345678,
    0x9abcdef0,
    TCP_SYN | TCP_ACK,
    65535,
    1440,
    7,
    true,
  );
  assert.equal(len, TCP6_AT + 32);
  assert.equal(buf[len], 0xa5);
  const ip = ipOf(buf, len);
  assert.equal(ip.payloadLength, 32);
  const seg = new TcpSegment(buf, TCP6_AT, len);
  assert.equal(seg.headerLen, 32);
  assert.equal(seg.flags, TCP_SYN | TCP_ACK);
  assert.deepEqual([seg.seqNumber, seg.ackNumber, seg.window], [0x12345678, 0x9abcdef0, 65535]);
  assert.deepEqual(seg.options, fromHex("020405a0" + "01030307" + "01010402"));
  assert.equal(seg.urgent, 0);
  const bare = buildTcpSyn6(
    buf,
    MAC_CLIENT,
    MAC_APP,
    VIP,
    CLIENT,
    7000,
    40000,
    1,
    0,
    TCP_SYN,
    1000,
    1220,
    -1,
    false,
  );
  assert.equal(bare, TCP6_AT + 24);
  ipOf(buf, bare);
  assert.deepEqual(new TcpSegment(buf, TCP6_AT, bare).options, fromHex("020404c4"));
  assert.equal(
    buildTcpSyn6(
      poisoned(TCP6_AT + 31),
      MAC_CLIENT,
      MAC_APP,
      VIP,
      CLIENT,
      1,
      2,
      3,
      4,
      2,
      5,
      6,
      7,
      true,
    ),
    0,
  );
});

Deno.test("buildTcpSegment6 with and without timestamps; buildTcpData6 carries the payload", () => {
  const buf = poisoned(300);
  const plain = buildTcpSegment6(
    buf,
    MAC_CLIENT,
    MAC_APP,
    VIP,
    CLIENT,
    7000,
    40000,
    5,
    6,
    TCP_ACK,
    9,
  );
  assert.equal(plain, TCP6_AT + 20);
  ipOf(buf, plain);
  const ts = buildTcpSegment6(
    buf,
    MAC_CLIENT,
    MAC_APP,
    VIP,
    CLIENT,
    7000,
    40000,
    5,
    6,
    TCP_ACK,
    9,
    0xdeadbeef,
    0x01020304,
  );
  assert.equal(ts, TCP6_AT + 32);
  ipOf(buf, ts);
  const seg = new TcpSegment(buf, TCP6_AT, ts);
  assert.deepEqual(seg.options, fromHex("0101080a" + "deadbeef" + "01020304"));
  assert.equal(
    buildTcpSegment6(poisoned(TCP6_AT + 19), MAC_CLIENT, MAC_APP, VIP, CLIENT, 1, 2, 3, 4, 5, 6),
    0,
  );
  const text = new TextEncoder().encode("GET /health HTTP/1.1\r\n\r\n");
  const data = buildTcpData6(
    buf,
    MAC_CLIENT,
    MAC_APP,
    VIP,
    CLIENT,
    7000,
    40000,
    100,
    200,
    TCP_PSH | TCP_ACK,
    512,
    text,
  );
  assert.equal(data, TCP6_AT + 20 + text.length);
  assert.equal(buf[data], 0xa5);
  ipOf(buf, data);
  const d = new TcpSegment(buf, TCP6_AT, data);
  assert.deepEqual(d.payload, text);
  assert.equal(d.flags, TCP_PSH | TCP_ACK);
  assert.equal(
    buildTcpData6(poisoned(data - 1), MAC_CLIENT, MAC_APP, VIP, CLIENT, 1, 2, 3, 4, 5, 6, text),
    0,
  );
});

Deno.test("fuzz: buildIcmpv6Error and buildTcpRst6 never throw on random originals", () => {
  const out = new Uint8Array(1600);
  const shape = (b: Uint8Array, next: () => number) => {
    if (b.length > 40) {
      b[0] = 0x60;
      b[4] = 0;
      b[5] = Math.max(1, b.length - 40 - (next() & 7));
      b[6] = [6, 17, 58, 0, 43, 44, 60][next() % 7]!;
    }
  };
  fuzz(
    6,
    3000,
    200,
    (b) => buildIcmpv6Error(out, MAC_APP, MAC_CLIENT, VIP, CLIENT, 1, 0, b) || undefined,
    shape,
  );
  fuzz(7, 3000, 120, (b) => buildTcpRst6(out, MAC_APP, MAC_CLIENT, b) || undefined, shape);
});
