/**
 * The connection table: one record per connection with an original and a reply tuple (as
 * nf_conntrack and gVisor `stack/conntrack.go` do), laid out as struct-of-arrays in typed
 * arrays, one column per field of `fields.ts`, so a million flows cost no GC work.
 *
 * The index is open addressing with linear probing and backward-shift deletion (no
 * tombstones), holding two references per flow, one per direction: `ref = flow * 2 + dir`
 * (`dir` 0 = original, 1 = reply).
 *
 * One extra row past the last flow, {@link FlowTable.stage}, is a workbench: a new flow is
 * built (or decoded from a peer record) there, then {@link FlowTable.add}ed.
 *
 * The table keeps an order-independent digest (XOR of a 64-bit hash of each flow's mirrored
 * decision fields) current on every change, so two units can prove their tables identical in
 * O(1) (DESIGN.md "Determinism rule").
 * @module
 */
import {
  allocColumns,
  type Column,
  DIGEST_COLS,
  DIGEST_COLS_V4,
  FLOW_FIELDS,
  type FlowColumns,
  type FlowEntry,
} from "./fields.ts";
import { ST_NONE } from "./states.ts";
import { fmix32 } from "../util/hash.ts";

const EMPTY = 0;
/**
 * The high words of an IPv4 tuple's addresses (all zero, `fields.ts`): the `hi` argument of a
 * lookup that leaves it out.
 */
export const IPV4_HI: Uint32Array = new Uint32Array(6);
/** Buckets of the busiest-first ordering: one per power of two of a flow's packet count. */
const SYNC_BUCKETS = 64;

