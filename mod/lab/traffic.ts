/**
 * The lab's client-side traffic generator (`tandem lab traffic`), run in `<prefix>-client`.
 *
 * It holds persistent TCP echo connections, opens short "churn" connections at a steady rate and
 * sends UDP echo flows, checks every echoed byte against what was sent, and reports survival,
 * resets, corruption and the longest stall as one JSON line. A failover is judged by this report.
 * @module
 */

import dgram from "node:dgram";
import { parseArgs } from "node:util";
import { fmix32 } from "../util/hash.ts";
import { xorshift32 } from "../util/prng.ts";
import { parseIpv4, parseIpv6 } from "../wire/addr.ts";

/** The lab's IPv4 VIP (DESIGN.md "The lab"). */
export const VIP = "198.51.100.10";
/** The lab's IPv6 VIP, beside the IPv4 one (RFC 3849 documentation prefix). */
export const VIP6 = "2001:db8:100::10";

/** An address family as the traffic options name it. */
export type Family = 4 | 6;

/** The lab VIP of `family`. */
export function vipOf(family: Family = 4): string {
  return family === 6 ? VIP6 : VIP;
}

/** True for IPv6 address text (it has colons; IPv4 never does). */
export function isIpv6(address: string): boolean {
  return address.includes(":");
}

/** `http://<vip>[:port]<path>` on the lab VIP of `family`, IPv6 in brackets (RFC 3986 §3.2.2). */
export function vipUrl(path = "/", family: Family = 4, port = 80): string {
  const host = family === 6 ? `[${VIP6}]` : VIP;
  return `http://${host}${port === 80 ? "" : `:${port}`}${
    path.startsWith("/") ? path : `/${path}`
  }`;
}

/** Options of one traffic run; see `DEFAULT_TRAFFIC`. */
export interface TrafficOptions {
  /** Address of the service, IPv4 or IPv6 (the lab VIP of `family` by default). */
  target: string;
  /**
   * Which lab VIP to aim at when `target` is not given: 4 (default, 198.51.100.10) or 6
   * (2001:db8:100::10).
   */
  family?: Family;
  /** TCP echo port. */
  port: number;
  /** UDP echo port. */
  udpPort: number;
  /** Persistent TCP echo connections held for the whole run. */
  conns: number;
  /** Each connection / UDP flow sends one message per interval. */
  intervalMs: number;
  /** Open a short connection (3 round trips, clean close) every N ms; 0 = off. */
  churnMs: number;
  /** UDP flows, each from its own source port. */
  udp: number;
  /**
   * How long the traffic runs once it is steady (every persistent connection and UDP flow up,
   * see `readyFile`), so a slow start on a busy machine does not eat into it.
   */
  durationMs: number;
  /** Stop early once this file exists. */
  stopFile?: string;
  /** When this file appears, its mtime is the mark (e.g. the crash moment). */
  markFile?: string;
  /**
   * Created once every persistent connection has connected (or failed to) and the UDP flows
   * are bound: from then on the run's traffic is steady, so a test can fail a unit under it.
   */
  readyFile?: string;
  /** Longest wait for a connect or an owed echo before the connection is failed. */
  timeoutMs: number;
}

/** Defaults of the CLI: the lab's VIP and the sizes named in the lab brief. */
export const DEFAULT_TRAFFIC: TrafficOptions = {
  target: VIP,
  port: 7000,
  udpPort: 7001,
  conns: 200,
  intervalMs: 20,
  churnMs: 5,
  udp: 20,
  durationMs: 5000,
  timeoutMs: 10000,
};

/** Per persistent connection: when it last got a full, correct echo. */
export interface ConnRecord {
  id: number;
  /** Unix ms of the last successful echo, null if none. */
  lastEchoAt: number | null;
  echoes: number;
  /** Why the connection failed, null when it completed. */
  error: string | null;
}

