/**
 * IPv4 and IPv6 fragments of tracked flows (RFC 791 §2.3, §3.2; RFC 8200 §4.5): tracked, not
 * reassembled. Only the
 * first fragment (offset 0) carries the TCP or UDP header; it goes through conntrack and the
 * NAT like any packet, and leaves its datagram's key (src, dst, identification, protocol; an
 * IPv6 datagram's 32-bit identification from its Fragment header) →
 * (flow, direction) here. A later fragment finds its flow by that key and gets the address part
 * of the NAT and the IP checksum fix only (`nat.ts`): its payload, the rest of the L4 segment,
 * is not touched, and the first fragment's incremental L4 checksum update already covers the
 * whole datagram. Reassembly stays the endpoint's job, so a fragment costs no buffering, no
 * copy and no added latency (IPVS and stateless L4 balancers do the same).
 *
 * The table is bounded and allocation-free: fixed typed arrays, open addressing over a window
 * of {@link FRAG_PROBES} slots (a lookup scans the whole window, so freeing a slot needs no
 * tombstone). An entry ends when every byte of its datagram has passed (the last fragment,
 * MF clear, gives the length; fragments may come in any order after the first) or
 * {@link FRAG_LIFETIME_MS} after the first fragment (Linux `ipfrag_time`; RFC 791's reassembly
 * timer). A flood of first fragments fills at most the table: a first fragment whose window
 * holds only live entries is dropped (`fragment_table_full`), as its later fragments could not
 * be followed. A later fragment with no entry (it overtook its first, its first was dropped, or
 * it came too late) is dropped (`fragment_no_first`): holding it would need buffers, and the
 * endpoint's reassembly timer and the sender's retransmission recover the datagram.
 *
 * Both units keep the table: the receiver as it handles fragments, the peer from their mirror
 * records (`replica.ts`), so a survivor follows datagrams that were in flight at a takeover.
 * @module
 */
import type { Ipv4Packet, Ipv6Packet } from "../wire/mod.ts";
import type { EngineCtx } from "./context.ts";
import { DROP, EV } from "./counters.ts";
import { NEXT } from "./output.ts";
import type { Packet } from "./packet.ts";

/** Slots in the table (a power of two): 8192 datagrams in flight, about 290 KiB. */
export const FRAG_SLOTS = 8192;
/** Slots a key may live in, from its hash on. */
export const FRAG_PROBES = 8;
/** How long a datagram's fragments are followed after its first (Linux `ipfrag_time`). */
export const FRAG_LIFETIME_MS = 30_000;
/**
 * Words of a key: source, destination, identification (IPv4: `ident << 8 | protocol`), IPv6
 * protocol (`0x100 | protocol`, 0 for IPv4), then the high words of an IPv6 source (4-6) and
 * destination (7-9), zero for IPv4.
 */
export const FRAG_KEY_WORDS = 10;

export class FragmentTable {
  /**
   * The key of the next `find` or `insert`: source, destination, (identification << 8 |
   * protocol), as the sender sent them (before the NAT). Callers fill it in place, so no
   * 32-bit address is passed as an argument (which could box it).
   */
  readonly key: Uint32Array = new Uint32Array(FRAG_KEY_WORDS);
  /** The key of each slot, {@link FRAG_KEY_WORDS} words each. */
  readonly #keys: Uint32Array;
  /** flow * 2 + (reply ? 1 : 0); -1 for a free slot. */
  readonly ref: Int32Array;
  /**
   * The first fragment's ports (sport << 16 | dport): a later fragment checks them against its
   * flow's tuple, so a flow row that ended and was reused by another flow between the same
   * hosts is never taken for the datagram's.
   */
  readonly ports: Uint32Array;
  readonly #expires: Float64Array;
  /** Payload bytes of the datagram seen so far, and its whole length (0 until the last fragment). */
  readonly #seen: Uint32Array;
  readonly #total: Uint32Array;
  readonly #mask: number;

