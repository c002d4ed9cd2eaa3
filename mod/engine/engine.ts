/**
 * The data-plane engine: a pure, deterministic function of frames, peer
 * records and injected time/randomness (smoltcp `Interface::poll`, Katran).
 *
 * Roles (DESIGN.md, patent FIG 1-3): the *receiver* owns the floating
 * addresses and makes every decision about a packet; the *forwarder* emits it.
 * When this unit is both, it forwards and mirrors asynchronously
 * (`active-forward`, claims 25-27). When it is the receiver only, it records
 * the flow and hands the packet with its decisions to the forwarder
 * (`standby-forward` / `standby-first`, claims 19-24); the forwarder applies
 * them verbatim through `applyMirror`.
 * @module
 */
import {
  FlowTable,
  ST_ICMP,
  ST_TCP_CLOSE,
  ST_TCP_ESTABLISHED,
  ST_TCP_FIN_WAIT,
  ST_TCP_LAST_ACK,
  ST_TCP_SYN_RECV,
  ST_TCP_SYN_SENT,
  ST_TCP_TIME_WAIT,
  ST_UDP_NEW,
  ST_UDP_STREAM,
} from "../flow/table.ts";
import { Counters, DROP, EV } from "./counters.ts";
import { FIN_ORIG, FIN_REPLY, nextTcpState } from "./tcp_state.ts";
import { Neighbors } from "./neighbors.ts";
import { Maglev, RoundRobin } from "../sched/mod.ts";
import { hashTuple } from "../sched/hash.ts";
import {
  adjust16,
  adjust32,
  ArpPacket,
  buildArpFrame,
  buildIcmpError,
  buildTcpRst,
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  ETHERTYPE_IPV6,
  ETHERTYPE_VLAN,
  IcmpPacket,
  internetChecksum,
  Ipv4Packet,
  PROTO_ICMP,
  PROTO_TCP,
  PROTO_UDP,
  TcpSegment,
  turnEchoReply,
  UdpDatagram,
} from "../wire/mod.ts";
import { BROADCAST_MAC, sameSubnet } from "../wire/addr.ts";
import {
  type EngineConfig,
  type EngineSink,
  MF_NEW_FLOW,
  MF_NO_FLOW,
  MF_PEER_EMITS,
  MF_WANT_ACK,
  type MirrorRecord,
  V_DROP,
  V_FORWARD,
  V_MIRROR,
  V_QUEUED,
  V_REPLY,
  VNET_DATA_VALID,
  VNET_HDR_LEN,
  VNET_NEEDS_CSUM,
} from "./types.ts";

const ARP_REQUEST = 1;
const ARP_REPLY = 2;
const ICMP_ECHO_REQUEST = 8;
const ICMP_DEST_UNREACHABLE = 3;
const ICMP_TIME_EXCEEDED = 11;
const TCP_FIN = 1, TCP_SYN = 2, TCP_RST = 4, TCP_ACK = 16;
/** TCP option kinds (RFC 9293, RFC 7323). */
const OPT_END = 0, OPT_NOP = 1, OPT_TIMESTAMPS = 8;

/** Ephemeral range for SNAT ports (RFC 6056 §2.1 suggests 1024-65535). */
const SNAT_PORT_MIN = 1024;
const SNAT_PORT_SPAN = 65536 - SNAT_PORT_MIN;

type Scheduler = { pick(hash: number): number };

export class Engine {
  readonly flows: FlowTable;
  readonly counters: Counters = new Counters();
  readonly neighbors: Neighbors[];
  /** This unit owns the floating addresses (answers ARP for them, decides). */
  receiver = true;
  /** This unit emits data packets toward clients and servers. */
  forwarder = true;
  /** A peer is there to mirror to. */
  mirroring = false;
  /** `hold_new_flows`: hold the first packet of a new flow until the peer acks it. */
  holdNewFlows = false;
  /**
   * Offload header of the frame being handled (virtio_net_hdr from a TAP
   * opened with IFF_VNET_HDR): the runtime sets it before `handle`; zeros
   * mean a plain frame with full checksums. A GSO frame carries many
   * segments and a partial L4 checksum that the kernel completes on output.
   */
  vnet: Uint8Array = new Uint8Array(VNET_HDR_LEN);

  readonly #cfg: EngineConfig;
  readonly #sink: EngineSink;
  readonly #rng: () => number;
  readonly #sched: Scheduler[];
  readonly #scratch = new Uint8Array(2048);
  readonly #rec: MirrorRecord & { vnet: Uint8Array };
  #nextReap = 0;

