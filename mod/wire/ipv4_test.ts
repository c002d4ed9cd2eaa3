import assert from "node:assert/strict";
import { IPV4_HEADER_LEN, Ipv4Packet, Ipv4Repr, PROTO_ICMP, PROTO_TCP, PROTO_UDP } from "./ipv4.ts";
import { internetChecksum } from "./checksum.ts";
import { parseIpv4 } from "./addr.ts";
import { fromHex, fuzz, poisoned, prng } from "./test_util.ts";

const SRC = parseIpv4("198.51.100.2")!;
const DST = parseIpv4("203.0.113.20")!;

/** A 20-byte header + `payloadLen` bytes of payload + `padding` trailing bytes, checksum filled. */
function packet(payloadLen: number, padding = 0, ihl = 5): Uint8Array {
  const headerLen = ihl * 4;
  const bytes = new Uint8Array(headerLen + payloadLen + padding);
  bytes.set(fromHex("45000000" + "1c46" + "4000" + "40" + "11" + "0000" + "c6336402" + "cb007114"));
  bytes[0] = 0x40 | ihl;
  const total = headerLen + payloadLen;
  bytes[2] = total >>> 8;
  bytes[3] = total & 0xff;
  for (let i = 20; i < headerLen; i++) bytes[i] = 0x01; // NOP options (RFC 791)
  for (let i = headerLen; i < total; i++) bytes[i] = i & 0xff;
  for (let i = total; i < bytes.length; i++) bytes[i] = 0xee;
  new Ipv4Packet(bytes).fillChecksum();
  return bytes;
}

Deno.test("Ipv4Packet.checked rejects each malformed case", () => {
  const good = packet(8);
  for (let len = 0; len < IPV4_HEADER_LEN; len++) {
    assert.equal(Ipv4Packet.checked(good.subarray(0, len)), undefined, `truncated to ${len}`);
  }
  const cases: Array<[string, (b: Uint8Array) => Uint8Array]> = [
    ["version 6", (b) => (b[0] = 0x65, b)],
    ["version 0", (b) => (b[0] = 0x05, b)],
    ["IHL 4", (b) => (b[0] = 0x44, b)],
    ["IHL 0", (b) => (b[0] = 0x40, b)],
    ["IHL 15 beyond the bytes", (b) => (b[0] = 0x4f, b)],
    ["totalLength < headerLen", (b) => (b[2] = 0, b[3] = 19, b)],
    ["totalLength > bytes (a lie)", (b) => (b[2] = 0, b[3] = 29, b)],
    ["totalLength 65535", (b) => (b[2] = 0xff, b[3] = 0xff, b)],
    ["bytes cut below totalLength", (b) => b.subarray(0, 27)],
  ];
  for (const [name, mutate] of cases) {
    assert.equal(Ipv4Packet.checked(mutate(good.slice())), undefined, name);
  }
  assert.ok(Ipv4Packet.checked(good));
  assert.ok(Ipv4Packet.checked(packet(0)), "an empty payload is fine");
  assert.ok(Ipv4Packet.checked(packet(0, 0, 15)), "IHL 15 with 40 option bytes is fine");
});

Deno.test("checked does not verify the header checksum (the engine counts that)", () => {
  const bytes = packet(4);
  bytes[10] = bytes[10]! ^ 0xff;
  const ip = Ipv4Packet.checked(bytes)!;
  assert.ok(ip);
  assert.equal(ip.verifyChecksum(), false);
});

Deno.test("Ipv4Packet getters read every field", () => {
  const ip = Ipv4Packet.checked(packet(8))!;
  assert.equal(ip.version, 4);
  assert.equal(ip.headerLen, 20);
  assert.equal(ip.dscpEcn, 0);
  assert.equal(ip.totalLength, 28);
  assert.equal(ip.ident, 0x1c46);
  assert.equal(ip.dontFragment, true);
  assert.equal(ip.moreFragments, false);
  assert.equal(ip.fragmentOffset, 0);
  assert.equal(ip.isFragment, false);
  assert.equal(ip.ttl, 64);
  assert.equal(ip.protocol, PROTO_UDP);
  assert.equal(ip.src, SRC);
  assert.equal(ip.dst, DST);
  assert.equal(ip.options.length, 0);
  assert.deepEqual(ip.payload, fromHex("1415161718191a1b"));
  assert.ok(ip.verifyChecksum());
  assert.deepEqual([PROTO_ICMP, PROTO_TCP, PROTO_UDP], [1, 6, 17]);
});

Deno.test("payload stops at totalLength (Ethernet padding) and starts after options", () => {
  const ip = Ipv4Packet.checked(packet(6, 10, 6))!;
  assert.equal(ip.headerLen, 24);
  assert.deepEqual(ip.options, fromHex("01010101"));
  assert.equal(ip.payload.length, 6);
  assert.equal(ip.payload[0], 24);
  assert.equal(ip.packet.length, 30);
  assert.equal(ip.bytes.length, 40);
  assert.ok(ip.verifyChecksum(), "checksum covers the options");
});