  constructor(slots = FRAG_SLOTS) {
    if (slots < FRAG_PROBES || (slots & (slots - 1)) !== 0) {
      throw new RangeError(`fragment table slots must be a power of two ≥ ${FRAG_PROBES}`);
    }
    this.#keys = new Uint32Array(slots * FRAG_KEY_WORDS);
    this.ref = new Int32Array(slots).fill(-1);
    this.ports = new Uint32Array(slots);
    this.#expires = new Float64Array(slots);
    this.#seen = new Uint32Array(slots);
    this.#total = new Uint32Array(slots);
    this.#mask = slots - 1;
  }

  get slots(): number {
    return this.ref.length;
  }

  /** Live entries at `now` (a full scan: for tests and status, not the data path). */
  live(now: number): number {
    let n = 0;
    for (let i = 0; i < this.ref.length; i++) if (this.ref[i]! >= 0 && this.#expires[i]! > now) n++;
    return n;
  }

  #hash(): number {
    const k = this.key;
    let h = Math.imul(k[0]! ^ 0x9e3779b9, 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13) ^ k[1]!, 0xc2b2ae35);
    h = Math.imul(h ^ (h >>> 16) ^ k[2]!, 0x27d4eb2f);
    // IPv6: the protocol and the high address words too.
    for (let w = 3; w < FRAG_KEY_WORDS; w++) {
      if (k[w] !== 0) h = Math.imul(h ^ (h >>> 15) ^ k[w]! ^ w, 0x85ebca6b);
    }
    return (h ^ (h >>> 15)) & this.#mask;
  }

  #matches(i: number): boolean {
    const k = this.key, keys = this.#keys, at = i * FRAG_KEY_WORDS;
    for (let w = 0; w < FRAG_KEY_WORDS; w++) if (keys[at + w] !== k[w]) return false;
    return true;
  }

  /** The slot holding `key` and still live at `now`, or -1. */
  find(now: number): number {
    const h = this.#hash(), mask = this.#mask;
    for (let j = 0; j < FRAG_PROBES; j++) {
      const i = (h + j) & mask;
      if (this.ref[i]! >= 0 && this.#matches(i)) {
        if (this.#expires[i]! > now) return i;
        this.ref[i] = -1;
        return -1;
      }
    }
    return -1;
  }

  /**
   * Starts following `key`'s datagram, whose first fragment has ports `sport`/`dport`, for flow
   * reference `ref`: its slot, or
   * -1 when every slot of its window holds another live datagram. A first fragment seen again
   * (a retransmission with the same identification) starts its entry over.
   */
  insert(ref: number, sport: number, dport: number, now: number): number {
    const h = this.#hash(), mask = this.#mask;
    let free = -1;
    for (let j = 0; j < FRAG_PROBES; j++) {
      const i = (h + j) & mask;
      if (this.ref[i]! < 0 || this.#expires[i]! <= now) {
        if (free < 0) free = i;
      } else if (this.#matches(i)) {
        free = i;
        break;
      }
    }
    if (free < 0) return -1;
    this.#keys.set(this.key, free * FRAG_KEY_WORDS);
    this.ref[free] = ref;
    this.ports[free] = ((sport << 16) | dport) >>> 0;
    this.#expires[free] = now + FRAG_LIFETIME_MS;
    this.#seen[free] = 0;
    this.#total[free] = 0;
    return free;
  }

  /**
   * Counts a fragment of `slot`'s datagram: `len` payload bytes at byte offset `offset`, `more`
   * = MF. Frees the slot once every byte has passed; true then.
   */
  account(slot: number, offset: number, len: number, more: boolean): boolean {
    const seen = this.#seen[slot]! + len;
    this.#seen[slot] = seen;
    if (!more) this.#total[slot] = offset + len;
    const total = this.#total[slot]!;
    if (total !== 0 && seen >= total) {
      this.ref[slot] = -1;
      return true;
    }
    return false;
  }

  /** Forgets `slot` (its flow is gone). */
  free(slot: number): void {
    this.ref[slot] = -1;
  }

  /** Forgets everything. */
  clear(): void {
    this.ref.fill(-1);
  }
}