/** The run's result, printed by the CLI as one JSON line. */
export interface TrafficReport {
  tcp: {
    /** Persistent connections that connected. */
    opened: number;
    /** Persistent connections that ran to the end, all echoes correct, closed cleanly. */
    completed: number;
    /** ECONNRESET / ECONNREFUSED (and EPIPE, which follows a reset) on persistent connections. */
    resets: number;
    /** Other failures: timeouts, early EOF, corruption that broke framing. */
    errors: number;
    /** Echoed bytes that differ from what was sent (plus any bytes nobody sent). */
    corruptBytes: number;
    /**
     * Longest wait for an owed echo over all persistent connections (or for a connect that
     * failed). Their connects come before the run is steady, so they are `connectMaxMs`.
     */
    maxStallMs: number;
    /** Longest successful connect of a persistent connection, ms. */
    connectMaxMs: number;
    p50RttMs: number;
    p99RttMs: number;
    /** Payload bytes echoed back correctly, both directions counted once. */
    bytes: number;
    messages: number;
  };
  churn: { opened: number; completed: number; failed: number; resets: number; maxStallMs: number };
  udp: { sent: number; received: number; corrupt: number; lost: number };
  /** Churn connections opened in the `windowMs` before the mark, and what became of them. */
  opsAroundMark: {
    markAt: number;
    windowMs: number;
    opened: number;
    completed: number;
    failed: number;
  } | null;
  conns: ConnRecord[];
  /** First few distinct failure messages, for diagnosis. */
  errorSamples: string[];
  startedAt: number;
  endedAt: number;
}

/** Bytes of the per-message header: u32 connection id, u32 sequence, u32 payload length. */
export const HEADER_LEN = 12;
/** Churn connection ids start here so their payloads differ from persistent ones. */
export const CHURN_ID_BASE = 0x4000_0000;
/** UDP flow ids start here. */
export const UDP_ID_BASE = 0x2000_0000;
/** Window before the mark in which opened connections are reported. */
export const MARK_WINDOW_MS = 50;

/**
 * The message a connection sends as its `seq`th: header plus a payload of 16..1024 bytes, both
 * length and content a pure function of (id, seq) so any process can recompute it.
 */
export function messageBytes(id: number, seq: number): Uint8Array {
  const next = xorshift32(fmix32((id * 0x9e3779b1) ^ fmix32(seq + 0x632be5ab)) || 1);
  const len = 16 + (next() % 1009);
  const out = new Uint8Array(HEADER_LEN + len);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, id >>> 0);
  dv.setUint32(4, seq >>> 0);
  dv.setUint32(8, len);
  for (let i = HEADER_LEN; i < out.length; i += 4) {
    const r = next();
    out[i] = r;
    if (i + 1 < out.length) out[i + 1] = r >>> 8;
    if (i + 2 < out.length) out[i + 2] = r >>> 16;
    if (i + 3 < out.length) out[i + 3] = r >>> 24;
  }
  return out;
}

/** Number of positions where `got` differs from `want[offset..]`. */
export function countDiff(got: Uint8Array, want: Uint8Array, offset: number): number {
  let n = 0;
  for (let i = 0; i < got.length; i++) if (got[i] !== want[offset + i]) n++;
  return n;
}

/** Nearest-rank percentile (`p` in 0..100) of ascending `sorted`; 0 when empty. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] ?? 0;
}

/** Is this error a reset / refusal by the peer (RST received)? */
export function isReset(e: unknown): boolean {
  return e instanceof Deno.errors.ConnectionReset || e instanceof Deno.errors.ConnectionRefused ||
    e instanceof Deno.errors.BrokenPipe || e instanceof Deno.errors.ConnectionAborted;
}

/** Wall-clock ms with sub-ms precision (mark files are compared by mtime). */
function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

class Failure extends Error {
  constructor(message: string, readonly reset = false) {
    super(message);
  }
}

/** A growable list of RTT samples without per-sample allocation. */
class Samples {
  #buf = new Float64Array(4096);
  #n = 0;
  push(x: number): void {
    if (this.#n === this.#buf.length) {
      const b = new Float64Array(this.#buf.length * 2);
      b.set(this.#buf);
      this.#buf = b;
    }
    this.#buf[this.#n++] = x;
  }
  sorted(): Float64Array {
    return this.#buf.slice(0, this.#n).sort();
  }
}

/** Cancellable sleep: resolves early when `signal` aborts. */
function sleepUntil(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted || ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal.addEventListener("abort", done);
  });
}

/** How late a timer may fire before the process is taken to have been away (not running). */
const LATE_MS = 50;

/**
 * Calls `onTimeout` once `ms` have passed while this process was running. A timer that fires
 * more than `LATE_MS` late means the process was not (a blocked event loop, a busy machine):
 * the reply it waits for may be sitting unread in the socket, so reads get a turn first and the
 * timer is armed again for `LATE_MS`. This counts only time the process could have noticed the
 * reply, not its own absence, up to `4 × ms` in all. Returns the cancel function.
 */
