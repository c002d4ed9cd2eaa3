import assert from "node:assert/strict";
import { Engine } from "./engine.ts";
import { DROP, EV } from "./counters.ts";
import {
  BACKENDS,
  CLIENT,
  CLIENT_MAC,
  labEngineConfig,
  RecordingSink,
  SERVER_MAC,
  tcpFrame,
  udpFrame,
  VIP,
} from "./testing.ts";
import {
  MF_NEW_FLOW,
  MF_PEER_EMITS,
  V_DROP,
  V_FORWARD,
  V_MIRROR,
  V_QUEUED,
  V_REPLY,
} from "./types.ts";
import {
  ARP_REPLY,
  ARP_REQUEST,
  ArpPacket,
  buildArpFrame,
  fold,
  IcmpPacket,
  Ipv4Packet,
  pseudoHeaderSum,
  TcpSegment,
  UdpDatagram,
} from "../wire/mod.ts";
import { BROADCAST_MAC } from "../wire/addr.ts";

function seeded(seed = 1): () => number {
  let s = seed >>> 0;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
}

function setup(unit: "a" | "b" = "a") {
  const cfg = labEngineConfig(unit);
  const sink = new RecordingSink();
  const engine = new Engine(cfg, sink, seeded());
  return { cfg, sink, engine };
}

function arpFrame(
  op: number,
  sha: Uint8Array,
  spa: number,
  tpa: number,
  dst = BROADCAST_MAC,
): Uint8Array {
  const b = new Uint8Array(42);
  buildArpFrame(b, op, sha, spa, new Uint8Array(6), tpa, dst);
  return b;
}

/** Teaches the engine where client and both servers are. */
function learnNeighbors(e: Engine): void {
  e.neighbors[0]!.learn(CLIENT, CLIENT_MAC, 0);
  for (const b of BACKENDS) e.neighbors[1]!.learn(b, SERVER_MAC, 0);
}

function parseOut(frame: Uint8Array) {
  const ipv4 = Ipv4Packet.checked(frame.subarray(14))!;
  return {
    ip: ipv4,
    tcp: TcpSegment.checked(ipv4.payload),
    udp: UdpDatagram.checked(ipv4.payload),
  };
}

Deno.test("ARP: the receiver answers for floating addresses with the virtual MAC, anyone for self", () => {
  const { cfg, sink, engine } = setup();
  assert.equal(engine.handle(arpFrame(ARP_REQUEST, CLIENT_MAC, CLIENT, VIP), 0, 0), V_REPLY);
  const reply = ArpPacket.checked(sink.emitted[0]!.frame.subarray(14))!;
  assert.equal(reply.op, ARP_REPLY);
  assert.deepEqual([...reply.sha], [...cfg.virtualMacs[0]!]);
  assert.equal(reply.spa, VIP);
  engine.receiver = false;
  sink.clear();
  engine.handle(arpFrame(ARP_REQUEST, CLIENT_MAC, CLIENT, VIP), 0, 0);
  assert.equal(sink.emitted.length, 0, "a non-receiver never answers for a floating address");
  engine.handle(arpFrame(ARP_REQUEST, CLIENT_MAC, CLIENT, cfg.interfaces[0]!.ip), 0, 0);
  const self = ArpPacket.checked(sink.emitted[0]!.frame.subarray(14))!;
  assert.deepEqual([...self.sha], [...cfg.interfaces[0]!.mac]);
});

