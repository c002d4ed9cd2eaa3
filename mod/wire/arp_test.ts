import assert from "node:assert/strict";
import {
  ARP_FRAME_LEN,
  ARP_LEN,
  ARP_REPLY,
  ARP_REQUEST,
  ArpPacket,
  ArpRepr,
  buildArpFrame,
  buildGratuitousArp,
} from "./arp.ts";
import { EthernetFrame, ETHERTYPE_ARP } from "./ethernet.ts";
import { BROADCAST_MAC, macToString, parseIpv4, parseMac } from "./addr.ts";
import { fromHex, fuzz, poisoned } from "./test_util.ts";

const MAC_A = parseMac("02:00:00:00:00:02")!;
const MAC_B = parseMac("02:00:00:00:00:03")!;
const IP_A = parseIpv4("198.51.100.2")!;
const IP_B = parseIpv4("198.51.100.3")!;
// RFC 826 request: Ethernet, IPv4, hlen 6, plen 4, op 1, sha, spa, tha 0, tpa.
const REQUEST = fromHex(
  "0001" + "0800" + "06" + "04" + "0001" + "020000000002" + "c6336402" + "000000000000" +
    "c6336403",
);

Deno.test("ArpPacket.checked rejects truncation and every wrong fixed field", () => {
  for (let len = 0; len < ARP_LEN; len++) {
    assert.equal(ArpPacket.checked(REQUEST.subarray(0, len)), undefined, `length ${len}`);
  }
  const cases: Array<[string, number, number]> = [
    ["htype 6 (IEEE 802)", 1, 6],
    ["ptype 0x86dd", 2, 0x86],
    ["hlen 8", 4, 8],
    ["plen 16", 5, 16],
  ];
  for (const [name, offset, value] of cases) {
    const bad = REQUEST.slice();
    bad[offset] = value;
    assert.equal(ArpPacket.checked(bad), undefined, name);
  }
  assert.ok(ArpPacket.checked(REQUEST));
  const padded = new Uint8Array(46);
  padded.set(REQUEST);
  assert.ok(ArpPacket.checked(padded), "Ethernet padding after the packet is fine");
});

Deno.test("ArpPacket reads op, sha, spa, tha, tpa", () => {
  const arp = ArpPacket.checked(REQUEST)!;
  assert.equal(arp.op, ARP_REQUEST);
  assert.equal(macToString(arp.sha), "02:00:00:00:00:02");
  assert.equal(arp.spa, IP_A);
  assert.equal(macToString(arp.tha), "00:00:00:00:00:00");
  assert.equal(arp.tpa, IP_B);
});

Deno.test("ArpPacket setters write at the right offsets", () => {
  const bytes = REQUEST.slice();
  const arp = new ArpPacket(bytes);
  arp.op = ARP_REPLY;
  arp.sha = MAC_B;
  arp.spa = IP_B;
  arp.tha = MAC_A;
  arp.tpa = IP_A;
  assert.deepEqual(
    bytes,
    fromHex("000108000604" + "0002" + "020000000003" + "c6336403" + "020000000002" + "c6336402"),
  );
});

Deno.test("ArpRepr emit into a 0xa5 buffer fills all 28 bytes and parses back", () => {
  const repr: ArpRepr = { op: ARP_REPLY, sha: MAC_B, spa: IP_B, tha: MAC_A, tpa: IP_A };
  const buf = poisoned(30);
  assert.equal(ArpRepr.emit(repr, buf), 28);
  assert.deepEqual(
    buf.subarray(0, 28),
    fromHex("000108000604" + "0002" + "020000000003" + "c6336403" + "020000000002" + "c6336402"),
  );
  assert.deepEqual(buf.subarray(28), fromHex("a5a5"));
  assert.deepEqual(ArpRepr.parse(ArpPacket.checked(buf)!), repr);
});

Deno.test("buildArpFrame writes a 42-byte Ethernet+ARP frame and refuses a short buffer", () => {
  const buf = poisoned(60);
  const len = buildArpFrame(buf, ARP_REQUEST, MAC_A, IP_A, new Uint8Array(6), IP_B, BROADCAST_MAC);
  assert.equal(len, ARP_FRAME_LEN);
  assert.equal(len, 42);
  const eth = EthernetFrame.checked(buf.subarray(0, len))!;
  assert.deepEqual(eth.dst, BROADCAST_MAC);
  assert.deepEqual(eth.src, MAC_A);
  assert.equal(eth.etherType, ETHERTYPE_ARP);
  assert.deepEqual(eth.payload, REQUEST);
  assert.equal(buf[42], 0xa5, "nothing written past the frame");
  assert.equal(buildArpFrame(poisoned(41), ARP_REQUEST, MAC_A, IP_A, MAC_B, IP_B, MAC_B), 0);
});

Deno.test("buildGratuitousArp is a broadcast request with spa = tpa (RFC 5227 §3)", () => {
  const buf = poisoned(64);
  const vip = parseIpv4("198.51.100.10")!;
  assert.equal(buildGratuitousArp(buf, MAC_B, vip), 42);
  const eth = EthernetFrame.checked(buf.subarray(0, 42))!;
  assert.deepEqual(eth.dst, BROADCAST_MAC);
  const arp = ArpPacket.checked(eth.payload)!;
  assert.equal(arp.op, ARP_REQUEST);
  assert.deepEqual(arp.sha, MAC_B);
  assert.equal(arp.spa, vip);
  assert.equal(arp.tpa, vip);
  assert.deepEqual(arp.tha, new Uint8Array(6));
});

Deno.test("ArpPacket.checked never throws on 20k random inputs", () => {
  const accepted = fuzz(0xa7a7, 20_000, 40, (b) => {
    const p = ArpPacket.checked(b);
    if (p !== undefined) void [p.op, p.sha, p.spa, p.tha, p.tpa];
    return p;
  }, (b, next) => {
    // Half the inputs get a valid fixed prefix so the accept path is exercised too.
    if (next() & 1) b.set(REQUEST.subarray(0, Math.min(6, b.length)));
  });
  assert.ok(accepted > 0);
});
