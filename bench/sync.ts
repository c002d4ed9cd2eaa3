/**
 * The `sync` suite: the bulk sync of 1M flows to a unit that (re)joins (claims 20, 21).
 *
 * 1. The codec and table bound, in one thread: the sender's busiest-first order, one FLOW record
 *    per flow into sealed batches of the data lane's size, then open, decode and upsert into a
 *    second table. No socket, no loop: the least the sync can cost.
 * 2. Two real `Unit`s, each in a worker thread (two cores, as two boxes would have), over a real
 *    UDP peer link on 127.0.0.1: unit a boots alone with 1M flows and serves solo, then unit b
 *    boots, joins, asks for the table and reports progress until it is complete.
 *
 * Linux has no comparable figure here (conntrackd's bulk resync is not measured): n/a.
 * @module
 */

import { FlowTable } from "../mod/flow/table.ts";
import { decodeRow, SYNC_ROW } from "../mod/flow/fields.ts";
import { BatchReader, BatchWriter, MAX_BATCH } from "../mod/peer/batch.ts";
import type { FlowRecordOut, PeerRecordIn } from "../mod/peer/records.ts";
import { fillTable } from "./memory.ts";
import type { SyncWorkerMessage, SyncWorkerStart } from "./sync_worker.ts";
import { int, isoDate, NA, num, type Row, type SuiteResult } from "./report.ts";

/** Flows synced. */
export const SYNC_FLOWS = 1_000_000;
/** A sync that makes no progress for this long is reported as stalled. */
const STALL_MS = 5000;

/** The codec + table bound. */
export interface CodecFigures {
  flows: number;
  encodeSeconds: number;
  decodeSeconds: number;
  bytes: number;
  identical: boolean;
}

/** Encodes every flow of a filled table as the sender does and applies it as the joiner does. */
export function measureCodec(n = SYNC_FLOWS): CodecFigures {
  const key = new Uint8Array(32).fill(9);
  const src = new FlowTable(n);
  fillTable(src, n, 0x5eed, Date.now());
  const dst = new FlowTable(n);
  const writer = new BatchWriter(key, 1, MAX_BATCH);
  const reader = new BatchReader(key);
  let encode = 0, decode = 0, bytes = 0, applied = 0;
  const take = (rec: PeerRecordIn): void => {
    if (rec.type !== "flow") return;
    dst.clearRow(dst.stage);
    decodeRow(dst.cols, SYNC_ROW, dst.stage, rec.view, rec.rowOff);
    if (dst.upsert(dst.stage) >= 0) applied++;
  };
  const apply = (dg: Uint8Array): void => {
    const t = performance.now();
    const res = reader.open(dg, take);
    if (!res.ok) throw new Error(`sync bench: own batch rejected: ${res.reason}`);
    decode += performance.now() - t;
    bytes += dg.length;
  };
  let t = performance.now();
  const order = src.syncOrder();
  const rec: FlowRecordOut = { type: "flow", flows: src, flow: 0 };
  for (let i = 0; i < order.length; i++) {
    rec.flow = order[i]!;
    if (!writer.add(rec)) {
      const dg = writer.seal()!;
      encode += performance.now() - t;
      apply(dg);
      t = performance.now();
      writer.add(rec);
    }
  }
  const last = writer.seal();
  encode += performance.now() - t;
  if (last) apply(last);
  let same = applied === n && dst.count === n && dst.digest === src.digest;
  // Every field arrived, not only the digest's: spot-check the whole rows.
  for (let i = 0; same && i < order.length; i += 997) {
    const e = src.entry(order[i]!);
    const ref = dst.lookup(e.proto, e.oSrc, e.oSport, e.oDst, e.oDport);
    same = ref >= 0 && (ref & 1) === 0 && JSON.stringify(dst.entry(ref >> 1)) === JSON.stringify(e);
  }
  return {
    flows: n,
    encodeSeconds: encode / 1000,
    decodeSeconds: decode / 1000,
    bytes,
    identical: same,
  };
}

/** The two-unit run. */
export interface PairFigures {
  flows: number;
  /** Joiner's "sync started" → "sync complete" on its own clock, s. */
  syncSeconds?: number;
  /** Joiner's boot (worker start) → sync complete, s. */
  joinSeconds?: number;
  retries: number;
  /** Status samples taken during the sync that showed partial progress. */
  progressSamples: number;
  identical?: boolean;
  joinerCount?: number;
  /** Entries the joiner had when last asked. */
  received?: number;
  error?: string;
}

