/**
 * Stage 1, classify: is the frame for us, what does it carry, and is it well formed? Points
 * the packet's views at the headers and fills in ports, flags and the address class, or drops
 * the frame under its reason. Nothing after this stage re-validates a header.
 * @module
 */
import {
  ETHERNET_HEADER_LEN,
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  ETHERTYPE_IPV6,
  ETHERTYPE_VLAN,
  NDP_NEIGHBOR_ADVERT,
  NDP_NEIGHBOR_SOLICIT,
  PROTO_ICMP,
  PROTO_ICMPV6,
  PROTO_TCP,
  PROTO_UDP,
  pseudoHeaderSum,
} from "../wire/mod.ts";

import { VNET_DATA_VALID, VNET_NEEDS_CSUM } from "./config.ts";
import type { EngineCtx } from "./context.ts";
import { DROP, EV } from "./counters.ts";
import { NEXT, V_RELAY } from "./output.ts";
import {
  K_ARP,
  K_FRAGMENT,
  K_ICMP,
  K_IP_OTHER,
  K_NDP,
  K_TCP,
  K_UDP,
  type Packet,
} from "./packet.ts";

/** Classifies `p`; returns NEXT, or a drop verdict (counted). */
export function classify(p: Packet, ctx: EngineCtx): number {
  if (p.end - p.off < ETHERNET_HEADER_LEN) return ctx.drop(DROP.truncated_frame);
  const iface = ctx.cfg.interfaces[p.ingress];
  if (!iface) return ctx.drop(DROP.no_route);
  const eth = p.eth;
  eth.check(p.buf, p.off, p.end);
  // Frames to our MAC, to the virtual MAC while receiver, and broadcast/multicast.
  const toVirtual = eth.dstIs(ctx.cfg.virtualMacs[p.ingress]!);
  const toUs = eth.dstIs(iface.mac) || (ctx.roles.receiver && toVirtual) || eth.isGroupDst;
  p.viaVirtual = toVirtual;
  if (!toUs) {
    if (toVirtual && ctx.roles.relay) {
      // A planned switchover moved the receiver role: frames the switches still send here go
      // to the new receiver as they are, so none waits on a retransmission timer.
      ctx.out.relay(p.ingress, p.buf, p.off, p.end, p.vnet);
      ctx.counters.add(EV.relayed);
      return V_RELAY;
    }
    return ctx.drop(DROP.not_for_us);
  }
  const type = eth.etherType;
  if (type === ETHERTYPE_ARP) {
    if (!p.arp.check(p.buf, eth.payloadOff, p.end)) return ctx.drop(DROP.bad_arp);
    p.kind = K_ARP;
    return NEXT;
  }
  // The edge strips the tags of configured VLANs (unit/trunk.ts): a tag here is for a VLAN not
  // configured on this TAP, and passing it through would leak frames between VLANs.
  if (type === ETHERTYPE_VLAN) return ctx.drop(DROP.vlan_unknown);
  if (type === ETHERTYPE_IPV6) return classifyIpv6(p, ctx);
  if (type !== ETHERTYPE_IPV4) return ctx.drop(DROP.unknown_ethertype);
  return classifyIpv4(p, ctx);
}

