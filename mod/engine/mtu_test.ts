import assert from "node:assert/strict";
import {
  ICMP_CODE_FRAG_NEEDED,
  ICMP_DEST_UNREACHABLE,
  Ipv4Packet,
  PROTO_TCP,
} from "../wire/mod.ts";
import type { EngineConfig } from "./config.ts";
import { DROP, EV } from "./counters.ts";
import { V_DROP, V_FORWARD } from "./output.ts";
import {
  BACKENDS,
  CLIENT,
  CLIENT_MAC,
  engineUnderTest,
  feed,
  labEngineConfig,
  learnNeighbors,
  parseOut,
  SERVER_MAC,
  tcpFrame,
  udpFrame,
  VIP,
} from "./testing.ts";

/** Unit a with the back interface's MTU at `backMtu` (and the front's at `frontMtu`). */
function withMtu(backMtu: number, frontMtu = 1500) {
  const base = labEngineConfig("a");
  const interfaces: EngineConfig["interfaces"] = [
    { ...base.interfaces[0]!, mtu: frontMtu },
    { ...base.interfaces[1]!, mtu: backMtu },
  ];
  const t = engineUnderTest("a", { interfaces });
  learnNeighbors(t.engine);
  return t;
}

/** A UDP datagram of IP length `ipLen` from the client to the VIP's UDP echo. */
function bigUdp(cfg: EngineConfig, ipLen: number, df: boolean): Uint8Array {
  const f = udpFrame({
    dstMac: cfg.virtualMacs[0]!,
    src: CLIENT,
    dst: VIP,
    sport: 5555,
    dport: 7001,
    payload: new Uint8Array(ipLen - 28).fill(9),
  });
  if (df) {
    f[14 + 6] = 0x40;
    new Ipv4Packet(f, 14).fillChecksum();
  }
  return f;
}

Deno.test("mtu: DF and too big for the egress → frag-needed with the next-hop MTU, quoting the original", () => {
  const { engine, out, cfg } = withMtu(1400);
  const frame = bigUdp(cfg, 1450, true);
  const sent = frame.slice();
  assert.equal(feed(engine, frame, 0, 1), V_DROP);
  assert.equal(engine.counters.get(DROP.too_big), 1);
  assert.equal(engine.counters.get(EV.frag_needed_sent), 1);
  assert.equal(engine.counters.get(EV.icmp_errors_sent), 1);
  assert.equal(engine.flows.count, 0, "the flow the packet created goes with it");
  assert.equal(out.mirrored.length, 0);
  assert.equal(out.emitted.length, 1);
  const e = out.emitted[0]!;
  assert.equal(e.iface, 0, "back where the packet came from");
  assert.deepEqual([...e.frame.subarray(0, 6)], [...CLIENT_MAC]);
  assert.deepEqual([...e.frame.subarray(6, 12)], [...cfg.interfaces[0]!.mac]);
  const { ip, icmp } = parseOut(e.frame);
  assert.ok(ip.verifyChecksum());
  assert.equal(ip.src, cfg.interfaces[0]!.ip, "from the unit's self address on the ingress");
  assert.equal(ip.dst, CLIENT);
  assert.ok(icmp && icmp.verifyChecksum());
  assert.equal(icmp.type, ICMP_DEST_UNREACHABLE);
  assert.equal(icmp.code, ICMP_CODE_FRAG_NEEDED);
  assert.equal(icmp.nextHopMtu, 1400, "RFC 1191: the MTU of the next hop");
  assert.deepEqual([...icmp.rest.subarray(0, 2)], [0, 0], "RFC 1191: unused half is zero");
  // The quote is the packet as the client sent it (untranslated, TTL untouched), so the
  // client's stack finds its socket: header plus the start of the UDP datagram.
  const quote = icmp.embedded;
  assert.deepEqual(quote.subarray(0, 28), sent.subarray(14, 14 + 28));
  assert.ok(ip.totalLength <= 576, "RFC 1812 §4.3.2.3");
});

Deno.test("mtu: without DF a too-big packet is dropped and counted, not fragmented", () => {
  const { engine, out, cfg } = withMtu(1400);
  assert.equal(feed(engine, bigUdp(cfg, 1450, false), 0, 1), V_DROP);
  assert.equal(engine.counters.get(DROP.too_big), 1);
  assert.equal(engine.counters.get(EV.frag_needed_sent), 0);
  assert.equal(out.emitted.length, 0);
});

Deno.test("mtu: packets that fit the egress MTU pass, however big the ingress allows", () => {
  const { engine, out, cfg } = withMtu(1400);
  assert.equal(feed(engine, bigUdp(cfg, 1400, true), 0, 1), V_FORWARD);
  assert.equal(out.emitted[0]!.iface, 1);
  // Jumbo back side: a 1500-byte packet to it is nothing special.
  const j = withMtu(9000);
  assert.equal(feed(j.engine, bigUdp(j.cfg, 1500, true), 0, 1), V_FORWARD);
  assert.equal(j.engine.counters.get(DROP.too_big), 0);
});

Deno.test("mtu: the reply direction is checked against the client side's MTU", () => {
  const { engine, out, cfg } = withMtu(9000, 1500);
  assert.equal(feed(engine, bigUdp(cfg, 100, true), 0, 1), V_FORWARD);
  const backend = parseOut(out.emitted[0]!.frame).ip.dst;
  out.clear();
  const reply = udpFrame({
    srcMac: SERVER_MAC,
    dstMac: cfg.virtualMacs[1]!,
    src: backend,
    dst: CLIENT,
    sport: 7001,
    dport: 5555,
    payload: new Uint8Array(3000),
  });
  reply[14 + 6] = 0x40;
  new Ipv4Packet(reply, 14).fillChecksum();
  assert.equal(feed(engine, reply, 1, 2), V_DROP);
  const { ip, icmp } = parseOut(out.emitted[0]!.frame);
  assert.equal(out.emitted[0]!.iface, 1);
  assert.equal(ip.src, cfg.interfaces[1]!.ip);
  assert.equal(ip.dst, backend);
  assert.equal(icmp!.nextHopMtu, 1500);
  assert.equal(engine.flows.count, 1, "an existing flow stays");
  assert.ok(BACKENDS.includes(backend));
});

Deno.test("mtu: a GSO frame from the TAP is bigger than the MTU by design and passes", () => {
  const { engine, cfg } = withMtu(1500);
  const syn = tcpFrame({
    dstMac: cfg.virtualMacs[0]!,
    src: CLIENT,
    dst: VIP,
    sport: 40000,
    dport: 7000,
    payload: new Uint8Array(8000),
  });
  engine.vnet = new Uint8Array(10);
  engine.vnet[1] = 1; // VIRTIO_NET_HDR_GSO_TCPV4
  assert.equal(feed(engine, syn.slice(), 0, 1), V_FORWARD);
  engine.vnet[1] = 0;
  assert.equal(feed(engine, syn.slice(), 0, 2), V_DROP, "the same frame without GSO is too big");
  assert.equal(engine.counters.get(DROP.too_big), 1);
  assert.ok(engine.flows.lookup(PROTO_TCP, CLIENT, 40000, VIP, 7000) >= 0, "the flow stays");
});
