import assert from "node:assert/strict";
import {
  buildIcmpError,
  buildTcpRst,
  buildTcpSyn,
  ICMP_ERROR_MAX_IP_LEN,
  mayReplyWithIcmpError,
  TCP_RST_FRAME_LEN,
  turnEchoReply,
} from "./build.ts";
import { EthernetFrame, ETHERTYPE_IPV4 } from "./ethernet.ts";
import { Ipv4Packet, Ipv4Repr, PROTO_ICMP, PROTO_TCP, PROTO_UDP } from "./ipv4.ts";
import {
  ICMP_CODE_FRAG_NEEDED,
  ICMP_CODE_PORT_UNREACHABLE,
  ICMP_DEST_UNREACHABLE,
  ICMP_ECHO_REPLY,
  ICMP_ECHO_REQUEST,
  ICMP_TIME_EXCEEDED,
  IcmpPacket,
  IcmpRepr,
} from "./icmp.ts";
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, TcpRepr, TcpSegment } from "./tcp.ts";
import { UdpRepr } from "./udp.ts";
import { parseIpv4, parseMac } from "./addr.ts";
import { poisoned } from "./test_util.ts";

const MAC_APP = parseMac("02:00:5e:00:00:03")!;
const MAC_CLIENT = parseMac("02:00:00:00:00:02")!;
const CLIENT = parseIpv4("198.51.100.2")!;
const VIP = parseIpv4("198.51.100.10")!;
const SELF = parseIpv4("198.51.100.3")!;

function ipRepr(protocol: number, payloadLength: number, src = CLIENT, dst = VIP): Ipv4Repr {
  return { src, dst, protocol, payloadLength, ttl: 57, dscpEcn: 0, ident: 7, dontFragment: true };
}

/** An IPv4/UDP packet from the client with `n` payload bytes. */
function udpPacket(n: number, src = CLIENT, dst = VIP): Uint8Array {
  const buf = new Uint8Array(28 + n);
  const payload = new Uint8Array(n).map((_, i) => i);
  Ipv4Repr.emit(ipRepr(PROTO_UDP, 8 + n, src, dst), buf);
  UdpRepr.emit({ srcPort: 40001, dstPort: 7009, payload }, buf.subarray(20), src, dst);
  return buf;
}

/** An IPv4/TCP packet from the client. */
function tcpPacket(
  flags: number,
  seq: number,
  ack: number,
  payload = new Uint8Array(0),
): Uint8Array {
  const repr: TcpRepr = {
    srcPort: 40000,
    dstPort: 7000,
    seqNumber: seq,
    ackNumber: ack,
    flags,
    window: 1000,
    urgent: 0,
    options: new Uint8Array(0),
    payload,
  };
  const tcpLen = TcpRepr.bufferLen(repr);
  const buf = new Uint8Array(20 + tcpLen);
  Ipv4Repr.emit(ipRepr(PROTO_TCP, tcpLen), buf);
  TcpRepr.emit(repr, buf.subarray(20), CLIENT, VIP);
  return buf;
}

/** Parses a built frame down to IPv4, asserting the Ethernet header and IP checksum. */
function ipOf(frame: Uint8Array, len: number): Ipv4Packet {
  const eth = EthernetFrame.checked(frame.subarray(0, len))!;
  assert.deepEqual(eth.src, MAC_APP);
  assert.deepEqual(eth.dst, MAC_CLIENT);
  assert.equal(eth.etherType, ETHERTYPE_IPV4);
  const ip = Ipv4Packet.checked(eth.payload)!;
  assert.ok(ip.verifyChecksum(), "IP checksum");
  assert.equal(ip.totalLength, len - 14, "no trailing bytes");
  assert.equal(ip.ttl, 64);
  return ip;
}

Deno.test("buildIcmpError: port unreachable quotes the whole small original", () => {
  const original = udpPacket(11);
  const buf = poisoned(1600);
  const len = buildIcmpError(
    buf,
    MAC_APP,
    MAC_CLIENT,
    VIP,
    CLIENT,
    ICMP_DEST_UNREACHABLE,
    ICMP_CODE_PORT_UNREACHABLE,
    original,
  );
  assert.equal(len, 14 + 20 + 8 + original.length);
  assert.equal(buf[len], 0xa5);
  const ip = ipOf(buf, len);
  assert.equal(ip.protocol, PROTO_ICMP);
  assert.equal(ip.src, VIP);
  assert.equal(ip.dst, CLIENT);
  const icmp = IcmpPacket.checked(ip.payload)!;
  assert.ok(icmp.verifyChecksum(), "ICMP checksum");
  assert.equal(icmp.type, ICMP_DEST_UNREACHABLE);
  assert.equal(icmp.code, ICMP_CODE_PORT_UNREACHABLE);
  assert.deepEqual(icmp.rest, new Uint8Array(4));
  assert.deepEqual(icmp.embedded, original);
});