function classifyIpv4(p: Packet, ctx: EngineCtx): number {
  const ip = p.ip;
  if (!ip.check(p.buf, p.eth.payloadOff, p.end)) return ctx.drop(DROP.bad_ipv4_header);
  if (!ip.verifyChecksum()) return ctx.drop(DROP.bad_ipv4_checksum);
  const hi = p.hi;
  hi[0] =
    hi[1] =
    hi[2] =
    hi[3] =
    hi[4] =
    hi[5] =
      0;
  p.proto = ip.protocol;
  // The address scans are inline on purpose: a 32-bit address handed to a call V8 does not
  // inline is boxed, which would make garbage on every packet.
  const dst = ip.dst, selfs = ctx.selfAddrs, floats = ctx.floatingAddrs;
  let toSelf = false, toFloating = false;
  for (let i = 0; i < selfs.length; i++) if (selfs[i] === dst) toSelf = true;
  for (let i = 0; i < floats.length; i++) if (floats[i] === dst) toFloating = !toSelf;
  p.toSelf = toSelf;
  p.toFloating = toFloating;
  if (ip.isFragment) {
    const v = classifyFragment(p, ctx);
    if (v !== NEXT || p.kind === K_FRAGMENT) return v;
  }
  // A partial checksum (to be completed on output) or one the kernel already checked
  // (DATA_VALID) is not verified again.
  // A first fragment's L4 checksum covers the whole datagram, most of which is not here: it
  // cannot be verified, only updated (the endpoint verifies it after reassembly).
  const csumKnown = p.firstFragment ||
    (p.vnet[0]! & (VNET_NEEDS_CSUM | VNET_DATA_VALID)) !== 0;
  switch (ip.protocol) {
    case PROTO_TCP: {
      const tcp = p.tcp;
      if (!tcp.check(p.buf, ip.payloadOff, ip.packetEnd)) return ctx.drop(DROP.bad_tcp_header);
      if (
        !csumKnown && !tcp.verifyWithPseudo(pseudoHeaderSum(ip.src, dst, PROTO_TCP, tcp.length))
      ) {
        return ctx.drop(DROP.bad_tcp_checksum);
      }
      p.kind = K_TCP;
      p.sport = tcp.srcPort;
      p.dport = tcp.dstPort;
      p.tcpFlags = tcp.flags;
      return NEXT;
    }
    case PROTO_UDP: {
      const udp = p.udp;
      if (
        !(p.firstFragment
          ? udp.checkHeader(p.buf, ip.payloadOff, ip.packetEnd)
          : udp.check(p.buf, ip.payloadOff, ip.packetEnd))
      ) {
        return ctx.drop(DROP.bad_udp_header);
      }
      if (
        !csumKnown && !udp.verifyWithPseudo(pseudoHeaderSum(ip.src, dst, PROTO_UDP, udp.length))
      ) {
        return ctx.drop(DROP.bad_udp_checksum);
      }
      p.kind = K_UDP;
      p.sport = udp.srcPort;
      p.dport = udp.dstPort;
      return NEXT;
    }
    case PROTO_ICMP: {
      const icmp = p.icmp;
      if (!icmp.check(p.buf, ip.payloadOff, ip.packetEnd) || !icmp.verifyChecksum()) {
        return ctx.drop(DROP.bad_icmp);
      }
      p.kind = K_ICMP;
      return NEXT;
    }
    default:
      p.kind = K_IP_OTHER;
      return NEXT;
  }
}

/**
 * IPv4 fragments (RFC 791): those of TCP and UDP through the unit are followed
 * (`fragments.ts`); fragments to a self address or of another protocol are dropped as
 * `ipv4_fragment` (the unit reassembles nothing). A later fragment becomes K_FRAGMENT; a first
 * one goes on as TCP or UDP with `firstFragment` set. NEXT, or a drop.
 */
function classifyFragment(p: Packet, ctx: EngineCtx): number {
  const ip = p.ip, proto = ip.protocol;
  if (p.toSelf || (proto !== PROTO_TCP && proto !== PROTO_UDP)) {
    return ctx.drop(DROP.ipv4_fragment);
  }
  // The kernel fragments after completing checksums: a fragment that asks for a checksum to be
  // completed, or to be segmented, on output is a lie. (DATA_VALID is harmless: a fragment's
  // L4 checksum is not verified here anyway.)
  if ((p.vnet[0]! & VNET_NEEDS_CSUM) !== 0 || p.vnet[1] !== 0) {
    return ctx.drop(DROP.bad_fragment);
  }
  const offset = ip.fragmentOffset;
  if (offset === 0) {
    // The first fragment must hold the whole L4 header (classify checks it below) and cannot
    // be the last one: MF clear at offset 0 is no fragment.
    p.firstFragment = true;
    return NEXT;
  }
  // RFC 1858 §3.2: a TCP fragment at offset 8 overlaps the header's flags and could rewrite
  // them after the first fragment passed (the RFC 1858 "overlapping fragment" attack).
  if (proto === PROTO_TCP && offset === 8) return ctx.drop(DROP.bad_fragment);
  p.kind = K_FRAGMENT;
  return NEXT;
}

/**
 * IPv6 (RFC 8200): the header and its extension headers, then TCP, UDP or ICMPv6 as for IPv4.
 * There is no header checksum; the L4 checksums cover the RFC 8200 §8.1 pseudo-header, and a
 * zero UDP checksum is invalid (§8.1). Neighbour discovery goes to its own stage (`K_NDP`).
 */