export function watchdog(ms: number, onTimeout: () => void): () => void {
  const start = performance.now();
  let t: ReturnType<typeof setTimeout>;
  const arm = (delay: number): void => {
    const due = performance.now() + delay;
    t = setTimeout(() => {
      const now = performance.now();
      if (now - due > LATE_MS && now - start < 4 * ms) arm(LATE_MS);
      else onTimeout();
    }, delay);
  };
  arm(ms);
  return () => clearTimeout(t);
}

/** An AbortSignal that aborts with a TimeoutError per {@link watchdog}; and its cancel. */
function timeoutSignal(ms: number): { signal: AbortSignal; cancel: () => void } {
  const ac = new AbortController();
  const cancel = watchdog(
    ms,
    () => ac.abort(new DOMException("The operation was aborted due to timeout", "TimeoutError")),
  );
  return { signal: ac.signal, cancel };
}

/** One TCP echo connection with byte-exact checking and owed-echo timing. */
class EchoConn {
  corrupt = 0;
  maxStall = 0;
  #buf = new Uint8Array(2048);

  constructor(readonly conn: Deno.TcpConn, readonly timeoutMs: number) {}

  static async open(host: string, port: number, timeoutMs: number): Promise<EchoConn> {
    const timeout = timeoutSignal(timeoutMs);
    try {
      const c = await Deno.connect({
        hostname: host,
        port,
        autoSelectFamily: false,
        signal: timeout.signal,
      });
      c.setNoDelay(true);
      return new EchoConn(c, timeoutMs);
    } catch (e) {
      if (isReset(e)) throw new Failure(`connect: ${(e as Error).name}`, true);
      throw new Failure(`connect: ${(e as Error).name}: ${(e as Error).message}`);
    } finally {
      timeout.cancel();
    }
  }