Deno.test("a SYN waits for ARP, then leaves DNATed to a backend with valid checksums", () => {
  const { cfg, sink, engine } = setup();
  engine.neighbors[0]!.learn(CLIENT, CLIENT_MAC, 0);
  const syn = tcpFrame({
    dstMac: cfg.virtualMacs[0]!,
    src: CLIENT,
    dst: VIP,
    sport: 40000,
    dport: 7000,
  });
  assert.equal(engine.handle(syn, 0, 1), V_QUEUED);
  const req = ArpPacket.checked(sink.emitted[0]!.frame.subarray(14))!;
  assert.equal(req.op, ARP_REQUEST);
  assert.equal(req.spa, cfg.interfaces[1]!.ip, "ARP requests come from the self address");
  assert.equal(req.tpa, BACKENDS[0]);
  sink.clear();
  engine.handle(
    arpFrame(ARP_REPLY, SERVER_MAC, BACKENDS[0]!, cfg.interfaces[1]!.ip, cfg.interfaces[1]!.mac),
    1,
    2,
  );
  assert.equal(sink.emitted.length, 1);
  const out = sink.emitted[0]!;
  assert.equal(out.iface, 1);
  assert.deepEqual([...out.frame.subarray(0, 6)], [...SERVER_MAC]);
  assert.deepEqual([...out.frame.subarray(6, 12)], [...cfg.interfaces[1]!.mac]);
  const { ip: o, tcp } = parseOut(out.frame);
  assert.equal(o.dst, BACKENDS[0]);
  assert.equal(o.src, CLIENT);
  assert.equal(o.ttl, 63);
  assert.ok(o.verifyChecksum());
  assert.ok(tcp!.verifyChecksum(o.src, o.dst));
  assert.equal(engine.flows.count, 1);
  // Round robin: the next connection goes to the other backend.
  const syn2 = tcpFrame({
    dstMac: cfg.virtualMacs[0]!,
    src: CLIENT,
    dst: VIP,
    sport: 40001,
    dport: 7000,
  });
  engine.neighbors[1]!.learn(BACKENDS[1]!, SERVER_MAC, 3);
  assert.equal(engine.handle(syn2, 0, 3), V_FORWARD);
  assert.equal(parseOut(sink.emitted[1]!.frame).ip.dst, BACKENDS[1]);
});

Deno.test("the server's reply is translated back to the VIP toward the client", () => {
  const { cfg, sink, engine } = setup();
  learnNeighbors(engine);
  engine.handle(
    tcpFrame({ dstMac: cfg.virtualMacs[0]!, src: CLIENT, dst: VIP, sport: 40000, dport: 7000 }),
    0,
    1,
  );
  const synack = tcpFrame({
    srcMac: SERVER_MAC,
    dstMac: cfg.virtualMacs[1]!,
    src: BACKENDS[0]!,
    dst: CLIENT,
    sport: 7000,
    dport: 40000,
    flags: 0x12,
    seq: 5000,
    ack: 1001,
    payload: new TextEncoder().encode("hello"),
  });
  assert.equal(engine.handle(synack, 1, 2), V_FORWARD);
  const out = sink.emitted[1]!;
  assert.equal(out.iface, 0);
  assert.deepEqual([...out.frame.subarray(0, 6)], [...CLIENT_MAC]);
  const { ip: o, tcp } = parseOut(out.frame);
  assert.equal(o.src, VIP);
  assert.equal(tcp!.srcPort, 7000);
  assert.equal(o.dst, CLIENT);
  assert.ok(o.verifyChecksum() && tcp!.verifyChecksum(o.src, o.dst));
  assert.equal(new TextDecoder().decode(tcp!.payload), "hello");
});

Deno.test("UDP flows are created by any datagram and translated both ways", () => {
  const { cfg, sink, engine } = setup();
  learnNeighbors(engine);
  const d = udpFrame({
    dstMac: cfg.virtualMacs[0]!,
    src: CLIENT,
    dst: VIP,
    sport: 5555,
    dport: 7001,
  });
  assert.equal(engine.handle(d, 0, 1), V_FORWARD);
  const { ip: o, udp } = parseOut(sink.emitted[0]!.frame);
  assert.ok(BACKENDS.includes(o.dst));
  assert.ok(udp!.verifyChecksum(o.src, o.dst));
  const back = udpFrame({
    srcMac: SERVER_MAC,
    dstMac: cfg.virtualMacs[1]!,
    src: o.dst,
    dst: CLIENT,
    sport: 7001,
    dport: 5555,
  });
  assert.equal(engine.handle(back, 1, 2), V_FORWARD);
  const r = parseOut(sink.emitted[1]!.frame);
  assert.equal(r.ip.src, VIP);
  assert.ok(r.udp!.verifyChecksum(r.ip.src, r.ip.dst));
});

