/**
 * The connection table: one record per connection with an original and a
 * reply tuple (as nf_conntrack and gVisor `stack/conntrack.go` do), laid out
 * as struct-of-arrays in typed arrays so a million flows cost no GC work.
 *
 * The index is open addressing with linear probing and backward-shift
 * deletion (no tombstones), holding two references per flow: one per
 * direction. A reference is `flow * 2 + dir` (`dir` 0 = original, 1 = reply).
 *
 * The table keeps an order-independent digest (XOR of a 64-bit hash of each
 * flow's replicated fields) up to date on every change, so two units can
 * prove their tables identical in O(1) (DESIGN.md "Determinism rule").
 * @module
 */

/** Flow states. TCP after RFC 9293 §3.3.2, condensed as conntrack does. */
export const ST_TCP_SYN_SENT = 1;
export const ST_TCP_SYN_RECV = 2;
export const ST_TCP_ESTABLISHED = 3;
export const ST_TCP_FIN_WAIT = 4;
export const ST_TCP_CLOSE_WAIT = 5;
export const ST_TCP_LAST_ACK = 6;
export const ST_TCP_TIME_WAIT = 7;
export const ST_TCP_CLOSE = 8;
export const ST_UDP_NEW = 9;
export const ST_UDP_STREAM = 10;
export const ST_ICMP = 11;

export const STATE_NAMES: readonly string[] = [
  "none",
  "syn_sent",
  "syn_recv",
  "established",
  "fin_wait",
  "close_wait",
  "last_ack",
  "time_wait",
  "close",
  "udp_new",
  "udp_stream",
  "icmp",
];

/** A 5-tuple, used only off the hot path (sync, tests, API). */
export interface Tuple {
  proto: number;
  srcIp: number;
  srcPort: number;
  dstIp: number;
  dstPort: number;
}

/** Everything the peer must know to hold the same flow (claims 20, 21). */
export interface FlowEntry {
  orig: Tuple;
  reply: Tuple;
  state: number;
  service: number;
  seqOffset: number;
  packets: number;
  bytes: number;
  created: number;
  lastSeen: number;
}

const EMPTY = 0;

export class FlowTable {
  readonly capacity: number;
  #count = 0;
  #digestLo = 0;
  #digestHi = 0;

  // Per-flow fields.
  readonly proto: Uint8Array;
  readonly state: Uint8Array;
  readonly service: Uint16Array;
  readonly oSrc: Uint32Array;
  readonly oDst: Uint32Array;
  readonly oSport: Uint16Array;
  readonly oDport: Uint16Array;
  readonly rSrc: Uint32Array;
  readonly rDst: Uint32Array;
  readonly rSport: Uint16Array;
  readonly rDport: Uint16Array;
  /** TCP sequence offset added client→server and subtracted server→client (claims 23, 24). */
  readonly seqOffset: Uint32Array;
  /**
   * Last TCP sequence state seen leaving the pair in each direction (after
   * translation): next sequence, ack, window and timestamps (RFC 7323). Used to
   * build the duplicate ACKs that nudge endpoints after a takeover.
   */
  readonly oSeqNext: Uint32Array;
  readonly oAck: Uint32Array;
  readonly rSeqNext: Uint32Array;
  readonly rAck: Uint32Array;
  readonly oWin: Uint16Array;
  readonly rWin: Uint16Array;
  readonly oTsVal: Uint32Array;
  readonly oTsEcr: Uint32Array;
  readonly rTsVal: Uint32Array;
  readonly rTsEcr: Uint32Array;
  /** bit0: orig direction seen with timestamps, bit1: reply direction; bit2: reply seen. */
  readonly tcpFlags: Uint8Array;
  readonly packets: Float64Array;
  readonly bytes: Float64Array;
  readonly created: Float64Array;
  readonly lastSeen: Float64Array;