Deno.test("buildIcmpError: a 1500-byte original is cut so the IP datagram is 576 bytes", () => {
  const original = udpPacket(1472);
  const padded = new Uint8Array(original.length + 30);
  padded.set(original);
  const buf = poisoned(1600);
  const len = buildIcmpError(
    buf,
    MAC_APP,
    MAC_CLIENT,
    SELF,
    CLIENT,
    ICMP_DEST_UNREACHABLE,
    ICMP_CODE_FRAG_NEEDED,
    padded,
    1400,
  );
  assert.equal(len, 14 + ICMP_ERROR_MAX_IP_LEN);
  const icmp = IcmpPacket.checked(ipOf(buf, len).payload)!;
  assert.ok(icmp.verifyChecksum());
  assert.equal(icmp.nextHopMtu, 1400);
  assert.equal(icmp.embedded.length, 576 - 28);
  assert.deepEqual(icmp.embedded, original.subarray(0, 548));
  const quoted = Ipv4Packet.checkedHeader(icmp.embedded)!;
  assert.equal(quoted.totalLength, 1500, "the quoted header is the original's, unchanged");
});

Deno.test("buildIcmpError: Ethernet padding after the original is not quoted", () => {
  const original = udpPacket(2);
  const padded = new Uint8Array(46);
  padded.set(original);
  padded.fill(0xee, original.length);
  const buf = poisoned(200);
  const len = buildIcmpError(
    buf,
    MAC_APP,
    MAC_CLIENT,
    VIP,
    CLIENT,
    ICMP_TIME_EXCEEDED,
    0,
    padded,
  );
  const icmp = IcmpPacket.checked(ipOf(buf, len).payload)!;
  assert.deepEqual(icmp.embedded, original);
});

Deno.test("buildIcmpError works in place, over the frame that held the original", () => {
  const original = udpPacket(40);
  const buf = poisoned(200);
  buf.set(original, 14);
  const len = buildIcmpError(
    buf,
    MAC_APP,
    MAC_CLIENT,
    VIP,
    CLIENT,
    ICMP_DEST_UNREACHABLE,
    ICMP_CODE_PORT_UNREACHABLE,
    buf.subarray(14, 14 + original.length),
  );
  const icmp = IcmpPacket.checked(ipOf(buf, len).payload)!;
  assert.ok(icmp.verifyChecksum());
  assert.deepEqual(icmp.embedded, original);
});

Deno.test("buildIcmpError returns 0 when RFC 1812 §4.3.2.7 forbids an error or input is bad", () => {
  const icmpError = new Uint8Array(20 + 8 + 28);
  Ipv4Repr.emit(ipRepr(PROTO_ICMP, 36), icmpError);
  IcmpRepr.emit({ type: 3, code: 3, rest: 0, payload: udpPacket(0) }, icmpError.subarray(20));
  const echo = new Uint8Array(20 + 8);
  Ipv4Repr.emit(ipRepr(PROTO_ICMP, 8), echo);
  IcmpRepr.emit(
    { type: ICMP_ECHO_REQUEST, code: 0, rest: 0, payload: new Uint8Array(0) },
    echo.subarray(20),
  );
  const laterFragment = udpPacket(8);
  laterFragment[6] = 0x00;
  laterFragment[7] = 0x10;
  const firstFragment = udpPacket(8);
  firstFragment[6] = 0x20;
  const cases: Array<[string, Uint8Array, boolean]> = [
    ["UDP from a host", udpPacket(8), true],
    ["ICMP echo request", echo, true],
    ["first fragment", firstFragment, true],
    ["ICMP error", icmpError, false],
    ["non-initial fragment", laterFragment, false],
    ["to broadcast", udpPacket(8, CLIENT, 0xffffffff), false],
    ["to multicast", udpPacket(8, CLIENT, parseIpv4("224.0.0.18")!), false],
    ["from 0.0.0.0", udpPacket(8, 0, VIP), false],
    ["from loopback", udpPacket(8, parseIpv4("127.0.0.1")!, VIP), false],
    ["from multicast", udpPacket(8, parseIpv4("239.1.1.1")!, VIP), false],
    ["from class E", udpPacket(8, parseIpv4("240.0.0.1")!, VIP), false],
  ];
  for (const [name, packet, allowed] of cases) {
    assert.equal(mayReplyWithIcmpError(new Ipv4Packet(packet)), allowed, name);
    const len = buildIcmpError(poisoned(600), MAC_APP, MAC_CLIENT, VIP, CLIENT, 3, 3, packet);
    assert.equal(len > 0, allowed, name);
  }
  const build = (buf: Uint8Array, original: Uint8Array): number =>
    buildIcmpError(buf, MAC_APP, MAC_CLIENT, VIP, CLIENT, 3, 3, original);
  assert.equal(build(poisoned(600), new Uint8Array(19)), 0, "truncated original");
  assert.equal(build(poisoned(600), udpPacket(8).subarray(0, 30)), 0, "length lies");
  assert.equal(build(poisoned(14 + 20 + 8 + 27), udpPacket(100)), 0, "no room for header+8");
  assert.equal(build(poisoned(14 + 20 + 8 + 28), udpPacket(100)), 70, "exactly header+8 fits");
});

