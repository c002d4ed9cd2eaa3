/**
 * Stage 4, NAT: rewrites a tracked packet for the other side, with incremental checksums
 * (RFC 1624). The original direction (client → VIP) leaves as the reply tuple reversed
 * (→ backend, from the SNAT address or the client); the reply direction leaves as the
 * original tuple reversed (VIP → client). TTL is decremented (RFC 1812 §5.3.1).
 *
 * With a sequence offset (claims 23, 24) the client's sequence numbers are shifted by the
 * offset on the way in; the server's acknowledgment number and SACK edges, which count in the
 * client's space, are shifted back on the way out (Linux `nf_ct_seq_adjust`,
 * `nf_ct_sack_adjust`). A SYN-proxied flow (`TB_OFF_REPLY`) is the mirror image: the backend
 * chose its own ISN while the client was given the cookie, so the server's sequence numbers are
 * shifted toward the client and the client's acknowledgments and SACK edges back.
 *
 * The checksum arithmetic is done here on small integers (the addresses' 16-bit words), and
 * the views only read and write fields: a 32-bit address passed into a call that V8 does not
 * inline is boxed, which would make garbage on every packet.
 * @module
 */
import {
  adjust16,
  adjust32,
  applyDelta,
  shiftSackBlocks,
  TCP_ACK,
  wordDelta32,
} from "../wire/mod.ts";
import { TB_OFF_REPLY } from "../flow/states.ts";
import { VNET_NEEDS_CSUM } from "./config.ts";
import type { EngineCtx } from "./context.ts";
import { K_FRAGMENT, K_TCP, type Packet } from "./packet.ts";

/** Translates `p` (of flow `p.flow`, direction `p.reply`) in place. */
export function nat(p: Packet, ctx: EngineCtx): void {
  const c = ctx.flows.c, f = p.flow, reply = p.reply;
  const newSrc = reply ? c.oDst[f]! : c.rDst[f]!;
  const newDst = reply ? c.oSrc[f]! : c.rSrc[f]!;
  const newSport = reply ? c.oDport[f]! : c.rDport[f]!;
  const newDport = reply ? c.oSport[f]! : c.rSport[f]!;
  const off = c.seqOffset[f]!;
  // Which direction's sequence numbers the offset moves: the client's (ISN randomisation) or,
  // for a SYN-proxied flow, the server's. `shiftSeq` says whether this packet's seq moves.
  const shiftSeq = ((c.tcpBits[f]! & TB_OFF_REPLY) !== 0) === reply;
  let addrDelta: number;
  if (p.v6) addrDelta = rewrite6(p, ctx, f, reply);
  else {
    const ip = p.ip;
    // One's-complement sum of the address words' change: the IP header and the L4
    // pseudo-header both cover the addresses.
    addrDelta = wordDelta32(ip.src, newSrc) + wordDelta32(ip.dst, newDst);
    const ttl = ip.ttl, proto = ip.protocol;
    ip.checksum = applyDelta(
      ip.checksum,
      addrDelta + (~((ttl << 8) | proto) & 0xffff) + (((ttl - 1) << 8) | proto),
    );
    ip.ttl = ttl - 1;
    ip.src = newSrc;
    ip.dst = newDst;
  }
  // A later fragment carries no L4 header: its datagram's checksum was updated, addresses
  // and ports included, in the first fragment.
  if (p.kind === K_FRAGMENT) return;
  const tcp = p.kind === K_TCP;
  if ((p.vnet[0]! & VNET_NEEDS_CSUM) !== 0) {
    partial(p, tcp, addrDelta, newSport, newDport, off, shiftSeq);
    return;
  }
  if (tcp) {
    const seg = p.tcp;
    let sum = applyDelta(seg.checksum, addrDelta);
    sum = adjust16(adjust16(sum, seg.srcPort, newSport), seg.dstPort, newDport);
    seg.srcPort = newSport;
    seg.dstPort = newDport;
    if (off !== 0) {
      if (shiftSeq) {
        const s = seg.seqNumber, ns = (s + off) >>> 0;
        sum = adjust32(sum, s, ns);
        seg.seqNumber = ns;
      } else if (seg.flags & TCP_ACK) {
        const a = seg.ackNumber, na = (a - off) >>> 0;
        sum = adjust32(sum, a, na);
        seg.ackNumber = na;
        seg.checksum = sum;
        shiftSackBlocks(seg, off, true);
        return;
      }
    }
    seg.checksum = sum;
  } else {
    const dg = p.udp;
    const old = dg.checksum;
    // RFC 768: a zero UDP checksum means none was sent; keep it that way. A computed zero is
    // sent as all ones. (IPv6 has no zero checksum: classify dropped those, RFC 8200 §8.1.)
    if (old !== 0) {
      let sum = applyDelta(old, addrDelta);
      sum = adjust16(adjust16(sum, dg.srcPort, newSport), dg.dstPort, newDport);
      dg.checksum = sum === 0 ? 0xffff : sum;
    }
    dg.srcPort = newSport;
    dg.dstPort = newDport;
  }
}

