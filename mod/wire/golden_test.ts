/**
 * Golden frames captured in the lab by `testdata/capture.sh` (Linux 198.51.100.2 <-> .3 over a
 * veth pair, checksum offload off). Names come from tcpdump's decoding, not from this code.
 */
import assert from "node:assert/strict";
import golden from "./testdata/golden.json" with { type: "json" };
import { EthernetFrame, EthernetRepr, ETHERTYPE_ARP, ETHERTYPE_IPV4 } from "./ethernet.ts";
import { ARP_REPLY, ARP_REQUEST, ArpPacket, ArpRepr } from "./arp.ts";
import { Ipv4Packet, Ipv4Repr, PROTO_ICMP, PROTO_TCP, PROTO_UDP } from "./ipv4.ts";
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_SYN, TcpRepr, TcpSegment } from "./tcp.ts";
import { UdpDatagram, UdpRepr } from "./udp.ts";
import {
  ICMP_CODE_PORT_UNREACHABLE,
  ICMP_DEST_UNREACHABLE,
  ICMP_ECHO_REPLY,
  ICMP_ECHO_REQUEST,
  IcmpPacket,
  IcmpRepr,
} from "./icmp.ts";
import { turnEchoReply } from "./build.ts";
import { BROADCAST_MAC, parseIpv4, parseMac } from "./addr.ts";
import { fromHex, poisoned } from "./test_util.ts";

const CLIENT_MAC = parseMac("02:00:00:00:00:02")!;
const SERVER_MAC = parseMac("02:00:00:00:00:03")!;
const CLIENT = parseIpv4("198.51.100.2")!;
const SERVER = parseIpv4("198.51.100.3")!;

interface Golden {
  name: string;
  summary: string;
  hex: string;
}
const frames: Golden[] = golden;

function frame(name: string): Uint8Array {
  const found = frames.find((f) => f.name === name);
  assert.ok(found, `golden frame ${name} is missing: re-run testdata/capture.sh`);
  return fromHex(found.hex);
}

function ipv4(name: string): Ipv4Packet {
  const eth = EthernetFrame.checked(frame(name))!;
  assert.equal(eth.etherType, ETHERTYPE_IPV4, name);
  const ip = Ipv4Packet.checked(eth.payload);
  assert.ok(ip, name);
  return ip;
}

function tcp(name: string): TcpSegment {
  const ip = ipv4(name);
  assert.equal(ip.protocol, PROTO_TCP);
  return TcpSegment.checked(ip.payload)!;
}

Deno.test("golden: every frame parses, addresses match its direction, checksums verify", () => {
  assert.ok(frames.length >= 15);
  for (const { name, hex } of frames) {
    const bytes = fromHex(hex);
    const eth = EthernetFrame.checked(bytes);
    assert.ok(eth, name);
    const fromClient = eth.src.every((b, i) => b === CLIENT_MAC[i]);
    assert.deepEqual(eth.src, fromClient ? CLIENT_MAC : SERVER_MAC, name);
    if (eth.etherType === ETHERTYPE_ARP) {
      const arp = ArpPacket.checked(eth.payload);
      assert.ok(arp, name);
      assert.deepEqual(arp.sha, eth.src, name);
      assert.equal(arp.spa, fromClient ? CLIENT : SERVER, name);
      continue;
    }
    assert.equal(eth.etherType, ETHERTYPE_IPV4, name);
    assert.deepEqual(eth.dst, fromClient ? SERVER_MAC : CLIENT_MAC, name);
    const ip = Ipv4Packet.checked(eth.payload);
    assert.ok(ip, name);
    assert.ok(ip.verifyChecksum(), `${name}: IPv4 checksum`);
    assert.equal(ip.version, 4);
    assert.equal(ip.headerLen, 20);
    assert.equal(ip.totalLength, bytes.length - 14, name);
    assert.equal(ip.isFragment, false);
    assert.equal(ip.ttl, 64, name);
    assert.equal(ip.src, fromClient ? CLIENT : SERVER, name);
    assert.equal(ip.dst, fromClient ? SERVER : CLIENT, name);
    if (ip.protocol === PROTO_TCP) {
      const seg = TcpSegment.checked(ip.payload);
      assert.ok(seg, name);
      assert.ok(seg.verifyChecksum(ip.src, ip.dst), `${name}: TCP checksum`);
      assert.deepEqual([seg.srcPort, seg.dstPort], fromClient ? [40000, 7000] : [7000, 40000]);
    } else if (ip.protocol === PROTO_UDP) {
      const d = UdpDatagram.checked(ip.payload);
      assert.ok(d, name);
      assert.notEqual(d.checksum, 0, `${name}: Linux fills UDP checksums`);
      assert.ok(d.verifyChecksum(ip.src, ip.dst), `${name}: UDP checksum`);
    } else {
      assert.equal(ip.protocol, PROTO_ICMP, name);
      const icmp = IcmpPacket.checked(ip.payload);
      assert.ok(icmp, name);
      assert.ok(icmp.verifyChecksum(), `${name}: ICMP checksum`);
    }
  }
});

