/**
 * The API's command-line clients: `tandem status [--api ADDR]` fetches `/status` and prints it
 * for a human at a terminal; `tandem backend|maintenance|reload` post one control request with
 * the bearer token and print the unit's answer.
 * @module
 */

import type { BackendAdmin, BackendStatus, ServiceStatus, StatusSnapshot } from "./snapshot.ts";
import { syncRatio } from "./metrics.ts";

export interface StatusCommandOptions {
  /** Injected for tests; defaults to the global fetch. */
  fetch?: typeof fetch;
  /** Where the table goes (default: stdout). */
  out?: (s: string) => void;
  /** Where errors go (default: stderr). */
  err?: (s: string) => void;
  /** Request timeout in ms (default 2000). */
  timeoutMs?: number;
}

/** `host:port` → `http://host:port/`; a full http(s) URL is used as given. Undefined if invalid. */
export function apiBaseUrl(api: string): URL | undefined {
  const text = /^https?:\/\//i.test(api) ? api : `http://${api}`;
  if (!URL.canParse(text)) return undefined;
  const url = new URL(text);
  return url.hostname === "" ? undefined : url;
}

/** Structural check of the fields the table reads, so a foreign server cannot crash the CLI. */
function isSnapshot(x: unknown): x is StatusSnapshot {
  if (typeof x !== "object" || x === null) return false;
  const s = x as Record<string, unknown>;
  const obj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null;
  return typeof s.node === "string" && typeof s.mode === "string" &&
    typeof s.role === "string" && typeof s.state === "string" &&
    typeof s.receiver === "boolean" && typeof s.forwarder === "boolean" &&
    obj(s.peer) && typeof s.peer.state === "string" &&
    obj(s.sync) && typeof s.sync.done === "number" && typeof s.sync.total === "number" &&
    obj(s.flows) && typeof s.flows.count === "number" && typeof s.flows.digest === "string" &&
    obj(s.counters) && Array.isArray(s.events) && typeof s.uptimeSeconds === "number";
}

/** 3725 → "1h 2m 5s". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const d = Math.floor(s / 86400);
  const h = Math.floor(s / 3600) % 24;
  const m = Math.floor(s / 60) % 60;
  const parts: string[] = [];
  if (d) parts.push(`${d}d`);
  if (d || h) parts.push(`${h}h`);
  if (d || h || m) parts.push(`${m}m`);
  parts.push(`${s % 60}s`);
  return parts.join(" ");
}

function formatMs(v: number | null): string {
  if (v === null) return "–";
  return v < 1 ? `${Math.round(v * 1000)} µs` : `${v.toFixed(v < 10 ? 2 : 0)} ms`;
}

/** The table `tandem status` prints, one `key  value` row per line, keys padded to align. */
export function formatStatus(s: StatusSnapshot): string {
  const rows: [string, string][] = [];
  const duties = [s.receiver ? "receiver" : "", s.forwarder ? "forwarder" : ""].filter(Boolean);
  rows.push(["node", `${s.node} (tandem ${s.version})`]);
  rows.push(["mode", s.mode]);
  rows.push(["role/state", `${s.role} / ${s.state}`]);
  rows.push(["duties", duties.length ? duties.join(" + ") : "none (shadowing)"]);
  const peer: string[] = [s.peer.state];
  if (s.peer.address) peer.push(s.peer.address);
  peer.push(
    s.peer.lastHeartbeatAgeMs === null
      ? "no heartbeat yet"
      : `heartbeat ${formatMs(s.peer.lastHeartbeatAgeMs)} ago`,
  );
  if (s.peer.rttMs !== null) peer.push(`rtt ${formatMs(s.peer.rttMs)}`);
  if (s.peer.configMatch === false) peer.push("CONFIG DIFFERS");
  rows.push(["peer", peer.join("  ")]);
  const pct = Math.round(syncRatio(s.sync) * 100);
  rows.push(["sync", `${s.sync.state}  ${s.sync.done}/${s.sync.total} (${pct}%)`]);
  rows.push(["flows", `${s.flows.count} of ${s.flows.capacity}  digest ${s.flows.digest}`]);
  const c = s.counters;
  if (typeof c.rx_packets === "number" || typeof c.tx_packets === "number") {
    rows.push(["packets", `rx ${c.rx_packets ?? 0}  tx ${c.tx_packets ?? 0}`]);
  }
  const drops = Object.entries(c)
    .filter(([k, v]) => k.startsWith("drop_") && typeof v === "number" && v > 0)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 5);
  if (drops.length === 0) rows.push(["drops", "none"]);
  const dropWidth = Math.max(0, ...drops.map(([k]) => k.length - 5));
  drops.forEach(([k, v], i) =>
    rows.push([i === 0 ? "drops" : "", `${k.slice(5).padEnd(dropWidth)}  ${v}`])
  );
  const last = [...s.events].sort((a, b) => b.at - a.at)[0];
  if (last) {
    rows.push(["last event", `${new Date(last.at).toISOString()}  ${last.kind}: ${last.detail}`]);
  }
  rows.push(["uptime", formatDuration(s.uptimeSeconds)]);
  // Sections a unit older than issue 9 does not send are left out, not faked.
  if (isConfig(s.config)) rows.push(...configRows(s.config));
  if (isFailsafe(s.failsafe)) rows.push(...failsafeRows(s.failsafe));
  const width = Math.max(...rows.map(([k]) => k.length));
  const table = rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join("\n");
  const services = Array.isArray(s.services) ? s.services.filter(isService) : [];
  return [table, ...services.map(formatService)].join("\n\n");
}