function classifyIpv6(p: Packet, ctx: EngineCtx): number {
  const ip = p.ip6;
  if (!ip.check(p.buf, p.eth.payloadOff, p.end)) return ctx.drop(DROP.bad_ipv6_header);
  p.v6 = true;
  // The addresses as words (`src6`, `dst6`), and their high words as lookups take them (`hi`).
  const hi = p.hi, s6 = p.src6, d6 = p.dst6;
  ip.copySrc(s6);
  ip.copyDst(d6);
  hi[0] = s6[0]!, hi[1] = s6[1]!, hi[2] = s6[2]!;
  hi[3] = d6[0]!, hi[4] = d6[1]!, hi[5] = d6[2]!;
  const toSelf = ctx.self6Iface(d6) >= 0;
  p.toSelf = toSelf;
  p.toFloating = !toSelf && ctx.floating6Index(d6) >= 0;
  const proto = ip.protocol;
  p.proto = proto;
  if (ip.isFragment) {
    const v = classifyFragment6(p, ctx);
    if (v !== NEXT || p.kind === K_FRAGMENT) return v;
  }
  const csumKnown = p.firstFragment ||
    (p.vnet[0]! & (VNET_NEEDS_CSUM | VNET_DATA_VALID)) !== 0;
  const l4 = ip.payloadOff, end = ip.packetEnd;
  switch (proto) {
    case PROTO_TCP: {
      const tcp = p.tcp;
      if (!tcp.check(p.buf, l4, end)) return ctx.drop(DROP.bad_tcp_header);
      if (!csumKnown && !tcp.verifyWithPseudo(ip.pseudoSum(tcp.length, PROTO_TCP))) {
        return ctx.drop(DROP.bad_tcp_checksum);
      }
      p.kind = K_TCP;
      p.sport = tcp.srcPort;
      p.dport = tcp.dstPort;
      p.tcpFlags = tcp.flags;
      return NEXT;
    }
    case PROTO_UDP: {
      const udp = p.udp;
      if (
        !(p.firstFragment ? udp.checkHeader(p.buf, l4, end) : udp.check(p.buf, l4, end))
      ) {
        return ctx.drop(DROP.bad_udp_header);
      }
      if (
        !csumKnown &&
        (udp.checksum === 0 || !udp.verifyWithPseudo(ip.pseudoSum(udp.length, PROTO_UDP)))
      ) {
        return ctx.drop(DROP.bad_udp_checksum);
      }
      p.kind = K_UDP;
      p.sport = udp.srcPort;
      p.dport = udp.dstPort;
      return NEXT;
    }
    case PROTO_ICMPV6: {
      const icmp = p.icmp6;
      if (
        !icmp.check(p.buf, l4, end) ||
        !icmp.verifyChecksum(ip.pseudoSum(end - l4, PROTO_ICMPV6))
      ) {
        return ctx.drop(DROP.bad_icmp);
      }
      // `p.icmp` reads type and code at the same offsets for the stages after this one.
      p.icmp.check(p.buf, l4, end);
      const t = icmp.type;
      p.kind = t === NDP_NEIGHBOR_SOLICIT || t === NDP_NEIGHBOR_ADVERT ? K_NDP : K_ICMP;
      return NEXT;
    }
    default:
      p.kind = K_IP_OTHER;
      return NEXT;
  }
}

/**
 * IPv6 fragments (RFC 8200 §4.5), followed as IPv4 ones are (`fragments.ts`). The upper-layer
 * header is only in the first fragment (offset 0, M set), which RFC 8200 §4.5 requires to
 * hold the whole header chain and RFC 7112 the whole upper-layer header.
 */
function classifyFragment6(p: Packet, ctx: EngineCtx): number {
  const ip = p.ip6, proto = ip.protocol;
  if (p.toSelf || (proto !== PROTO_TCP && proto !== PROTO_UDP)) {
    return ctx.drop(DROP.ipv6_fragment);
  }
  if ((p.vnet[0]! & VNET_NEEDS_CSUM) !== 0 || p.vnet[1] !== 0) {
    return ctx.drop(DROP.bad_fragment);
  }
  if (ip.fragmentOffset === 0) {
    p.firstFragment = true;
    return NEXT;
  }
  p.kind = K_FRAGMENT;
  return NEXT;
}
