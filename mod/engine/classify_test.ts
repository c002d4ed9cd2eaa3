import assert from "node:assert/strict";
import { classify } from "./classify.ts";
import { DROP, DROP_REASONS, EV } from "./counters.ts";
import { NEXT, V_DROP, V_FORWARD, V_RELAY } from "./output.ts";
import { K_ARP, K_FRAGMENT, K_ICMP, K_IP_OTHER, K_TCP, K_UDP, Packet } from "./packet.ts";
import { VNET_DATA_VALID, VNET_NEEDS_CSUM } from "./config.ts";
import { ARP_REQUEST, BROADCAST_MAC, buildArpFrame, Ipv4Packet } from "../wire/mod.ts";
import {
  CLIENT,
  CLIENT_MAC,
  engineUnderTest,
  fragmentFrame,
  learnNeighbors,
  mirrorIn,
  pingFrame,
  tcpFrame,
  udpFrame,
  VIP,
} from "./testing.ts";

function run(
  frame: Uint8Array,
  opts: { receiver?: boolean; vnet?: number; ingress?: number } = {},
) {
  const { engine } = engineUnderTest();
  const ctx = engine.ctx;
  ctx.roles.receiver = opts.receiver ?? true;
  const p = new Packet();
  p.reset(frame, 0, frame.length, opts.ingress ?? 0, 5);
  p.vnet = new Uint8Array(10);
  p.vnet[0] = opts.vnet ?? 0;
  const v = classify(p, ctx);
  const moved = DROP_REASONS.filter((r) => ctx.counters.get(DROP[r]) !== 0);
  return { v, p, moved, ctx };
}

const cfg = engineUnderTest().cfg;
const syn = () =>
  tcpFrame({ dstMac: cfg.virtualMacs[0]!, src: CLIENT, dst: VIP, sport: 4000, dport: 7000 });

Deno.test("classify: a good SYN to the VIP is TCP with its ports and flags, and floating", () => {
  const { v, p, moved } = run(syn());
  assert.equal(v, NEXT);
  assert.deepEqual(moved, []);
  assert.equal(p.kind, K_TCP);
  assert.equal(p.sport, 4000);
  assert.equal(p.dport, 7000);
  assert.equal(p.tcpFlags, 0x02);
  assert.equal(p.toFloating, true);
  assert.equal(p.toSelf, false);
  assert.equal(p.ip.src, CLIENT);
  assert.equal(p.tcp.off, 34);
});

Deno.test("classify: UDP, ICMP, other IP and ARP get their kinds", () => {
  const u = run(
    udpFrame({ dstMac: cfg.virtualMacs[0]!, src: CLIENT, dst: VIP, sport: 9, dport: 7001 }),
  );
  assert.equal(u.v, NEXT);
  assert.equal(u.p.kind, K_UDP);
  assert.deepEqual([u.p.sport, u.p.dport, u.p.tcpFlags], [9, 7001, 0]);
  const i = run(pingFrame(cfg.interfaces[0]!.mac, cfg.interfaces[0]!.ip));
  assert.equal(i.p.kind, K_ICMP);
  assert.equal(i.p.toSelf, true);
  assert.equal(i.p.toFloating, false);
  const gre = syn();
  const ip = new Ipv4Packet(gre, 14);
  gre[14 + 9] = 47;
  ip.fillChecksum();
  assert.equal(run(gre).p.kind, K_IP_OTHER);
  const arp = new Uint8Array(42);
  buildArpFrame(arp, ARP_REQUEST, CLIENT_MAC, CLIENT, new Uint8Array(6), VIP, BROADCAST_MAC);
  const a = run(arp);
  assert.equal(a.v, NEXT);
  assert.equal(a.p.kind, K_ARP);
  assert.equal(a.p.arp.tpa, VIP);
});

Deno.test("classify: frames to our MAC, to the virtual MAC (receiver only) and to groups are ours", () => {
  const own = tcpFrame({
    dstMac: cfg.interfaces[0]!.mac,
    src: CLIENT,
    dst: VIP,
    sport: 1,
    dport: 7000,
  });
  assert.equal(run(own, { receiver: false }).v, NEXT);
  assert.equal(run(syn(), { receiver: true }).v, NEXT);
  const r = run(syn(), { receiver: false });
  assert.equal(r.v, V_DROP);
  assert.deepEqual(r.moved, ["not_for_us"], "the virtual MAC belongs to the receiver");
  const other = tcpFrame({
    dstMac: cfg.interfaces[1]!.mac, // the back port's MAC arriving on the front
    src: CLIENT,
    dst: VIP,
    sport: 1,
    dport: 7000,
  });
  assert.deepEqual(run(other).moved, ["not_for_us"]);
  const bcast = tcpFrame({ dstMac: BROADCAST_MAC, src: CLIENT, dst: VIP, sport: 1, dport: 7000 });
  assert.equal(run(bcast, { receiver: false }).v, NEXT);
  const mcast = tcpFrame({
    dstMac: new Uint8Array([1, 0, 0x5e, 0, 0, 1]),
    src: CLIENT,
    dst: VIP,
    sport: 1,
    dport: 7000,
  });
  assert.equal(run(mcast, { receiver: false }).v, NEXT);
  assert.deepEqual(run(syn(), { ingress: 7 }).moved, ["no_route"], "an unknown port");
});

