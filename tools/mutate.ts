/**
 * A mutation pass over the core: each mutant is one single-token change to one source file
 * (a flipped comparison or operator, a constant off by one, a boolean inverted, a call
 * skipped). For each, the core's own tests (no root, no lab) run; a mutant is *caught* when
 * they fail. The share caught says how much of the core's behaviour the tests pin down
 * (issue: at least 90%).
 *
 *   deno task mutate [--count N] [--seed S] [--files GLOB...] [--list]
 *
 * Mutants are drawn with a seeded PRNG so a run repeats; the source is restored after each.
 * @module
 */
import { parseArgs } from "node:util";
import { xorshift32 } from "../mod/util/prng.ts";

/** The core: the folders whose behaviour the unit tests must pin down. */
export const CORE = [
  "mod/engine",
  "mod/flow",
  "mod/ha",
  "mod/peer",
  "mod/sched",
  "mod/unit",
  "mod/wire",
];
/** Files left out: test fixtures and thin OS glue exercised only in the lab. */
const SKIP = /(_test|testing|test_util|mod|heartbeat_worker|link_cost)\.ts$/;

/** Single-token replacements: [pattern, replacement, name]. */
const OPERATORS: [RegExp, string, string][] = [
  [/===/g, "!==", "=== → !=="],
  [/!==/g, "===", "!== → ==="],
  [/ <= /g, " < ", "<= → <"],
  [/ >= /g, " > ", ">= → >"],
  [/ < /g, " <= ", "< → <="],
  [/ > /g, " >= ", "> → >="],
  [/ && /g, " || ", "&& → ||"],
  [/ \|\| /g, " && ", "|| → &&"],
  [/ \+ /g, " - ", "+ → -"],
  [/ - /g, " + ", "- → +"],
  [/\btrue\b/g, "false", "true → false"],
  [/\bfalse\b/g, "true", "false → true"],
  [/ \+= /g, " -= ", "+= → -="],
  [/\+\+/g, "--", "++ → --"],
  [/(?<![\w.])([1-9]\d*)(?![\w.x])/g, "$1+1", "n → n+1"],
  [/\bif \(!/g, "if (", "if (!x) → if (x)"],
];

export interface Mutant {
  file: string;
  line: number;
  op: string;
  before: string;
  after: string;
}

/** Lines that carry code (not comments, imports or type declarations). */
function mutableLine(line: string): boolean {
  const t = line.trim();
  if (t === "" || t.startsWith("//") || t.startsWith("*") || t.startsWith("/*")) return false;
  if (
    /^(import|export \{|export type|export \*|type |interface |readonly \w+[?]?:|\w+[?]?: [\w<>[\]| ]+;$)/
      .test(t)
  ) return false;
  if (/throw new|console\.|assert/.test(t)) return false;
  return true;
}

/** Every possible mutant of `text` (one per operator match on a code line). */
export function mutantsOf(file: string, text: string): Mutant[] {
  const out: Mutant[] = [];
  text.split("\n").forEach((line, i) => {
    if (!mutableLine(line)) return;
    // Leave string literals alone.
    const code = line.replace(/(["'`])(?:\\.|(?!\1).)*\1/g, (m) => "\0".repeat(m.length));
    for (const [re, rep, op] of OPERATORS) {
      for (const m of code.matchAll(re)) {
        const at = m.index!;
        const after = line.slice(0, at) + m[0].replace(new RegExp(re.source), rep) +
          line.slice(at + m[0].length);
        if (after !== line) out.push({ file, line: i + 1, op, before: line, after });
      }
    }
  });
  return out;
}

async function listFiles(dirs: string[]): Promise<string[]> {
  const files: string[] = [];
  for (const d of dirs) {
    for await (const e of Deno.readDir(d)) {
      if (e.isFile && e.name.endsWith(".ts") && !SKIP.test(e.name)) files.push(`${d}/${e.name}`);
    }
  }
  return files.sort();
}

/** Runs the core tests; true when they fail (the mutant is caught). */
async function caught(timeoutMs: number): Promise<boolean> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["test", "-A", "--no-check", "--fail-fast", ...CORE, "mod/util"],
    stdout: "null",
    stderr: "null",
    env: { NO_COLOR: "1" },
  }).spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
  }, timeoutMs);
  const status = await child.status;
  clearTimeout(timer);
  // A hang the tests' own deadlines did not catch counts as caught: the mutant broke something.
  return !status.success;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      count: { type: "string", default: "60" },
      seed: { type: "string", default: "7" },
      files: { type: "string", multiple: true },
      list: { type: "boolean", default: false },
      timeout: { type: "string", default: "180000" },
    },
  });
  const files = values.files?.length ? values.files : await listFiles(CORE);
  const all: Mutant[] = [];
  for (const f of files) all.push(...mutantsOf(f, await Deno.readTextFile(f)));
  const rnd = xorshift32(Number(values.seed));
  const picked: Mutant[] = [];
  const pool = [...all];
  const count = Math.min(Number(values.count), pool.length);
  while (picked.length < count) picked.push(pool.splice(rnd() % pool.length, 1)[0]!);
  picked.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line);
  if (values.list) {
    for (const m of picked) {
      console.log(`${m.file}:${m.line} ${m.op}\n  - ${m.before.trim()}\n  + ${m.after.trim()}`);
    }
    Deno.exit(0);
  }
  console.log(`${all.length} possible mutants in ${files.length} files; running ${picked.length}`);
  let killed = 0;
  const survivors: Mutant[] = [];
  for (const [i, m] of picked.entries()) {
    const original = await Deno.readTextFile(m.file);
    const lines = original.split("\n");
    lines[m.line - 1] = m.after;
    await Deno.writeTextFile(m.file, lines.join("\n"));
    let hit: boolean;
    try {
      hit = await caught(Number(values.timeout));
    } finally {
      await Deno.writeTextFile(m.file, original);
    }
    if (hit) killed++;
    else survivors.push(m);
    console.log(
      `${String(i + 1).padStart(3)}/${picked.length} ${
        hit ? "caught  " : "SURVIVED"
      } ${m.file}:${m.line} ${m.op}`,
    );
  }
  console.log(
    `\nmutants caught: ${killed}/${picked.length} (${
      ((killed / picked.length) * 100).toFixed(1)
    }%)`,
  );
  for (const m of survivors) {
    console.log(
      `survived ${m.file}:${m.line} ${m.op}\n  - ${m.before.trim()}\n  + ${m.after.trim()}`,
    );
  }
}
