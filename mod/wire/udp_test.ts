import assert from "node:assert/strict";
import { UDP_HEADER_LEN, UdpDatagram, UdpRepr } from "./udp.ts";
import { fold, pseudoHeaderSum, sum16 } from "./checksum.ts";
import { PROTO_UDP } from "./ipv4.ts";
import { parseIpv4, parseIpv6 } from "./addr.ts";
import { Ipv6Packet, pseudoHeaderSum6, writeIpv6Header } from "./ipv6.ts";
import { fromHex, fuzz, poisoned, upperChecksumOk6 } from "./test_util.ts";

const SRC = parseIpv4("198.51.100.2")!;
const DST = parseIpv4("198.51.100.10")!;
// 40001 -> 7001, length 12, checksum 0, payload "ping".
const DGRAM = fromHex("9c41" + "1b59" + "000c" + "0000" + "70696e67");

/** A datagram whose payload is tuned so that its computed checksum is exactly 0. */
function zeroSumDatagram(): Uint8Array {
  const bytes = fromHex("9c41" + "1b59" + "000c" + "0000" + "00000000");
  const partial = fold(sum16(bytes, 0, 12, pseudoHeaderSum(SRC, DST, PROTO_UDP, 12)));
  const word = 0xffff - partial; // makes the folded sum 0xffff, so ~sum = 0
  bytes[10] = word >>> 8;
  bytes[11] = word & 0xff;
  return bytes;
}

Deno.test("UdpDatagram.checked rejects truncation, length < 8 and a length that lies", () => {
  for (let len = 0; len < UDP_HEADER_LEN; len++) {
    assert.equal(UdpDatagram.checked(DGRAM.subarray(0, len)), undefined, `length ${len}`);
  }
  for (const length of [0, 7]) {
    const bad = DGRAM.slice();
    bad[5] = length;
    assert.equal(UdpDatagram.checked(bad), undefined, `length field ${length}`);
  }
  const lie = DGRAM.slice();
  lie[5] = 13;
  assert.equal(UdpDatagram.checked(lie), undefined, "length field 13 > 12 bytes");
  assert.equal(UdpDatagram.checked(DGRAM.subarray(0, 11)), undefined, "bytes cut short");
  assert.ok(UdpDatagram.checked(DGRAM));
});

Deno.test("UdpDatagram getters; payload ends at the length field", () => {
  const padded = new Uint8Array(20);
  padded.set(DGRAM);
  padded.fill(0xee, 12);
  const d = UdpDatagram.checked(padded)!;
  assert.equal(d.srcPort, 40001);
  assert.equal(d.dstPort, 7001);
  assert.equal(d.length, 12);
  assert.equal(d.checksum, 0);
  assert.equal(new TextDecoder().decode(d.payload), "ping");
});

Deno.test("checksum 0 means none: verify accepts it for any addresses", () => {
  const d = new UdpDatagram(DGRAM.slice());
  assert.ok(d.verifyChecksum(SRC, DST));
  assert.ok(d.verifyChecksum(1, 2));
});

Deno.test("fillChecksum verifies, detects corruption, and sends a computed 0 as 0xffff", () => {
  const d = new UdpDatagram(DGRAM.slice());
  d.fillChecksum(SRC, DST);
  assert.notEqual(d.checksum, 0);
  assert.ok(d.verifyChecksum(SRC, DST));
  d.bytes[9] = 0x50;
  assert.equal(d.verifyChecksum(SRC, DST), false);

  const zero = new UdpDatagram(zeroSumDatagram());
  zero.fillChecksum(SRC, DST);
  assert.equal(zero.checksum, 0xffff);
  assert.ok(zero.verifyChecksum(SRC, DST));
});

Deno.test("UdpRepr emit into a 0xa5 buffer writes length and checksum and parses back", () => {
  const repr: UdpRepr = { srcPort: 7001, dstPort: 40001, payload: fromHex("010203") };
  const buf = poisoned(16);
  assert.equal(UdpRepr.emit(repr, buf, DST, SRC), 11);
  assert.equal(buf[11], 0xa5);
  const d = UdpDatagram.checked(buf)!;
  assert.equal(d.length, 11);
  assert.notEqual(d.checksum, 0);
  assert.ok(d.verifyChecksum(DST, SRC));
  assert.deepEqual(UdpRepr.parse(d), repr);
});

Deno.test("UdpDatagram.checked never throws on 20k random inputs", () => {
  const accepted = fuzz(0x768, 20_000, 40, (b) => {
    const d = UdpDatagram.checked(b);
    if (d !== undefined) void [d.payload, d.verifyChecksum(1, 2)];
    return d;
  }, (b, next) => {
    if (b.length >= 8 && next() & 1) {
      b[4] = 0;
      b[5] = next() % 48;
    }
  });
  assert.ok(accepted > 0);
});

Deno.test("UdpDatagram.checkHeader takes a first fragment's header, whose length runs past it", () => {
  // Ports 5555 → 7001, length 4008 (the whole datagram), checksum, 4 bytes of payload here.
  const frag = fromHex("15b3 1b59 0fa8 1234 deadbeef");
  const v = new UdpDatagram();
  assert.equal(v.check(frag, 0, frag.length), false, "check holds the length to the bytes");
  assert.equal(v.checkHeader(frag, 0, frag.length), true);
  assert.deepEqual([v.srcPort, v.dstPort, v.length, v.checksum], [5555, 7001, 4008, 0x1234]);
  assert.equal(v.checkHeader(frag, 0, 7), false, "the 8 header bytes must be there");
  const bad = frag.slice();
  bad[4] = 0;
  bad[5] = 7;
  assert.equal(v.checkHeader(bad, 0, bad.length), false, "a length under 8 is never possible");
});

Deno.test("fillChecksumWithPseudo: IPv6 sum equals a recompute; a computed 0 is 0xffff", () => {
  const src6 = parseIpv6("2001:db8::2")!;
  const dst6 = parseIpv6("2001:db8::10")!;
  const packet = new Uint8Array(40 + DGRAM.length);
  writeIpv6Header(packet, 0, DGRAM.length, PROTO_UDP, 64, src6, dst6);
  packet.set(DGRAM, 40);
  const d = new UdpDatagram(packet, 40, packet.length);
  d.fillChecksumWithPseudo(pseudoHeaderSum6(src6, dst6, PROTO_UDP, d.length));
  assert.ok(upperChecksumOk6(packet), "independent recompute");
  assert.ok(d.verifyWithPseudo(Ipv6Packet.checked(packet)!.pseudoSum(d.length, PROTO_UDP)));
  const zero = new UdpDatagram(zeroSumDatagram());
  zero.fillChecksumWithPseudo(pseudoHeaderSum(SRC, DST, PROTO_UDP, zero.length));
  assert.equal(zero.checksum, 0xffff);
});