/** Runs unit a (1M flows) and unit b (joining) in two workers over UDP on 127.0.0.1. */
export async function measurePair(
  n = SYNC_FLOWS,
  timeoutMs = 60_000,
  trace?: (line: string) => void,
): Promise<PairFigures> {
  const out: PairFigures = { flows: n, retries: 0, progressSamples: 0 };
  const key = Array.from(crypto.getRandomValues(new Uint8Array(32)));
  const base = 40000 + (Deno.pid % 5000) * 4;
  const url = new URL("./sync_worker.ts", import.meta.url).href;
  const workers: Worker[] = [];
  const events: Extract<SyncWorkerMessage, { type: "event" }>[] = [];
  const waiting: ((m: SyncWorkerMessage) => void)[] = [];
  let failure: string | undefined;
  const onMessage = (ev: MessageEvent): void => {
    const m = ev.data as SyncWorkerMessage;
    if (m.type === "event") {
      events.push(m);
      trace?.(`${m.at} ${m.node} ${m.kind}: ${m.detail}`);
    }
    if (m.type === "error") failure = `${m.node}: ${m.message}`;
    for (const w of waiting.splice(0)) w(m);
  };
  /** Waits for a message matching `pred` (or an event already seen), bounded. */
  const until = async <T>(what: string, pred: () => T | undefined, ms: number): Promise<T> => {
    const end = performance.now() + ms;
    for (;;) {
      if (failure) throw new Error(failure);
      const v = pred();
      if (v !== undefined) return v;
      const left = end - performance.now();
      if (left <= 0) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 100));
        waiting.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  };
  const status = async (w: Worker): Promise<Extract<SyncWorkerMessage, { type: "status" }>> => {
    let got: Extract<SyncWorkerMessage, { type: "status" }> | undefined;
    const listener = (ev: MessageEvent): void => {
      const m = ev.data as SyncWorkerMessage;
      if (m.type === "status") got = m;
    };
    w.addEventListener("message", listener);
    try {
      w.postMessage({ cmd: "status" });
      return await until("a status answer", () => got, 5000);
    } finally {
      w.removeEventListener("message", listener);
    }
  };
  const spawn = (m: SyncWorkerStart): Worker => {
    const w = new Worker(url, { type: "module" });
    w.onmessage = onMessage;
    w.onerror = (e) => {
      failure = `worker ${m.node}: ${e.message}`;
      e.preventDefault();
    };
    workers.push(w);
    w.postMessage(m);
    return w;
  };
  const find = (node: string, kind: string, re: RegExp) => () =>
    events.find((e) => e.node === node && e.kind === kind && re.test(e.detail));
  try {
    const common = { capacity: n + 1024, key };
    const a = spawn({
      cmd: "start",
      node: "a",
      role: "active",
      flows: n,
      port: base,
      peerPort: base + 2,
      ...common,
    });
    // Alone, a serves solo after its boot wait (1 s) once the table is filled.
    await until("unit a solo", find("a", "role", /-> solo/), 30_000);
    const bootB = Date.now();
    const b = spawn({
      cmd: "start",
      node: "b",
      role: "standby",
      flows: 0,
      port: base + 2,
      peerPort: base,
      ...common,
    });
    const started = await until(
      "b's sync to start",
      find("b", "sync", /sync from peer started/),
      15_000,
    );
    const deadline = performance.now() + timeoutMs;
    let done: typeof events[number] | undefined;
    let lastDone = -1, lastChange = performance.now();
    while (!done) {
      done = find("b", "sync", /bulk sync complete/)();
      if (done) break;
      if (performance.now() > deadline) throw new Error(`sync not complete after ${timeoutMs} ms`);
      const s = await status(b);
      out.received = s.sync.done;
      if (s.sync.done !== lastDone) {
        lastDone = s.sync.done;
        lastChange = performance.now();
      } else if (performance.now() - lastChange > STALL_MS && s.sync.state === "receiving") {
        const last = (re: RegExp) => events.findLast((e) => e.node === "a" && re.test(e.detail));
        const [began, sent] = [last(/sync to peer started/), last(/sync to peer sent/)];
        throw new Error(
          `stalled at ${int(s.sync.done)}/${int(s.sync.total)} flows, no progress for ` +
            `${STALL_MS / 1000} s` +
            (began && sent && sent.at >= began.at
              ? `, though a sent the whole table in ${num((sent.at - began.at) / 1000, 2)} s: ` +
                "the rest, closing SYNC_END included, was dropped on the way and the joiner " +
                "waits for a SYNC_END that never comes"
              : ""),
        );
      }
      trace?.(`b ${s.state} sync ${s.sync.state} ${s.sync.done}/${s.sync.total} flows ${s.count}`);
      if (s.sync.state === "receiving" && s.sync.done > 0 && s.sync.done < s.sync.total) {
        out.progressSamples++;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    out.syncSeconds = (done.at - started.at) / 1000;
    out.joinSeconds = (done.at - bootB) / 1000;
    out.retries = events.filter((e) => e.node === "b" && /incomplete/.test(e.detail)).length;
    const [sa, sb] = [await status(a), await status(b)];
    out.joinerCount = sb.count;
    out.identical = sa.digest === sb.digest && sa.count === sb.count;
  } catch (e) {
    out.error = (e as Error).message;
    out.retries = events.filter((e) => e.node === "b" && /incomplete/.test(e.detail)).length;
  } finally {
    for (const w of workers) w.postMessage({ cmd: "stop" });
    await new Promise((r) => setTimeout(r, 200));
    for (const w of workers) w.terminate();
  }
  return out;
}

/** The suite's table. */
export function syncResult(c: CodecFigures, p: PairFigures, now: number): SuiteResult {
  const total = c.encodeSeconds + c.decodeSeconds;
  const rows: Row[] = [
    {
      metric: `codec + table, ${int(c.flows)} flows: encode (order, FLOW records, tag), s`,
      tandem: num(c.encodeSeconds, 2),
      linux: NA,
      target: "",
    },
    {
      metric: "codec + table: open, decode, upsert, s",
      tandem: num(c.decodeSeconds, 2),
      linux: NA,
      target: "",
    },
    { metric: "codec + table: total, s", tandem: num(total, 2), linux: NA, target: "≤ 10 s" },
    { metric: "wire bytes per flow", tandem: num(c.bytes / c.flows, 1), linux: NA, target: "" },
    {
      metric: "codec + table: receiving table identical (digest)",
      tandem: c.identical ? "yes" : "NO",
      linux: NA,
      target: "yes",
    },
    {
      metric: `two units over UDP (127.0.0.1), ${int(p.flows)} flows: sync start → complete, s`,
      tandem: num(p.syncSeconds, 2),
      linux: NA,
      target: "≤ 10 s",
    },
    {
      metric: "two units: joiner boot → sync complete, s",
      tandem: num(p.joinSeconds, 2),
      linux: NA,
      target: "",
    },
    {
      metric: "two units: entries at the joiner when last asked",
      tandem: p.received === undefined ? NA : `${int(p.received)} / ${int(p.flows)}`,
      linux: NA,
      target: "",
    },
    {
      metric: "two units: progress shown in /status (samples mid-sync)",
      tandem: String(p.progressSamples),
      linux: NA,
      target: "> 0",
    },
    {
      metric: "two units: tables identical after sync (digest), resyncs",
      tandem: p.identical === undefined ? NA : `${p.identical ? "yes" : "NO"}, ${p.retries}`,
      linux: NA,
      target: "yes, 0",
    },
  ];
  const notes: string[] = [];
  if (p.error) notes.push(`Two-unit run failed: ${p.error}.`);
  if (p.syncSeconds !== undefined) {
    notes.push(
      p.syncSeconds <= 10
        ? `A real joiner takes ${num(p.syncSeconds, 1)} s for ${
          int(p.flows)
        } flows, within 10 s; ` +
          `the codec and table alone account for ${num(total, 1)} s of it.`
        : `A real joiner takes ${num(p.syncSeconds, 1)} s for ${int(p.flows)} flows, over 10 s; ` +
          `the codec and table account for ${num(total, 1)} s, the rest is the loops' pacing ` +
          "(2048 entries per turn) and the peer link.",
    );
  } else {
    notes.push(
      `Codec + table bound: ${num(total, 1)} s for ${int(c.flows)} flows ` +
        (total <= 10 ? "(within 10 s)." : "(over 10 s)."),
    );
  }
  if (p.error?.startsWith("stalled")) {
    notes.push(
      "Why: the sender is not paced by the joiner (2048 entries every loop turn, as fast as " +
        "its loop turns) so the joiner's socket buffer overruns, and a lost SYNC_END is never " +
        "asked for again; pacing by acknowledged progress and a timeout on a silent sync would " +
        "fix both.",
    );
  }
  if (p.retries > 0) {
    notes.push(
      `${p.retries} resync(s): FLOW records were lost on the peer link (a socket buffer ` +
        "overran); the joiner asked again rather than serve with holes.",
    );
  }
  return { suite: "sync", title: "Bulk sync of 1M flows", date: isoDate(now), rows, notes };
}

/** The `sync` suite. */
export async function syncSuite(): Promise<SuiteResult> {
  const c = measureCodec();
  const p = await measurePair();
  return syncResult(c, p, Date.now());
}