export class FlowTable {
  readonly capacity: number;
  /** The columns by field name: `c.oSrc[flow]`. */
  readonly c: FlowColumns;
  /** The columns in field order (for the codecs in `fields.ts`). */
  readonly cols: readonly Column[];
  /** The staging row (not a flow): build or decode a flow here, then `add` it. */
  readonly stage: number;
  #count = 0;
  #digestLo = 0;
  #digestHi = 0;
  readonly #free: Int32Array;
  #freeTop: number;
  readonly #index: Int32Array;
  readonly #mask: number;
  /** Scratch high words for lookups the table makes itself. */
  readonly #hi = new Uint32Array(6);
  /** The columns grouped by array type, for whole-row copies. */
  readonly #u8: Uint8Array[];
  readonly #u16: Uint16Array[];
  readonly #u32: Uint32Array[];
  /** The u32 columns but the twelve high address words, and those twelve. */
  readonly #u32v4: Uint32Array[];
  readonly #hiCols: Uint32Array[];
  readonly #f64: Float64Array[];

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError("capacity must be >= 1");
    this.capacity = capacity;
    this.stage = capacity;
    const { named, list } = allocColumns(capacity + 1);
    this.c = named;
    this.cols = list;
    this.#u8 = list.filter((c) => c instanceof Uint8Array) as Uint8Array[];
    this.#u16 = list.filter((c) => c instanceof Uint16Array) as Uint16Array[];
    this.#u32 = list.filter((c) => c instanceof Uint32Array) as Uint32Array[];
    this.#f64 = list.filter((c) => c instanceof Float64Array) as Float64Array[];
    const hiCols = new Set<Column>(
      FLOW_FIELDS.flatMap((f, i) => f.travel === "mirror6" ? [list[i]!] : []),
    );
    this.#hiCols = this.#u32.filter((c) => hiCols.has(c));
    this.#u32v4 = this.#u32.filter((c) => !hiCols.has(c));
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
    for (const col of this.cols) total += col.byteLength;
    return total;
  }

  get count(): number {
    return this.#count;
  }

  /** 16 hex digits; equal on two units exactly when their mirrored flow decisions are equal. */
  get digest(): string {
    return (this.#digestHi >>> 0).toString(16).padStart(8, "0") +
      (this.#digestLo >>> 0).toString(16).padStart(8, "0");
  }

  /** The digest as two u32 halves (the heartbeat carries them without a string). */
  get digestWords(): [hi: number, lo: number] {
    return [this.#digestHi >>> 0, this.#digestLo >>> 0];
  }

  /** True when `flow` is a live record. */
  live(flow: number): boolean {
    return flow >= 0 && flow < this.capacity && this.c.state[flow] !== ST_NONE;
  }

  /**
   * Finds the flow an IPv4 packet belongs to. Returns `flow * 2 + dir` or -1.
   * Allocation-free: this is the per-packet path, kept small so V8 inlines it (a 32-bit
   * address passed to a call that is not inlined is boxed); IPv6 has {@link lookup6}.
   */
  lookup(proto: number, srcIp: number, srcPort: number, dstIp: number, dstPort: number): number {
    const index = this.#index;
    const mask = this.#mask;
    let i = tupleHash4(proto, srcIp, srcPort, dstIp, dstPort) & mask;
    for (;;) {
      const slot = index[i]!;
      if (slot === EMPTY) return -1;
      const ref = slot - 1;
      if (this.#matches4(ref, proto, srcIp, srcPort, dstIp, dstPort)) return ref;
      i = (i + 1) & mask;
    }
  }

  /**
   * Finds the flow of a tuple of either family: `srcIp`/`dstIp` are IPv4 addresses or the low
   * words of IPv6 ones, `hi` the high words (source 0-2, destination 3-5), zeros for IPv4.
   */
  lookup6(
    proto: number,
    srcIp: number,
    srcPort: number,
    dstIp: number,
    dstPort: number,
    hi: Uint32Array,
  ): number {
    const index = this.#index;
    const mask = this.#mask;
    let i = tupleHash(proto, srcIp, srcPort, dstIp, dstPort, hi) & mask;
    for (;;) {
      const slot = index[i]!;
      if (slot === EMPTY) return -1;
      const ref = slot - 1;
      if (this.#matches(ref, proto, srcIp, srcPort, dstIp, dstPort, hi)) return ref;
      i = (i + 1) & mask;
    }
  }

  /**
   * {@link lookup6} of an IPv6 packet's tuple with its addresses as four words each (`s`, `d`):
   * the per-packet IPv6 path. No address word travels as a number argument, so none is boxed
   * when V8 does not inline the call.
   */
  lookupWords(proto: number, s: Uint32Array, sport: number, d: Uint32Array, dport: number): number {
    const index = this.#index;
    const mask = this.#mask;
    // The fold of `tupleHash`, from the words.
    const srcKey = s[3]! ^ Math.imul(s[0]!, 0x9e3779b1) ^ Math.imul(s[1]!, 0x85ebca6b) ^
      Math.imul(s[2]!, 0xc2b2ae35);
    const dstKey = d[3]! ^ Math.imul(d[0]!, 0x27d4eb2f) ^ Math.imul(d[1]!, 0x165667b1) ^
      Math.imul(d[2]!, 0x6a09e667);
    let i = tupleHash4(proto, srcKey, sport, dstKey, dport) & mask;
    const c = this.c;
    for (;;) {
      const slot = index[i]!;
      if (slot === EMPTY) return -1;
      const ref = slot - 1, f = ref >> 1;
      if (c.proto[f] === proto) {
        if (
          (ref & 1) === 0
            ? c.oSrc[f] === s[3] && c.oDst[f] === d[3] && c.oSport[f] === sport &&
              c.oDport[f] === dport && c.oSrcHi0[f] === s[0] && c.oSrcHi1[f] === s[1] &&
              c.oSrcHi2[f] === s[2] && c.oDstHi0[f] === d[0] && c.oDstHi1[f] === d[1] &&
              c.oDstHi2[f] === d[2]
            : c.rSrc[f] === s[3] && c.rDst[f] === d[3] && c.rSport[f] === sport &&
              c.rDport[f] === dport && c.rSrcHi0[f] === s[0] && c.rSrcHi1[f] === s[1] &&
              c.rSrcHi2[f] === s[2] && c.rDstHi0[f] === d[0] && c.rDstHi1[f] === d[1] &&
              c.rDstHi2[f] === d[2]
        ) return ref;
      }
      i = (i + 1) & mask;
    }
  }

  /** Copies the high address words of row `f`'s original (dir 0) or reply tuple into `hi`. */
  hiOf(f: number, reply: boolean, hi: Uint32Array): Uint32Array {
    const c = this.c;
    if (reply) {
      hi[0] = c.rSrcHi0[f]!, hi[1] = c.rSrcHi1[f]!, hi[2] = c.rSrcHi2[f]!;
      hi[3] = c.rDstHi0[f]!, hi[4] = c.rDstHi1[f]!, hi[5] = c.rDstHi2[f]!;
    } else {
      hi[0] = c.oSrcHi0[f]!, hi[1] = c.oSrcHi1[f]!, hi[2] = c.oSrcHi2[f]!;
      hi[3] = c.oDstHi0[f]!, hi[4] = c.oDstHi1[f]!, hi[5] = c.oDstHi2[f]!;
    }
    return hi;
  }

  /** True when flow `f` is IPv6 (its client address has high words). */
  isV6(f: number): boolean {
    const c = this.c;
    return (c.oSrcHi0[f]! | c.oSrcHi1[f]! | c.oSrcHi2[f]!) !== 0;
  }

  /** The flow whose original tuple is row `row`'s original tuple, or -1. */
  lookupOrig(row: number): number {
    const c = this.c;
    const ref = this.lookup6(
      c.proto[row]!,
      c.oSrc[row]!,
      c.oSport[row]!,
      c.oDst[row]!,
      c.oDport[row]!,
      this.hiOf(row, false, this.#hi),
    );
    return ref >= 0 && (ref & 1) === 0 ? ref >> 1 : -1;
  }

  /** {@link #matches} for an IPv4 tuple: a row of an IPv6 flow (high words set) never matches. */
  #matches4(
    ref: number,
    proto: number,
    srcIp: number,
    srcPort: number,
    dstIp: number,
    dstPort: number,
  ): boolean {
    const f = ref >> 1;
    const c = this.c;
    if (c.proto[f] !== proto) return false;
    if ((ref & 1) === 0) {
      return c.oSrc[f] === srcIp && c.oDst[f] === dstIp && c.oSport[f] === srcPort &&
        c.oDport[f] === dstPort && (c.oSrcHi0[f]! | c.oSrcHi1[f]! | c.oSrcHi2[f]!) === 0;
    }
    return c.rSrc[f] === srcIp && c.rDst[f] === dstIp && c.rSport[f] === srcPort &&
      c.rDport[f] === dstPort && (c.rSrcHi0[f]! | c.rSrcHi1[f]! | c.rSrcHi2[f]!) === 0;
  }

  #matches(
    ref: number,
    proto: number,
    srcIp: number,
    srcPort: number,
    dstIp: number,
    dstPort: number,
    hi: Uint32Array,
  ): boolean {
    const f = ref >> 1;
    const c = this.c;
    if (c.proto[f] !== proto) return false;
    if ((ref & 1) === 0) {
      return c.oSrc[f] === srcIp && c.oDst[f] === dstIp && c.oSport[f] === srcPort &&
        c.oDport[f] === dstPort && c.oSrcHi0[f] === hi[0] && c.oSrcHi1[f] === hi[1] &&
        c.oSrcHi2[f] === hi[2] && c.oDstHi0[f] === hi[3] && c.oDstHi1[f] === hi[4] &&
        c.oDstHi2[f] === hi[5];
    }
    return c.rSrc[f] === srcIp && c.rDst[f] === dstIp && c.rSport[f] === srcPort &&
      c.rDport[f] === dstPort && c.rSrcHi0[f] === hi[0] && c.rSrcHi1[f] === hi[1] &&
      c.rSrcHi2[f] === hi[2] && c.rDstHi0[f] === hi[3] && c.rDstHi1[f] === hi[4] &&
      c.rDstHi2[f] === hi[5];
  }

  /** Zeroes every field of `row` (the stage, before a flow is built in it). */
  clearRow(row: number): void {
    // One loop per array type: each stays monomorphic (a loop over all columns would not).
    const u8 = this.#u8, u16 = this.#u16, u32 = this.#u32, f64 = this.#f64;
    for (let i = 0; i < u8.length; i++) u8[i]![row] = 0;
    for (let i = 0; i < u16.length; i++) u16[i]![row] = 0;
    for (let i = 0; i < u32.length; i++) u32[i]![row] = 0;
    for (let i = 0; i < f64.length; i++) f64[i]![row] = 0;
  }

  /**
   * Copies every field of row `from` to row `to`. `v6` false: `from` is an IPv4 flow, whose
   * high address words are zero, and so are `to`'s already (a free row's are: `remove` and
   * `clear` see to it), so they are not copied.
   */
  copyRow(from: number, to: number, v6 = true): void {
    const u8 = this.#u8, u16 = this.#u16, u32 = v6 ? this.#u32 : this.#u32v4, f64 = this.#f64;
    for (let i = 0; i < u8.length; i++) u8[i]![to] = u8[i]![from]!;
    for (let i = 0; i < u16.length; i++) u16[i]![to] = u16[i]![from]!;
    for (let i = 0; i < u32.length; i++) u32[i]![to] = u32[i]![from]!;
    for (let i = 0; i < f64.length; i++) f64[i]![to] = f64[i]![from]!;
  }

  /**
   * Adds the flow built in `row` (normally {@link stage}) as a new flow; returns its id, or -1
   * when the table is full, either tuple is already taken, or its addresses are not all of one
   * family (the caller counts the drop).
   */
  add(row: number): number {
    if (this.#freeTop === 0) return -1;
    const c = this.c;
    const p = c.proto[row]!;
    // One family for the four addresses (no NAT64): a row mixing them, which only a forged or
    // broken record could hold, would be indexed under one family and looked up under another.
    const v6 = this.isV6(row);
    if (
      ((c.oDstHi0[row]! | c.oDstHi1[row]! | c.oDstHi2[row]!) !== 0) !== v6 ||
      ((c.rSrcHi0[row]! | c.rSrcHi1[row]! | c.rSrcHi2[row]!) !== 0) !== v6 ||
      ((c.rDstHi0[row]! | c.rDstHi1[row]! | c.rDstHi2[row]!) !== 0) !== v6
    ) return -1;
    if (!v6) {
      // IPv4 (a flow is one family): the lookups of the per-packet path.
      if (
        this.lookup(p, c.oSrc[row]!, c.oSport[row]!, c.oDst[row]!, c.oDport[row]!) >= 0 ||
        this.lookup(p, c.rSrc[row]!, c.rSport[row]!, c.rDst[row]!, c.rDport[row]!) >= 0
      ) return -1;
    } else if (
      this.lookup6(
          p,
          c.oSrc[row]!,
          c.oSport[row]!,
          c.oDst[row]!,
          c.oDport[row]!,
          this.hiOf(row, false, this.#hi),
        ) >= 0 ||
      this.lookup6(
          p,
          c.rSrc[row]!,
          c.rSport[row]!,
          c.rDst[row]!,
          c.rDport[row]!,
          this.hiOf(row, true, this.#hi),
        ) >= 0
    ) return -1;
    const f = this.#free[--this.#freeTop]!;
    this.copyRow(row, f, v6);
    this.#put(f * 2, this.#hashOf(f * 2));
    this.#put(f * 2 + 1, this.#hashOf(f * 2 + 1));
    this.#count++;
    this.#mix(f);
    return f;
  }

  /**
   * Takes the flow in `row` as the peer holds it (a bulk-sync entry): a flow with the same
   * original and reply tuples is overwritten whole, one whose reply differs is replaced.
   * Returns the flow id, or -1 when it cannot be added.
   */
  upsert(row: number): number {
    let f = this.lookupOrig(row);
    if (f >= 0 && !this.#sameReply(f, row)) {
      this.remove(f);
      f = -1;
    }
    if (f < 0) return this.add(row);
    // The same original tuple: the same family, high words included.
    this.#mix(f);
    this.copyRow(row, f, this.isV6(row));
    this.#mix(f);
    return f;
  }

  #sameReply(f: number, row: number): boolean {
    const c = this.c;
    return c.rSrc[f] === c.rSrc[row] && c.rDst[f] === c.rDst[row] &&
      c.rSport[f] === c.rSport[row] && c.rDport[f] === c.rDport[row] &&
      c.rSrcHi0[f] === c.rSrcHi0[row] && c.rSrcHi1[f] === c.rSrcHi1[row] &&
      c.rSrcHi2[f] === c.rSrcHi2[row] && c.rDstHi0[f] === c.rDstHi0[row] &&
      c.rDstHi1[f] === c.rDstHi1[row] && c.rDstHi2[f] === c.rDstHi2[row];
  }

  /** Changes a flow's state, keeping the digest current. */
  setState(flow: number, state: number): void {
    const st = this.c.state;
    if (st[flow] === state) return;
    this.#mix(flow);
    st[flow] = state;
    this.#mix(flow);
  }

  /**
   * Sets a flow's sequence offset, keeping the digest current: a SYN proxy decides it when the
   * backend answers, after the flow exists (claims 23, 24).
   */
  setSeqOffset(flow: number, offset: number): void {
    const so = this.c.seqOffset;
    if (so[flow] === offset >>> 0) return;
    this.#mix(flow);
    so[flow] = offset;
    this.#mix(flow);
  }

  /** Counts a packet against a flow. Not in the digest: the peer may see a different mix. */
  touch(flow: number, bytes: number, now: number): void {
    const c = this.c;
    c.packets[flow]! += 1;
    c.bytes[flow]! += bytes;
    if (now > c.lastSeen[flow]!) c.lastSeen[flow] = now;
  }

  remove(flow: number): void {
    if (!this.live(flow)) return;
    this.#mix(flow);
    this.#del(flow * 2, this.#hashOf(flow * 2));
    this.#del(flow * 2 + 1, this.#hashOf(flow * 2 + 1));
    this.c.state[flow] = ST_NONE;
    // A free row's high address words are zero, so an IPv4 flow need not copy them in.
    if (this.isV6(flow)) { for (const col of this.#hiCols) col[flow] = 0; }
    this.#free[this.#freeTop++] = flow;
    this.#count--;
  }

  /**
   * Adds a flow given as named fields (the rest zero): for tests, benchmarks and tools, not
   * the per-packet path. Returns the flow id or -1, as {@link add}.
   */
  addEntry(e: Partial<FlowEntry>): number {
    const row = this.stage;
    this.clearRow(row);
    FLOW_FIELDS.forEach((f, i) => {
      const v = e[f.name];
      if (v !== undefined) this.cols[i]![row] = v;
    });
    return this.add(row);
  }

  /** A flow as a plain object (API, tests). */
  entry(flow: number): FlowEntry {
    const out: Record<string, number> = {};
    FLOW_FIELDS.forEach((f, i) => out[f.name] = this.cols[i]![flow]!);
    return out as FlowEntry;
  }

  /** Live flow ids, in slot order. */
  *ids(): IterableIterator<number> {
    const st = this.c.state;
    for (let f = 0; f < this.capacity; f++) if (st[f] !== ST_NONE) yield f;
  }

  /**
   * The `limit` busiest flows (most packets first), for the API. A bounded selection, not a
   * sort of the table: O(n · limit) with a small limit.
   */
  busiest(limit = 20): number[] {
    const top: number[] = [];
    const packets = this.c.packets;
    const st = this.c.state;
    for (let f = 0; f < this.capacity; f++) {
      if (st[f] === ST_NONE) continue;
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
   * Every live flow, busiest first (claim 20: "busiest connections first"), bucketed by the
   * power of two of its packet count: a counting sort in two linear passes, so a million flows
   * order in milliseconds, not a sort's second that would stall the loop.
   */
  syncOrder(): Int32Array {
    const st = this.c.state, packets = this.c.packets;
    const counts = new Int32Array(SYNC_BUCKETS + 1);
    const bucket = (f: number) =>
      SYNC_BUCKETS - 1 - Math.min(SYNC_BUCKETS - 1, Math.floor(Math.log2(packets[f]! + 1)));
    for (let f = 0; f < this.capacity; f++) if (st[f] !== ST_NONE) counts[bucket(f) + 1]!++;
    for (let b = 1; b <= SYNC_BUCKETS; b++) counts[b]! += counts[b - 1]!;
    const out = new Int32Array(this.#count);
    for (let f = 0; f < this.capacity; f++) {
      if (st[f] !== ST_NONE) out[counts[bucket(f)]!++] = f;
    }
    return out;
  }

  /** Empties the table in one pass over the arrays (a joiner drops its stale table at once). */
  clear(): void {
    this.c.state.fill(ST_NONE);
    for (const col of this.#hiCols) col.fill(0);
    this.#index.fill(EMPTY);
    for (let i = 0; i < this.capacity; i++) this.#free[i] = this.capacity - 1 - i;
    this.#freeTop = this.capacity;
    this.#count = 0;
    this.#digestLo = 0;
    this.#digestHi = 0;
  }

  #hashOf(ref: number): number {
    const f = ref >> 1;
    const c = this.c;
    const reply = (ref & 1) === 1;
    if (!this.isV6(f)) {
      return reply
        ? tupleHash4(c.proto[f]!, c.rSrc[f]!, c.rSport[f]!, c.rDst[f]!, c.rDport[f]!)
        : tupleHash4(c.proto[f]!, c.oSrc[f]!, c.oSport[f]!, c.oDst[f]!, c.oDport[f]!);
    }
    const hi = this.hiOf(f, reply, this.#hi);
    return reply
      ? tupleHash(c.proto[f]!, c.rSrc[f]!, c.rSport[f]!, c.rDst[f]!, c.rDport[f]!, hi)
      : tupleHash(c.proto[f]!, c.oSrc[f]!, c.oSport[f]!, c.oDst[f]!, c.oDport[f]!, hi);
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

  /**
   * Gives flow `f` another service and backend index (a reload renumbered them), keeping the
   * digest the XOR of every flow's fields.
   */
  relabel(f: number, service: number, backend: number): void {
    if (this.c.service[f] === service && this.c.backend[f] === backend) return;
    this.#mix(f);
    this.c.service[f] = service;
    this.c.backend[f] = backend;
    this.#mix(f);
  }

  /** XORs a 64-bit hash of the flow's digest fields into the digest (twice = out again). */
  #mix(f: number): void {
    const cols = this.cols;
    let lo = 0x2545f491, hi = 0x9e3779b9;
    // An IPv4 flow's high address words are all zero: they are left out, not mixed in.
    const n = this.isV6(f) ? DIGEST_COLS.length : DIGEST_COLS_V4;
    for (let i = 0; i < n; i++) {
      const v = cols[DIGEST_COLS[i]!]![f]! >>> 0;
      lo = fmix32(lo ^ v ^ (i << 27));
      hi = fmix32(Math.imul(hi ^ v, 0x27d4eb2f) + i);
    }
    this.#digestLo ^= lo;
    this.#digestHi ^= hi;
  }
}

/**
 * Hash of a 5-tuple for the index; an IPv6 tuple's high words (`hi`, see
 * {@link FlowTable.lookup}) are folded into its low ones. Integer-only: runs per packet.
 */
export function tupleHash(
  proto: number,
  srcIp: number,
  srcPort: number,
  dstIp: number,
  dstPort: number,
  hi: Uint32Array = IPV4_HI,
): number {
  // Folded by multiplication (int32, no calls: see `neighbors.ts`); zeros leave IPv4's hash.
  srcIp ^= Math.imul(hi[0]!, 0x9e3779b1) ^ Math.imul(hi[1]!, 0x85ebca6b) ^
    Math.imul(hi[2]!, 0xc2b2ae35);
  dstIp ^= Math.imul(hi[3]!, 0x27d4eb2f) ^ Math.imul(hi[4]!, 0x165667b1) ^
    Math.imul(hi[5]!, 0x6a09e667);
  return tupleHash4(proto, srcIp, srcPort, dstIp, dstPort);
}

/** {@link tupleHash} of an IPv4 tuple (no high words): the per-packet IPv4 path's. */
function tupleHash4(
  proto: number,
  srcIp: number,
  srcPort: number,
  dstIp: number,
  dstPort: number,
): number {
  let h = fmix32(srcIp ^ 0x2545f491);
  h = fmix32(h ^ dstIp);
  h = fmix32(h ^ ((srcPort << 16) | dstPort) ^ (proto << 8));
  return h;
}
