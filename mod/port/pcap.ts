/**
 * Classic libpcap capture files (the format tcpdump -w writes): a writer, a
 * reader that never throws, and a capturing {@link FramePort} wrapper.
 * Format: https://www.tcpdump.org/manpages/pcap-savefile.5.html
 * @module
 */

import type { FramePort } from "./frame_port.ts";

/** Magic of microsecond-resolution files, as written in the file's byte order. */
const MAGIC_MICRO = 0xa1b2c3d4;
/** Magic of nanosecond-resolution files (tcpdump --time-stamp-precision=nano). */
const MAGIC_NANO = 0xa1b23c4d;
const GLOBAL_HEADER = 24;
const RECORD_HEADER = 16;
/** LINKTYPE_ETHERNET: frames start at the destination MAC. */
export const LINKTYPE_ETHERNET = 1;
/** tcpdump's default snapshot length. */
const DEFAULT_SNAPLEN = 262144;

/** One captured frame. */
export interface PcapRecord {
  /** Capture time in milliseconds since the Unix epoch (fractional). */
  timeMs: number;
  frame: Uint8Array;
}

/** Builds a capture file in memory: LINKTYPE_ETHERNET, microsecond timestamps, little-endian. */
export class PcapWriter {
  readonly snaplen: number;
  #buf = new Uint8Array(64 * 1024);
  #view = new DataView(this.#buf.buffer);
  #len = 0;
  #count = 0;

  constructor(snaplen = DEFAULT_SNAPLEN) {
    this.snaplen = snaplen;
    const v = this.#view;
    v.setUint32(0, MAGIC_MICRO, true);
    v.setUint16(4, 2, true);
    v.setUint16(6, 4, true);
    v.setInt32(8, 0, true); // thiszone: timestamps are UTC
    v.setUint32(12, 0, true); // sigfigs
    v.setUint32(16, snaplen, true);
    v.setUint32(20, LINKTYPE_ETHERNET, true);
    this.#len = GLOBAL_HEADER;
  }

  /** Frames written so far. */
  get count(): number {
    return this.#count;
  }

  /** Appends a frame captured at timeMs (ms since the epoch); longer than snaplen is cut. */
  write(frame: Uint8Array, timeMs: number): void {
    const incl = Math.min(frame.length, this.snaplen);
    this.#reserve(RECORD_HEADER + incl);
    const micros = Math.max(0, Math.round(timeMs * 1000));
    const sec = Math.floor(micros / 1e6);
    const v = this.#view;
    v.setUint32(this.#len, sec >>> 0, true);
    v.setUint32(this.#len + 4, micros - sec * 1e6, true);
    v.setUint32(this.#len + 8, incl, true);
    v.setUint32(this.#len + 12, frame.length, true);
    this.#buf.set(frame.subarray(0, incl), this.#len + RECORD_HEADER);
    this.#len += RECORD_HEADER + incl;
    this.#count++;
  }

  /** The file so far (a copy). */
  bytes(): Uint8Array {
    return this.#buf.slice(0, this.#len);
  }

  #reserve(extra: number): void {
    if (this.#len + extra <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.#len + extra) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
  }
}

interface Header {
  little: boolean;
  nano: boolean;
  snaplen: number;
  linktype: number;
}

function readHeader(bytes: Uint8Array): Header | undefined {
  if (bytes.length < GLOBAL_HEADER) return undefined;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const little of [true, false]) {
    const magic = v.getUint32(0, little);
    if (magic !== MAGIC_MICRO && magic !== MAGIC_NANO) continue;
    return {
      little,
      nano: magic === MAGIC_NANO,
      snaplen: v.getUint32(16, little),
      // The upper bits carry FCS length flags (pcap-savefile(5)); the type is the low 16.
      linktype: v.getUint32(20, little) & 0xffff,
    };
  }
  return undefined;
}

/** The link type of a capture file, or undefined when it is not a classic pcap file. */
export function pcapLinkType(bytes: Uint8Array): number | undefined {
  return readHeader(bytes)?.linktype;
}

/**
 * Reads every record of a classic pcap file (either byte order, micro- or
 * nanosecond stamps). Returns [] for anything that is not one, and the
 * records before the damage when the file is truncated (tcpdump killed
 * mid-write). Never throws. Frames are copies.
 */
export function readPcap(bytes: Uint8Array): PcapRecord[] {
  const header = readHeader(bytes);
  if (header === undefined) return [];
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // Some writers put 0 in snaplen; accept up to the largest tcpdump ever allows.
  const limit = Math.max(header.snaplen, DEFAULT_SNAPLEN);
  const divisor = header.nano ? 1e6 : 1e3;
  const out: PcapRecord[] = [];
  let at = GLOBAL_HEADER;
  while (at + RECORD_HEADER <= bytes.length) {
    const sec = v.getUint32(at, header.little);
    const frac = v.getUint32(at + 4, header.little);
    const incl = v.getUint32(at + 8, header.little);
    const start = at + RECORD_HEADER;
    if (incl > limit || start + incl > bytes.length) break;
    out.push({ timeMs: sec * 1000 + frac / divisor, frame: bytes.slice(start, start + incl) });
    at = start + incl;
  }
  return out;
}

/**
 * Wraps a port and records every frame received from or accepted by it,
 * timestamped by the injected clock (ms since the epoch).
 */
export class CapturePort implements FramePort {
  readonly inner: FramePort;
  readonly writer: PcapWriter;
  readonly #now: () => number;

  constructor(inner: FramePort, writer: PcapWriter, now: () => number) {
    this.inner = inner;
    this.writer = writer;
    this.#now = now;
  }

  get name(): string {
    return this.inner.name;
  }

  get fd(): number {
    return this.inner.fd;
  }

  recv(buf: Uint8Array): number {
    const n = this.inner.recv(buf);
    if (n > 0) this.writer.write(buf.subarray(0, n), this.#now());
    return n;
  }

  send(frame: Uint8Array, len: number = frame.length): boolean {
    const ok = this.inner.send(frame, len);
    if (ok) this.writer.write(frame.subarray(0, len), this.#now());
    return ok;
  }

  close(): void {
    this.inner.close();
  }
}