Deno.test("classify: every malformed frame is dropped under exactly its reason", () => {
  const fixIp = (f: Uint8Array) => (new Ipv4Packet(f, 14).fillChecksum(), f);
  const cases: [string, Uint8Array, string][] = [
    ["13 bytes", syn().slice(0, 13), "truncated_frame"],
    ["ethernet only", syn().slice(0, 14), "bad_ipv4_header"],
    ["ip header cut", syn().slice(0, 30), "bad_ipv4_header"],
    ["version 5", fixIp(((f) => (f[14] = 0x55, f))(syn())), "bad_ipv4_header"],
    ["ihl 4", fixIp(((f) => (f[14] = 0x44, f))(syn())), "bad_ipv4_header"],
    ["total length past frame", fixIp(((f) => (f[17] = f[17]! + 1, f))(syn())), "bad_ipv4_header"],
    ["ip checksum", ((f) => (f[25]! ^= 1, f))(syn()), "bad_ipv4_checksum"],
    // RFC 1858 §3.2: a TCP fragment at offset 8 would overwrite the first one's flags.
    ["tcp fragment at offset 8", fixIp(((f) => (f[21] = 1, f))(syn())), "bad_fragment"],
    // RFC 1858 tiny fragment: a first fragment cut inside the TCP header.
    [
      "first tcp fragment cut in its header",
      fixIp(((f) => (f[20] = 0x20, f[17] = 20 + 12, f))(syn())),
      "bad_tcp_header",
    ],
    // The unit reassembles nothing: fragments to its own addresses, or of ICMP, are dropped.
    [
      "fragment to a self address",
      fixIp(((f) => (f[20] = 0x20, f.set([198, 51, 100, 3], 30), f))(syn())),
      "ipv4_fragment",
    ],
    ["tcp data offset 4", ((f) => (f[46] = 0x40, f))(syn()), "bad_tcp_header"],
    ["tcp data offset past end", ((f) => (f[46] = 0xf0, f))(syn()), "bad_tcp_header"],
    ["tcp checksum", ((f) => (f[51]! ^= 1, f))(syn()), "bad_tcp_checksum"],
    ["vlan", ((f) => (f[12] = 0x81, f[13] = 0, f))(syn()), "vlan_unknown"],
    [
      "ipv6 ethertype on an ipv4 packet",
      ((f) => (f[12] = 0x86, f[13] = 0xdd, f))(syn()),
      "bad_ipv6_header",
    ],
    ["ethertype 0x1234", ((f) => (f[12] = 0x12, f[13] = 0x34, f))(syn()), "unknown_ethertype"],
  ];
  const u = () =>
    udpFrame({ dstMac: cfg.virtualMacs[0]!, src: CLIENT, dst: VIP, sport: 9, dport: 7001 });
  cases.push(["udp length past end", ((f) => (f[39] = 200, f))(u()), "bad_udp_header"]);
  cases.push(["udp length 7", ((f) => (f[38] = 0, f[39] = 7, f))(u()), "bad_udp_header"]);
  cases.push(["udp checksum", ((f) => (f[41]! ^= 1, f))(u()), "bad_udp_checksum"]);
  const ping = pingFrame(cfg.virtualMacs[0]!, VIP);
  cases.push(["icmp checksum", ((f) => (f[36]! ^= 1, f))(ping.slice()), "bad_icmp"]);
  cases.push(["fragmented ping", fixIp(((f) => (f[20] = 0x20, f))(ping.slice())), "ipv4_fragment"]);
  cases.push([
    "first udp fragment shorter than the udp header",
    fixIp(((f) => (f[20] = 0x20, f[17] = 20 + 6, f))(u())),
    "bad_udp_header",
  ]);
  const shortIcmp = fixIp(((f) => (f[17] = 20 + 4, f))(pingFrame(cfg.virtualMacs[0]!, VIP)));
  cases.push(["icmp shorter than its header", shortIcmp, "bad_icmp"]);
  const badArp = new Uint8Array(42);
  buildArpFrame(badArp, ARP_REQUEST, CLIENT_MAC, CLIENT, new Uint8Array(6), VIP, BROADCAST_MAC);
  badArp[18] = 5; // hlen 5
  cases.push(["arp hlen 5", badArp, "bad_arp"]);
  cases.push(["arp cut", badArp.slice(0, 30), "bad_arp"]);
  for (const [name, frame, reason] of cases) {
    const r = run(frame);
    assert.equal(r.v, V_DROP, name);
    assert.deepEqual(r.moved, [reason], name);
    assert.equal(r.ctx.counters.get(DROP[reason as keyof typeof DROP]), 1, name);
  }
});

