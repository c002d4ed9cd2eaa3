import assert from "node:assert/strict";
import {
  ALL_NODES,
  ALL_NODES_MAC,
  buildNeighborAdvert,
  buildNeighborSolicit,
  buildUnsolicitedNeighborAdvert,
  multicastMac,
  NA_OVERRIDE,
  NA_ROUTER,
  NA_SOLICITED,
  NDP_FRAME_LEN,
  NdpMessage,
  solicitedNodeMulticast,
  validNdp,
} from "./ndp.ts";
import { Icmpv6Packet, NDP_NEIGHBOR_ADVERT, NDP_NEIGHBOR_SOLICIT } from "./icmpv6.ts";
import { Ipv6Packet, PROTO_ICMPV6, pseudoHeaderSum6, writeIpv6Header } from "./ipv6.ts";
import { EthernetFrame, ETHERTYPE_IPV6 } from "./ethernet.ts";
import { ipv6ToString, macToString, parseIpv6, parseMac } from "./addr.ts";
import { fromHex, fuzz, poisoned, upperChecksumOk6 } from "./test_util.ts";

const MAC_APP = parseMac("02:00:5e:00:00:03")!;
const MAC_CLIENT = parseMac("02:00:00:00:00:02")!;
const SELF = parseIpv6("2001:db8::3")!;
const CLIENT = parseIpv6("2001:db8::2")!;
const VIP = parseIpv6("2001:db8::12:3456")!;
const UNSPECIFIED = parseIpv6("::")!;

/** Parses a built frame to its IPv6 packet and NS/NA, asserting what every NDP frame shares. */
function parse(frame: Uint8Array, len: number): { ip: Ipv6Packet; msg: NdpMessage } {
  const bytes = frame.subarray(0, len);
  const eth = EthernetFrame.checked(bytes)!;
  assert.equal(eth.etherType, ETHERTYPE_IPV6);
  const ip = Ipv6Packet.checked(eth.payload);
  assert.ok(ip);
  assert.equal(ip.packetEnd, bytes.length - 14, "no trailing bytes");
  assert.equal(ip.hopLimit, 255);
  assert.equal(ip.protocol, PROTO_ICMPV6);
  assert.ok(upperChecksumOk6(ip.buf), "checksum equals an independent recompute");
  const msg = new NdpMessage();
  assert.ok(msg.check(ip.buf, ip.payloadOff, ip.packetEnd));
  assert.ok(validNdp(ip, msg));
  return { ip, msg };
}

function words(ip: Ipv6Packet, which: "src" | "dst"): string {
  const w = [0, 1, 2, 3].map((i) => which === "src" ? ip.src(i) : ip.dst(i));
  return ipv6ToString(w);
}

function target(msg: NdpMessage): string {
  return ipv6ToString([0, 1, 2, 3].map((i) => msg.target(i)));
}

/** Refills the ICMPv6 checksum after a test edits the packet. */
function refill(ip: Ipv6Packet): void {
  const icmp = new Icmpv6Packet(ip.buf, ip.payloadOff, ip.packetEnd);
  icmp.fillChecksum(ip.pseudoSum(icmp.length, PROTO_ICMPV6));
}

/** A raw NS/NA message (24 bytes + `options`) inside an IPv6 packet; checksum filled. */
function rawNdp(
  type: number,
  options: Uint8Array,
  opts: { target?: Uint32Array; src?: Uint32Array; dst?: Uint32Array; hop?: number } = {},
): Uint8Array {
  const len = 24 + options.length;
  const packet = new Uint8Array(40 + len);
  const src = opts.src ?? CLIENT;
  const dst = opts.dst ?? SELF;
  writeIpv6Header(packet, 0, len, PROTO_ICMPV6, opts.hop ?? 255, src, dst);
  packet[40] = type;
  const t = opts.target ?? SELF;
  for (let i = 0; i < 4; i++) {
    packet[48 + i * 4] = t[i]! >>> 24;
    packet[49 + i * 4] = t[i]! >>> 16;
    packet[50 + i * 4] = t[i]! >>> 8;
    packet[51 + i * 4] = t[i]!;
  }
  packet.set(options, 64);
  new Icmpv6Packet(packet, 40, packet.length).fillChecksum(
    pseudoHeaderSum6(src, dst, PROTO_ICMPV6, len),
  );
  return packet;
}