  /** Closes the socket (and with it any pending read) after `ms` (see `watchdog`). */
  #watchdog(ms: number, what: string): { cancel: () => void; fired: () => string | null } {
    let fired: string | null = null;
    const cancel = watchdog(ms, () => {
      fired = `timeout after ${ms} ms waiting for ${what}`;
      this.close();
    });
    return { cancel, fired: () => fired };
  }

  /** Sends `msg`, reads its echo, checks it; returns the round-trip time in ms. */
  async roundTrip(msg: Uint8Array): Promise<number> {
    const sentAt = performance.now();
    const wd = this.#watchdog(this.timeoutMs, "echo");
    try {
      let off = 0;
      while (off < msg.length) off += await this.conn.write(msg.subarray(off));
      let got = 0;
      if (this.#buf.length < msg.length) this.#buf = new Uint8Array(msg.length);
      while (got < msg.length) {
        const n = await this.conn.read(this.#buf.subarray(0, msg.length - got));
        if (n === null) throw new Failure(`EOF with ${msg.length - got} echo bytes owed`);
        this.corrupt += countDiff(this.#buf.subarray(0, n), msg, got);
        got += n;
      }
      return performance.now() - sentAt;
    } catch (e) {
      throw this.#classify(e, wd.fired());
    } finally {
      wd.cancel();
      this.maxStall = Math.max(this.maxStall, performance.now() - sentAt);
    }
  }

  /** Half-closes, expects the server to close after echoing nothing more, then closes. */
  async finish(): Promise<void> {
    const wd = this.#watchdog(this.timeoutMs, "close");
    try {
      await this.conn.closeWrite();
      for (;;) {
        const n = await this.conn.read(this.#buf);
        if (n === null) break;
        this.corrupt += n; // bytes nobody sent
      }
    } catch (e) {
      throw this.#classify(e, wd.fired());
    } finally {
      wd.cancel();
      this.close();
    }
  }

  #classify(e: unknown, timedOut: string | null): Failure {
    if (timedOut !== null) return new Failure(timedOut);
    if (e instanceof Failure) return e;
    if (isReset(e)) return new Failure((e as Error).name, true);
    return new Failure(`${(e as Error).name}: ${(e as Error).message}`);
  }

  close(): void {
    try {
      this.conn.close();
    } catch {
      // already closed
    }
  }
}

/** Runs the traffic described by `opts` and resolves with the report when it has ended. */
export async function runTraffic(partial: Partial<TrafficOptions> = {}): Promise<TrafficReport> {
  const o: TrafficOptions = {
    ...DEFAULT_TRAFFIC,
    ...partial,
    target: partial.target ?? vipOf(partial.family),
  };
  const stop = new AbortController();
  const samples = new Samples();
  const errorSamples = new Set<string>();
  const note = (msg: string): void => {
    if (errorSamples.size < 10) errorSamples.add(msg);
  };
  const report: TrafficReport = {
    tcp: {
      opened: 0,
      completed: 0,
      resets: 0,
      errors: 0,
      corruptBytes: 0,
      maxStallMs: 0,
      connectMaxMs: 0,
      p50RttMs: 0,
      p99RttMs: 0,
      bytes: 0,
      messages: 0,
    },
    churn: { opened: 0, completed: 0, failed: 0, resets: 0, maxStallMs: 0 },
    udp: { sent: 0, received: 0, corrupt: 0, lost: 0 },
    opsAroundMark: null,
    conns: [],
    errorSamples: [],
    startedAt: round3(wallNow()),
    endedAt: 0,
  };
  let markAt: number | null = null;

  // Stop and mark files are polled: the tests create them from another process.
  let polling = false;
  const poll = setInterval(async () => {
    if (polling) return;
    polling = true;
    try {
      if (o.stopFile !== undefined && await exists(o.stopFile)) stop.abort();
      if (o.markFile !== undefined && markAt === null) {
        const st = await Deno.stat(o.markFile).catch(() => null);
        if (st !== null) markAt = st.mtime?.getTime() ?? wallNow();
      }
    } finally {
      polling = false;
    }
  }, 2);
  let endTimer: ReturnType<typeof setTimeout> | undefined;

  // Persistent connections and UDP flows still starting; at 0 the ready file is written.
  let starting = o.conns + o.udp;
  const ready = (): void => {
    endTimer = setTimeout(() => stop.abort(), o.durationMs);
    if (o.readyFile === undefined) return;
    Deno.writeTextFile(o.readyFile, `${wallNow()}\n`).catch((e) => note(`ready file: ${e}`));
  };
  const started = (): void => {
    if (--starting === 0) ready();
  };

  // --- persistent connections ---
  const persistent = async (id: number): Promise<void> => {
    const rec: ConnRecord = { id, lastEchoAt: null, echoes: 0, error: null };
    report.conns.push(rec);
    let ec: EchoConn | undefined;
    const connectAt = performance.now();
    let connecting = true;
    try {
      ec = await EchoConn.open(o.target, o.port, o.timeoutMs);
      connecting = false;
      started();
      report.tcp.opened++;
      report.tcp.connectMaxMs = Math.max(report.tcp.connectMaxMs, performance.now() - connectAt);
      // Spread the connections over one interval so they do not all send at once.
      let next = performance.now() + (o.intervalMs * id) / Math.max(1, o.conns);
      for (let seq = 0; !stop.signal.aborted; seq++) {
        await sleepUntil(next - performance.now(), stop.signal);
        if (stop.signal.aborted) break;
        const msg = messageBytes(id, seq);
        const rtt = await ec.roundTrip(msg);
        samples.push(rtt);
        rec.echoes++;
        rec.lastEchoAt = round3(wallNow());
        report.tcp.messages++;
        report.tcp.bytes += msg.length;
        next = Math.max(next + o.intervalMs, performance.now());
      }
      await ec.finish();
      if (ec.corrupt === 0) report.tcp.completed++;
      else rec.error = `${ec.corrupt} corrupt bytes`;
    } catch (e) {
      if (connecting) started();
      const f = e as Failure;
      rec.error = f.message;
      note(`tcp ${id}: ${f.message}`);
      if (f.reset) report.tcp.resets++;
      else report.tcp.errors++;
    } finally {
      if (ec !== undefined) {
        ec.close();
        report.tcp.corruptBytes += ec.corrupt;
        report.tcp.maxStallMs = Math.max(report.tcp.maxStallMs, ec.maxStall);
      } else {
        report.tcp.maxStallMs = Math.max(report.tcp.maxStallMs, performance.now() - connectAt);
      }
    }
  };

  // --- churn: short connections opened at a steady rate ---
  const churnLog: { at: number; ok: boolean | null }[] = [];
  const churnOne = async (n: number): Promise<void> => {
    const entry = { at: wallNow(), ok: null as boolean | null };
    churnLog.push(entry);
    report.churn.opened++;
    const id = CHURN_ID_BASE + n;
    const connectAt = performance.now();
    let ec: EchoConn | undefined;
    try {
      ec = await EchoConn.open(o.target, o.port, o.timeoutMs);
      report.churn.maxStallMs = Math.max(report.churn.maxStallMs, performance.now() - connectAt);
      for (let seq = 0; seq < 3; seq++) await ec.roundTrip(messageBytes(id, seq));
      await ec.finish();
      entry.ok = ec.corrupt === 0;
      if (!entry.ok) note(`churn ${n}: ${ec.corrupt} corrupt bytes`);
    } catch (e) {
      const f = e as Failure;
      entry.ok = false;
      note(`churn ${n}: ${f.message}`);
      if (f.reset) report.churn.resets++;
    } finally {
      if (ec !== undefined) {
        ec.close();
        report.tcp.corruptBytes += ec.corrupt;
        report.churn.maxStallMs = Math.max(report.churn.maxStallMs, ec.maxStall);
      } else {
        report.churn.maxStallMs = Math.max(report.churn.maxStallMs, performance.now() - connectAt);
      }
      if (entry.ok) report.churn.completed++;
      else report.churn.failed++;
    }
  };
  const churnLoop = async (): Promise<void> => {
    const inflight = new Set<Promise<void>>();
    let next = performance.now();
    for (let n = 0; !stop.signal.aborted; n++) {
      // Bounded so a dead target cannot pile up thousands of pending connects.
      if (inflight.size < 1000) {
        const p = churnOne(n).finally(() => inflight.delete(p));
        inflight.add(p);
      }
      next += o.churnMs;
      await sleepUntil(next - performance.now(), stop.signal);
    }
    await Promise.all(inflight);
  };

  // --- UDP flows ---
  const udpFlow = async (f: number): Promise<void> => {
    const id = UDP_ID_BASE + f;
    const sock = dgram.createSocket(isIpv6(o.target) ? "udp6" : "udp4");
    const seen = new Set<number>();
    let sent = 0;
    let allBack: (() => void) | null = null;
    sock.on("error", (e) => note(`udp ${f}: ${e.message}`));
    sock.on("message", (msg: Uint8Array) => {
      const got = new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength);
      if (got.length < HEADER_LEN) {
        report.udp.corrupt++;
        return;
      }
      const dv = new DataView(got.buffer, got.byteOffset, got.byteLength);
      const seq = dv.getUint32(4);
      const want = messageBytes(id, seq);
      if (
        dv.getUint32(0) !== id || seq >= sent || seen.has(seq) || got.length !== want.length ||
        countDiff(got, want, 0) !== 0
      ) {
        report.udp.corrupt++;
        return;
      }
      seen.add(seq);
      report.udp.received++;
      if (seen.size === sent) allBack?.();
    });
    await new Promise<void>((r) => sock.bind(0, () => r()));
    started();
    let next = performance.now() + (o.intervalMs * f) / Math.max(1, o.udp);
    while (!stop.signal.aborted) {
      await sleepUntil(next - performance.now(), stop.signal);
      if (stop.signal.aborted) break;
      const msg = messageBytes(id, sent);
      sent++;
      report.udp.sent++;
      sock.send(msg, o.udpPort, o.target);
      next = Math.max(next + o.intervalMs, performance.now());
    }
    // Late echoes still count; UDP loss is reported, not failed.
    if (seen.size < sent) {
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(500, o.timeoutMs));
        allBack = () => {
          clearTimeout(t);
          r();
        };
      });
    }
    sock.close();
  };

  const tasks: Promise<void>[] = [];
  if (starting === 0) ready();
  for (let i = 0; i < o.conns; i++) tasks.push(persistent(i));
  if (o.churnMs > 0) tasks.push(churnLoop());
  for (let f = 0; f < o.udp; f++) tasks.push(udpFlow(f));
  await Promise.all(tasks);
  clearTimeout(endTimer);
  clearInterval(poll);

  const rtts = samples.sorted();
  report.tcp.p50RttMs = round3(percentile(rtts, 50));
  report.tcp.p99RttMs = round3(percentile(rtts, 99));
  report.tcp.maxStallMs = round3(report.tcp.maxStallMs);
  report.tcp.connectMaxMs = round3(report.tcp.connectMaxMs);
  report.churn.maxStallMs = round3(report.churn.maxStallMs);
  report.udp.lost = report.udp.sent - report.udp.received;
  report.conns.sort((a, b) => a.id - b.id);
  report.errorSamples = [...errorSamples];
  if (markAt !== null) report.opsAroundMark = opsAroundMark(churnLog, markAt);
  report.endedAt = round3(wallNow());
  return report;
}