/**
 * CHECKSUM_PARTIAL (a TAP frame with VNET_NEEDS_CSUM): the L4 checksum field holds the
 * uncomplemented pseudo-header sum and the kernel completes it over the segment on output.
 * Only the addresses are in it (Linux `inet_proto_csum_replace4` for partial checksums);
 * ports, sequence numbers and SACK edges are summed later, so they are rewritten plainly.
 */
function partial(
  p: Packet,
  tcp: boolean,
  addrDelta: number,
  newSport: number,
  newDport: number,
  off: number,
  shiftSeq: boolean,
): void {
  const view = tcp ? p.tcp : p.udp;
  const s = applyDelta(view.checksum ^ 0xffff, addrDelta) ^ 0xffff;
  view.srcPort = newSport;
  view.dstPort = newDport;
  if (tcp && off !== 0) {
    const seg = p.tcp;
    if (shiftSeq) seg.seqNumber = (seg.seqNumber + off) >>> 0;
    else if (seg.flags & TCP_ACK) {
      seg.ackNumber = (seg.ackNumber - off) >>> 0;
      shiftSackBlocks(seg, off, false);
    }
  }
  view.checksum = s;
}

/**
 * The IPv6 header's part of the translation (RFC 8200): the four words of each address from
 * the flow's tuple, and the hop limit decremented (§3). There is no header checksum; the
 * returned sum of the address words' change goes into the L4 checksum's pseudo-header.
 *
 * The addresses are read and written as bytes and the new words taken from the flow here: a
 * 32-bit word passed to or returned from a call V8 does not inline is boxed, which would make
 * garbage per packet (real IPv6 addresses' words exceed V8's small integers).
 */
function rewrite6(p: Packet, ctx: EngineCtx, f: number, reply: boolean): number {
  const c = ctx.flows.c, w = newWords;
  // Leaving: the reply direction as the original tuple reversed, the original as the reply's.
  if (reply) {
    w[0] = c.oDstHi0[f]!, w[1] = c.oDstHi1[f]!, w[2] = c.oDstHi2[f]!, w[3] = c.oDst[f]!;
    w[4] = c.oSrcHi0[f]!, w[5] = c.oSrcHi1[f]!, w[6] = c.oSrcHi2[f]!, w[7] = c.oSrc[f]!;
  } else {
    w[0] = c.rDstHi0[f]!, w[1] = c.rDstHi1[f]!, w[2] = c.rDstHi2[f]!, w[3] = c.rDst[f]!;
    w[4] = c.rSrcHi0[f]!, w[5] = c.rSrcHi1[f]!, w[6] = c.rSrcHi2[f]!, w[7] = c.rSrc[f]!;
  }
  const ip = p.ip6, buf = p.buf, base = ip.off + 8; // source at 8, destination at 24
  let delta = 0;
  for (let k = 0; k < 8; k++) {
    const o = base + k * 4, v = w[k]!;
    const oldHi = (buf[o]! << 8) | buf[o + 1]!, oldLo = (buf[o + 2]! << 8) | buf[o + 3]!;
    // RFC 1624 eqn 3, word by word: ~m + m'.
    delta += (~oldHi & 0xffff) + (~oldLo & 0xffff) + (v >>> 16) + (v & 0xffff);
    buf[o] = v >>> 24;
    buf[o + 1] = (v >>> 16) & 0xff;
    buf[o + 2] = (v >>> 8) & 0xff;
    buf[o + 3] = v & 0xff;
  }
  ip.hopLimit = ip.hopLimit - 1;
  return delta;
}

/** The new source (0-3) and destination (4-7) words of `rewrite6`. */
const newWords = new Uint32Array(8);