/** NdpMessage view of a rawNdp packet, or undefined. */
function ndpOf(packet: Uint8Array): NdpMessage | undefined {
  return NdpMessage.checked(packet.subarray(40));
}

/** validNdp over a rawNdp packet. */
function valid(packet: Uint8Array): boolean {
  const ip = Ipv6Packet.checked(packet)!;
  const msg = new NdpMessage();
  return msg.check(packet, ip.payloadOff, ip.packetEnd) && validNdp(ip, msg);
}

Deno.test("solicitedNodeMulticast and multicastMac (RFC 4291 §2.7.1, RFC 2464 §7)", () => {
  const sn = solicitedNodeMulticast(parseIpv6("2001:db8::1:2345:6789")!);
  assert.equal(ipv6ToString(sn), "ff02::1:ff45:6789");
  assert.equal(macToString(multicastMac(sn)), "33:33:ff:45:67:89");
  const out = new Uint32Array(4).fill(7);
  assert.equal(solicitedNodeMulticast(parseIpv6("fe80::ffff:ffff")!, out), out);
  assert.equal(ipv6ToString(out), "ff02::1:ffff:ffff");
  const buf = poisoned(10);
  assert.equal(multicastMac(ALL_NODES, buf, 2), buf);
  assert.deepEqual(buf, fromHex("a5a5333300000001a5a5"));
  assert.equal(ipv6ToString(ALL_NODES), "ff02::1");
  assert.equal(macToString(ALL_NODES_MAC), "33:33:00:00:00:01");
  assert.deepEqual(multicastMac(ALL_NODES), ALL_NODES_MAC);
});

Deno.test("buildNeighborSolicit: to the solicited-node group, with the source link-layer option", () => {
  const buf = poisoned(200);
  const len = buildNeighborSolicit(buf, MAC_APP, SELF, VIP);
  assert.equal(len, NDP_FRAME_LEN);
  assert.equal(len, 86);
  assert.equal(buf[len], 0xa5);
  const eth = EthernetFrame.checked(buf.subarray(0, len))!;
  assert.equal(macToString(eth.dst), "33:33:ff:12:34:56");
  assert.deepEqual(eth.src, MAC_APP);
  const { ip, msg } = parse(buf, len);
  assert.equal(words(ip, "src"), "2001:db8::3");
  assert.equal(words(ip, "dst"), "ff02::1:ff12:3456");
  assert.equal(msg.type, NDP_NEIGHBOR_SOLICIT);
  assert.equal(msg.code, 0);
  assert.equal(msg.rest, 0, "reserved");
  assert.equal(msg.flags, 0);
  assert.equal(target(msg), "2001:db8::12:3456");
  assert.deepEqual(msg.sourceLinkAddr, MAC_APP);
  assert.equal(msg.targetLinkAddr, undefined);
  assert.deepEqual(buf.subarray(78, 80), fromHex("0101"), "option type 1, length 1");
  assert.equal(buildNeighborSolicit(poisoned(85), MAC_APP, SELF, VIP), 0, "buf too small");
});

Deno.test("buildNeighborSolicit from :: (duplicate address detection) omits the option", () => {
  const buf = poisoned(200);
  const len = buildNeighborSolicit(buf, MAC_APP, UNSPECIFIED, VIP);
  assert.equal(len, 78);
  const { ip, msg } = parse(buf, len);
  assert.equal(words(ip, "src"), "::");
  assert.equal(msg.sourceLinkAddr, undefined);
  assert.equal(buildNeighborSolicit(poisoned(77), MAC_APP, UNSPECIFIED, VIP), 0);
});