/** What became of the churn connections opened in the `MARK_WINDOW_MS` up to the mark (pure). */
export function opsAroundMark(
  log: readonly { at: number; ok: boolean | null }[],
  markAt: number,
): NonNullable<TrafficReport["opsAroundMark"]> {
  const around = log.filter((c) => c.at >= markAt - MARK_WINDOW_MS && c.at <= markAt);
  const completed = around.filter((c) => c.ok === true).length;
  return {
    markAt: round3(markAt),
    windowMs: MARK_WINDOW_MS,
    opened: around.length,
    completed,
    failed: around.length - completed,
  };
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Parses `tandem lab traffic` flags; returns the options or a one-line error naming the flag. */
export function parseTrafficArgs(args: string[]): Partial<TrafficOptions> | string {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        target: { type: "string" },
        family: { type: "string" },
        port: { type: "string" },
        "udp-port": { type: "string" },
        conns: { type: "string" },
        "interval-ms": { type: "string" },
        "churn-ms": { type: "string" },
        udp: { type: "string" },
        "duration-ms": { type: "string" },
        "timeout-ms": { type: "string" },
        "stop-file": { type: "string" },
        "mark-file": { type: "string" },
        "ready-file": { type: "string" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    return (e as Error).message;
  }
  const out: Partial<TrafficOptions> = {};
  const ints: [string, keyof TrafficOptions, number, number][] = [
    ["port", "port", 1, 65535],
    ["udp-port", "udpPort", 1, 65535],
    ["conns", "conns", 0, 100000],
    ["interval-ms", "intervalMs", 1, 3600000],
    ["churn-ms", "churnMs", 0, 3600000],
    ["udp", "udp", 0, 10000],
    ["duration-ms", "durationMs", 0, 86400000],
    ["timeout-ms", "timeoutMs", 1, 3600000],
  ];
  for (const [flag, key, min, max] of ints) {
    const v = (values as Record<string, string | undefined>)[flag];
    if (v === undefined) continue;
    const n = Number(v);
    if (!/^\d+$/.test(v) || n < min || n > max) {
      return `--${flag} must be an integer in ${min}..${max}`;
    }
    (out as Record<string, number>)[key] = n;
  }
  if (values.family !== undefined) {
    if (values.family !== "4" && values.family !== "6") return "--family must be 4 or 6";
    out.family = Number(values.family) as Family;
  }
  if (values.target !== undefined) {
    const t = values.target;
    const ok = isIpv6(t)
      ? parseIpv6(t) !== undefined
      : /^\d{1,3}(\.\d{1,3}){3}$/.test(t) && parseIpv4(t) !== undefined;
    if (!ok) return "--target must be an IPv4 or IPv6 address";
    if (out.family !== undefined && (out.family === 6) !== isIpv6(t)) {
      return `--target ${t} is not an IPv${out.family} address (--family ${out.family})`;
    }
    out.target = t;
  }
  if (values["stop-file"] !== undefined) out.stopFile = values["stop-file"];
  if (values["mark-file"] !== undefined) out.markFile = values["mark-file"];
  if (values["ready-file"] !== undefined) out.readyFile = values["ready-file"];
  return out;
}

/** CLI entry for `tandem lab traffic`: prints the report as one JSON line; 2 on bad flags. */
export async function trafficMain(args: string[]): Promise<number> {
  const opts = parseTrafficArgs(args);
  if (typeof opts === "string") {
    console.error(`lab traffic: ${opts}`);
    return 2;
  }
  const report = await runTraffic(opts);
  console.log(JSON.stringify(report));
  return 0;
}

// Exit explicitly: a connect to a dead target may still be pending in the runtime.
if (import.meta.main) Deno.exit(await trafficMain(Deno.args));
