import assert from "node:assert/strict";
import {
  buildIcmpError,
  ICMP_CODE_FRAG_NEEDED,
  ICMP_CODE_PORT_UNREACHABLE,
  ICMP_DEST_UNREACHABLE,
  Ipv4Packet,
} from "../wire/mod.ts";
import { DROP } from "./counters.ts";
import { MF_NO_FLOW, MF_PEER_EMITS, V_DROP, V_FORWARD, V_MIRROR } from "./output.ts";
import { Engine } from "./engine.ts";
import {
  BACKENDS,
  CLIENT,
  CLIENT_MAC,
  clientSyn,
  feed,
  GW,
  labEngineConfig,
  learnNeighbors,
  parseOut,
  RecordingOutput,
  SERVER_MAC,
  VIP,
} from "./testing.ts";
import type { EngineConfig } from "./config.ts";

function engine(snat = false) {
  const base = labEngineConfig("a");
  const cfg: EngineConfig = labEngineConfig("a", {
    services: base.services.map((s) => ({ ...s, snatIp: snat ? GW : 0 })),
  });
  const out = new RecordingOutput();
  const e = new Engine(cfg, out, () => 2000);
  learnNeighbors(e);
  return { cfg, out, e };
}

/** An ICMP error from `from` (at `fromMac`, arriving on `iface`'s virtual MAC) quoting `quoted`. */
function errorAbout(
  cfg: EngineConfig,
  iface: number,
  fromMac: Uint8Array,
  from: number,
  to: number,
  quoted: Uint8Array,
  code = ICMP_CODE_PORT_UNREACHABLE,
): Uint8Array {
  const buf = new Uint8Array(600);
  const n = buildIcmpError(
    buf,
    fromMac,
    cfg.virtualMacs[iface]!,
    from,
    to,
    ICMP_DEST_UNREACHABLE,
    code,
    quoted.subarray(14),
    1400,
  );
  return buf.slice(0, n);
}

Deno.test("icmp error from a backend about a client's packet goes to the client, quoting VIP terms", () => {
  for (const snat of [false, true]) {
    const { cfg, out, e } = engine(snat);
    feed(e, clientSyn(cfg, 40000), 0, 1);
    const sent = out.emitted[0]!.frame;
    const q = parseOut(sent);
    const err = errorAbout(cfg, 1, SERVER_MAC, BACKENDS[0]!, q.ip.src, sent, ICMP_CODE_FRAG_NEEDED);
    assert.equal(feed(e, err, 1, 2), V_FORWARD, `snat ${snat}`);
    const o = out.emitted[1]!;
    assert.equal(o.iface, 0);
    assert.deepEqual([...o.frame.subarray(0, 6)], [...CLIENT_MAC]);
    const r = parseOut(o.frame);
    assert.equal(r.ip.src, VIP, "from the address the client talked to");
    assert.equal(r.ip.dst, CLIENT);
    assert.equal(r.ip.ttl, 63);
    assert.ok(r.ip.verifyChecksum());
    assert.ok(r.icmp!.verifyChecksum());
    assert.equal(r.icmp!.nextHopMtu, 1400, "the rest of the header survives");
    const inner = Ipv4Packet.checkedHeader(r.icmp!.embedded)!;
    assert.equal(inner.src, CLIENT);
    assert.equal(inner.dst, VIP);
    assert.ok(inner.verifyChecksum());
    const l4 = inner.payload.length >= 4
      ? r.icmp!.embedded.subarray(inner.headerLen)
      : r.icmp!.embedded;
    assert.deepEqual([(l4[0]! << 8) | l4[1]!, (l4[2]! << 8) | l4[3]!], [40000, 7000]);
  }
});