Deno.test("golden: every frame re-emits byte-for-byte from its Reprs", () => {
  for (const { name, hex } of frames) {
    const bytes = fromHex(hex);
    const out = poisoned(bytes.length + 8);
    const eth = EthernetFrame.checked(bytes)!;
    let len = EthernetRepr.emit(EthernetRepr.parse(eth), out);
    if (eth.etherType === ETHERTYPE_ARP) {
      len += ArpRepr.emit(ArpRepr.parse(ArpPacket.checked(eth.payload)!), out.subarray(len));
    } else {
      const ip = Ipv4Packet.checked(eth.payload)!;
      const ipRepr = Ipv4Repr.parse(ip);
      len += Ipv4Repr.emit(ipRepr, out.subarray(len));
      const l4 = out.subarray(len);
      if (ip.protocol === PROTO_TCP) {
        len += TcpRepr.emit(TcpRepr.parse(TcpSegment.checked(ip.payload)!), l4, ip.src, ip.dst);
      } else if (ip.protocol === PROTO_UDP) {
        len += UdpRepr.emit(UdpRepr.parse(UdpDatagram.checked(ip.payload)!), l4, ip.src, ip.dst);
      } else {
        len += IcmpRepr.emit(IcmpRepr.parse(IcmpPacket.checked(ip.payload)!), l4);
      }
    }
    assert.deepEqual(out.subarray(0, len), bytes, name);
    assert.equal(out[len], 0xa5, name);
  }
});

Deno.test("golden: ARP request and reply", () => {
  const reqEth = EthernetFrame.checked(frame("arp_request"))!;
  assert.deepEqual(reqEth.dst, BROADCAST_MAC);
  const req = ArpPacket.checked(reqEth.payload)!;
  assert.equal(req.op, ARP_REQUEST);
  assert.deepEqual(req.sha, CLIENT_MAC);
  assert.equal(req.spa, CLIENT);
  assert.deepEqual(req.tha, new Uint8Array(6));
  assert.equal(req.tpa, SERVER);
  const repEth = EthernetFrame.checked(frame("arp_reply"))!;
  assert.deepEqual(repEth.dst, CLIENT_MAC);
  const rep = ArpPacket.checked(repEth.payload)!;
  assert.equal(rep.op, ARP_REPLY);
  assert.deepEqual(rep.sha, SERVER_MAC);
  assert.equal(rep.spa, SERVER);
  assert.deepEqual(rep.tha, CLIENT_MAC);
  assert.equal(rep.tpa, CLIENT);
});

Deno.test("golden: ping request and reply (ping -s 24)", () => {
  const reqIp = ipv4("icmp_echo_request");
  const repIp = ipv4("icmp_echo_reply");
  const req = IcmpPacket.checked(reqIp.payload)!;
  const rep = IcmpPacket.checked(repIp.payload)!;
  assert.equal(reqIp.dontFragment, true);
  assert.equal(req.type, ICMP_ECHO_REQUEST);
  assert.equal(rep.type, ICMP_ECHO_REPLY);
  assert.equal(req.code, 0);
  assert.equal(rep.code, 0);
  assert.equal(req.echoSeq, 1);
  assert.equal(rep.echoId, req.echoId);
  assert.equal(rep.echoSeq, req.echoSeq);
  assert.equal(req.embedded.length, 24);
  assert.deepEqual(rep.embedded, req.embedded);
});

