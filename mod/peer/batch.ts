/**
 * Batches: one peer-link datagram holds a header, records, and a MAC.
 *
 * ```
 * magic u32 "TNDM" | version u8 | flags u8 | count u16 | epoch f64 | seq u32 | salt u8[8]
 * count × (type u8, len u16, body[len])
 * tag: ChaCha20-Poly1305 (RFC 8439) of everything before, as additional data,
 *      nonce = salt ‖ seq (12 bytes), 16 bytes
 * ```
 *
 * The pre-shared key authenticates the peer (DESIGN.md "The peer link");
 * `epoch` (the sender's boot time) and `seq` (per-sender batch counter)
 * let the reader reject replays with a sliding window (RFC 4303 §3.4.3),
 * and let a restarted peer start over with a larger epoch. `salt` is random
 * per writer: both units and every lane share the key, and a Poly1305 nonce
 * must never tag two batches (RFC 8439 §4); a writer's seq never wraps.
 * Version 2 had no salt and an HMAC-SHA256 tag (`link_tag.ts` says why it changed).
 * @module
 */
import { timingSafeEqual } from "node:crypto";
import { LinkTag, NONCE_LEN, TAG_LEN } from "./link_tag.ts";
import { ReplayWindow } from "./replay_window.ts";
import {
  decodeRecord,
  encodeRecord,
  minBodyOf,
  type PeerRecordIn,
  type PeerRecordOut,
  RECORD_HEADER_LEN,
  recordSize,
  RecordSlots,
  type WireBuf,
  wireBuf,
} from "./records.ts";

/** "TNDM" */
export const BATCH_MAGIC = 0x544e444d;
export const BATCH_VERSION = 3;
/** Named header offsets. */
export const BH = {
  magic: 0,
  version: 4,
  flags: 5,
  count: 6,
  epoch: 8,
  seq: 16,
  salt: 20,
} as const;
export const BATCH_HEADER_LEN = 28;
export const SALT_LEN = 8;
/** The Poly1305 tag (RFC 8439 §2.5). */
export const BATCH_MAC_LEN = TAG_LEN;
/** The HA link runs MTU 9000, so 8192 bytes fit one frame. */
export const DEFAULT_MAX_BATCH = 8192;
/** Largest UDP payload over IPv4 (RFC 768 length minus IP and UDP headers). */
export const MAX_BATCH = 65507;

/**
 * Writes the nonce of the batch that starts `data` (salt ‖ seq, as its header holds them) into
 * `nonce`.
 */
function batchNonce(data: Uint8Array, nonce: Uint8Array): Uint8Array {
  for (let i = 0; i < SALT_LEN; i++) nonce[i] = data[BH.salt + i]!;
  for (let i = 0; i < 4; i++) nonce[8 + i] = data[BH.seq + i]!;
  return nonce;
}

/** Computes the 16-byte tag of the batch `data` (header and records, tag excluded). */
export function batchMac(key: Uint8Array, data: Uint8Array): Uint8Array {
  return new LinkTag(key).tag(batchNonce(data, new Uint8Array(NONCE_LEN)), data).slice();
}

/** Collects records into one batch and seals it. Reuses one internal buffer. */
export class BatchWriter {
  readonly maxBytes: number;
  readonly epoch: number;
  readonly #tag: LinkTag;
  readonly #nonce = new Uint8Array(NONCE_LEN);
  /** This writer's nonce salt: see the module's comment. */
  readonly #salt = new Uint8Array(SALT_LEN);
  readonly #buf: WireBuf;
  #off = BATCH_HEADER_LEN;
  #count = 0;
  #seq = 0;