Deno.test("fragment flags: MF, offset, and DF alone", () => {
  const cases: Array<[string, number, number, boolean, boolean, number]> = [
    // name, byte 6, byte 7, isFragment, moreFragments, offset in bytes
    ["DF only", 0x40, 0x00, false, false, 0],
    ["first fragment (MF)", 0x20, 0x00, true, true, 0],
    ["middle fragment", 0x20, 0xb9, true, true, 185 * 8],
    ["last fragment", 0x00, 0xb9, true, false, 185 * 8],
    ["max offset", 0x1f, 0xff, true, false, 8191 * 8],
  ];
  for (const [name, b6, b7, frag, mf, offset] of cases) {
    const bytes = packet(4);
    bytes[6] = b6;
    bytes[7] = b7;
    const ip = Ipv4Packet.checked(bytes)!;
    assert.equal(ip.isFragment, frag, name);
    assert.equal(ip.moreFragments, mf, name);
    assert.equal(ip.fragmentOffset, offset, name);
  }
});

Deno.test("setters and fillChecksum write the header", () => {
  const bytes = packet(4);
  const ip = new Ipv4Packet(bytes);
  ip.ttl = 1;
  ip.src = 0xc0000201;
  ip.dst = 0xffffffff;
  ip.totalLength = 23;
  assert.equal(ip.verifyChecksum(), false);
  ip.fillChecksum();
  assert.ok(ip.verifyChecksum());
  assert.deepEqual(
    bytes.subarray(0, 20).slice().fill(0, 10, 12),
    fromHex("45000017" + "1c464000" + "01110000" + "c0000201" + "ffffffff"),
  );
  assert.equal(ip.checksum, internetChecksum(bytes.slice().fill(0, 10, 12), 0, 20));
  ip.checksum = 0x1234;
  assert.deepEqual(bytes.subarray(10, 12), fromHex("1234"));
});

Deno.test("rewriteSrc/rewriteDst/rewriteTtl update the checksum like a full recompute", () => {
  const next = prng(791);
  for (let i = 0; i < 2000; i++) {
    const bytes = packet(4, 0, 5 + (i % 3));
    bytes[8] = next() & 0xff;
    bytes[1] = next() & 0xff;
    new Ipv4Packet(bytes).fillChecksum();
    const ip = new Ipv4Packet(bytes);
    const choice = i % 3;
    if (choice === 0) ip.rewriteSrc(next());
    else if (choice === 1) ip.rewriteDst(next());
    else ip.rewriteTtl(next() & 0xff);
    const incremental = ip.checksum;
    ip.fillChecksum();
    assert.equal(incremental, ip.checksum, `round ${i}`);
  }
});

Deno.test("checkedHeader accepts a quoted header whose totalLength exceeds the bytes", () => {
  const quoted = packet(100).subarray(0, 28);
  assert.equal(Ipv4Packet.checked(quoted), undefined);
  const ip = Ipv4Packet.checkedHeader(quoted)!;
  assert.equal(ip.totalLength, 120);
  assert.equal(ip.dst, DST);
  for (let len = 0; len < 20; len++) {
    assert.equal(Ipv4Packet.checkedHeader(quoted.subarray(0, len)), undefined, `length ${len}`);
  }
  const bad = quoted.slice();
  bad[0] = 0x44;
  assert.equal(Ipv4Packet.checkedHeader(bad), undefined, "IHL 4");
  bad[0] = 0x55;
  assert.equal(Ipv4Packet.checkedHeader(bad), undefined, "version 5");
  bad[0] = 0x48;
  assert.equal(Ipv4Packet.checkedHeader(bad), undefined, "IHL 8 beyond 28 bytes");
});

Deno.test("Ipv4Repr emit into a 0xa5 buffer writes a valid header and parses back", () => {
  const repr: Ipv4Repr = {
    src: SRC,
    dst: DST,
    protocol: PROTO_TCP,
    payloadLength: 40,
    ttl: 63,
    dscpEcn: 0xb8,
    ident: 0xbeef,
    dontFragment: true,
  };
  const buf = poisoned(60);
  assert.equal(Ipv4Repr.emit(repr, buf), 20);
  const ip = Ipv4Packet.checked(buf)!;
  assert.ok(ip.verifyChecksum());
  assert.equal(ip.headerLen, 20);
  assert.equal(ip.totalLength, 60);
  assert.equal(ip.isFragment, false);
  assert.deepEqual(Ipv4Repr.parse(ip), repr);
  assert.equal(buf[20], 0xa5, "payload untouched");
  const noDf = { ...repr, dontFragment: false, dscpEcn: 0 };
  Ipv4Repr.emit(noDf, buf);
  assert.deepEqual(Ipv4Repr.parse(new Ipv4Packet(buf)), noDf);
  assert.deepEqual(buf.subarray(6, 8), fromHex("0000"));
});

Deno.test("Ipv4Packet.checked never throws on 20k random inputs", () => {
  const accepted = fuzz(0x1f04, 20_000, 80, (b) => {
    const ip = Ipv4Packet.checked(b);
    if (ip !== undefined) {
      void [ip.payload, ip.options, ip.isFragment, ip.src, ip.dst, ip.verifyChecksum()];
    }
    Ipv4Packet.checkedHeader(b);
    return ip;
  }, (b, next) => {
    // Make a plausible header often enough that lengths, not the version, decide.
    if (b.length > 3 && next() & 1) {
      b[0] = 0x40 | (b[0]! & 0x0f);
      b[2] = 0;
      b[3] = next() % 90;
    }
  });
  assert.ok(accepted > 0);
});
