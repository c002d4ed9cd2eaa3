/**
 * Declarative record layouts: a record body is described once as a list of fields, and the
 * description yields the offsets, the size, and allocation-free encode and decode-into of its
 * numeric fields (big-endian, as every integer on the peer link). Byte blocks (a MAC, an
 * offload header) and flow rows are placed by the same description; their bytes are written
 * and read at the offsets it gives (`at`), rows through the flow codec of `flow/fields.ts`.
 * @module
 */
import type { RowLayout } from "../flow/fields.ts";

export type NumKind = "u8" | "u16" | "u32" | "f32" | "f64";

/** One field: a number, a block of bytes, or a flow row. */
export type FieldDef =
  | readonly [name: string, kind: NumKind]
  | readonly [name: string, kind: "bytes", size: number]
  | readonly [name: string, kind: "row", row: RowLayout];

/** The numeric fields of a layout as an object type: `{ mseq: number, … }`. */
export type NumFields<F extends readonly FieldDef[]> = {
  -readonly [D in F[number] as D[1] extends NumKind ? D[0] : never]: number;
};

const NUM_SIZE: Readonly<Record<NumKind, number>> = { u8: 1, u16: 2, u32: 4, f32: 4, f64: 8 };
const K_U8 = 0, K_U16 = 1, K_U32 = 2, K_F32 = 3, K_F64 = 4;
const KIND_CODE: Readonly<Record<NumKind, number>> = {
  u8: K_U8,
  u16: K_U16,
  u32: K_U32,
  f32: K_F32,
  f64: K_F64,
};

export class Layout<F extends readonly FieldDef[]> {
  readonly fields: F;
  /** Bytes the fixed part takes (anything variable follows it). */
  readonly size: number;
  /** Offset of each field from the start of the body. */
  readonly at: { readonly [D in F[number] as D[0]]: number };
  readonly #names: string[] = [];
  readonly #kinds: number[] = [];
  readonly #offs: number[] = [];

  constructor(fields: F) {
    this.fields = fields;
    const at: Record<string, number> = {};
    let off = 0;
    for (const d of fields) {
      at[d[0]] = off;
      if (d[1] === "bytes") off += d[2];
      else if (d[1] === "row") off += d[2].size;
      else {
        this.#names.push(d[0]);
        this.#kinds.push(KIND_CODE[d[1]]);
        this.#offs.push(off);
        off += NUM_SIZE[d[1]];
      }
    }
    this.size = off;
    this.at = at as Layout<F>["at"];
  }

  /** Writes the numeric fields of `src` at `view[off]`. */
  encode(view: DataView, off: number, src: NumFields<F>): void {
    const names = this.#names, kinds = this.#kinds, offs = this.#offs;
    const s = src as unknown as Record<string, number>;
    for (let i = 0; i < names.length; i++) {
      const v = s[names[i]!]!;
      const at = off + offs[i]!;
      switch (kinds[i]) {
        case K_U8:
          view.setUint8(at, v);
          break;
        case K_U16:
          view.setUint16(at, v);
          break;
        case K_U32:
          view.setUint32(at, v >>> 0);
          break;
        case K_F32:
          view.setFloat32(at, v);
          break;
        default:
          view.setFloat64(at, v);
      }
    }
  }

  /** Reads the numeric fields at `view[off]` into `dst`. */
  decode(view: DataView, off: number, dst: NumFields<F>): void {
    const names = this.#names, kinds = this.#kinds, offs = this.#offs;
    const d = dst as unknown as Record<string, number>;
    for (let i = 0; i < names.length; i++) {
      const at = off + offs[i]!;
      switch (kinds[i]) {
        case K_U8:
          d[names[i]!] = view.getUint8(at);
          break;
        case K_U16:
          d[names[i]!] = view.getUint16(at);
          break;
        case K_U32:
          d[names[i]!] = view.getUint32(at);
          break;
        case K_F32:
          d[names[i]!] = view.getFloat32(at);
          break;
        default:
          d[names[i]!] = view.getFloat64(at);
      }
    }
  }
}
