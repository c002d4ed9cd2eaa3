/**
 * Benchmark results: one table per suite (metric | tandem | linux | target), printed side by side
 * on the console and written into `BENCHMARKS.md` between `<!-- bench:SUITE -->` and
 * `<!-- /bench:SUITE -->`, so a re-run replaces exactly its own section and nothing else.
 * @module
 */

/** The suites of `deno task bench`, in the order they run. */
export const SUITES = ["engine", "forward", "failover", "synflood", "memory", "sync"] as const;
export type SuiteName = typeof SUITES[number];

/** One measured figure, tandem beside the Linux reference ("n/a" where Linux has no peer). */
export interface Row {
  metric: string;
  tandem: string;
  linux: string;
  target: string;
}

/** What one suite measured. */
export interface SuiteResult {
  suite: SuiteName;
  title: string;
  /** ISO date (UTC) of the run. */
  date: string;
  rows: Row[];
  /** Interpretation: what meets its target, what falls short and why. One line each. */
  notes: string[];
  /** Set when the suite could not run at all (no root, missing tools); rows may be empty. */
  skipped?: string;
}

/** Placeholder for a figure that does not apply or was not measured. */
export const NA = "n/a";

/** True when `s` names a suite. */
export function isSuite(s: string): s is SuiteName {
  return (SUITES as readonly string[]).includes(s);
}

/** `x` with `digits` decimals, or "n/a" when it is not a finite number. */
export function num(x: number | undefined | null, digits = 1): string {
  return x === undefined || x === null || !Number.isFinite(x) ? NA : x.toFixed(digits);
}

/** An integer with thousands separators ("1 234 567"), or "n/a". */
export function int(x: number | undefined | null): string {
  if (x === undefined || x === null || !Number.isFinite(x)) return NA;
  return Math.round(x).toString().replace(/\B(?=(\d{3})+(?!\d))/g, " ");
}

/** The middle of `xs` (mean of the two middles when even), or undefined when there are none. */
export function median(xs: readonly number[]): number | undefined {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((x, y) => x - y);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/**
 * "median (min–max)" of `xs`, the median alone for one value, or n/a when there are none.
 * `digits` is the decimals, or a formatter (`int` for thousands separators).
 */
export function medianRange(
  xs: readonly number[],
  digits: number | ((x: number) => string) = 0,
): string {
  const med = median(xs);
  if (med === undefined) return NA;
  const f = typeof digits === "number" ? (x: number) => x.toFixed(digits) : digits;
  return xs.length === 1 ? f(med) : `${f(med)} (${f(Math.min(...xs))}–${f(Math.max(...xs))})`;
}

/**
 * How many times each suite repeats a measurement in the same lab: `TANDEM_BENCH_RUNS`, 3 by
 * default, at least 1 (a figure over no runs would be no figure).
 */
export function benchRuns(): number {
  const n = Math.floor(Number(Deno.env.get("TANDEM_BENCH_RUNS") ?? 3));
  return Number.isFinite(n) ? Math.max(1, n) : 3;
}

/** Today's date as YYYY-MM-DD (UTC) from a unix-ms clock reading. */
export function isoDate(unixMs: number): string {
  return new Date(unixMs).toISOString().slice(0, 10);
}

const HEADER: Row = { metric: "metric", tandem: "tandem", linux: "linux", target: "target" };
const COLUMNS = ["metric", "tandem", "linux", "target"] as const;

/** The suite as an aligned plain-text table for the terminal. */
export function textTable(r: SuiteResult): string {
  const lines = [`== ${r.suite}: ${r.title} (${r.date})`];
  if (r.skipped) lines.push(`   skipped: ${r.skipped}`);
  if (r.rows.length > 0) {
    const all = [HEADER, ...r.rows];
    const width = COLUMNS.map((c) => Math.max(...all.map((row) => row[c].length)));
    const line = (row: Row): string =>
      COLUMNS.map((c, i) => (i === 0 ? row[c].padEnd(width[i]!) : row[c].padStart(width[i]!)))
        .join("  ").trimEnd();
    lines.push(line(HEADER), COLUMNS.map((_, i) => "-".repeat(width[i]!)).join("  "));
    for (const row of r.rows) lines.push(line(row));
  }
  for (const n of r.notes) lines.push(`   ${n}`);
  return lines.join("\n");
}

/** Escapes the one character that breaks a Markdown table cell. */
function cell(s: string): string {
  return s.replaceAll("|", "\\|");
}

/** The Markdown body of a suite's section (what goes between its markers). */
export function markdownBody(r: SuiteResult): string {
  const out = [`Measured ${r.date}.`, ""];
  if (r.skipped) out.push(`Skipped: ${r.skipped}`, "");
  if (r.rows.length > 0) {
    out.push("| metric | tandem | linux | target |", "|---|---:|---:|---|");
    for (const row of r.rows) {
      out.push(`| ${COLUMNS.map((c) => cell(row[c])).join(" | ")} |`);
    }
    out.push("");
  }
  for (const n of r.notes) out.push(n, "");
  return out.join("\n").trimEnd();
}

/** The opening and closing markers of a suite's section. */
export function markers(suite: string): { open: string; close: string } {
  return { open: `<!-- bench:${suite} -->`, close: `<!-- /bench:${suite} -->` };
}

/**
 * Replaces the text between `suite`'s markers in `doc` with `body`. When the markers are
 * missing, a new section (heading and markers) is appended. A closing marker before the
 * opening one, or a second opening marker, is an error: the file was edited by hand.
 */
export function replaceSection(doc: string, suite: string, body: string): string {
  const { open, close } = markers(suite);
  const start = doc.indexOf(open);
  const end = doc.indexOf(close);
  if (start < 0 && end < 0) {
    const sep = doc === "" || doc.endsWith("\n\n") ? "" : doc.endsWith("\n") ? "\n" : "\n\n";
    return `${doc}${sep}## ${suite}\n\n${open}\n${body}\n${close}\n`;
  }
  if (start < 0 || end < 0 || end < start || doc.indexOf(open, start + open.length) >= 0) {
    throw new Error(`BENCHMARKS.md: markers of "${suite}" are unbalanced or repeated`);
  }
  return `${doc.slice(0, start + open.length)}\n${body}\n${doc.slice(end)}`;
}

/** Rewrites `suite`'s section of the Markdown file at `path` (created when missing). */
export async function writeSection(path: string, r: SuiteResult): Promise<void> {
  let doc = "";
  try {
    doc = await Deno.readTextFile(path);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  await Deno.writeTextFile(path, replaceSection(doc, r.suite, markdownBody(r)));
}