const obj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null;

function isConfig(c: unknown): c is StatusSnapshot["config"] {
  return obj(c) && typeof c.digest === "string" && typeof c.loadedAt === "number" &&
    (c.lastReload === null || (obj(c.lastReload) && typeof c.lastReload.at === "number"));
}

function isFailsafe(f: unknown): f is StatusSnapshot["failsafe"] {
  return obj(f) && typeof f.healthy === "boolean" && typeof f.maintenance === "boolean" &&
    typeof f.preempt === "boolean" && Array.isArray(f.checks) && f.checks.every(obj);
}

function isService(x: unknown): x is ServiceStatus {
  return obj(x) && typeof x.name === "string" && typeof x.listen === "string" &&
    obj(x.health) && Array.isArray(x.backends) &&
    x.backends.every((b) => obj(b) && typeof b.address === "string");
}

/** Unix ms → ISO 8601 UTC, or "?" for a value no date can hold. */
function isoTime(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? "?" : d.toISOString();
}

/** 1500 → "1.5 s", 30000 → "30 s". */
function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))} s`;
}

function configRows(c: StatusSnapshot["config"]): [string, string][] {
  const loaded = `digest ${c.digest}  loaded ${isoTime(c.loadedAt)}`;
  const r = c.lastReload;
  return [
    ["config", c.path ? `${loaded}  ${c.path}` : loaded],
    [
      "last reload",
      r === null
        ? "none since start"
        : `${r.ok ? "ok" : "FAILED"}  ${isoTime(r.at)}  ${String(r.message)}`,
    ],
  ];
}

function failsafeRows(f: StatusSnapshot["failsafe"]): [string, string][] {
  const peer = f.peerHealthy === null ? "–" : f.peerHealthy ? "healthy" : "UNHEALTHY";
  const preempt = f.preempt ? `on (delay ${formatSeconds(f.preemptDelayMs)})` : "off";
  const rows: [string, string][] = [[
    "fail-safe",
    `${f.healthy ? "healthy" : "UNHEALTHY"}  peer ${peer}  ` +
    `maintenance ${f.maintenance ? "ON" : "off"}  preempt ${preempt}`,
  ]];
  if (f.checks.length === 0) rows.push(["checks", "none"]);
  const nameWidth = Math.max(0, ...f.checks.map((c) => String(c.name).length));
  const whatWidth = Math.max(0, ...f.checks.map((c) => `${c.kind} ${c.target}`.length));
  f.checks.forEach((c, i) =>
    rows.push([
      i === 0 ? "checks" : "",
      `${String(c.name).padEnd(nameWidth)}  ${`${c.kind} ${c.target}`.padEnd(whatWidth)}  ` +
      (c.up ? "up" : "DOWN"),
    ])
  );
  return rows;
}

const BACKEND_COLUMNS: [string, (b: BackendStatus) => string, "left" | "right"][] = [
  ["backend", (b) => b.address, "left"],
  ["weight", (b) => String(b.weight), "right"],
  ["admin", (b) => String(b.admin), "left"],
  ["health", (b) => String(b.health), "left"],
  ["peer", (b) => (b.peerHealth === null ? "–" : String(b.peerHealth)), "left"],
  ["state", (b) => String(b.state), "left"],
  ["flows", (b) => String(b.flows), "right"],
];

/** One service: a heading line, then its backends as a table with a header row. */
export function formatService(svc: ServiceStatus): string {
  const h = svc.health;
  const parts = [
    `service ${svc.name}`,
    `${svc.listen}/${svc.protocol}`,
    String(svc.scheduler),
    h.kind === "none"
      ? "no health checks"
      : `health ${h.kind} every ${formatSeconds(h.intervalMs)}`,
  ];
  if (svc.persistenceMs !== null) parts.push(`persistence ${formatSeconds(svc.persistenceMs)}`);
  parts.push(`${svc.backendsUp} of ${svc.backends.length} up`);
  const cells = [
    BACKEND_COLUMNS.map(([name]) => name),
    ...svc.backends.map((b) => BACKEND_COLUMNS.map(([, get]) => get(b))),
  ];
  const widths = BACKEND_COLUMNS.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  const lines = cells.map((r) =>
    "  " +
    r.map((v, i) =>
      BACKEND_COLUMNS[i]![2] === "right" ? v.padStart(widths[i]!) : v.padEnd(widths[i]!)
    ).join("  ").trimEnd()
  );
  if (svc.backends.length === 0) lines.push("  (no backends)");
  return [parts.join("  "), ...lines].join("\n");
}

/**
 * Short reason for a failed fetch: the innermost cause's last clause, e.g.
 * "connection refused" out of "error sending request …: tcp connect error:
 * Connection refused (os error 111)".
 */
function reasonOf(err: unknown, timeoutMs: number): string {
  if (err instanceof DOMException && (err.name === "TimeoutError" || err.name === "AbortError")) {
    return `no answer within ${timeoutMs / 1000} s`;
  }
  let inner: unknown = err;
  for (let depth = 0; depth < 8 && inner instanceof Error && inner.cause !== undefined; depth++) {
    inner = inner.cause;
  }
  const msg = inner instanceof Error ? inner.message : String(inner);
  const last = msg.split(": ").at(-1)!.replace(/\s*\(os error \d+\)$/, "").trim();
  return last === "" ? msg : last.charAt(0).toLowerCase() + last.slice(1);
}

/**
 * Runs `tandem status`. Returns the exit code: 0 after printing the table, 1 when
 * the unit is unreachable or answers with something that is not a status, 2 when
 * `api` is not an address.
 */
export async function statusCommand(api: string, opts: StatusCommandOptions = {}): Promise<number> {
  const doFetch = opts.fetch ?? fetch;
  const out = opts.out ?? ((s: string) => console.log(s));
  const err = opts.err ?? ((s: string) => console.error(s));
  const timeoutMs = opts.timeoutMs ?? 2000;
  const base = apiBaseUrl(api);
  if (!base) {
    err(`tandem: --api: expected host:port, got ${JSON.stringify(api)}`);
    return 2;
  }
  let body: unknown;
  try {
    const res = await doFetch(new URL("/status", base), {
      signal: AbortSignal.timeout(timeoutMs),
      headers: { accept: "application/json" },
    });
    if (!res.ok) {
      await res.body?.cancel();
      err(`tandem: bad answer from ${api}: HTTP ${res.status}`);
      return 1;
    }
    body = await res.json();
  } catch (e) {
    if (e instanceof SyntaxError) {
      err(`tandem: bad answer from ${api}: not JSON`);
    } else {
      err(`tandem: cannot reach ${api}: ${reasonOf(e, timeoutMs)}`);
    }
    return 1;
  }
  if (!isSnapshot(body)) {
    err(`tandem: bad answer from ${api}: not a tandem status`);
    return 1;
  }
  out(formatStatus(body));
  return 0;
}

/** One write request of the CLI: `tandem backend`, `tandem maintenance`, `tandem reload`. */
export type ControlRequest =
  | { kind: "backend"; service: string; address: string; admin: BackendAdmin }
  | { kind: "maintenance"; on: boolean }
  | { kind: "reload" };

export interface ControlCommandOptions extends StatusCommandOptions {
  /** `--token-file`; without it, `$TANDEM_TOKEN_FILE`. */
  tokenFile?: string;
  /** Injected for tests; defaults to `Deno.env.get`. */
  env?: (name: string) => string | undefined;
  /** Injected for tests; defaults to `Deno.readTextFileSync`. */
  readFile?: (path: string) => string;
  /** The token file a running unit recorded for the API (`local_api.ts`); none in tests. */
  localTokenFile?: (api: string) => string | undefined;
}

export const TOKEN_FILE_ENV = "TANDEM_TOKEN_FILE";

/** Path and body of a control request, as `app.ts` routes them. */
export function controlPath(req: ControlRequest): { path: string; body?: string } {
  switch (req.kind) {
    case "backend":
      // Encoded so a service name with `/` or `?` stays one path segment.
      return {
        path: `/backends/${encodeURIComponent(req.service)}/${encodeURIComponent(req.address)}`,
        body: JSON.stringify({ admin: req.admin }),
      };
    case "maintenance":
      return { path: "/maintenance", body: JSON.stringify({ on: req.on }) };
    case "reload":
      return { path: "/reload" };
  }
}

function defaultEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined; // no --allow-env: as if unset
  }
}

/** Short reason a file could not be read: "not found", "permission denied", … */
function fileReason(e: unknown): string {
  if (e instanceof Deno.errors.NotFound) return "not found";
  if (e instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (e instanceof Deno.errors.IsADirectory) return "is a directory";
  return e instanceof Error ? e.message.split("\n")[0]! : String(e);
}

/**
 * The bearer token: the file's content, trimmed (as the unit reads its `api.token_file`).
 * Returns the error line instead when there is no usable token.
 */
function readToken(
  opts: ControlCommandOptions,
  api: string,
): { token: string } | { error: string } {
  const env = opts.env ?? defaultEnv;
  const read = opts.readFile ?? ((p: string) => Deno.readTextFileSync(p));
  const fromFlag = opts.tokenFile !== undefined;
  const fromEnv = !fromFlag && (env(TOKEN_FILE_ENV) ?? "") !== "";
  // Last, the token file a unit running here recorded for this API (`local_api.ts`).
  const path = opts.tokenFile ?? (fromEnv ? env(TOKEN_FILE_ENV) : opts.localTokenFile?.(api));
  if (path === undefined || path === "") {
    return {
      error: `no API token: give --token-file FILE or set ${TOKEN_FILE_ENV} ` +
        `(no unit here recorded one for ${api})`,
    };
  }
  const where = fromFlag
    ? `token file ${path}`
    : fromEnv
    ? `token file ${path} (from ${TOKEN_FILE_ENV})`
    : `token file ${path} (recorded by the unit)`;
  let text: string;
  try {
    text = read(path);
  } catch (e) {
    return { error: `cannot read ${where}: ${fileReason(e)}` };
  }
  const token = text.trim();
  if (token === "") return { error: `${where} is empty` };
  if (/\s/.test(token)) return { error: `${where} holds more than one word` };
  return { token };
}

/**
 * Runs one control request. Exit codes: 0 when the unit did it (its message on stdout), 1 when
 * it refused or could not be reached (one line on stderr), 2 for a bad `--api` or no usable
 * token (bad usage).
 */
export async function controlCommand(
  api: string,
  req: ControlRequest,
  opts: ControlCommandOptions = {},
): Promise<number> {
  const doFetch = opts.fetch ?? fetch;
  const out = opts.out ?? ((s: string) => console.log(s));
  const err = opts.err ?? ((s: string) => console.error(s));
  const timeoutMs = opts.timeoutMs ?? 5000;
  const base = apiBaseUrl(api);
  if (!base) {
    err(`tandem: --api: expected host:port, got ${JSON.stringify(api)}`);
    return 2;
  }
  const token = readToken(opts, api);
  if ("error" in token) {
    err(`tandem: ${token.error}`);
    return 2;
  }
  const { path, body } = controlPath(req);
  let status: number;
  let answer: unknown;
  try {
    const res = await doFetch(new URL(path, base), {
      method: "POST",
      signal: AbortSignal.timeout(timeoutMs),
      headers: {
        accept: "application/json",
        authorization: `Bearer ${token.token}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body,
    });
    status = res.status;
    const text = await res.text();
    try {
      answer = JSON.parse(text);
    } catch {
      answer = undefined;
    }
  } catch (e) {
    err(`tandem: cannot reach ${api}: ${reasonOf(e, timeoutMs)}`);
    return 1;
  }
  const a = obj(answer) ? answer : {};
  const message = typeof a.message === "string" ? a.message : undefined;
  if (status === 200 && a.ok === true) {
    out(message ?? "done");
    return 0;
  }
  if (a.ok === false && message !== undefined) {
    // The unit's refusal: its own words, with the stable reason for scripts.
    err(`tandem: ${message}${typeof a.reason === "string" ? ` (${a.reason})` : ""}`);
    return 1;
  }
  const error = typeof a.error === "string" ? a.error : undefined;
  if (status === 401) err(`tandem: ${api} refused the token (HTTP 401)`);
  else if (status === 404 && error === "not found") {
    err(`tandem: ${api} has no write API (no api.token_file in its config?)`);
  } else if (error !== undefined) err(`tandem: ${api}: ${error} (HTTP ${status})`);
  else err(`tandem: bad answer from ${api}: HTTP ${status}`);
  return 1;
}
