/**
 * Logging through LogTape: one sink to stderr (stdout stays free for command output such as
 * `tandem status`), categories `["tandem", area]`, structured fields as record properties.
 * @module
 */

import {
  configure,
  getJsonLinesFormatter,
  getLogger,
  getTextFormatter,
  type Logger,
  type LogRecord,
  type Sink,
  type TextFormatter,
} from "@logtape/logtape";

/** Levels a user can choose (`--log-level`, `log.level`), lowest first. */
export const LOG_LEVELS = ["debug", "info", "warning", "error"] as const;
/** One of {@link LOG_LEVELS}. */
export type LogLevel = typeof LOG_LEVELS[number];
/** Output formats (`--log-format`, `log.format`). */
export const LOG_FORMATS = ["text", "json"] as const;
/** One of {@link LOG_FORMATS}: `text` for people, `json` for one JSON object per line. */
export type LogFormat = typeof LOG_FORMATS[number];

/** Options of {@link setupLogging}. */
export interface LoggingOptions {
  level: LogLevel;
  format: LogFormat;
  /** Where finished lines go; defaults to a synchronous write to stderr. Tests capture here. */
  write?: (line: string) => void;
}

/** The category root of every tandem logger. */
export const ROOT_CATEGORY = "tandem";

const encoder = new TextEncoder();

function writeStderr(line: string): void {
  const bytes = encoder.encode(line);
  let done = 0;
  // writeSync may write fewer bytes than asked (pipes); loop so lines are never torn.
  while (done < bytes.length) done += Deno.stderr.writeSync(bytes.subarray(done));
}

/** Renders one property value for the text format: bare when safe, else JSON-quoted. */
function renderValue(value: unknown): string {
  if (typeof value === "string") {
    return /^[^\s"=\\\p{Cc}]+$/u.test(value) ? value : JSON.stringify(value);
  }
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") {
    return String(value);
  }
  if (value === null || value === undefined) return String(value);
  if (value instanceof Uint8Array) {
    return Array.from(value, (b) => b.toString(16).padStart(2, "0")).join("");
  }
  if (value instanceof Error) return JSON.stringify(value.message);
  try {
    return JSON.stringify(value, (_k, v) => typeof v === "bigint" ? v.toString() : v) ??
      String(value);
  } catch {
    return JSON.stringify(String(value));
  }
}

/** Names used as `{name}` placeholders in a template message; they are already in the text. */
function placeholders(record: LogRecord): Set<string> {
  const names = new Set<string>();
  if (typeof record.rawMessage === "string") {
    for (const m of record.rawMessage.matchAll(/\{([^{}\s]+)\}/g)) {
      if (m[1] !== undefined) names.add(m[1]);
    }
  }
  return names;
}

/** `2025-01-02T03:04:05.678Z INF tandem.ha: peer down age_ms=52` — always one line. */
function textFormatter(): TextFormatter {
  return getTextFormatter({
    timestamp: "rfc3339",
    category: ".",
    value: (v) => renderValue(v),
    // Escape CR/LF so a hostile string cannot forge a second log line.
    sanitize: { newlines: "escape", sgr: "escape" },
    format: ({ timestamp, level, category, message, record }) => {
      const used = placeholders(record);
      let fields = "";
      for (const [key, value] of Object.entries(record.properties)) {
        if (used.has(key)) continue;
        fields += ` ${key}=${renderValue(value)}`;
      }
      return `${timestamp ?? ""} ${level} ${category}: ${message}${fields}`;
    },
  });
}

/** The formatter for a format name; exported for tests and for tools that log elsewhere. */
export function formatterFor(format: LogFormat): TextFormatter {
  return format === "json"
    ? getJsonLinesFormatter({ categorySeparator: ".", message: "rendered", properties: "flatten" })
    : textFormatter();
}

/** A LogTape sink that formats each record and hands the line to `write`. */
function lineSink(format: LogFormat, write: (line: string) => void): Sink {
  const formatter = formatterFor(format);
  return (record: LogRecord): void => {
    let line = formatter(record);
    if (!line.endsWith("\n")) line += "\n";
    write(line);
  };
}

/**
 * Configures LogTape for the whole process (replacing any earlier setup): tandem loggers at
 * `level` and above, LogTape's own meta logger at warning and above, both to one sink.
 */
export async function setupLogging(opts: LoggingOptions): Promise<void> {
  await configure({
    reset: true,
    sinks: { out: lineSink(opts.format, opts.write ?? writeStderr) },
    loggers: [
      { category: [ROOT_CATEGORY], lowestLevel: opts.level, sinks: ["out"] },
      // Configuring the meta logger ourselves keeps LogTape from printing its setup notice.
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["out"] },
    ],
  });
}

/** The logger of one area (`engine`, `ha`, `peer`, ...): category `["tandem", area]`. */
export function logger(area: string): Logger {
  return getLogger([ROOT_CATEGORY, area]);
}