Deno.test("buildNeighborAdvert: flags, target link-layer option, addresses", () => {
  const buf = poisoned(200);
  const flags = NA_ROUTER | NA_SOLICITED | NA_OVERRIDE;
  const len = buildNeighborAdvert(buf, MAC_APP, MAC_CLIENT, VIP, CLIENT, VIP, flags);
  assert.equal(len, 86);
  assert.equal(buf[len], 0xa5);
  const eth = EthernetFrame.checked(buf.subarray(0, len))!;
  assert.deepEqual(eth.dst, MAC_CLIENT);
  assert.deepEqual(eth.src, MAC_APP);
  const { ip, msg } = parse(buf, len);
  assert.equal(words(ip, "src"), "2001:db8::12:3456");
  assert.equal(words(ip, "dst"), "2001:db8::2");
  assert.equal(msg.type, NDP_NEIGHBOR_ADVERT);
  assert.deepEqual([msg.router, msg.solicited, msg.override], [true, true, true]);
  assert.equal(msg.rest, 0xe0000000, "flags in the top bits, reserved zero");
  assert.equal(target(msg), "2001:db8::12:3456");
  assert.deepEqual(msg.targetLinkAddr, MAC_APP);
  assert.equal(msg.sourceLinkAddr, undefined);
  assert.deepEqual(buf.subarray(78, 80), fromHex("0201"), "option type 2, length 1");
  for (const f of [NA_ROUTER, NA_SOLICITED, NA_OVERRIDE, 0]) {
    const b = poisoned(100);
    const n = buildNeighborAdvert(b, MAC_APP, MAC_CLIENT, VIP, CLIENT, VIP, f | 0x1f);
    const { msg } = parse(b, n);
    assert.equal(msg.flags, f, "only R, S, O are written");
    assert.equal(msg.router, f === NA_ROUTER);
    assert.equal(msg.solicited, f === NA_SOLICITED);
    assert.equal(msg.override, f === NA_OVERRIDE);
  }
  assert.equal(buildNeighborAdvert(poisoned(85), MAC_APP, MAC_CLIENT, VIP, CLIENT, VIP, 0), 0);
});

Deno.test("an unsolicited NA goes to all-nodes with S clear and O set (RFC 4861 §7.2.6)", () => {
  const buf = poisoned(100);
  const len = buildUnsolicitedNeighborAdvert(buf, MAC_APP, VIP, VIP);
  assert.equal(len, 86);
  const eth = EthernetFrame.checked(buf.subarray(0, len))!;
  assert.deepEqual(eth.dst, ALL_NODES_MAC);
  const { ip, msg } = parse(buf, len);
  assert.equal(words(ip, "dst"), "ff02::1");
  assert.deepEqual([msg.router, msg.solicited, msg.override], [false, false, true]);
  const r = buildUnsolicitedNeighborAdvert(buf, MAC_APP, VIP, VIP, true);
  assert.equal(parse(buf, r).msg.router, true);
  // S towards a multicast destination is invalid (§7.1.2): the builder refuses it.
  assert.equal(
    buildNeighborAdvert(buf, MAC_APP, ALL_NODES_MAC, VIP, ALL_NODES, VIP, NA_SOLICITED),
    0,
  );
});

