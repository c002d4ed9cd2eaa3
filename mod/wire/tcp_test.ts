import assert from "node:assert/strict";
import {
  TCP_ACK,
  TCP_CWR,
  TCP_ECE,
  TCP_FIN,
  TCP_HEADER_LEN,
  TCP_PSH,
  TCP_RST,
  TCP_SYN,
  TCP_URG,
  TcpRepr,
  TcpSegment,
} from "./tcp.ts";
import { parseIpv4, parseIpv6 } from "./addr.ts";
import { pseudoHeaderSum } from "./checksum.ts";
import { PROTO_TCP } from "./ipv4.ts";
import { Ipv6Packet, pseudoHeaderSum6, writeIpv6Header } from "./ipv6.ts";
import { fromHex, fuzz, poisoned, upperChecksumOk6 } from "./test_util.ts";

const SRC = parseIpv4("198.51.100.2")!;
const DST = parseIpv4("198.51.100.10")!;
// 40000 -> 7000, seq 0x48625541, ack 0, data offset 6 (MSS option), SYN, window 64240.
const SYN = fromHex(
  "9c40" + "1b58" + "48625541" + "00000000" + "60" + "02" + "faf0" + "0000" + "0000" + "020405b4",
);

Deno.test("TcpSegment.checked rejects truncation, data offset < 5 and an overrunning header", () => {
  for (let len = 0; len < TCP_HEADER_LEN; len++) {
    assert.equal(TcpSegment.checked(SYN.subarray(0, len)), undefined, `length ${len}`);
  }
  for (const offset of [0, 1, 4]) {
    const bad = SYN.slice();
    bad[12] = offset << 4;
    assert.equal(TcpSegment.checked(bad), undefined, `data offset ${offset}`);
  }
  const overrun = SYN.slice();
  overrun[12] = 7 << 4; // 28-byte header in 24 bytes
  assert.equal(TcpSegment.checked(overrun), undefined, "header longer than the bytes");
  assert.equal(TcpSegment.checked(SYN.subarray(0, 23)), undefined, "options cut short");
  assert.ok(TcpSegment.checked(SYN));
});

Deno.test("TcpSegment getters: ports, numbers, header length, flags, window, options", () => {
  const seg = TcpSegment.checked(SYN)!;
  assert.equal(seg.srcPort, 40000);
  assert.equal(seg.dstPort, 7000);
  assert.equal(seg.seqNumber, 0x48625541);
  assert.equal(seg.ackNumber, 0);
  assert.equal(seg.headerLen, 24);
  assert.equal(seg.flags, TCP_SYN);
  assert.deepEqual(
    [seg.fin, seg.syn, seg.rst, seg.psh, seg.ack, seg.urg],
    [false, true, false, false, false, false],
  );
  assert.equal(seg.window, 64240);
  assert.equal(seg.urgent, 0);
  assert.deepEqual(seg.options, fromHex("020405b4"));
  assert.equal(seg.payload.length, 0);
  assert.equal(seg.segmentLength, 1, "SYN counts one");
});

Deno.test("each flag getter reads its own bit; constants match RFC 9293 / RFC 3168", () => {
  assert.deepEqual(
    [TCP_FIN, TCP_SYN, TCP_RST, TCP_PSH, TCP_ACK, TCP_URG, TCP_ECE, TCP_CWR],
    [1, 2, 4, 8, 16, 32, 64, 128],
  );
  const seg = new TcpSegment(SYN.slice());
  const names = ["fin", "syn", "rst", "psh", "ack", "urg"] as const;
  names.forEach((name, bit) => {
    seg.flags = 1 << bit;
    for (const other of names) assert.equal(seg[other], other === name, `${name} vs ${other}`);
  });
});

Deno.test("seq/ack numbers above 2^31 read as unsigned; segmentLength counts SYN, FIN, data", () => {
  const bytes = new Uint8Array(25);
  bytes.set(SYN.subarray(0, 20));
  bytes[12] = 0x50;
  const seg = TcpSegment.checked(bytes)!;
  seg.seqNumber = 0xfffffff0;
  seg.ackNumber = 0x80000000;
  assert.equal(seg.seqNumber, 0xfffffff0);
  assert.equal(seg.ackNumber, 0x80000000);
  seg.flags = TCP_FIN | TCP_ACK;
  assert.equal(seg.segmentLength, 6);
  seg.flags = TCP_SYN | TCP_FIN;
  assert.equal(seg.segmentLength, 7);
  seg.flags = TCP_ACK;
  assert.equal(seg.segmentLength, 5);
});