  /**
   * `buffer`, when given, is where batches are built: at least `maxBytes` bytes (the unit
   * carves it from the same ArrayBuffer as its receive buffer, so frames copy in without a
   * view per record). Default: a buffer of its own. `salt`: 8 bytes, random by default (a test
   * that compares two writers' bytes gives both the same).
   */
  constructor(
    key: Uint8Array,
    epoch: number,
    maxBytes: number = DEFAULT_MAX_BATCH,
    buffer?: Uint8Array,
    salt?: Uint8Array,
  ) {
    if (!Number.isInteger(maxBytes) || maxBytes < 64 || maxBytes > MAX_BATCH) {
      throw new RangeError(`maxBytes must be an integer in [64, ${MAX_BATCH}]: ${maxBytes}`);
    }
    if (!Number.isFinite(epoch)) throw new RangeError(`epoch must be finite: ${epoch}`);
    if (salt !== undefined && salt.length !== SALT_LEN) {
      throw new RangeError(`salt of ${salt.length} bytes: need ${SALT_LEN}`);
    }
    if (salt) this.#salt.set(salt);
    else crypto.getRandomValues(this.#salt);
    this.#tag = new LinkTag(key);
    this.epoch = epoch;
    this.maxBytes = maxBytes;
    const room = buffer ?? new Uint8Array(maxBytes);
    if (room.length < maxBytes) {
      throw new RangeError(`buffer of ${room.length} bytes: need ${maxBytes}`);
    }
    this.#buf = wireBuf(room.subarray(0, maxBytes));
  }

  /** Records waiting for `flush`. */
  get pending(): number {
    return this.#count;
  }

  /** Sequence number of the last sealed batch (0 before the first). */
  get seq(): number {
    return this.#seq;
  }

  /**
   * Appends a record. Returns false when it does not fit in what is left of
   * this batch: flush, then add again. A record bigger than a whole batch
   * throws a RangeError, as do invalid field values: both are caller bugs.
   */
  add(rec: PeerRecordOut): boolean {
    const size = recordSize(rec);
    const room = this.maxBytes - BATCH_MAC_LEN;
    if (BATCH_HEADER_LEN + size > room) {
      throw new RangeError(`${rec.type} record of ${size} bytes exceeds batch of ${this.maxBytes}`);
    }
    if (this.#off + size > room || this.#count === 0xffff) return false;
    encodeRecord(this.#buf, this.#off, rec);
    this.#off += size;
    this.#count++;
    return true;
  }

  /**
   * Seals the pending records in place and returns a view of the datagram,
   * valid until the next `add`: the hot path sends it at once, so no 64 KiB
   * copy per batch reaches the garbage collector. Null if nothing is pending.
   */
  seal(): Uint8Array | null {
    if (this.#count === 0) return null;
    if (this.#seq >= 0xffffffff) throw new RangeError("batch sequence exhausted: restart epoch");
    const { bytes, view } = this.#buf;
    view.setUint32(BH.magic, BATCH_MAGIC);
    view.setUint8(BH.version, BATCH_VERSION);
    view.setUint8(BH.flags, 0);
    view.setUint16(BH.count, this.#count);
    view.setFloat64(BH.epoch, this.epoch);
    view.setUint32(BH.seq, ++this.#seq);
    bytes.set(this.#salt, BH.salt);
    const end = this.#off;
    const data = bytes.subarray(0, end);
    bytes.set(this.#tag.tag(batchNonce(data, this.#nonce), data), end);
    this.#off = BATCH_HEADER_LEN;
    this.#count = 0;
    return bytes.subarray(0, end + BATCH_MAC_LEN);
  }

  /** Seals the pending records into a datagram (a fresh copy) with the next seq; null if none. */
  flush(): Uint8Array | null {
    const sealed = this.seal();
    return sealed && sealed.slice();
  }
}

export type RejectReason =
  | "truncated"
  | "bad_magic"
  | "bad_version"
  | "bad_mac"
  | "replay"
  | "stale_epoch"
  | "malformed";

/** What `open` found: the batch's epoch, sequence and record count, or why it was rejected. */
export type OpenResult =
  | { ok: true; epoch: number; seq: number; count: number }
  | { ok: false; reason: RejectReason };

/** Authenticates and decodes batches from one peer. Never throws on input bytes. */
export class BatchReader {
  readonly counters: Record<RejectReason, number> = {
    truncated: 0,
    bad_magic: 0,
    bad_version: 0,
    bad_mac: 0,
    replay: 0,
    stale_epoch: 0,
    malformed: 0,
  };
  /** Batches accepted. */
  accepted = 0;
  readonly #tag: LinkTag;
  readonly #nonce = new Uint8Array(NONCE_LEN);
  readonly #window: ReplayWindow;
  readonly #slots = new RecordSlots();
  /** Epoch of the peer's current boot; -Infinity until the first batch. */
  #epoch = -Infinity;

  /** `window`: how many batches behind the newest may still arrive (multiple of 32). */
  constructor(key: Uint8Array, window = 1024) {
    this.#tag = new LinkTag(key);
    this.#window = new ReplayWindow(window);
  }

  /** The peer's epoch as last accepted; -Infinity before any. */
  get epoch(): number {
    return this.#epoch;
  }

  /**
   * Checks, in order: length, magic, version, MAC, epoch and sequence window, record framing
   * (every record's length fits and its body is at least as long as its type needs). Only a
   * batch that passes all of them is delivered: `onRecord` gets each record in order, decoded
   * into a reused object that is valid during the call (byte parts are offsets into
   * `datagram`). Returns what was checked; a rejected batch is counted under its reason.
   */
  open(datagram: Uint8Array, onRecord: (rec: PeerRecordIn) => void): OpenResult {
    const res = this.verify(datagram);
    if (res.ok) this.deliver(datagram, onRecord);
    return res;
  }

  /**
   * The checks of {@link open} without the delivery: a lane that applies batches in sequence
   * order verifies a batch when it arrives and delivers it when its turn comes. The replay
   * window records the batch as seen.
   */
  verify(datagram: Uint8Array): OpenResult {
    const len = datagram.length;
    if (len < BATCH_HEADER_LEN + BATCH_MAC_LEN) return this.#reject("truncated");
    const v = new DataView(datagram.buffer, datagram.byteOffset, len);
    if (v.getUint32(BH.magic) !== BATCH_MAGIC) return this.#reject("bad_magic");
    if (v.getUint8(BH.version) !== BATCH_VERSION) return this.#reject("bad_version");
    const end = len - BATCH_MAC_LEN;
    const data = datagram.subarray(0, end);
    const want = this.#tag.tag(batchNonce(data, this.#nonce), data);
    if (!timingSafeEqual(want, datagram.subarray(end))) return this.#reject("bad_mac");

    // Authenticated from here on: a bad value is a buggy peer, not an attacker.
    const epoch = v.getFloat64(BH.epoch);
    const seq = v.getUint32(BH.seq);
    if (!Number.isFinite(epoch)) return this.#reject("malformed");
    if (epoch < this.#epoch) return this.#reject("stale_epoch");
    const count = v.getUint16(BH.count);
    // Framing first, so a malformed batch delivers nothing.
    let off = BATCH_HEADER_LEN;
    for (let i = 0; i < count; i++) {
      if (off + RECORD_HEADER_LEN > end) return this.#reject("malformed");
      const type = v.getUint8(off);
      const blen = v.getUint16(off + 1);
      const body = off + RECORD_HEADER_LEN;
      if (body + blen > end) return this.#reject("malformed");
      const min = minBodyOf(type, v, body, blen);
      if (min === 0 || blen < min) return this.#reject("malformed");
      off = body + blen;
    }
    if (off !== end) return this.#reject("malformed");
    if (epoch > this.#epoch) {
      // A larger epoch: the peer restarted and counts from 1 again (0 is never valid; a
      // rejected batch must not move the epoch or the window).
      if (seq === 0) return this.#reject("replay");
      this.#epoch = epoch;
      this.#window.reset();
    }
    if (!this.#window.check(seq)) return this.#reject("replay");
    // RFC 4303 §3.4.3: the window moves once integrity is verified.
    this.#window.update(seq);
    this.accepted++;
    return { ok: true, epoch, seq, count };
  }

  /**
   * Hands each record of a batch that {@link verify} accepted (or that this unit sealed
   * itself) to `onRecord`, in order, decoded into reused objects.
   */
  deliver(datagram: Uint8Array, onRecord: (rec: PeerRecordIn) => void): void {
    const b = wireBuf(datagram);
    const v = b.view;
    const count = v.getUint16(BH.count);
    let off = BATCH_HEADER_LEN;
    for (let i = 0; i < count; i++) {
      const blen = v.getUint16(off + 1);
      const body = off + RECORD_HEADER_LEN;
      const rec = decodeRecord(v.getUint8(off), b, body, blen, this.#slots);
      if (rec) onRecord(rec);
      off = body + blen;
    }
  }

  #reject(reason: RejectReason): OpenResult {
    this.counters[reason]++;
    return { ok: false, reason };
  }
}
