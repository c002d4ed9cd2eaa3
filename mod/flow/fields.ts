/**
 * The one description of a replicated flow entry (DESIGN.md "One replicated state"). Every
 * other shape of a flow derives from this list: the flow table's struct-of-arrays columns, the
 * bytes a flow takes in a mirror record and in a bulk-sync record, their offsets, and the
 * table digest. Adding a field to a flow is one edit here.
 *
 * Each field says how far it travels:
 * - `mirror`: a decision the receiver makes (determinism rule). Carried by every mirror record
 *   and applied verbatim by the peer; part of the digest unless `digest: false`.
 * - `mirror6`: the same, carried by the mirror records of IPv6 flows only (the high address
 *   words, zero for IPv4), so IPv4 records are no bigger for IPv6's sake.
 * - `sync`: state the peer rebuilds from the mirrored frames as it applies them (sequence
 *   tracking) or counts for itself (packets, bytes). Carried by bulk sync only, so a joiner
 *   holds everything the engine reads (claims 20, 21).
 * @module
 */

/** Storage of one field: its typed array and its big-endian size on the wire. */
export type FieldKind = "u8" | "u16" | "u32" | "f64";

export interface FieldSpec {
  readonly name: string;
  readonly kind: FieldKind;
  readonly travel: "mirror" | "mirror6" | "sync";
  /** Part of the table digest (default: the mirrored fields). */
  readonly digest?: boolean;
}

/** Bytes each kind takes on the wire. */
export const KIND_SIZE: Readonly<Record<FieldKind, number>> = { u8: 1, u16: 2, u32: 4, f64: 8 };

/**
 * A flow: its original tuple (client → VIP) and reply tuple (backend → SNAT address or client),
 * as nf_conntrack keeps them, plus what the engine decided and tracks about it.
 */
export const FLOW_FIELDS = [
  { name: "proto", kind: "u8", travel: "mirror" },
  /** Tracking state (`flow/states.ts`); 0 marks a free slot. */
  { name: "state", kind: "u8", travel: "mirror" },
  { name: "service", kind: "u16", travel: "mirror" },
  /** Index of the chosen backend within its service. */
  { name: "backend", kind: "u16", travel: "mirror" },
  { name: "oSrc", kind: "u32", travel: "mirror" },
  { name: "oSport", kind: "u16", travel: "mirror" },
  { name: "oDst", kind: "u32", travel: "mirror" },
  { name: "oDport", kind: "u16", travel: "mirror" },
  { name: "rSrc", kind: "u32", travel: "mirror" },
  { name: "rSport", kind: "u16", travel: "mirror" },
  { name: "rDst", kind: "u32", travel: "mirror" },
  { name: "rDport", kind: "u16", travel: "mirror" },
  /** TCP sequence offset: added client → server, subtracted server → client (claims 23, 24). */
  { name: "seqOffset", kind: "u32", travel: "mirror" },
  /** `TB_*` bits of `flow/states.ts`: FINs seen and timestamps seen, per direction. */
  { name: "tcpBits", kind: "u8", travel: "mirror", digest: false },
  // IPv6 (RFC 8200): the three high words of each address (oSrc, oDst, rSrc, rDst hold the low
  // word), in network order. All zero for IPv4: the ::/96 block is never forwarded (RFC 4291
  // §2.5.5.1), so a zero high part marks an IPv4 flow without a family field, and a mirror
  // record carries them only for an IPv6 flow (`mirror6`).
  { name: "oSrcHi0", kind: "u32", travel: "mirror6" },
  { name: "oSrcHi1", kind: "u32", travel: "mirror6" },
  { name: "oSrcHi2", kind: "u32", travel: "mirror6" },
  { name: "oDstHi0", kind: "u32", travel: "mirror6" },
  { name: "oDstHi1", kind: "u32", travel: "mirror6" },
  { name: "oDstHi2", kind: "u32", travel: "mirror6" },
  { name: "rSrcHi0", kind: "u32", travel: "mirror6" },
  { name: "rSrcHi1", kind: "u32", travel: "mirror6" },
  { name: "rSrcHi2", kind: "u32", travel: "mirror6" },
  { name: "rDstHi0", kind: "u32", travel: "mirror6" },
  { name: "rDstHi1", kind: "u32", travel: "mirror6" },
  { name: "rDstHi2", kind: "u32", travel: "mirror6" },
  // The last sequence state that left the pair in each direction (after translation): next
  // sequence, acknowledgment, window and timestamps (RFC 7323). A survivor builds its
  // takeover probes from them.
  { name: "oSeqNext", kind: "u32", travel: "sync" },
  { name: "oAck", kind: "u32", travel: "sync" },
  { name: "oWin", kind: "u16", travel: "sync" },
  { name: "oTsVal", kind: "u32", travel: "sync" },
  { name: "oTsEcr", kind: "u32", travel: "sync" },
  { name: "rSeqNext", kind: "u32", travel: "sync" },
  { name: "rAck", kind: "u32", travel: "sync" },
  { name: "rWin", kind: "u16", travel: "sync" },
  { name: "rTsVal", kind: "u32", travel: "sync" },
  { name: "rTsEcr", kind: "u32", travel: "sync" },
  { name: "packets", kind: "f64", travel: "sync" },
  { name: "bytes", kind: "f64", travel: "sync" },
  { name: "created", kind: "f64", travel: "sync" },
  { name: "lastSeen", kind: "f64", travel: "sync" },
] as const satisfies readonly FieldSpec[];