/** Fills `fr.key` with the datagram key of the packet `p` as it arrived. */
function keyOf(fr: FragmentTable, p: Packet): void {
  const k = fr.key;
  if (p.v6) {
    const ip = p.ip6;
    k[0] = ip.src(3);
    k[1] = ip.dst(3);
    k[2] = ip.fragmentId;
    k[3] = 0x100 | ip.protocol;
    const hi = p.hi;
    for (let w = 0; w < 6; w++) k[4 + w] = hi[w]!;
    return;
  }
  const ip = p.ip;
  k[0] = ip.src;
  k[1] = ip.dst;
  k[2] = ((ip.ident << 8) | ip.protocol) >>> 0;
  for (let w = 3; w < FRAG_KEY_WORDS; w++) k[w] = 0;
}

/** Payload bytes of the fragment `p` (after the IPv4 header or the IPv6 Fragment header). */
function fragmentBytes(p: Packet): number {
  if (p.v6) return p.ip6.packetEnd - (p.ip6.fragOff + 8);
  return p.ip.totalLength - p.ip.headerLen;
}

/** The fragment's offset in bytes and its More Fragments flag, of either family. */
function fragOffset(p: Packet): number {
  return p.v6 ? p.ip6.fragmentOffset : p.ip.fragmentOffset;
}
function fragMore(p: Packet): boolean {
  return p.v6 ? p.ip6.moreFragments : p.ip.moreFragments;
}

/**
 * Stage 3 for a later fragment (instead of conntrack): the flow its datagram's first fragment
 * found, with its direction. NEXT with `p.flow` and `p.reply` set, or a drop.
 */
export function laterFragment(p: Packet, ctx: EngineCtx): number {
  const fr = ctx.frags, k = fr.key;
  keyOf(fr, p);
  const slot = fr.find(p.now);
  if (slot < 0) return ctx.drop(DROP.fragment_no_first);
  const ref = fr.ref[slot]!, f = ref >> 1, reply = (ref & 1) === 1;
  const ft = ctx.flows, c = ft.c, ports = fr.ports[slot]!;
  // The flow may have ended and its row been reused since the first fragment passed: the
  // row's tuple in this direction must still be the first fragment's.
  if (
    !ft.live(f) || c.proto[f] !== p.proto ||
    (reply
      ? c.rSrc[f] !== k[0] || c.rDst[f] !== k[1] || c.rSport[f] !== ports >>> 16 ||
        c.rDport[f] !== (ports & 0xffff) || !sameHi(ft.hiOf(f, true, rowHi), k)
      : c.oSrc[f] !== k[0] || c.oDst[f] !== k[1] || c.oSport[f] !== ports >>> 16 ||
        c.oDport[f] !== (ports & 0xffff) || !sameHi(ft.hiOf(f, false, rowHi), k))
  ) {
    fr.free(slot);
    return ctx.drop(DROP.fragment_no_first);
  }
  // RFC 1812 §5.3.1, without the time-exceeded error: none is sent about a later fragment
  // (RFC 1812 §4.3.2.7).
  if (p.ttl <= 1) return ctx.drop(DROP.ttl_exceeded);
  p.flow = f;
  p.reply = reply;
  ft.touch(f, p.ipEnd - p.l3, p.now);
  fr.account(slot, fragOffset(p), fragmentBytes(p), fragMore(p));
  ctx.counters.add(EV.fragments_forwarded);
  return NEXT;
}

/**
 * A first fragment passed conntrack and the MTU check: follow its datagram. NEXT, or a drop
 * when the table has no room for it (its later fragments could not be translated).
 */