Deno.test("classify: a zero UDP checksum means none (RFC 768) and is accepted", () => {
  const f = udpFrame({ dstMac: cfg.virtualMacs[0]!, src: CLIENT, dst: VIP, sport: 9, dport: 7001 });
  f[40] = 0;
  f[41] = 0;
  assert.equal(run(f).v, NEXT);
});

Deno.test("classify: offload headers that vouch for the checksum skip verification", () => {
  for (const flag of [VNET_NEEDS_CSUM, VNET_DATA_VALID]) {
    const bad = ((f) => (f[51]! ^= 1, f))(syn());
    assert.equal(run(bad, { vnet: flag }).v, NEXT, `flag ${flag}`);
    const badUdp = udpFrame({
      dstMac: cfg.virtualMacs[0]!,
      src: CLIENT,
      dst: VIP,
      sport: 9,
      dport: 7001,
    });
    badUdp[41]! ^= 1;
    assert.equal(run(badUdp, { vnet: flag }).v, NEXT, `udp flag ${flag}`);
  }
  // Other bits (e.g. GSO fields) vouch for nothing.
  assert.deepEqual(run(((f) => (f[51]! ^= 1, f))(syn()), { vnet: 4 }).moved, ["bad_tcp_checksum"]);
  // The IP header checksum is never offloaded.
  assert.deepEqual(
    run(((f) => (f[25]! ^= 1, f))(syn()), { vnet: VNET_DATA_VALID }).moved,
    ["bad_ipv4_checksum"],
  );
});

Deno.test("classify: an ex-receiver relays frames for the virtual MAC; the new receiver handles them", () => {
  const { engine: a, out } = engineUnderTest("a");
  Object.assign(a.roles, { receiver: false, forwarder: true, mirror: true, relay: true });
  const syn = tcpFrame({
    dstMac: cfg.virtualMacs[0]!,
    src: CLIENT,
    dst: VIP,
    sport: 4000,
    dport: 7000,
  });
  assert.equal(a.handle(syn, 0, syn.length, 0, 1), V_RELAY);
  assert.equal(out.relayed.length, 1);
  assert.equal(out.relayed[0]!.ingress, 0);
  assert.deepEqual(out.relayed[0]!.frame, syn);
  assert.equal(a.counters.get(EV.relayed), 1);
  assert.equal(a.flows.count, 0, "the ex-receiver decides nothing");
  // Relaying ends: the same frame is not ours any more.
  a.roles.relay = false;
  assert.equal(a.handle(syn.slice(), 0, syn.length, 0, 2), V_DROP);
  // The new receiver takes the relayed frame as if it had arrived on its own port.
  const b = engineUnderTest("b");
  learnNeighbors(b.engine);
  assert.equal(b.engine.applyRelay(mirrorIn(out.relayed[0]!), 3), V_FORWARD);
  assert.equal(b.engine.flows.count, 1);
  assert.equal(b.out.emitted[0]!.iface, 1);
});

Deno.test("classify: UDP fragments are a first one with ports and later ones of no L4", () => {
  const payload = new Uint8Array(3000).map((_, i) => i * 7);
  const whole = udpFrame({
    dstMac: cfg.virtualMacs[0]!,
    src: CLIENT,
    dst: VIP,
    sport: 5555,
    dport: 7001,
    payload,
  });
  const [first, middle, last] = fragmentFrame(whole, 1480);
  // The first fragment's UDP length and checksum cover 3008 bytes that are not all here: the
  // header is taken, the checksum left to the endpoint.
  const a = run(first!);
  assert.equal(a.v, NEXT);
  assert.deepEqual(a.moved, []);
  assert.equal(a.p.kind, K_UDP);
  assert.equal(a.p.firstFragment, true);
  assert.deepEqual([a.p.sport, a.p.dport], [5555, 7001]);
  for (const f of [middle!, last!]) {
    const b = run(f);
    assert.equal(b.v, NEXT);
    assert.deepEqual(b.moved, []);
    assert.equal(b.p.kind, K_FRAGMENT);
    assert.equal(b.p.firstFragment, false);
    assert.deepEqual([b.p.sport, b.p.dport], [0, 0], "a later fragment has no ports");
  }
  // An unfragmented datagram is no fragment, and still has its checksum verified.
  assert.equal(run(whole).p.firstFragment, false);
  const bad = whole.slice();
  bad[41]! ^= 1;
  assert.deepEqual(run(bad).moved, ["bad_udp_checksum"]);
  // The kernel fragments after completing checksums: an offload header on a fragment is a lie.
  assert.deepEqual(run(first!, { vnet: VNET_NEEDS_CSUM }).moved, ["bad_fragment"]);
  const valid = run(middle!, { vnet: VNET_DATA_VALID });
  assert.deepEqual([valid.v, valid.p.kind], [NEXT, K_FRAGMENT], "DATA_VALID changes nothing");
});