  /** `rng` returns uniformly random unsigned 32-bit integers: randomness is an input. */
  constructor(cfg: EngineConfig, sink: EngineSink, rng: () => number) {
    this.#cfg = cfg;
    this.#sink = sink;
    this.#rng = rng;
    this.flows = new FlowTable(cfg.capacity);
    this.neighbors = cfg.interfaces.map(() => new Neighbors(cfg.arpQueueLimit));
    this.#sched = cfg.services.map((s): Scheduler => {
      if (s.scheduler === "maglev") {
        return new Maglev(s.backends.map((b) => `${b.ip}:${b.port}`));
      }
      const rr = new RoundRobin(s.backends.length);
      return { pick: () => rr.pick() };
    });
    this.#rec = {
      flags: 0,
      time: 0,
      ingress: 0,
      egress: 0,
      state: 0,
      service: 0,
      proto: 0,
      oSrc: 0,
      oSport: 0,
      oDst: 0,
      oDport: 0,
      rSrc: 0,
      rSport: 0,
      rDst: 0,
      rDport: 0,
      seqOffset: 0,
      nextHop: new Uint8Array(6),
      vnet: new Uint8Array(VNET_HDR_LEN),
      frame: this.#scratch,
    };
  }

  get config(): EngineConfig {
    return this.#cfg;
  }

  // ---------------------------------------------------------------- receive

  /**
   * Processes one frame received on interface `ingress` at time `now` (ms).
   * The frame may be rewritten in place. Returns a verdict (`V_*`).
   */
  handle(frame: Uint8Array, ingress: number, now: number): number {
    const c = this.counters;
    c.add(EV.rx_packets);
    c.add(EV.rx_bytes, frame.length);
    if (frame.length < 14) return this.#drop(DROP.truncated_frame);
    const iface = this.#cfg.interfaces[ingress];
    if (!iface) return this.#drop(DROP.no_route);
    // Accept frames to our MAC, to the virtual MAC while receiver, and broadcast/multicast.
    const toUs = macAt(frame, 0, iface.mac) ||
      (this.receiver && macAt(frame, 0, this.#cfg.virtualMacs[ingress]!)) ||
      (frame[0]! & 1) === 1;
    if (!toUs) return this.#drop(DROP.not_for_us);
    const etherType = (frame[12]! << 8) | frame[13]!;
    if (etherType === ETHERTYPE_IPV4) return this.#ipv4(frame, ingress, now);
    if (etherType === ETHERTYPE_ARP) return this.#arp(frame, ingress, now);
    // 802.1Q frames are not passed through: the appliance's ports are access ports.
    if (etherType === ETHERTYPE_VLAN) return this.#drop(DROP.vlan_tagged);
    if (etherType === ETHERTYPE_IPV6) return this.#drop(DROP.ipv6);
    return this.#drop(DROP.unknown_ethertype);
  }

  #drop(slot: number): number {
    this.counters.drop(slot);
    return V_DROP;
  }

  #arp(frame: Uint8Array, ingress: number, now: number): number {
    const arp = ArpPacket.checked(frame.subarray(14));
    if (!arp) return this.#drop(DROP.bad_arp);
    const iface = this.#cfg.interfaces[ingress]!;
    const spa = arp.spa, tpa = arp.tpa;
    const forSelf = tpa === iface.ip;
    const forFloating = this.receiver && this.#floatingOn(tpa, ingress);
    const nb = this.neighbors[ingress]!;
    // RFC 826: update the sender's entry if we have one; add it when we are the target.
    if (spa !== 0 && (forSelf || forFloating || nb.has(spa))) {
      this.#resolved(ingress, spa, arp.sha, now);
    }
    if (arp.op === ARP_REQUEST && (forSelf || forFloating)) {
      // Only the receiver ever answers for a floating address, and with the
      // virtual MAC; self addresses answer with the unit's own MAC.
      const mac = forSelf ? iface.mac : this.#cfg.virtualMacs[ingress]!;
      const n = buildArpFrame(this.#scratch, ARP_REPLY, mac, tpa, arp.sha, spa, arp.sha);
      this.#emit(ingress, this.#scratch.subarray(0, n));
      this.counters.add(EV.arp_replies);
      return V_REPLY;
    }
    return arp.op === ARP_REPLY || forSelf || forFloating ? V_REPLY : this.#drop(DROP.not_for_us);
  }

  #ipv4(frame: Uint8Array, ingress: number, now: number): number {
    const ip = Ipv4Packet.checked(frame.subarray(14));
    if (!ip) return this.#drop(DROP.bad_ipv4_header);
    if (!ip.verifyChecksum()) return this.#drop(DROP.bad_ipv4_checksum);
    // Fragments are counted and dropped: the NAT needs the L4 header of every packet.
    if (ip.isFragment) return this.#drop(DROP.ipv4_fragment);
    const dst = ip.dst;
    if (this.#isSelf(dst)) return this.#local(frame, ip, ingress, false);
    const floating = this.#isFloating(dst);
    if (floating && !this.receiver) return this.#drop(DROP.not_receiver);
    const proto = ip.protocol;
    if (proto === PROTO_TCP || proto === PROTO_UDP) {
      return this.#flowPacket(frame, ip, ingress, now);
    }
    if (proto === PROTO_ICMP) {
      if (floating) {
        const icmp = IcmpPacket.checked(ip.payload);
        if (!icmp || !icmp.verifyChecksum()) return this.#drop(DROP.bad_icmp);
        if (icmp.type === ICMP_ECHO_REQUEST) return this.#local(frame, ip, ingress, true);
      }
      return this.#icmpError(frame, ip, ingress, now);
    }
    return floating ? this.#drop(DROP.no_service) : this.#drop(DROP.no_flow);
  }

  /** Packets to one of our own addresses: ICMP echo is answered, the rest is refused. */
  #local(frame: Uint8Array, ip: Ipv4Packet, ingress: number, floating: boolean): number {
    if (!floating && !this.receiver && this.#isFloating(ip.dst)) {
      return this.#drop(DROP.not_receiver);
    }
    if (ip.protocol === PROTO_ICMP) {
      const icmp = IcmpPacket.checked(ip.payload);
      if (!icmp || !icmp.verifyChecksum()) return this.#drop(DROP.bad_icmp);
      if (icmp.type !== ICMP_ECHO_REQUEST) return this.#drop(DROP.icmp_unhandled);
      // RFC 792: swap addresses, type 0; reply to the sender's MAC directly.
      turnEchoReply(frame.subarray(0, 14 + ip.totalLength));
      frame.set(this.#cfg.interfaces[ingress]!.mac, 6);
      if (floating) frame.set(this.#cfg.virtualMacs[ingress]!, 6);
      this.#emit(ingress, frame.subarray(0, 14 + ip.totalLength));
      this.counters.add(EV.icmp_echo_replies);
      return V_REPLY;
    }
    return this.#refuse(frame, ip, ingress, DROP.local_unhandled);
  }

  /** Answers a packet nobody serves: TCP RST (RFC 9293 §3.10.7.1) or ICMP port unreachable. */
  #refuse(frame: Uint8Array, ip: Ipv4Packet, ingress: number, reason: number): number {
    this.counters.drop(reason);
    const srcMac = this.#isFloating(ip.dst)
      ? this.#cfg.virtualMacs[ingress]!
      : this.#cfg.interfaces[ingress]!.mac;
    const dstMac = frame.subarray(6, 12);
    const packet = frame.subarray(14, 14 + ip.totalLength);
    if (ip.protocol === PROTO_TCP) {
      const tcp = TcpSegment.checked(ip.payload);
      if (!tcp || (tcp.flags & TCP_RST) !== 0) return V_DROP;
      const n = buildTcpRst(this.#scratch, srcMac, dstMac, packet);
      if (n > 0) {
        this.#emit(ingress, this.#scratch.subarray(0, n));
        this.counters.add(EV.tcp_rst_sent);
      }
      return V_DROP;
    }
    if (ip.protocol === PROTO_UDP) {
      this.#sendIcmpError(
        ingress,
        srcMac,
        dstMac,
        ip.dst,
        ip.src,
        ICMP_DEST_UNREACHABLE,
        3,
        packet,
      );
    }
    return V_DROP;
  }

  #sendIcmpError(
    ingress: number,
    srcMac: Uint8Array,
    dstMac: Uint8Array,
    srcIp: number,
    dstIp: number,
    type: number,
    code: number,
    packet: Uint8Array,
  ): void {
    const n = buildIcmpError(this.#scratch, srcMac, dstMac, srcIp, dstIp, type, code, packet);
    if (n > 0) {
      this.#emit(ingress, this.#scratch.subarray(0, n));
      this.counters.add(EV.icmp_errors_sent);
    }
  }

  /** TCP and UDP through the NAT: find or create the flow, translate, deliver. */
  #flowPacket(frame: Uint8Array, ip: Ipv4Packet, ingress: number, now: number): number {
    const proto = ip.protocol;
    const l4 = ip.payload;
    let srcPort: number, dstPort: number, tcpFlags = 0;
    let tcp: TcpSegment | undefined;
    let udp: UdpDatagram | undefined;
    // A partial checksum (to be completed on output) or one the kernel already
    // checked (DATA_VALID) is not verified again.
    const csumKnown = (this.vnet[0]! & (VNET_NEEDS_CSUM | VNET_DATA_VALID)) !== 0;
    if (proto === PROTO_TCP) {
      tcp = TcpSegment.checked(l4);
      if (!tcp) return this.#drop(DROP.bad_tcp_header);
      if (!csumKnown && !tcp.verifyChecksum(ip.src, ip.dst)) {
        return this.#drop(DROP.bad_tcp_checksum);
      }
      srcPort = tcp.srcPort;
      dstPort = tcp.dstPort;
      tcpFlags = tcp.flags;
    } else {
      udp = UdpDatagram.checked(l4);
      if (!udp) return this.#drop(DROP.bad_udp_header);
      if (!csumKnown && !udp.verifyChecksum(ip.src, ip.dst)) {
        return this.#drop(DROP.bad_udp_checksum);
      }
      srcPort = udp.srcPort;
      dstPort = udp.dstPort;
    }
    const flows = this.flows;
    let ref = flows.lookup(proto, ip.src, srcPort, ip.dst, dstPort);
    let newFlow = false;
    if (ref < 0) {
      const svc = this.#serviceFor(proto, ip.dst, dstPort);
      if (svc < 0) {
        if (this.#isFloating(ip.dst)) return this.#refuse(frame, ip, ingress, DROP.no_service);
        return this.#drop(proto === PROTO_TCP ? DROP.tcp_no_flow : DROP.no_flow);
      }
      // Only a SYN opens a TCP flow; anything else without state is not ours to guess.
      if (proto === PROTO_TCP && (tcpFlags & (TCP_SYN | TCP_ACK | TCP_RST)) !== TCP_SYN) {
        return this.#drop(DROP.tcp_no_flow);
      }
      const flow = this.#createFlow(svc, proto, ip.src, srcPort, ip.dst, dstPort, now);
      if (flow < 0) return V_DROP;
      ref = flow * 2;
      newFlow = true;
    }
    if (ip.ttl <= 1) {
      // RFC 1812 §5.3.1: a router that would forward a packet with TTL ≤ 1 sends time exceeded.
      const iface = this.#cfg.interfaces[ingress]!;
      this.#sendIcmpError(
        ingress,
        iface.mac,
        frame.subarray(6, 12),
        iface.ip,
        ip.src,
        ICMP_TIME_EXCEEDED,
        0,
        frame.subarray(14, 14 + ip.totalLength),
      );
      if (newFlow) flows.remove(ref >> 1);
      return this.#drop(DROP.ttl_exceeded);
    }
    const f = ref >> 1;
    const reply = (ref & 1) === 1;
    // State tracking happens on the receiver; the record carries the result.
    if (proto === PROTO_TCP) {
      let fins = flows.tcpFlags[f]!;
      if (tcpFlags & TCP_FIN) fins |= reply ? FIN_REPLY : FIN_ORIG;
      const prev = flows.state[f]!;
      const next = nextTcpState(prev, reply, tcpFlags, fins);
      if (
        (prev === ST_TCP_TIME_WAIT || prev === ST_TCP_CLOSE) && next === ST_TCP_SYN_SENT
      ) fins = 0;
      flows.tcpFlags[f] = fins;
      flows.setState(f, next);
    } else if (reply && flows.state[f] === ST_UDP_NEW) {
      flows.setState(f, ST_UDP_STREAM);
    }
    flows.touch(f, ip.totalLength, now);
    this.#translate(ip, f, reply, tcp, udp);
    if (tcp) this.#trackSeq(f, reply, TcpSegment.checked(ip.payload)!);
    return this.#deliver(frame, ip, ingress, f, newFlow ? MF_NEW_FLOW : 0, now);
  }

  #createFlow(
    svc: number,
    proto: number,
    src: number,
    sport: number,
    dst: number,
    dport: number,
    now: number,
  ): number {
    const s = this.#cfg.services[svc]!;
    const hash = hashTuple(proto, src, sport, dst, dport, 0);
    const b = s.backends[this.#sched[svc]!.pick(hash)]!;
    let rDst = src, rDport = sport;
    if (s.snatIp !== 0) {
      // SNAT port: a random start then a linear probe (RFC 6056 algorithm 1 style).
      rDst = s.snatIp;
      rDport = -1;
      const start = this.#rng() % SNAT_PORT_SPAN;
      for (let i = 0; i < SNAT_PORT_SPAN && i < 4096; i++) {
        const p = SNAT_PORT_MIN + ((start + i) % SNAT_PORT_SPAN);
        if (this.flows.lookup(proto, b.ip, b.port, s.snatIp, p) < 0) {
          rDport = p;
          break;
        }
      }
      if (rDport < 0) {
        this.counters.drop(DROP.snat_ports_exhausted);
        return -1;
      }
    }
    const offset = proto === PROTO_TCP && s.randomizeIsn ? this.#rng() >>> 0 : 0;
    const state = proto === PROTO_TCP ? ST_TCP_SYN_SENT : ST_UDP_NEW;
    const f = this.flows.insert(
      { proto, srcIp: src, srcPort: sport, dstIp: dst, dstPort: dport },
      { proto, srcIp: b.ip, srcPort: b.port, dstIp: rDst, dstPort: rDport },
      state,
      svc,
      offset,
      now,
    );
    if (f < 0) {
      this.counters.drop(DROP.flow_table_full);
      return -1;
    }
    this.counters.add(EV.flows_created);
    return f;
  }

  /**
   * NAT rewrite with incremental checksums (RFC 1624): the original direction
   * becomes the reply tuple reversed, and the reply direction the original
   * tuple reversed. TTL is decremented (RFC 1812 §5.3.1).
   */
  #translate(
    ip: Ipv4Packet,
    f: number,
    reply: boolean,
    tcp: TcpSegment | undefined,
    udp: UdpDatagram | undefined,
  ): void {
    const ft = this.flows;
    const newSrc = reply ? ft.oDst[f]! : ft.rDst[f]!;
    const newDst = reply ? ft.oSrc[f]! : ft.rSrc[f]!;
    const newSport = reply ? ft.oDport[f]! : ft.rDport[f]!;
    const newDport = reply ? ft.oSport[f]! : ft.rSport[f]!;
    const oldSrc = ip.src, oldDst = ip.dst;
    let ipSum = ip.checksum;
    const ttl = ip.ttl;
    ipSum = adjust16(ipSum, (ttl << 8) | ip.protocol, ((ttl - 1) << 8) | ip.protocol);
    ip.ttl = ttl - 1;
    if (oldSrc !== newSrc) {
      ipSum = adjust32(ipSum, oldSrc, newSrc);
      ip.src = newSrc;
    }
    if (oldDst !== newDst) {
      ipSum = adjust32(ipSum, oldDst, newDst);
      ip.dst = newDst;
    }
    ip.checksum = ipSum;
    if ((this.vnet[0]! & VNET_NEEDS_CSUM) !== 0) {
      // CHECKSUM_PARTIAL: the field holds the uncomplemented pseudo-header
      // sum, completed over the segment on output. Only the addresses are in
      // it (Linux inet_proto_csum_replace4 for partial checksums); ports and
      // sequence numbers are summed later.
      const at = tcp ? 16 : 6;
      const l4 = ip.payload;
      let s = ((l4[at]! << 8) | l4[at + 1]!) ^ 0xffff;
      s = adjust32(adjust32(s, oldSrc, newSrc), oldDst, newDst) ^ 0xffff;
      if (tcp) {
        tcp.srcPort = newSport;
        tcp.dstPort = newDport;
        const off = ft.seqOffset[f]!;
        if (off !== 0 && !reply) tcp.seqNumber = (tcp.seqNumber + off) >>> 0;
        else if (off !== 0 && tcp.flags & TCP_ACK) tcp.ackNumber = (tcp.ackNumber - off) >>> 0;
      } else if (udp) {
        udp.srcPort = newSport;
        udp.dstPort = newDport;
      }
      l4[at] = s >> 8;
      l4[at + 1] = s & 255;
      return;
    }
    if (tcp) {
      let sum = tcp.checksum;
      sum = adjust32(adjust32(sum, oldSrc, newSrc), oldDst, newDst);
      sum = adjust16(adjust16(sum, tcp.srcPort, newSport), tcp.dstPort, newDport);
      tcp.srcPort = newSport;
      tcp.dstPort = newDport;
      const off = ft.seqOffset[f]!;
      if (off !== 0) {
        // Claims 23, 24: the client's sequence space is shifted by the flow's
        // offset on the way in, and the server's acks shifted back on the way out.
        if (!reply) {
          const s = tcp.seqNumber, ns = (s + off) >>> 0;
          sum = adjust32(sum, s, ns);
          tcp.seqNumber = ns;
        } else if (tcp.flags & TCP_ACK) {
          const a = tcp.ackNumber, na = (a - off) >>> 0;
          sum = adjust32(sum, a, na);
          tcp.ackNumber = na;
        }
      }
      tcp.checksum = sum;
    } else if (udp) {
      const old = udp.checksum, os = udp.srcPort, od = udp.dstPort;
      udp.srcPort = newSport;
      udp.dstPort = newDport;
      // RFC 768: a zero checksum means none was sent; keep it that way.
      if (old !== 0) {
        let sum = adjust32(adjust32(old, oldSrc, newSrc), oldDst, newDst);
        sum = adjust16(adjust16(sum, os, newSport), od, newDport);
        udp.checksum = sum === 0 ? 0xffff : sum;
      }
    }
  }

  /** Records the last sequence state leaving the pair in this direction (for the takeover nudge). */
  #trackSeq(f: number, reply: boolean, tcp: TcpSegment): void {
    const ft = this.flows;
    const flags = tcp.flags;
    let len = tcp.payload.length;
    if (flags & TCP_SYN) len++;
    if (flags & TCP_FIN) len++;
    const next = (tcp.seqNumber + len) >>> 0;
    const ts = findTimestamps(tcp.options);
    if (reply) {
      ft.rSeqNext[f] = next;
      ft.rAck[f] = tcp.ackNumber;
      ft.rWin[f] = tcp.window;
      if (ts >= 0) {
        ft.rTsVal[f] = readU32(tcp.options, ts);
        ft.rTsEcr[f] = readU32(tcp.options, ts + 4);
        ft.tcpFlags[f]! |= 2;
      }
    } else {
      ft.oSeqNext[f] = next;
      ft.oAck[f] = tcp.ackNumber;
      ft.oWin[f] = tcp.window;
      if (ts >= 0) {
        ft.oTsVal[f] = readU32(tcp.options, ts);
        ft.oTsEcr[f] = readU32(tcp.options, ts + 4);
        ft.tcpFlags[f]! |= 1;
      }
    }
  }

  /**
   * Hands a translated packet on: emits it (forwarder), mirrors it (peer
   * present), or both, once its next hop's MAC is known.
   */
  #deliver(
    frame: Uint8Array,
    ip: Ipv4Packet,
    ingress: number,
    f: number,
    flags: number,
    now: number,
  ): number {
    const dst = ip.dst;
    const egress = this.#route(dst);
    if (egress < 0) return this.#drop(DROP.no_route);
    const len = 14 + ip.totalLength;
    const out = frame.subarray(0, len);
    out.set(this.#cfg.interfaces[egress]!.mac, 6);
    const rec = this.#fillRecord(f, flags, ingress, egress, out, now);
    const mac = this.neighbors[egress]!.lookup(dst);
    if (!mac) {
      const q = this.neighbors[egress]!.enqueue(dst, out, rec, now);
      if (q < 0) return this.#drop(DROP.arp_queue_full);
      if (q > 0) this.#arpRequest(egress, dst);
      return V_QUEUED;
    }
    return this.#send(egress, out, mac, rec);
  }

  #fillRecord(
    f: number,
    flags: number,
    ingress: number,
    egress: number,
    frame: Uint8Array,
    now: number,
  ): MirrorRecord & { vnet: Uint8Array } {
    const ft = this.flows;
    const r = this.#rec;
    r.flags = flags;
    r.time = now;
    r.ingress = ingress;
    r.egress = egress;
    if (f < 0) {
      r.state = 0;
      r.service = 0;
      r.proto = 0;
      r.oSrc =
        r.oSport =
        r.oDst =
        r.oDport =
        r.rSrc =
        r.rSport =
        r.rDst =
        r.rDport =
          0;
      r.seqOffset = 0;
    } else {
      r.state = ft.state[f]!;
      r.service = ft.service[f]!;
      r.proto = ft.proto[f]!;
      r.oSrc = ft.oSrc[f]!;
      r.oSport = ft.oSport[f]!;
      r.oDst = ft.oDst[f]!;
      r.oDport = ft.oDport[f]!;
      r.rSrc = ft.rSrc[f]!;
      r.rSport = ft.rSport[f]!;
      r.rDst = ft.rDst[f]!;
      r.rDport = ft.rDport[f]!;
      r.seqOffset = ft.seqOffset[f]!;
    }
    r.vnet.set(this.vnet);
    r.frame = frame;
    return r;
  }

  /** Final step: set the next hop's MAC, then emit and/or mirror by role. */
  #send(egress: number, out: Uint8Array, mac: Uint8Array, rec: MirrorRecord): number {
    out.set(mac, 0);
    rec.nextHop.set(mac);
    rec.frame = out;
    const mirror = this.mirroring;
    if (this.forwarder) {
      if (mirror) {
        const hold = this.holdNewFlows && (rec.flags & MF_NEW_FLOW) !== 0;
        if (hold) rec.flags |= MF_WANT_ACK;
        const mseq = this.#sink.mirror(rec);
        this.counters.add(EV.mirror_out);
        if (hold) {
          this.counters.add(EV.held_new_flows);
          this.#sink.hold(egress, out, mseq, rec.vnet);
          return V_FORWARD;
        }
      }
      this.#emit(egress, out, rec.vnet);
      this.counters.add(EV.forwarded);
      return V_FORWARD;
    }
    if (!mirror) return this.#drop(DROP.not_receiver);
    rec.flags |= MF_PEER_EMITS;
    this.#sink.mirror(rec);
    this.counters.add(EV.mirror_out);
    return V_MIRROR;
  }

  #emit(iface: number, frame: Uint8Array, vnet?: Uint8Array): void {
    this.counters.add(EV.tx_packets);
    this.counters.add(EV.tx_bytes, frame.length);
    this.#sink.emit(iface, frame, vnet);
  }

  #arpRequest(iface: number, target: number): void {
    // Requests always come from the self address: only the receiver may speak
    // for a floating address, and a stray one would move it (DESIGN.md).
    const me = this.#cfg.interfaces[iface]!;
    const n = buildArpFrame(
      this.#scratch,
      ARP_REQUEST,
      me.mac,
      me.ip,
      ZERO_MAC,
      target,
      BROADCAST_MAC,
    );
    this.#emit(iface, this.#scratch.subarray(0, n));
    this.counters.add(EV.arp_requests);
  }

  #resolved(iface: number, ip: number, mac: Uint8Array, now: number): void {
    const queued = this.neighbors[iface]!.learn(ip, mac, now);
    if (!queued) return;
    for (const q of queued) this.#send(iface, q.frame, this.neighbors[iface]!.lookup(ip)!, q.rec);
  }

  /**
   * ICMP errors about a flow (RFC 5508 §4.2 for NAT behaviour): the embedded
   * packet is the one we sent, so its reversed tuple finds the flow; both the
   * outer and the embedded headers are translated back.
   */
  #icmpError(frame: Uint8Array, ip: Ipv4Packet, ingress: number, now: number): number {
    const icmp = IcmpPacket.checked(ip.payload);
    if (!icmp || !icmp.verifyChecksum()) return this.#drop(DROP.bad_icmp);
    if (icmp.type !== ICMP_DEST_UNREACHABLE && icmp.type !== ICMP_TIME_EXCEEDED) {
      return this.#drop(DROP.icmp_unhandled);
    }
    // The embedded packet is truncated (RFC 792: header + 8 bytes), so its
    // total length is allowed to exceed what is there.
    const emb = icmp.embedded;
    const ihl = (emb[0]! & 15) * 4;
    if (emb.length < 20 || emb[0]! >> 4 !== 4 || ihl < 20 || emb.length < ihl + 4) {
      return this.#drop(DROP.bad_icmp);
    }
    const inner = new Ipv4Packet(emb);
    const p = inner.protocol;
    if (p !== PROTO_TCP && p !== PROTO_UDP) return this.#drop(DROP.icmp_unhandled);
    const l4 = emb.subarray(ihl);
    const sport = (l4[0]! << 8) | l4[1]!, dport = (l4[2]! << 8) | l4[3]!;
    // The embedded packet went dst<-src; the error travels toward its source.
    const ref = this.flows.lookup(p, inner.dst, dport, inner.src, sport);
    if (ref < 0) return this.#drop(DROP.no_flow);
    const f = ref >> 1;
    const reply = (ref & 1) === 1;
    const ft = this.flows;
    // Where the error must go and what the original sender saw as its peer.
    const toIp = reply ? ft.oSrc[f]! : ft.rDst[f]!;
    const toPort = reply ? ft.oSport[f]! : ft.rDport[f]!;
    const peerIp = reply ? ft.oDst[f]! : ft.rSrc[f]!;
    const peerPort = reply ? ft.oDport[f]! : ft.rSport[f]!;
    if (ip.ttl <= 1) return this.#drop(DROP.ttl_exceeded);
    // Embedded: src = toIp:toPort, dst = peerIp:peerPort.
    inner.src = toIp;
    inner.dst = peerIp;
    l4[0] = toPort >> 8;
    l4[1] = toPort & 255;
    l4[2] = peerPort >> 8;
    l4[3] = peerPort & 255;
    inner.checksum = 0;
    inner.checksum = internetChecksum(icmp.embedded, 0, inner.headerLen);
    // Outer: from the address the sender talked to, toward the sender.
    const oldSrc = ip.src, oldDst = ip.dst;
    let sum = ip.checksum;
    sum = adjust16(sum, (ip.ttl << 8) | ip.protocol, ((ip.ttl - 1) << 8) | ip.protocol);
    ip.ttl = ip.ttl - 1;
    sum = adjust32(adjust32(sum, oldSrc, peerIp), oldDst, toIp);
    ip.src = peerIp;
    ip.dst = toIp;
    ip.checksum = sum;
    icmp.fillChecksum();
    this.flows.touch(f, ip.totalLength, now);
    return this.#deliverNoFlow(frame, ip, ingress, now);
  }

  #deliverNoFlow(frame: Uint8Array, ip: Ipv4Packet, ingress: number, now: number): number {
    const egress = this.#route(ip.dst);
    if (egress < 0) return this.#drop(DROP.no_route);
    const out = frame.subarray(0, 14 + ip.totalLength);
    out.set(this.#cfg.interfaces[egress]!.mac, 6);
    const rec = this.#fillRecord(-1, MF_NO_FLOW, ingress, egress, out, now);
    const mac = this.neighbors[egress]!.lookup(ip.dst);
    if (!mac) {
      const q = this.neighbors[egress]!.enqueue(ip.dst, out, rec, now);
      if (q < 0) return this.#drop(DROP.arp_queue_full);
      if (q > 0) this.#arpRequest(egress, ip.dst);
      return V_QUEUED;
    }
    return this.#send(egress, out, mac, rec);
  }

  // ---------------------------------------------------------------- peer side

  /**
   * Applies a packet the receiver processed (determinism rule): the flow is
   * created or updated from the record's tuples and state verbatim, the next
   * hop is learned, and the forwarder emits the frame with its own MAC.
   */
  applyMirror(rec: MirrorRecord, now: number): number {
    this.counters.add(EV.mirror_in);
    const frame = rec.frame;
    if (frame.length < 34 || rec.egress >= this.#cfg.interfaces.length) {
      return this.#drop(DROP.mirror_bad_record);
    }
    if ((rec.flags & MF_NO_FLOW) === 0) {
      const ft = this.flows;
      let ref = ft.lookup(rec.proto, rec.oSrc, rec.oSport, rec.oDst, rec.oDport);
      if (ref >= 0 && (ref & 1) === 1) ref = -1;
      let f: number;
      if (ref < 0) {
        if (rec.service >= this.#cfg.services.length) return this.#drop(DROP.mirror_bad_record);
        f = ft.insert(
          {
            proto: rec.proto,
            srcIp: rec.oSrc,
            srcPort: rec.oSport,
            dstIp: rec.oDst,
            dstPort: rec.oDport,
          },
          {
            proto: rec.proto,
            srcIp: rec.rSrc,
            srcPort: rec.rSport,
            dstIp: rec.rDst,
            dstPort: rec.rDport,
          },
          rec.state,
          rec.service,
          rec.seqOffset,
          rec.time,
        );
        if (f < 0) return this.#drop(DROP.flow_table_full);
        this.counters.add(EV.flows_created);
      } else {
        f = ref >> 1;
        ft.setState(f, rec.state);
      }
      ft.touch(f, frame.length - 14, rec.time);
      if (rec.proto === PROTO_TCP) {
        const ip = Ipv4Packet.checked(frame.subarray(14));
        const tcp = ip && TcpSegment.checked(ip.payload);
        if (ip && tcp) {
          const reply = ip.src === rec.rSrc && tcp.srcPort === rec.rSport;
          this.#trackSeq(f, reply, tcp);
          if (tcp.flags & TCP_FIN) ft.tcpFlags[f]! |= reply ? FIN_REPLY : FIN_ORIG;
        }
      }
    }
    // Learn where the next hop lives: after a takeover we already know it.
    const dstIp = (frame[30]! << 24 | frame[31]! << 16 | frame[32]! << 8 | frame[33]!) >>> 0;
    this.neighbors[rec.egress]!.learn(dstIp, rec.nextHop, now);
    // The sender decides who emits, so a role change in flight never duplicates or loses a packet.
    if ((rec.flags & MF_PEER_EMITS) === 0) return V_MIRROR;
    frame.set(rec.nextHop, 0);
    frame.set(this.#cfg.interfaces[rec.egress]!.mac, 6);
    this.#emit(rec.egress, frame, rec.vnet);
    this.counters.add(EV.forwarded);
    return V_FORWARD;
  }

  /** The receiver expired or closed a flow; drop ours too. */
  applyExpire(proto: number, srcIp: number, srcPort: number, dstIp: number, dstPort: number): void {
    const ref = this.flows.lookup(proto, srcIp, srcPort, dstIp, dstPort);
    if (ref >= 0 && (ref & 1) === 0) {
      this.flows.remove(ref >> 1);
      this.counters.add(EV.flows_expired);
    }
  }

  // ---------------------------------------------------------------- timers

  /**
   * Runs the reaper (receiver only: timer expiry is its decision) and ARP
   * timeouts. Returns the time it wants to run again.
   */
  tick(now: number): number {
    let next = now + 1000;
    for (let i = 0; i < this.neighbors.length; i++) {
      const { expired, retry, deadline } = this.neighbors[i]!.tick(now);
      if (expired > 0) this.counters.add(DROP.arp_unresolved, expired);
      for (const ip of retry) this.#arpRequest(i, ip);
      if (deadline < next) next = deadline;
    }
    if (this.receiver && now >= this.#nextReap) {
      this.#nextReap = this.flows.reap(now, 65536, (st) => this.#timeoutOf(st), (f) => {
        this.counters.add(EV.flows_expired);
        if (this.mirroring) {
          const ft = this.flows;
          this.#sink.expire(ft.proto[f]!, ft.oSrc[f]!, ft.oSport[f]!, ft.oDst[f]!, ft.oDport[f]!);
        }
      });
    }
    return Math.min(next, Math.max(this.#nextReap, now + 1));
  }

  #timeoutOf(state: number): number {
    const t = this.#cfg.timeouts;
    switch (state) {
      case ST_TCP_SYN_SENT:
      case ST_TCP_SYN_RECV:
        return t.tcpSyn;
      case ST_TCP_ESTABLISHED:
        return t.tcpEstablished;
      case ST_TCP_FIN_WAIT:
      case ST_TCP_LAST_ACK:
        return t.tcpFin;
      case ST_TCP_TIME_WAIT:
        return t.tcpTimeWait;
      case ST_TCP_CLOSE:
        return t.tcpClose;
      case ST_UDP_NEW:
        return t.udp;
      case ST_UDP_STREAM:
        return t.udpStream;
      case ST_ICMP:
        return t.icmp;
      default:
        return t.tcpClose;
    }
  }

  // ---------------------------------------------------------------- takeover

  /** Gratuitous ARP for every floating address (RFC 5227 §3), from the virtual MAC. */
  announce(): number {
    let n = 0;
    for (const fl of this.#cfg.floating) {
      const vmac = this.#cfg.virtualMacs[fl.iface]!;
      const len = buildArpFrame(
        this.#scratch,
        ARP_REQUEST,
        vmac,
        fl.ip,
        ZERO_MAC,
        fl.ip,
        BROADCAST_MAC,
      );
      this.#emit(fl.iface, this.#scratch.subarray(0, len));
      this.counters.add(EV.garp_sent);
      n++;
    }
    return n;
  }

  /**
   * After a takeover, sends each established TCP endpoint duplicate ACKs
   * carrying its peer's last sequence, ack, window and timestamps, so a
   * sender with segments lost in the failover fast-retransmits at once
   * (RFC 5681 §3.2) instead of waiting for its retransmission timer.
   * Senders with SACK (RACK, RFC 8985) ignore SACK-less duplicate ACKs, so
   * for them the stall stays bounded by their retransmission timer.
   */
  nudge(now: number, dupAcks = 3, recentMs = 2000, maxFlows = 20_000): number {
    let sent = 0, flows = 0;
    const ft = this.flows;
    for (const f of ft.ids()) {
      if (ft.proto[f] !== PROTO_TCP || ft.state[f] !== ST_TCP_ESTABLISHED) continue;
      // Only flows that were moving just now can have segments in flight; a
      // cap keeps the burst (and the loop's pause) bounded on a huge table.
      if (now - ft.lastSeen[f]! > recentMs || ++flows > maxFlows) continue;
      const flags = ft.tcpFlags[f]!;
      // Toward the client, as from the VIP: the server's last seq/ack as the client saw them.
      if (flags & 2 || (flags & 1) === 0) {
        sent += this.#dupAcks(
          f,
          ft.oDst[f]!,
          ft.oDport[f]!,
          ft.oSrc[f]!,
          ft.oSport[f]!,
          ft.rSeqNext[f]!,
          ft.rAck[f]!,
          ft.rWin[f]!,
          (flags & 2) !== 0,
          ft.rTsVal[f]!,
          ft.rTsEcr[f]!,
          dupAcks,
        );
      }
      // Toward the server, as from the client (or the SNAT address).
      sent += this.#dupAcks(
        f,
        ft.rDst[f]!,
        ft.rDport[f]!,
        ft.rSrc[f]!,
        ft.rSport[f]!,
        ft.oSeqNext[f]!,
        ft.oAck[f]!,
        ft.oWin[f]!,
        (flags & 1) !== 0,
        ft.oTsVal[f]!,
        ft.oTsEcr[f]!,
        dupAcks,
      );
    }
    this.counters.add(EV.nudges_sent, sent);
    return sent;
  }

  #dupAcks(
    _f: number,
    src: number,
    sport: number,
    dst: number,
    dport: number,
    seq: number,
    ack: number,
    win: number,
    ts: boolean,
    tsVal: number,
    tsEcr: number,
    count: number,
  ): number {
    const egress = this.#route(dst);
    if (egress < 0) return 0;
    const mac = this.neighbors[egress]!.lookup(dst);
    if (!mac) return 0;
    const b = this.#scratch;
    const optLen = ts ? 12 : 0;
    const ipLen = 20 + 20 + optLen;
    b.set(mac, 0);
    b.set(this.#cfg.interfaces[egress]!.mac, 6);
    b[12] = 0x08;
    b[13] = 0x00;
    const ipb = b.subarray(14, 14 + ipLen);
    ipb.fill(0);
    ipb[0] = 0x45;
    ipb[2] = ipLen >> 8;
    ipb[3] = ipLen & 255;
    ipb[6] = 0x40; // DF
    ipb[8] = 64;
    ipb[9] = PROTO_TCP;
    writeU32(ipb, 12, src);
    writeU32(ipb, 16, dst);
    const csum = internetChecksum(ipb, 0, 20);
    ipb[10] = csum >> 8;
    ipb[11] = csum & 255;
    const t = ipb.subarray(20);
    t[0] = sport >> 8;
    t[1] = sport & 255;
    t[2] = dport >> 8;
    t[3] = dport & 255;
    writeU32(t, 4, seq);
    writeU32(t, 8, ack);
    t[12] = ((20 + optLen) / 4) << 4;
    t[13] = TCP_ACK;
    t[14] = win >> 8;
    t[15] = win & 255;
    if (ts) {
      t[20] = OPT_NOP;
      t[21] = OPT_NOP;
      t[22] = OPT_TIMESTAMPS;
      t[23] = 10;
      writeU32(t, 24, tsVal);
      writeU32(t, 28, tsEcr);
    }
    const seg = TcpSegment.checked(t)!;
    seg.fillChecksum(src, dst);
    const frame = b.subarray(0, 14 + ipLen);
    for (let i = 0; i < count; i++) this.#emit(egress, frame);
    return count;
  }

  // ---------------------------------------------------------------- lookups

  #serviceFor(proto: number, ip: number, port: number): number {
    const s = this.#cfg.services;
    for (let i = 0; i < s.length; i++) {
      const v = s[i]!;
      if (v.proto === proto && v.vip === ip && v.port === port) return i;
    }
    return -1;
  }

  #isSelf(ip: number): boolean {
    const ifs = this.#cfg.interfaces;
    for (let i = 0; i < ifs.length; i++) if (ifs[i]!.ip === ip) return true;
    return false;
  }

  #isFloating(ip: number): boolean {
    const fl = this.#cfg.floating;
    for (let i = 0; i < fl.length; i++) if (fl[i]!.ip === ip) return true;
    return false;
  }

  #floatingOn(ip: number, iface: number): boolean {
    const fl = this.#cfg.floating;
    for (let i = 0; i < fl.length; i++) if (fl[i]!.ip === ip && fl[i]!.iface === iface) return true;
    return false;
  }

  /** Connected routes only: the interface whose subnet holds `ip`. */
  #route(ip: number): number {
    const ifs = this.#cfg.interfaces;
    for (let i = 0; i < ifs.length; i++) {
      const x = ifs[i]!;
      if (sameSubnet(ip, x.ip, x.prefix)) return i;
    }
    return -1;
  }
}

const ZERO_MAC = new Uint8Array(6);

function macAt(frame: Uint8Array, at: number, mac: Uint8Array): boolean {
  return frame[at] === mac[0] && frame[at + 1] === mac[1] && frame[at + 2] === mac[2] &&
    frame[at + 3] === mac[3] && frame[at + 4] === mac[4] && frame[at + 5] === mac[5];
}

function readU32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

function writeU32(b: Uint8Array, at: number, v: number): void {
  b[at] = v >>> 24;
  b[at + 1] = (v >>> 16) & 255;
  b[at + 2] = (v >>> 8) & 255;
  b[at + 3] = v & 255;
}

/** Offset of the timestamp values (TSval) in TCP options, or -1 (RFC 7323 §3). */
function findTimestamps(opts: Uint8Array): number {
  let i = 0;
  while (i < opts.length) {
    const kind = opts[i]!;
    if (kind === OPT_END) return -1;
    if (kind === OPT_NOP) {
      i++;
      continue;
    }
    const len = opts[i + 1];
    if (len === undefined || len < 2 || i + len > opts.length) return -1;
    if (kind === OPT_TIMESTAMPS && len === 10) return i + 2;
    i += len;
  }
  return -1;
}