Deno.test("NdpMessage.check: RFC 4861 §7.1 rules that need no IP header", () => {
  const sllao = fromHex("0101" + "020000000002");
  assert.ok(ndpOf(rawNdp(NDP_NEIGHBOR_SOLICIT, sllao)));
  assert.ok(ndpOf(rawNdp(NDP_NEIGHBOR_ADVERT, new Uint8Array(0))), "no options is fine");
  const ns = rawNdp(NDP_NEIGHBOR_SOLICIT, sllao);
  for (let len = 0; len < 24; len++) {
    assert.equal(NdpMessage.checked(ns.subarray(40, 40 + len)), undefined, `length ${len}`);
  }
  const code1 = ns.slice();
  code1[41] = 1;
  assert.equal(ndpOf(code1), undefined, "code 1");
  assert.equal(ndpOf(rawNdp(128, new Uint8Array(0))), undefined, "echo request");
  assert.equal(ndpOf(rawNdp(137, new Uint8Array(0))), undefined, "redirect");
  assert.equal(
    ndpOf(rawNdp(NDP_NEIGHBOR_SOLICIT, fromHex("0100000000000000"))),
    undefined,
    "option length 0",
  );
  assert.equal(
    ndpOf(rawNdp(NDP_NEIGHBOR_SOLICIT, fromHex("0102000000000000"))),
    undefined,
    "option past the end",
  );
  assert.equal(ndpOf(rawNdp(NDP_NEIGHBOR_SOLICIT, fromHex("01"))), undefined, "lone option byte");
  assert.equal(
    ndpOf(rawNdp(NDP_NEIGHBOR_SOLICIT, fromHex("0101020000000002" + "05"))),
    undefined,
    "trailing byte",
  );
  for (const t of ["ff02::1", "ff02::1:ff12:3456", "ff05::2"]) {
    assert.equal(
      ndpOf(rawNdp(NDP_NEIGHBOR_SOLICIT, sllao, { target: parseIpv6(t)! })),
      undefined,
      `multicast target ${t}`,
    );
  }
});

Deno.test("NdpMessage options: unknown ones skipped, non-Ethernet lengths ignored, first wins", () => {
  const opts = fromHex(
    "0e01000000000000" + // unknown type 14 (nonce-like), skipped
      "010200000000000000000000000000aa" + // SLLAO of length 2: not Ethernet, ignored
      "0101020000000011" + // the SLLAO taken
      "0101020000000022" + // a second SLLAO: the first wins
      "0201020000000033", // TLLAO
  );
  const msg = ndpOf(rawNdp(NDP_NEIGHBOR_ADVERT, opts))!;
  assert.ok(msg);
  assert.equal(macToString(msg.sourceLinkAddr!), "02:00:00:00:00:11");
  assert.equal(macToString(msg.targetLinkAddr!), "02:00:00:00:00:33");
  assert.equal(msg.sourceLlOff, 24 + 8 + 16 + 2);
  // Re-pointing to a message without options clears both.
  assert.ok(msg.check(rawNdp(NDP_NEIGHBOR_SOLICIT, new Uint8Array(0)), 40, 64));
  assert.deepEqual([msg.sourceLlOff, msg.targetLlOff], [-1, -1]);
  assert.equal(msg.flags, 0, "an NS has no flags");
});

Deno.test("validNdp: hop limit 255, checksum, source and destination rules", () => {
  const sllao = fromHex("0101" + "020000000002");
  assert.ok(valid(rawNdp(NDP_NEIGHBOR_SOLICIT, sllao)));
  assert.equal(valid(rawNdp(NDP_NEIGHBOR_SOLICIT, sllao, { hop: 254 })), false, "hop limit 254");
  assert.equal(valid(rawNdp(NDP_NEIGHBOR_ADVERT, sllao, { hop: 64 })), false, "hop limit 64");
  const bad = rawNdp(NDP_NEIGHBOR_SOLICIT, sllao);
  bad[70] = bad[70]! ^ 1;
  assert.equal(valid(bad), false, "checksum");
  const swapped = rawNdp(NDP_NEIGHBOR_SOLICIT, sllao);
  swapped[23] = swapped[23]! ^ 1; // a source address bit: the pseudo-header no longer matches
  assert.equal(valid(swapped), false, "pseudo-header");
  const mcastSrc = parseIpv6("ff02::1")!;
  assert.equal(
    valid(rawNdp(NDP_NEIGHBOR_ADVERT, sllao, { src: mcastSrc })),
    false,
    "multicast src",
  );
  // DAD: an NS from :: goes to a solicited-node group and has no source link-layer option.
  const sn = solicitedNodeMulticast(SELF);
  assert.ok(valid(rawNdp(NDP_NEIGHBOR_SOLICIT, new Uint8Array(0), { src: UNSPECIFIED, dst: sn })));
  assert.equal(
    valid(rawNdp(NDP_NEIGHBOR_SOLICIT, sllao, { src: UNSPECIFIED, dst: sn })),
    false,
    "DAD with a source link-layer option",
  );
  assert.equal(
    valid(rawNdp(NDP_NEIGHBOR_SOLICIT, new Uint8Array(0), { src: UNSPECIFIED, dst: SELF })),
    false,
    "DAD to a unicast destination",
  );
  assert.equal(
    valid(rawNdp(NDP_NEIGHBOR_SOLICIT, new Uint8Array(0), { src: UNSPECIFIED, dst: ALL_NODES })),
    false,
    "DAD to all-nodes",
  );
  // An NA to a multicast destination must have S clear.
  const na = rawNdp(NDP_NEIGHBOR_ADVERT, new Uint8Array(0), { dst: ALL_NODES });
  assert.ok(valid(na));
  na[44] = NA_SOLICITED;
  refill(Ipv6Packet.checked(na)!);
  assert.equal(valid(na), false, "solicited NA to all-nodes");
  const unicastNa = rawNdp(NDP_NEIGHBOR_ADVERT, new Uint8Array(0));
  unicastNa[44] = NA_SOLICITED;
  refill(Ipv6Packet.checked(unicastNa)!);
  assert.ok(valid(unicastNa), "solicited NA to a unicast destination");
});