Deno.test("buildTcpRst: offending segment with ACK gets <SEQ=SEG.ACK><CTL=RST>", () => {
  const offending = tcpPacket(TCP_ACK | TCP_PSH, 1000, 0xfffffff0, new Uint8Array(5));
  const buf = poisoned(100);
  const len = buildTcpRst(buf, MAC_APP, MAC_CLIENT, offending);
  assert.equal(len, TCP_RST_FRAME_LEN);
  assert.equal(len, 54);
  assert.equal(buf[54], 0xa5);
  const ip = ipOf(buf, len);
  assert.equal(ip.protocol, PROTO_TCP);
  assert.equal(ip.src, VIP);
  assert.equal(ip.dst, CLIENT);
  const rst = TcpSegment.checked(ip.payload)!;
  assert.ok(rst.verifyChecksum(VIP, CLIENT), "TCP checksum");
  assert.equal(rst.srcPort, 7000);
  assert.equal(rst.dstPort, 40000);
  assert.equal(rst.flags, TCP_RST);
  assert.equal(rst.seqNumber, 0xfffffff0);
  assert.equal(rst.ackNumber, 0);
  assert.equal(rst.headerLen, 20);
  assert.equal(rst.window, 0);
  assert.equal(rst.urgent, 0);
  assert.equal(rst.payload.length, 0);
});

Deno.test("buildTcpRst: without ACK, <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>", () => {
  const cases: Array<[string, number, number, number, number]> = [
    // name, flags, seq, payload bytes, expected ack
    ["bare SYN", TCP_SYN, 1000, 0, 1001],
    ["SYN with data", TCP_SYN, 1000, 10, 1011],
    ["FIN with data", TCP_FIN, 5000, 3, 5004],
    ["SYN+FIN", TCP_SYN | TCP_FIN, 5000, 0, 5002],
    ["no flags, data", 0, 7, 100, 107],
    ["wraps at 2^32", TCP_SYN, 0xffffffff, 4, 4],
  ];
  for (const [name, flags, seq, n, expectedAck] of cases) {
    const buf = poisoned(100);
    const len = buildTcpRst(
      buf,
      MAC_APP,
      MAC_CLIENT,
      tcpPacket(flags, seq, 0x1234, new Uint8Array(n)),
    );
    assert.equal(len, 54, name);
    const rst = TcpSegment.checked(ipOf(buf, len).payload)!;
    assert.ok(rst.verifyChecksum(VIP, CLIENT), name);
    assert.equal(rst.flags, TCP_RST | TCP_ACK, name);
    assert.equal(rst.seqNumber, 0, name);
    assert.equal(rst.ackNumber, expectedAck, name);
  }
});

Deno.test("buildTcpRst returns 0 for a RST, non-TCP, a fragment, bad bytes or a short buffer", () => {
  const fragment = tcpPacket(TCP_SYN, 1, 0);
  fragment[6] = 0x20;
  const badOffset = tcpPacket(TCP_SYN, 1, 0);
  badOffset[20 + 12] = 4 << 4;
  const cases: Array<[string, Uint8Array, number]> = [
    ["RST", tcpPacket(TCP_RST, 1, 0), 100],
    ["RST|ACK", tcpPacket(TCP_RST | TCP_ACK, 1, 2), 100],
    ["UDP", udpPacket(8), 100],
    ["fragment", fragment, 100],
    ["IP length lies", tcpPacket(TCP_SYN, 1, 0).subarray(0, 30), 100],
    ["TCP data offset 4", badOffset, 100],
    ["short buffer", tcpPacket(TCP_SYN, 1, 0), 53],
  ];
  for (const [name, packet, bufLen] of cases) {
    assert.equal(buildTcpRst(poisoned(bufLen), MAC_APP, MAC_CLIENT, packet), 0, name);
  }
});