type Fields = typeof FLOW_FIELDS;
/** The name of a flow field. */
export type FlowField = Fields[number]["name"];

type ArrayOf<K extends FieldKind> = K extends "u8" ? Uint8Array
  : K extends "u16" ? Uint16Array
  : K extends "u32" ? Uint32Array
  : Float64Array;

/** One typed array per field, indexed by flow id. */
export type FlowColumns = { readonly [F in Fields[number] as F["name"]]: ArrayOf<F["kind"]> };

/** A flow as a plain object (API, tests, debugging); never on the per-packet path. */
export type FlowEntry = { [F in FlowField]: number };

/** Any column. */
export type Column = Uint8Array | Uint16Array | Uint32Array | Float64Array;

/** Allocates the columns for `rows` flows. */
export function allocColumns(rows: number): { named: FlowColumns; list: Column[] } {
  const list: Column[] = [];
  const named: Record<string, Column> = {};
  for (const f of FLOW_FIELDS as readonly FieldSpec[]) {
    const col = f.kind === "u8"
      ? new Uint8Array(rows)
      : f.kind === "u16"
      ? new Uint16Array(rows)
      : f.kind === "u32"
      ? new Uint32Array(rows)
      : new Float64Array(rows);
    list.push(col);
    named[f.name] = col;
  }
  return { named: named as unknown as FlowColumns, list };
}

/**
 * Which fields a record carries: the mirrored decisions, the IPv6 flow's extra ones, or
 * everything (bulk sync).
 */
export type RowScope = "mirror" | "mirror6" | "sync";

/** Offsets of a flow's fields in a record body, for one scope. */
export interface RowLayout {
  /** Column index of each carried field, in wire order. */
  readonly cols: readonly number[];
  readonly kinds: readonly FieldKind[];
  /** Byte offset of each carried field from the start of the row. */
  readonly offsets: readonly number[];
  /** Bytes the row takes. */
  readonly size: number;
}

function layoutFor(scope: RowScope): RowLayout {
  const cols: number[] = [], kinds: FieldKind[] = [], offsets: number[] = [];
  let at = 0;
  (FLOW_FIELDS as readonly FieldSpec[]).forEach((f, i) => {
    if (scope !== "sync" && f.travel !== scope) return;
    cols.push(i);
    kinds.push(f.kind);
    offsets.push(at);
    at += KIND_SIZE[f.kind];
  });
  return { cols, kinds, offsets, size: at };
}

/** The flow fields in a mirror record. */
export const MIRROR_ROW: RowLayout = layoutFor("mirror");
/** The fields a mirror record of an IPv6 flow carries besides (`MF_IPV6`). */
export const MIRROR6_ROW: RowLayout = layoutFor("mirror6");
/** The flow fields in a bulk-sync record: all of them. */
export const SYNC_ROW: RowLayout = layoutFor("sync");

/** Column indexes of the digest fields: the mirrored ones, then the `mirror6` ones. */
export const DIGEST_COLS: readonly number[] = (FLOW_FIELDS as readonly FieldSpec[])
  .map((f, i) => (f.travel !== "sync" && f.digest !== false ? i : -1))
  .filter((i) => i >= 0);
/** How many of {@link DIGEST_COLS} an IPv4 flow has (its `mirror6` ones are all zero). */
export const DIGEST_COLS_V4: number = (FLOW_FIELDS as readonly FieldSpec[])
  .filter((f) => f.travel === "mirror" && f.digest !== false).length;

/** Column index of a field by name. */
export function colIndex(name: FlowField): number {
  return (FLOW_FIELDS as readonly FieldSpec[]).findIndex((f) => f.name === name);
}

/** Writes row `f` of `cols` at `view[off]` in the layout's order (big-endian). */
export function encodeRow(
  cols: readonly Column[],
  layout: RowLayout,
  f: number,
  view: DataView,
  off: number,
): void {
  const cs = layout.cols, ks = layout.kinds, os = layout.offsets;
  for (let i = 0; i < cs.length; i++) {
    const v = cols[cs[i]!]![f]!;
    const at = off + os[i]!;
    switch (ks[i]) {
      case "u8":
        view.setUint8(at, v);
        break;
      case "u16":
        view.setUint16(at, v);
        break;
      case "u32":
        view.setUint32(at, v);
        break;
      default:
        view.setFloat64(at, v);
    }
  }
}

/** Reads a row written by {@link encodeRow} into row `f` of `cols` (fields outside the layout are left as they are). */
export function decodeRow(
  cols: readonly Column[],
  layout: RowLayout,
  f: number,
  view: DataView,
  off: number,
): void {
  const cs = layout.cols, ks = layout.kinds, os = layout.offsets;
  for (let i = 0; i < cs.length; i++) {
    const at = off + os[i]!;
    const col = cols[cs[i]!]!;
    switch (ks[i]) {
      case "u8":
        col[f] = view.getUint8(at);
        break;
      case "u16":
        col[f] = view.getUint16(at);
        break;
      case "u32":
        col[f] = view.getUint32(at);
        break;
      default:
        col[f] = view.getFloat64(at);
    }
  }
}