Deno.test("a VIP port without a service gets a RST (TCP) or port unreachable (UDP), counted", () => {
  const { cfg, sink, engine } = setup();
  learnNeighbors(engine);
  engine.handle(
    tcpFrame({ dstMac: cfg.virtualMacs[0]!, src: CLIENT, dst: VIP, sport: 1, dport: 9 }),
    0,
    0,
  );
  const rst = parseOut(sink.emitted[0]!.frame);
  assert.equal(rst.tcp!.flags & 0x04, 0x04);
  assert.equal(rst.ip.src, VIP);
  assert.equal(engine.counters.get(DROP.no_service), 1);
  engine.handle(
    udpFrame({ dstMac: cfg.virtualMacs[0]!, src: CLIENT, dst: VIP, sport: 1, dport: 9 }),
    0,
    0,
  );
  const unreach = parseOut(sink.emitted[1]!.frame);
  const icmp = IcmpPacket.checked(unreach.ip.payload)!;
  assert.equal(icmp.type, 3);
  assert.equal(icmp.code, 3);
  assert.equal(engine.counters.get(DROP.no_service), 2);
});

Deno.test("malformed frames are dropped with a reason, and forwarding goes on", () => {
  const { cfg, sink, engine } = setup();
  learnNeighbors(engine);
  const good = () =>
    tcpFrame({ dstMac: cfg.virtualMacs[0]!, src: CLIENT, dst: VIP, sport: 41000, dport: 7000 });
  const cases: [string, (f: Uint8Array) => Uint8Array, number][] = [
    ["truncated ethernet", (f) => f.subarray(0, 10), DROP.truncated_frame],
    ["truncated ipv4", (f) => f.subarray(0, 30), DROP.bad_ipv4_header],
    ["ihl < 5", (f) => (f[14] = 0x44, f), DROP.bad_ipv4_header],
    ["bad ip checksum", (f) => (f[24]! ^= 0xff, f), DROP.bad_ipv4_checksum],
    ["length lies", (f) => (f[16] = 0x05, f), DROP.bad_ipv4_header], // total length 1280+
    ["tcp data offset < 5", (f) => (f[46] = 0x40, f), DROP.bad_tcp_header],
    ["bad tcp checksum", (f) => (f[50]! ^= 0xff, f), DROP.bad_tcp_checksum],
    ["vlan", (f) => (f[12] = 0x81, f[13] = 0x00, f), DROP.vlan_tagged],
    ["fragment", (f) => {
      const p = new Ipv4Packet(f.subarray(14));
      f[20] = 0x20; // MF
      p.checksum = 0;
      p.fillChecksum();
      return f;
    }, DROP.ipv4_fragment],
  ];
  for (const [name, mutate, slot] of cases) {
    const before = engine.counters.get(slot);
    assert.equal(engine.handle(mutate(good()), 0, 0), V_DROP, name);
    assert.equal(engine.counters.get(slot), before + 1, name);
  }
  assert.equal(sink.emitted.length, 0);
  assert.equal(engine.handle(good(), 0, 1), V_FORWARD, "still forwarding");
});

Deno.test("TTL 1 gets time exceeded instead of being forwarded", () => {
  const { cfg, sink, engine } = setup();
  learnNeighbors(engine);
  const f = tcpFrame({
    dstMac: cfg.virtualMacs[0]!,
    src: CLIENT,
    dst: VIP,
    sport: 1,
    dport: 7000,
    ttl: 1,
  });
  assert.equal(engine.handle(f, 0, 0), V_DROP);
  const icmp = IcmpPacket.checked(parseOut(sink.emitted[0]!.frame).ip.payload)!;
  assert.equal(icmp.type, 11);
  assert.equal(engine.flows.count, 0);
});