Deno.test("icmp error from the client about a server's packet goes to the backend, in its terms", () => {
  for (const snat of [false, true]) {
    const { cfg, out, e } = engine(snat);
    feed(e, clientSyn(cfg, 40000), 0, 1);
    const toServer = parseOut(out.emitted[0]!.frame);
    const client = toServer.ip.src, cport = toServer.tcp!.srcPort;
    // The server answers; we deliver that to the client.
    const back = new Uint8Array(out.emitted[0]!.frame);
    const b = parseOut(back);
    b.ip.src = BACKENDS[0]!;
    b.ip.dst = client;
    b.ip.fillChecksum();
    b.tcp!.srcPort = 7000;
    b.tcp!.dstPort = cport;
    b.tcp!.flags = 0x12;
    b.tcp!.fillChecksum(b.ip.src, b.ip.dst);
    back.set(cfg.virtualMacs[1]!, 0);
    back.set(SERVER_MAC, 6);
    feed(e, back, 1, 2);
    const toClient = out.emitted[1]!.frame;
    // The client refuses it (say, its socket is gone): port unreachable about that packet.
    const err = errorAbout(cfg, 0, CLIENT_MAC, CLIENT, VIP, toClient);
    assert.equal(feed(e, err, 0, 3), V_FORWARD, `snat ${snat}`);
    const o = out.emitted[2]!;
    assert.equal(o.iface, 1, "toward the backend");
    assert.deepEqual([...o.frame.subarray(0, 6)], [...SERVER_MAC]);
    const r = parseOut(o.frame);
    assert.equal(r.ip.src, client, "from the address the backend talks to");
    assert.equal(r.ip.dst, BACKENDS[0]);
    const inner = Ipv4Packet.checkedHeader(r.icmp!.embedded)!;
    assert.equal(inner.src, BACKENDS[0]);
    assert.equal(inner.dst, client);
    const l4 = r.icmp!.embedded.subarray(inner.headerLen);
    assert.deepEqual([(l4[0]! << 8) | l4[1]!, (l4[2]! << 8) | l4[3]!], [7000, cport]);
    assert.ok(r.ip.verifyChecksum() && r.icmp!.verifyChecksum() && inner.verifyChecksum());
  }
});

Deno.test("icmp error: mirrored without a flow when the peer emits", () => {
  const { cfg, out, e } = engine();
  feed(e, clientSyn(cfg, 40000), 0, 1);
  e.roles.forwarder = false;
  e.roles.mirror = true;
  const err = errorAbout(cfg, 1, SERVER_MAC, BACKENDS[0]!, CLIENT, out.emitted[0]!.frame);
  assert.equal(feed(e, err, 1, 2), V_MIRROR);
  const m = out.mirrored[0]!;
  assert.equal(m.flags, MF_NO_FLOW | MF_PEER_EMITS);
  assert.equal(m.flow, undefined);
});

Deno.test("icmp errors about unknown flows, other types, and bad quotes are dropped and counted", () => {
  const { cfg, out, e } = engine();
  feed(e, clientSyn(cfg, 40000), 0, 1);
  const sent = out.emitted[0]!.frame;
  const unknown = clientSyn(cfg, 40001);
  const q = parseOut(unknown);
  q.ip.dst = BACKENDS[0]!;
  q.ip.fillChecksum();
  assert.equal(
    feed(e, errorAbout(cfg, 1, SERVER_MAC, BACKENDS[0]!, CLIENT, unknown), 1, 2),
    V_DROP,
  );
  assert.equal(e.counters.get(DROP.no_flow), 1);
  const redirect = errorAbout(cfg, 1, SERVER_MAC, BACKENDS[0]!, CLIENT, sent);
  redirect[34] = 5;
  parseOut(redirect).icmp!.fillChecksum();
  assert.equal(feed(e, redirect, 1, 3), V_DROP);
  assert.equal(e.counters.get(DROP.icmp_unhandled), 1);
  const short = errorAbout(cfg, 1, SERVER_MAC, BACKENDS[0]!, CLIENT, sent).slice(
    0,
    14 + 20 + 8 + 20 + 2,
  );
  const sp = new Ipv4Packet(short, 14);
  sp.totalLength = short.length - 14;
  sp.fillChecksum();
  parseOut(short).icmp!.fillChecksum();
  assert.equal(feed(e, short, 1, 4), V_DROP, "a quote without its ports");
  assert.equal(e.counters.get(DROP.bad_icmp), 1);
  assert.equal(out.emitted.length, 1, "nothing sent for any of them");
});