Deno.test("fillChecksum/verifyChecksum use the pseudo-header", () => {
  const seg = new TcpSegment(SYN.slice());
  seg.fillChecksum(SRC, DST);
  assert.ok(seg.verifyChecksum(SRC, DST));
  assert.equal(seg.verifyChecksum(SRC, DST + 1), false, "a different address must fail");
  assert.equal(new TcpSegment(seg.bytes.subarray(0, 20)).verifyChecksum(SRC, DST), false);
});

Deno.test("TcpRepr emit into a 0xa5 buffer: options padded, checksum valid, parses back", () => {
  const repr: TcpRepr = {
    srcPort: 7000,
    dstPort: 40000,
    seqNumber: 0xcb55c9c1,
    ackNumber: 0x48625542,
    flags: TCP_SYN | TCP_ACK,
    window: 65160,
    urgent: 0,
    options: fromHex("020405b4" + "0402" + "01"),
    payload: new TextEncoder().encode("hi"),
  };
  assert.equal(TcpRepr.bufferLen(repr), 20 + 8 + 2);
  const buf = poisoned(40);
  const len = TcpRepr.emit(repr, buf, DST, SRC);
  assert.equal(len, 30);
  assert.equal(buf[30], 0xa5, "nothing past the segment");
  const seg = TcpSegment.checked(buf.subarray(0, len))!;
  assert.equal(seg.headerLen, 28);
  assert.deepEqual(seg.options, fromHex("020405b4" + "0402" + "01" + "00"));
  assert.ok(seg.verifyChecksum(DST, SRC));
  assert.deepEqual(TcpRepr.parse(seg), { ...repr, options: fromHex("020405b4040201" + "00") });
  const plain = { ...repr, options: new Uint8Array(0), payload: new Uint8Array(0) };
  const n = TcpRepr.emit(plain, buf, DST, SRC);
  assert.equal(n, 20);
  assert.deepEqual(TcpRepr.parse(TcpSegment.checked(buf.subarray(0, n))!), plain);
});

Deno.test("TcpSegment.checked never throws on 20k random inputs", () => {
  const accepted = fuzz(0x7c9, 20_000, 70, (b) => {
    const s = TcpSegment.checked(b);
    if (s !== undefined) void [s.options, s.payload, s.segmentLength, s.verifyChecksum(1, 2)];
    return s;
  });
  assert.ok(accepted > 0);
});

Deno.test("fillChecksumWithPseudo: IPv6 pseudo-header sums, folded or not, equal a recompute", () => {
  const src6 = parseIpv6("2001:db8::2")!;
  const dst6 = parseIpv6("2001:db8::10")!;
  const packet = new Uint8Array(40 + SYN.length);
  writeIpv6Header(packet, 0, SYN.length, PROTO_TCP, 64, src6, dst6);
  packet.set(SYN, 40);
  const seg = new TcpSegment(packet, 40, packet.length);
  seg.fillChecksumWithPseudo(pseudoHeaderSum6(src6, dst6, PROTO_TCP, seg.length));
  assert.ok(upperChecksumOk6(packet), "independent recompute");
  const folded = seg.checksum;
  const ip = Ipv6Packet.checked(packet)!;
  seg.fillChecksumWithPseudo(ip.pseudoSum(seg.length, PROTO_TCP));
  assert.equal(seg.checksum, folded);
  assert.ok(seg.verifyWithPseudo(ip.pseudoSum(seg.length, PROTO_TCP)));
  // The IPv4 method is unchanged: it equals the pseudo form with the IPv4 sum.
  const v4 = new TcpSegment(SYN.slice());
  v4.fillChecksum(SRC, DST);
  const viaPseudo = new TcpSegment(SYN.slice());
  viaPseudo.fillChecksumWithPseudo(pseudoHeaderSum(SRC, DST, PROTO_TCP, SYN.length));
  assert.equal(viaPseudo.checksum, v4.checksum);
});