Deno.test("standby-forward: the receiver only mirrors; the forwarder applies verbatim and emits", () => {
  const a = setup("a"), b = setup("b");
  a.engine.forwarder = false;
  a.engine.mirroring = true;
  b.engine.receiver = false;
  b.engine.forwarder = true;
  learnNeighbors(a.engine);
  const frames = [
    tcpFrame({ dstMac: a.cfg.virtualMacs[0]!, src: CLIENT, dst: VIP, sport: 40000, dport: 7000 }),
    udpFrame({ dstMac: a.cfg.virtualMacs[0]!, src: CLIENT, dst: VIP, sport: 5000, dport: 7001 }),
    tcpFrame({
      srcMac: SERVER_MAC,
      dstMac: a.cfg.virtualMacs[1]!,
      src: BACKENDS[0]!, // round robin sent the first flow here
      dst: CLIENT,
      sport: 7000,
      dport: 40000,
      flags: 0x12,
    }),
  ];
  frames.forEach((f, i) => assert.equal(a.engine.handle(f, i < 2 ? 0 : 1, 5), V_MIRROR));
  assert.equal(a.sink.emitted.length, 0, "the receiver emits no data packet");
  assert.equal(a.sink.mirrored.length, 3);
  assert.ok(a.sink.mirrored[0]!.flags & MF_NEW_FLOW);
  for (const rec of a.sink.mirrored) {
    assert.ok(rec.flags & MF_PEER_EMITS);
    assert.equal(b.engine.applyMirror(rec, 6), V_FORWARD);
  }
  assert.equal(b.sink.emitted.length, 3);
  assert.equal(b.engine.flows.digest, a.engine.flows.digest);
  assert.equal(b.engine.flows.count, 2);
  for (const out of b.sink.emitted) {
    assert.deepEqual([...out.frame.subarray(6, 12)], [...b.cfg.interfaces[out.iface]!.mac]);
  }
  // After a takeover b knows the next hops it learned from the records.
  assert.ok(b.engine.neighbors[1]!.lookup(BACKENDS[0]!));
  assert.ok(b.engine.neighbors[0]!.lookup(CLIENT));
});

Deno.test("the reaper expires idle flows on the receiver and tells the peer", () => {
  const { cfg, sink, engine } = setup();
  learnNeighbors(engine);
  engine.mirroring = true;
  engine.handle(
    udpFrame({ dstMac: cfg.virtualMacs[0]!, src: CLIENT, dst: VIP, sport: 9, dport: 7001 }),
    0,
    0,
  );
  assert.equal(engine.flows.count, 1);
  engine.tick(10_000);
  assert.equal(engine.flows.count, 1);
  engine.tick(31_000);
  assert.equal(engine.flows.count, 0);
  assert.equal(sink.expired.length, 1);
  assert.equal(engine.counters.get(EV.flows_expired), 1);
});

Deno.test("ping to self and floating addresses is answered", () => {
  const { cfg, sink, engine } = setup();
  for (const dst of [cfg.interfaces[0]!.ip, VIP]) {
    const b = new Uint8Array(14 + 20 + 8 + 4);
    b.set(dst === VIP ? cfg.virtualMacs[0]! : cfg.interfaces[0]!.mac, 0);
    b.set(CLIENT_MAC, 6);
    b[12] = 0x08;
    const p = new Ipv4Packet(b.subarray(14));
    b[14] = 0x45;
    b[17] = 32;
    b[22] = 64;
    b[23] = 1;
    p.src = CLIENT;
    p.dst = dst;
    p.fillChecksum();
    b[34] = 8;
    b.set([0x12, 0x34, 0, 1, 0xde, 0xad, 0xbe, 0xef], 38); // id, seq, payload
    new IcmpPacket(b.subarray(34)).fillChecksum();
    assert.equal(engine.handle(b, 0, 0), V_REPLY);
    const r = parseOut(sink.emitted.at(-1)!.frame);
    assert.equal(r.ip.src, dst);
    assert.equal(IcmpPacket.checked(r.ip.payload)!.type, 0);
    assert.ok(IcmpPacket.checked(r.ip.payload)!.verifyChecksum());
  }
});