Deno.test("turnEchoReply swaps MACs and IPs, sets type 0 and TTL 64, keeps checksums valid", () => {
  for (const ttl of [64, 57, 1, 255]) {
    const payload = new Uint8Array(24).map((_, i) => i * 7);
    const frame = new Uint8Array(14 + 20 + 8 + 24);
    const eth = new EthernetFrame(frame);
    eth.dst = MAC_APP;
    eth.src = MAC_CLIENT;
    eth.etherType = ETHERTYPE_IPV4;
    Ipv4Repr.emit({ ...ipRepr(PROTO_ICMP, 32, CLIENT, SELF), ttl }, frame.subarray(14));
    IcmpRepr.emit(
      { type: ICMP_ECHO_REQUEST, code: 0, rest: 0x27a50001, payload },
      frame.subarray(34),
    );
    assert.equal(turnEchoReply(frame), true);
    const ip = ipOf(frame, frame.length);
    assert.equal(ip.src, SELF, `ttl ${ttl}`);
    assert.equal(ip.dst, CLIENT);
    const icmp = IcmpPacket.checked(ip.payload)!;
    assert.ok(icmp.verifyChecksum(), `ICMP checksum, ttl ${ttl}`);
    assert.equal(icmp.type, ICMP_ECHO_REPLY);
    assert.equal(icmp.code, 0);
    assert.equal(icmp.echoId, 0x27a5);
    assert.equal(icmp.echoSeq, 1);
    assert.deepEqual(icmp.embedded, payload);
  }
});

Deno.test("turnEchoReply leaves anything but an IPv4 echo request untouched", () => {
  const reply = new Uint8Array(14 + 28);
  new EthernetFrame(reply).etherType = ETHERTYPE_IPV4;
  Ipv4Repr.emit(ipRepr(PROTO_ICMP, 8), reply.subarray(14));
  IcmpRepr.emit(
    { type: ICMP_ECHO_REPLY, code: 0, rest: 1, payload: new Uint8Array(0) },
    reply.subarray(34),
  );
  const udp = new Uint8Array(14 + 36);
  new EthernetFrame(udp).etherType = ETHERTYPE_IPV4;
  udp.set(udpPacket(8), 14);
  const arp = new Uint8Array(60);
  new EthernetFrame(arp).etherType = 0x0806;
  const fragment = reply.slice();
  fragment[14 + 6] = 0x20;
  fragment[14 + 20] = ICMP_ECHO_REQUEST;
  for (
    const [name, frame] of Object.entries({ reply, udp, arp, fragment, short: new Uint8Array(20) })
  ) {
    const before = frame.slice();
    assert.equal(turnEchoReply(frame), false, name);
    assert.deepEqual(frame, before, name);
  }
});

Deno.test("buildTcpSyn: MSS, window scale and SACK-permitted, word-padded, checksums valid", () => {
  const buf = poisoned(128);
  const src = parseIpv4("198.51.100.10")!, dst = parseIpv4("198.51.100.2")!;
  const m1 = parseMac("02:00:00:00:00:02")!, m2 = parseMac("02:74:6e:00:00:01")!;
  const n = buildTcpSyn(
    buf,
    m1,
    m2,
    src,
    dst,
    7000,
    40000,
    0xfedcba98,
    1001,
    TCP_SYN | TCP_ACK,
    65535,
    1460,
    7,
    true,
  );
  assert.equal(n, 14 + 20 + 20 + 12);
  const ip = Ipv4Packet.checked(buf.subarray(14, n))!;
  assert.ok(ip.verifyChecksum());
  const t = TcpSegment.checked(ip.payload)!;
  assert.ok(t.verifyChecksum(src, dst));
  assert.equal(t.seqNumber, 0xfedcba98);
  assert.equal(t.ackNumber, 1001);
  assert.equal(t.flags, TCP_SYN | TCP_ACK);
  assert.equal(t.window, 65535);
  assert.deepEqual([...t.buf.subarray(t.optionsOff, t.payloadOff)], [
    2,
    4,
    0x05,
    0xb4,
    1,
    3,
    3,
    7,
    1,
    1,
    4,
    2,
  ]);
  const m = buildTcpSyn(buf, m1, m2, src, dst, 1, 2, 3, 0, TCP_SYN, 100, 536, -1, false);
  assert.equal(m, 14 + 20 + 24, "MSS only");
  assert.equal(
    buildTcpSyn(new Uint8Array(50), m1, m2, src, dst, 1, 2, 3, 0, TCP_SYN, 1, 536, 7, true),
    0,
  );
});