Deno.test("validNdp refuses a message that is not the packet's whole upper layer", () => {
  const packet = rawNdp(NDP_NEIGHBOR_SOLICIT, fromHex("0101020000000002"));
  const ip = Ipv6Packet.checked(packet)!;
  const msg = new NdpMessage();
  assert.ok(msg.check(packet, 40, packet.length - 8));
  assert.equal(validNdp(ip, msg), false, "shorter than the payload");
  // A tail option whose words sum to 0xfff7 offsets the 8 bytes the pseudo-header length
  // loses, so only the bounds check tells this cut-short view from the real message.
  const tricky = rawNdp(NDP_NEIGHBOR_SOLICIT, fromHex("fe010000000001f6"));
  const tip = Ipv6Packet.checked(tricky)!;
  assert.ok(msg.check(tricky, 40, tricky.length - 8));
  assert.ok(msg.verifyChecksum(tip.pseudoSum(msg.length, PROTO_ICMPV6)), "the sum still holds");
  assert.equal(validNdp(tip, msg), false, "but the view is not the whole upper layer");
  assert.ok(msg.check(packet.slice(), 40, packet.length));
  assert.equal(validNdp(ip, msg), false, "another buffer");
  // Behind a hop-by-hop header the view must sit at the upper layer, and the sum still covers it.
  const ext = new Uint8Array(packet.length + 8);
  ext.set(packet.subarray(0, 40));
  ext[6] = 0;
  ext[5] = packet[5]! + 8;
  ext.set(fromHex("3a00010400000000"), 40);
  ext.set(packet.subarray(40), 48);
  const eip = Ipv6Packet.checked(ext)!;
  assert.equal(eip.payloadOff, 48);
  assert.ok(msg.check(ext, 48, eip.packetEnd));
  assert.ok(validNdp(eip, msg), "the pseudo-header length is the upper layer's");
  assert.equal(msg.check(ext, 40, eip.packetEnd), false, "the hop-by-hop header is no NS");
});

Deno.test("fuzz: NdpMessage.checked never throws; shaped inputs get accepted", () => {
  const accepted = fuzz(4861, 5000, 80, (b) => NdpMessage.checked(b), (b, next) => {
    if (b.length > 0) b[0] = next() & 1 ? NDP_NEIGHBOR_SOLICIT : NDP_NEIGHBOR_ADVERT;
    if (b.length > 1) b[1] = 0;
    if (b.length > 8) b[8] = 0x20;
    for (let at = 24; at + 1 < b.length; at += 8) b[at + 1] = next() % 4 === 0 ? next() & 3 : 1;
  });
  assert.ok(accepted > 100, `accepted ${accepted}`);
});