Deno.test("golden: turnEchoReply on the captured request matches Linux's reply where defined", () => {
  const bytes = frame("icmp_echo_request");
  assert.equal(turnEchoReply(bytes), true);
  const ours = Ipv4Packet.checked(new EthernetFrame(bytes).payload)!;
  const linux = ipv4("icmp_echo_reply");
  assert.ok(ours.verifyChecksum());
  assert.deepEqual(new EthernetFrame(bytes).dst, CLIENT_MAC);
  assert.deepEqual(new EthernetFrame(bytes).src, SERVER_MAC);
  assert.equal(ours.src, linux.src);
  assert.equal(ours.dst, linux.dst);
  assert.equal(ours.ttl, linux.ttl);
  // The ICMP message is fully determined by the request, so it must equal Linux's exactly.
  assert.deepEqual(ours.payload, linux.payload);
});

Deno.test("golden: TCP handshake, data both ways, and close", () => {
  const syn = tcp("tcp_c2s_syn");
  const synAck = tcp("tcp_s2c_syn_ack");
  assert.equal(syn.flags, TCP_SYN);
  assert.equal(synAck.flags, TCP_SYN | TCP_ACK);
  assert.equal(synAck.ackNumber, (syn.seqNumber + 1) >>> 0);
  assert.equal(syn.segmentLength, 1);
  assert.ok(syn.headerLen > 20, "Linux SYNs carry options");
  assert.deepEqual(syn.options.subarray(0, 4), fromHex("020405b4"), "MSS 1460 first");
  assert.equal(syn.payload.length, 0);

  const text = "hello tandem\n";
  const data = tcp("tcp_c2s_psh_ack");
  assert.equal(data.flags, TCP_PSH | TCP_ACK);
  assert.equal(data.seqNumber, (syn.seqNumber + 1) >>> 0);
  assert.equal(data.ackNumber, (synAck.seqNumber + 1) >>> 0);
  assert.equal(new TextDecoder().decode(data.payload), text);
  assert.equal(data.segmentLength, text.length);

  const echo = tcp("tcp_s2c_psh_ack");
  assert.equal(echo.seqNumber, (synAck.seqNumber + 1) >>> 0);
  assert.equal(new TextDecoder().decode(echo.payload), text);

  const clientFin = tcp("tcp_c2s_fin_ack");
  const serverFin = tcp("tcp_s2c_fin_ack");
  assert.equal(clientFin.flags, TCP_FIN | TCP_ACK);
  assert.equal(clientFin.seqNumber, (syn.seqNumber + 1 + text.length) >>> 0);
  assert.equal(serverFin.seqNumber, (synAck.seqNumber + 1 + text.length) >>> 0);
  assert.equal(serverFin.ackNumber, (clientFin.seqNumber + 1) >>> 0);
  assert.equal(clientFin.segmentLength, 1);
});

Deno.test("golden: UDP datagrams carry their payloads", () => {
  const open = UdpDatagram.checked(ipv4("udp_c2s_7001").payload)!;
  assert.deepEqual([open.srcPort, open.dstPort, open.length], [40001, 7001, 8 + 13]);
  assert.equal(new TextDecoder().decode(open.payload), "udp to tandem");
  const closed = UdpDatagram.checked(ipv4("udp_c2s_7009").payload)!;
  assert.deepEqual([closed.srcPort, closed.dstPort], [40002, 7009]);
  assert.equal(new TextDecoder().decode(closed.payload), "nobody home");
});

Deno.test("golden: Linux's port unreachable embeds the original datagram", () => {
  const ip = ipv4("icmp_port_unreachable");
  assert.equal(ip.dscpEcn, 0xc0, "precedence 6, RFC 1812 §4.3.2.5");
  const icmp = IcmpPacket.checked(ip.payload)!;
  assert.equal(icmp.type, ICMP_DEST_UNREACHABLE);
  assert.equal(icmp.code, ICMP_CODE_PORT_UNREACHABLE);
  assert.deepEqual(icmp.rest, new Uint8Array(4));
  const original = ipv4("udp_c2s_7009");
  assert.deepEqual(icmp.embedded, original.packet);
  const quoted = Ipv4Packet.checkedHeader(icmp.embedded)!;
  assert.equal(quoted.src, CLIENT);
  assert.equal(quoted.dst, SERVER);
  assert.equal(quoted.protocol, PROTO_UDP);
});