  #free: Int32Array;
  #freeTop: number;
  #index: Int32Array;
  #mask: number;
  #sweep = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError("capacity must be >= 1");
    this.capacity = capacity;
    this.proto = new Uint8Array(capacity);
    this.state = new Uint8Array(capacity);
    this.service = new Uint16Array(capacity);
    this.oSrc = new Uint32Array(capacity);
    this.oDst = new Uint32Array(capacity);
    this.oSport = new Uint16Array(capacity);
    this.oDport = new Uint16Array(capacity);
    this.rSrc = new Uint32Array(capacity);
    this.rDst = new Uint32Array(capacity);
    this.rSport = new Uint16Array(capacity);
    this.rDport = new Uint16Array(capacity);
    this.seqOffset = new Uint32Array(capacity);
    this.oSeqNext = new Uint32Array(capacity);
    this.oAck = new Uint32Array(capacity);
    this.rSeqNext = new Uint32Array(capacity);
    this.rAck = new Uint32Array(capacity);
    this.oWin = new Uint16Array(capacity);
    this.rWin = new Uint16Array(capacity);
    this.oTsVal = new Uint32Array(capacity);
    this.oTsEcr = new Uint32Array(capacity);
    this.rTsVal = new Uint32Array(capacity);
    this.rTsEcr = new Uint32Array(capacity);
    this.tcpFlags = new Uint8Array(capacity);
    this.packets = new Float64Array(capacity);
    this.bytes = new Float64Array(capacity);
    this.created = new Float64Array(capacity);
    this.lastSeen = new Float64Array(capacity);
    this.#free = new Int32Array(capacity);
    for (let i = 0; i < capacity; i++) this.#free[i] = capacity - 1 - i;
    this.#freeTop = capacity;
    let size = 1;
    while (size < capacity * 4) size *= 2;
    this.#index = new Int32Array(size);
    this.#mask = size - 1;
  }

  /** Bytes held by the table's typed arrays, index included (the memory report). */
  storageBytes(): number {
    let total = this.#free.byteLength + this.#index.byteLength;
    for (
      const a of [
        this.proto,
        this.state,
        this.service,
        this.oSrc,
        this.oDst,
        this.oSport,
        this.oDport,
        this.rSrc,
        this.rDst,
        this.rSport,
        this.rDport,
        this.seqOffset,
        this.oSeqNext,
        this.oAck,
        this.rSeqNext,
        this.rAck,
        this.oWin,
        this.rWin,
        this.oTsVal,
        this.oTsEcr,
        this.rTsVal,
        this.rTsEcr,
        this.tcpFlags,
        this.packets,
        this.bytes,
        this.created,
        this.lastSeen,
      ]
    ) total += a.byteLength;
    return total;
  }

  get count(): number {
    return this.#count;
  }

  /** 16 hex digits; equal on two units exactly when their replicated flow fields are equal. */
  get digest(): string {
    return (this.#digestHi >>> 0).toString(16).padStart(8, "0") +
      (this.#digestLo >>> 0).toString(16).padStart(8, "0");
  }

  /** True when `flow` is a live record. */
  live(flow: number): boolean {
    return flow >= 0 && flow < this.capacity && this.state[flow] !== 0;
  }

  /**
   * Finds the flow a packet belongs to. Returns `flow * 2 + dir` or -1.
   * Allocation-free: this is the per-packet path.
   */
  lookup(proto: number, srcIp: number, srcPort: number, dstIp: number, dstPort: number): number {
    const index = this.#index;
    const mask = this.#mask;
    let i = tupleHash(proto, srcIp, srcPort, dstIp, dstPort) & mask;
    for (;;) {
      const slot = index[i]!;
      if (slot === EMPTY) return -1;
      const ref = slot - 1;
      if (this.#matches(ref, proto, srcIp, srcPort, dstIp, dstPort)) return ref;
      i = (i + 1) & mask;
    }
  }

  #matches(
    ref: number,
    proto: number,
    srcIp: number,
    srcPort: number,
    dstIp: number,
    dstPort: number,
  ): boolean {
    const f = ref >> 1;
    if (this.proto[f] !== proto) return false;
    if ((ref & 1) === 0) {
      return this.oSrc[f] === srcIp && this.oDst[f] === dstIp && this.oSport[f] === srcPort &&
        this.oDport[f] === dstPort;
    }
    return this.rSrc[f] === srcIp && this.rDst[f] === dstIp && this.rSport[f] === srcPort &&
      this.rDport[f] === dstPort;
  }

  /**
   * Adds a flow; returns its id, or -1 when the table is full or either
   * tuple is already taken (the caller counts the drop).
   */
  insert(
    orig: Tuple,
    reply: Tuple,
    state: number,
    service: number,
    seqOffset: number,
    now: number,
  ): number {
    if (this.#freeTop === 0) return -1;
    if (
      this.lookup(orig.proto, orig.srcIp, orig.srcPort, orig.dstIp, orig.dstPort) >= 0 ||
      this.lookup(reply.proto, reply.srcIp, reply.srcPort, reply.dstIp, reply.dstPort) >= 0
    ) return -1;
    const f = this.#free[--this.#freeTop]!;
    this.proto[f] = orig.proto;
    this.state[f] = state;
    this.service[f] = service;
    this.oSrc[f] = orig.srcIp;
    this.oDst[f] = orig.dstIp;
    this.oSport[f] = orig.srcPort;
    this.oDport[f] = orig.dstPort;
    this.rSrc[f] = reply.srcIp;
    this.rDst[f] = reply.dstIp;
    this.rSport[f] = reply.srcPort;
    this.rDport[f] = reply.dstPort;
    this.seqOffset[f] = seqOffset >>> 0;
    this.tcpFlags[f] = 0;
    this.packets[f] = 0;
    this.bytes[f] = 0;
    this.created[f] = now;
    this.lastSeen[f] = now;
    this.#put(f * 2, tupleHash(orig.proto, orig.srcIp, orig.srcPort, orig.dstIp, orig.dstPort));
    this.#put(
      f * 2 + 1,
      tupleHash(reply.proto, reply.srcIp, reply.srcPort, reply.dstIp, reply.dstPort),
    );
    this.#count++;
    this.#mix(f);
    return f;
  }

  /** Changes a flow's state, keeping the digest current. */
  setState(flow: number, state: number): void {
    if (this.state[flow] === state) return;
    this.#mix(flow);
    this.state[flow] = state;
    this.#mix(flow);
  }

  /** Counts a packet against a flow. Not part of the digest: the peer may see a different mix. */
  touch(flow: number, bytes: number, now: number): void {
    this.packets[flow]! += 1;
    this.bytes[flow]! += bytes;
    if (now > this.lastSeen[flow]!) this.lastSeen[flow] = now;
  }

  remove(flow: number): void {
    if (!this.live(flow)) return;
    this.#mix(flow);
    this.#del(flow * 2, this.#hashOf(flow * 2));
    this.#del(flow * 2 + 1, this.#hashOf(flow * 2 + 1));
    this.state[flow] = 0;
    this.#free[this.#freeTop++] = flow;
    this.#count--;
  }

  /** The tuple of one direction of a flow (off the hot path). */
  tuple(flow: number, dir: 0 | 1): Tuple {
    return dir === 0
      ? {
        proto: this.proto[flow]!,
        srcIp: this.oSrc[flow]!,
        srcPort: this.oSport[flow]!,
        dstIp: this.oDst[flow]!,
        dstPort: this.oDport[flow]!,
      }
      : {
        proto: this.proto[flow]!,
        srcIp: this.rSrc[flow]!,
        srcPort: this.rSport[flow]!,
        dstIp: this.rDst[flow]!,
        dstPort: this.rDport[flow]!,
      };
  }

  entry(flow: number): FlowEntry {
    return {
      orig: this.tuple(flow, 0),
      reply: this.tuple(flow, 1),
      state: this.state[flow]!,
      service: this.service[flow]!,
      seqOffset: this.seqOffset[flow]!,
      packets: this.packets[flow]!,
      bytes: this.bytes[flow]!,
      created: this.created[flow]!,
      lastSeen: this.lastSeen[flow]!,
    };
  }

  /** Inserts or overwrites a flow from a peer's bulk-sync entry. Returns the flow id or -1. */
  upsert(e: FlowEntry): number {
    const ref = this.lookup(
      e.orig.proto,
      e.orig.srcIp,
      e.orig.srcPort,
      e.orig.dstIp,
      e.orig.dstPort,
    );
    let f = ref >= 0 && (ref & 1) === 0 ? ref >> 1 : -1;
    if (f >= 0 && !this.#sameReply(f, e.reply)) {
      this.remove(f);
      f = -1;
    }
    if (f < 0) {
      f = this.insert(e.orig, e.reply, e.state, e.service, e.seqOffset, e.created);
      if (f < 0) return -1;
    } else {
      this.#mix(f);
      this.state[f] = e.state;
      this.service[f] = e.service;
      this.seqOffset[f] = e.seqOffset >>> 0;
      this.#mix(f);
    }
    this.packets[f] = e.packets;
    this.bytes[f] = e.bytes;
    this.created[f] = e.created;
    this.lastSeen[f] = e.lastSeen;
    return f;
  }

  #sameReply(f: number, r: Tuple): boolean {
    return this.rSrc[f] === r.srcIp && this.rDst[f] === r.dstIp && this.rSport[f] === r.srcPort &&
      this.rDport[f] === r.dstPort;
  }

  /** Live flow ids, in slot order. */
  *ids(): IterableIterator<number> {
    for (let f = 0; f < this.capacity; f++) if (this.state[f] !== 0) yield f;
  }

  /**
   * The `limit` busiest flows (most packets first), for the API. A bounded
   * selection, not a sort of the table: O(n · limit) with a small limit.
   */
  busiest(limit = 20): number[] {
    const top: number[] = [];
    const packets = this.packets;
    for (let f = 0; f < this.capacity; f++) {
      if (this.state[f] === 0) continue;
      const p = packets[f]!;
      if (top.length === limit && p <= packets[top[top.length - 1]!]!) continue;
      let i = top.length === limit ? top.length - 1 : top.length;
      if (top.length < limit) top.push(f);
      while (i > 0 && packets[top[i - 1]!]! < p) {
        top[i] = top[i - 1]!;
        i--;
      }
      top[i] = f;
    }
    return top;
  }

  /**
   * Every live flow, busiest first (claim 20: "busiest connections first"),
   * bucketed by the power of two of its packet count: a counting sort in two
   * linear passes, so a million flows order in milliseconds, not a sort's
   * second that would stall the loop past the peer's dead time.
   */
  syncOrder(): Int32Array {
    const BUCKETS = 64;
    const counts = new Int32Array(BUCKETS + 1);
    const bucket = (f: number) =>
      BUCKETS - 1 - Math.min(BUCKETS - 1, Math.floor(Math.log2(this.packets[f]! + 1)));
    for (let f = 0; f < this.capacity; f++) if (this.state[f] !== 0) counts[bucket(f) + 1]!++;
    for (let b = 1; b <= BUCKETS; b++) counts[b]! += counts[b - 1]!;
    const out = new Int32Array(this.#count);
    for (let f = 0; f < this.capacity; f++) if (this.state[f] !== 0) out[counts[bucket(f)]!++] = f;
    return out;
  }

  /**
   * Incremental reaper: examines at most `budget` slots from a cursor and
   * removes at most `maxExpire` flows idle past `timeoutOf(state)` (removal
   * is the costly part: a mass expiry is spread over many turns). Returns the
   * time it should run again: soon while a sweep is in progress, `now +
   * period` after a full pass. The caller decides (determinism rule: only the
   * receiver reaps and tells its peer).
   */
  reap(
    now: number,
    budget: number,
    timeoutOf: (state: number) => number,
    onExpire: (flow: number) => void,
    period = 1000,
    maxExpire = 1024,
  ): number {
    const end = Math.min(this.capacity, this.#sweep + budget);
    let expired = 0;
    let f = this.#sweep;
    for (; f < end && expired < maxExpire; f++) {
      const st = this.state[f]!;
      if (st !== 0 && now - this.lastSeen[f]! >= timeoutOf(st)) {
        onExpire(f);
        this.remove(f);
        expired++;
      }
    }
    if (f >= this.capacity) {
      this.#sweep = 0;
      return now + period;
    }
    this.#sweep = f;
    return now + 1;
  }

  /** Empties the table in one pass over the arrays (a joiner drops its stale table at once). */
  clear(): void {
    this.state.fill(0);
    this.#index.fill(EMPTY);
    for (let i = 0; i < this.capacity; i++) this.#free[i] = this.capacity - 1 - i;
    this.#freeTop = this.capacity;
    this.#count = 0;
    this.#digestLo = 0;
    this.#digestHi = 0;
    this.#sweep = 0;
  }

  #hashOf(ref: number): number {
    const f = ref >> 1;
    return (ref & 1) === 0
      ? tupleHash(this.proto[f]!, this.oSrc[f]!, this.oSport[f]!, this.oDst[f]!, this.oDport[f]!)
      : tupleHash(this.proto[f]!, this.rSrc[f]!, this.rSport[f]!, this.rDst[f]!, this.rDport[f]!);
  }

  #put(ref: number, hash: number): void {
    const index = this.#index;
    const mask = this.#mask;
    let i = hash & mask;
    while (index[i] !== EMPTY) i = (i + 1) & mask;
    index[i] = ref + 1;
  }

  /** Backward-shift deletion (Knuth 6.4 Algorithm R): keeps probe chains intact without tombstones. */
  #del(ref: number, hash: number): void {
    const index = this.#index;
    const mask = this.#mask;
    let i = hash & mask;
    while (index[i] !== ref + 1) {
      if (index[i] === EMPTY) return;
      i = (i + 1) & mask;
    }
    let j = i;
    for (;;) {
      index[i] = EMPTY;
      for (;;) {
        j = (j + 1) & mask;
        const slot = index[j]!;
        if (slot === EMPTY) return;
        const home = this.#hashOf(slot - 1) & mask;
        // Move slot j back to i unless its home lies cyclically in (i, j].
        if (i <= j ? (home <= i || home > j) : (home <= i && home > j)) {
          index[i] = slot;
          i = j;
          break;
        }
      }
    }
  }

  /** XORs the flow's replicated fields into the digest (twice = out again). */
  #mix(f: number): void {
    const a = mix32(
      this.oSrc[f]! ^ Math.imul(this.oDst[f]!, 0x9e3779b1) ^
        ((this.oSport[f]! << 16) | this.oDport[f]!) ^ (this.proto[f]! << 24),
    );
    const b = mix32(
      this.rSrc[f]! ^ Math.imul(this.rDst[f]!, 0x85ebca77) ^
        ((this.rSport[f]! << 16) | this.rDport[f]!),
    );
    const c = mix32(
      (this.state[f]! | (this.service[f]! << 8)) ^ Math.imul(this.seqOffset[f]!, 0xc2b2ae3d),
    );
    this.#digestLo ^= mix32(a ^ Math.imul(b, 0x27d4eb2f) ^ c);
    this.#digestHi ^= mix32(b ^ Math.imul(c, 0x165667b1) ^ Math.imul(a, 0x9e3779b1));
  }
}

/** murmur3 finaliser: good avalanche for table indexes and digests. */
function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Hash of a 5-tuple for the index. Integer-only: runs per packet. */
export function tupleHash(
  proto: number,
  srcIp: number,
  srcPort: number,
  dstIp: number,
  dstPort: number,
): number {
  let h = mix32(srcIp ^ 0x2545f491);
  h = mix32(h ^ dstIp);
  h = mix32(h ^ ((srcPort << 16) | dstPort) ^ (proto << 8));
  return h;
}