Deno.test("after a takeover, established flows get duplicate ACKs toward both endpoints", () => {
  const { cfg, sink, engine } = setup();
  learnNeighbors(engine);
  const ts = new Uint8Array([1, 1, 8, 10, 0, 0, 0, 7, 0, 0, 0, 9]);
  const vmac0 = cfg.virtualMacs[0]!, vmac1 = cfg.virtualMacs[1]!;
  engine.handle(
    tcpFrame({ dstMac: vmac0, src: CLIENT, dst: VIP, sport: 4000, dport: 7000, seq: 100 }),
    0,
    1,
  );
  const b = BACKENDS[0]!;
  const srv = { srcMac: SERVER_MAC, dstMac: vmac1, src: b, dst: CLIENT, sport: 7000, dport: 4000 };
  engine.handle(tcpFrame({ ...srv, flags: 0x12, seq: 900, ack: 101, options: ts }), 1, 2);
  engine.handle(
    tcpFrame({
      dstMac: vmac0,
      src: CLIENT,
      dst: VIP,
      sport: 4000,
      dport: 7000,
      flags: 0x10,
      seq: 101,
      ack: 901,
    }),
    0,
    3,
  );
  sink.clear();
  assert.equal(engine.nudge(4), 6);
  const toClient = sink.emitted.filter((e) => e.iface === 0).map((e) => parseOut(e.frame));
  const toServer = sink.emitted.filter((e) => e.iface === 1).map((e) => parseOut(e.frame));
  assert.equal(toClient.length, 3);
  assert.equal(toServer.length, 3);
  const c = toClient[0]!;
  assert.equal(c.ip.src, VIP);
  assert.equal(c.tcp!.seqNumber, 901, "the server's next sequence number");
  assert.equal(c.tcp!.ackNumber, 101, "the server's last ack");
  assert.ok(c.tcp!.verifyChecksum(c.ip.src, c.ip.dst));
  assert.equal(c.tcp!.options.length, 12, "timestamps copied (RFC 7323)");
  const s = toServer[0]!;
  assert.equal(s.ip.dst, b);
  assert.equal(s.tcp!.seqNumber, 101);
  assert.equal(s.tcp!.ackNumber, 901);
  assert.equal(engine.nudge(10_000), 0, "idle flows are not nudged");
});

Deno.test("offload: a partial checksum is not verified, and NAT rewrites only its pseudo-header sum", () => {
  const { cfg, sink, engine } = setup();
  learnNeighbors(engine);
  const payload = new Uint8Array(3000).fill(7); // a GSO frame: larger than one MTU
  const f = tcpFrame({
    dstMac: cfg.virtualMacs[0]!,
    src: CLIENT,
    dst: VIP,
    sport: 4100,
    dport: 7000,
    flags: 0x02,
    payload,
  });
  const l4len = f.length - 34;
  // CHECKSUM_PARTIAL as the kernel hands it over: the folded pseudo-header sum, uncomplemented.
  const partial = (s: number, d: number) => fold(pseudoHeaderSum(s, d, 6, l4len));
  f[50] = partial(CLIENT, VIP) >> 8;
  f[51] = partial(CLIENT, VIP) & 255;
  engine.vnet = new Uint8Array([1, 1, 0, 54, 0x05, 0xb4, 0, 34, 0, 16]); // NEEDS_CSUM, TCPV4
  assert.equal(engine.handle(f, 0, 1), V_FORWARD);
  const out = parseOut(sink.emitted[0]!.frame);
  assert.equal(out.ip.dst, BACKENDS[0]);
  assert.ok(out.ip.verifyChecksum(), "the IP header checksum is always full");
  assert.equal(
    out.tcp!.checksum,
    partial(CLIENT, BACKENDS[0]!),
    "pseudo-header sum for the new addresses",
  );
  assert.deepEqual(
    [...sink.emitted[0]!.vnet!],
    [...engine.vnet],
    "the offload header travels with the frame",
  );
  assert.equal(engine.counters.get(DROP.bad_tcp_checksum), 0);
});