export function firstFragment(p: Packet, ctx: EngineCtx): number {
  const fr = ctx.frags;
  keyOf(fr, p);
  const slot = fr.insert(p.flow * 2 + (p.reply ? 1 : 0), p.sport, p.dport, p.now);
  if (slot < 0) {
    // The peer has not heard of a flow this packet created: it goes with the packet.
    if (p.created) ctx.flows.remove(p.flow);
    return ctx.drop(DROP.fragment_table_full);
  }
  fr.account(slot, 0, fragmentBytes(p), fragMore(p));
  ctx.counters.add(EV.fragments_forwarded);
  return NEXT;
}

const rowHi = new Uint32Array(6);

/** A flow direction's high address words (`hiOf`) against a key's (words 4-9). */
function sameHi(hi: Uint32Array, k: Uint32Array): boolean {
  for (let w = 0; w < 6; w++) if (hi[w] !== k[4 + w]) return false;
  return true;
}

/**
 * The peer's side (`replica.ts`): follows the fragment `ip`, already translated, of flow `f`
 * from its mirror record, so that a survivor of a takeover knows the datagrams in flight. The
 * key is the sender's, taken from the flow's tuples.
 */
export function learnFragment(ctx: EngineCtx, ip: Ipv4Packet, f: number, now: number): void {
  const c = ctx.flows.c, fr = ctx.frags, k = fr.key;
  // Translated, the reply direction goes from the VIP to the client (oDst → oSrc).
  const reply = ip.src === c.oDst[f] && ip.dst === c.oSrc[f];
  k[0] = reply ? c.rSrc[f]! : c.oSrc[f]!;
  k[1] = reply ? c.rDst[f]! : c.oDst[f]!;
  k[2] = ((ip.ident << 8) | ip.protocol) >>> 0;
  for (let w = 3; w < FRAG_KEY_WORDS; w++) k[w] = 0;
  const offset = ip.fragmentOffset;
  const slot = offset === 0
    ? fr.insert(
      f * 2 + (reply ? 1 : 0),
      reply ? c.rSport[f]! : c.oSport[f]!,
      reply ? c.rDport[f]! : c.oDport[f]!,
      now,
    )
    : fr.find(now);
  if (slot >= 0) fr.account(slot, offset, ip.totalLength - ip.headerLen, ip.moreFragments);
}

/** {@link learnFragment} for an IPv6 fragment (already translated) of flow `f`. */
export function learnFragment6(ctx: EngineCtx, ip: Ipv6Packet, f: number, now: number): void {
  const ft = ctx.flows, c = ft.c, fr = ctx.frags, k = fr.key;
  // Translated, the reply direction goes from the VIP to the client (oDst → oSrc).
  const reply = ip.src(3) === c.oDst[f] && ip.dst(3) === c.oSrc[f] &&
    ip.src(0) === c.oDstHi0[f] && ip.src(1) === c.oDstHi1[f] && ip.src(2) === c.oDstHi2[f] &&
    ip.dst(0) === c.oSrcHi0[f] && ip.dst(1) === c.oSrcHi1[f] && ip.dst(2) === c.oSrcHi2[f];
  k[0] = reply ? c.rSrc[f]! : c.oSrc[f]!;
  k[1] = reply ? c.rDst[f]! : c.oDst[f]!;
  k[2] = ip.fragmentId;
  k[3] = 0x100 | ip.protocol;
  const hi = ft.hiOf(f, reply, rowHi);
  for (let w = 0; w < 6; w++) k[4 + w] = hi[w]!;
  const offset = ip.fragmentOffset;
  const slot = offset === 0
    ? fr.insert(
      f * 2 + (reply ? 1 : 0),
      reply ? c.rSport[f]! : c.oSport[f]!,
      reply ? c.rDport[f]! : c.oDport[f]!,
      now,
    )
    : fr.find(now);
  if (slot >= 0) fr.account(slot, offset, ip.packetEnd - (ip.fragOff + 8), ip.moreFragments);
}
