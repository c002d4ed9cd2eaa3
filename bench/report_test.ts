import assert from "node:assert/strict";
import {
  benchRuns,
  int,
  isSuite,
  markdownBody,
  markers,
  median,
  medianRange,
  num,
  replaceSection,
  type SuiteResult,
  textTable,
  writeSection,
} from "./report.ts";

const RESULT: SuiteResult = {
  suite: "engine",
  title: "Engine.handle per packet",
  date: "2025-01-02",
  rows: [
    { metric: "UDP 64 B", tandem: "370 (2 700 000)", linux: "n/a", target: "≥ 300k" },
    { metric: "a|b", tandem: "1", linux: "2", target: "" },
  ],
  notes: ["one line of interpretation"],
};

Deno.test("num and int format figures and say n/a for missing ones", () => {
  assert.equal(num(1.2345, 2), "1.23");
  assert.equal(num(undefined), "n/a");
  assert.equal(num(NaN), "n/a");
  assert.equal(int(1234567.4), "1 234 567");
  assert.equal(int(999), "999");
  assert.equal(int(Infinity), "n/a");
});

Deno.test("isSuite accepts exactly the six suites", () => {
  for (const s of ["engine", "forward", "failover", "synflood", "memory", "sync"]) {
    assert.ok(isSuite(s), s);
  }
  assert.equal(isSuite("machine"), false);
  assert.equal(isSuite(""), false);
});

Deno.test("textTable aligns the four columns side by side and lists the notes", () => {
  const lines = textTable(RESULT).split("\n");
  assert.match(lines[0]!, /^== engine: Engine.handle per packet \(2025-01-02\)$/);
  const header = lines[1]!;
  const row = lines[3]!;
  // The tandem column is right-aligned: its values end where the header's "tandem" ends.
  assert.equal(row.indexOf("(2 700 000)") + "(2 700 000)".length, header.indexOf("tandem") + 6);
  assert.match(row, /^UDP 64 B\s+370 \(2 700 000\)\s+n\/a\s+≥ 300k$/);
  assert.equal(lines.at(-1), "   one line of interpretation");
});

Deno.test("markdownBody is a table with the date and notes, pipes escaped", () => {
  const md = markdownBody(RESULT);
  assert.ok(md.startsWith("Measured 2025-01-02.\n"));
  assert.ok(md.includes("| metric | tandem | linux | target |"));
  assert.ok(md.includes("| a\\|b | 1 | 2 |  |"));
  assert.ok(md.endsWith("one line of interpretation"));
  const skipped = markdownBody({ ...RESULT, rows: [], notes: [], skipped: "needs root" });
  assert.equal(skipped, "Measured 2025-01-02.\n\nSkipped: needs root");
});

Deno.test("replaceSection rewrites only the text between one suite's markers", () => {
  const { open, close } = markers("engine");
  const m2 = markers("sync");
  const doc =
    `# B\n\nintro\n${open}\nold engine\n${close}\nkept\n${m2.open}\nold sync\n${m2.close}\n`;
  const out = replaceSection(doc, "engine", "new engine");
  assert.equal(
    out,
    `# B\n\nintro\n${open}\nnew engine\n${close}\nkept\n${m2.open}\nold sync\n${m2.close}\n`,
  );
  // Idempotent: writing the same body again changes nothing.
  assert.equal(replaceSection(out, "engine", "new engine"), out);
});

Deno.test("replaceSection appends a new section when the markers are missing", () => {
  const out = replaceSection("# B\n", "memory", "body");
  assert.equal(out, "# B\n\n## memory\n\n<!-- bench:memory -->\nbody\n<!-- /bench:memory -->\n");
  assert.equal(
    replaceSection("", "sync", "x"),
    "## sync\n\n<!-- bench:sync -->\nx\n<!-- /bench:sync -->\n",
  );
});

Deno.test("replaceSection refuses unbalanced or repeated markers", () => {
  const { open, close } = markers("engine");
  assert.throws(() => replaceSection(`${open}\nx\n`, "engine", "y"), /unbalanced/);
  assert.throws(() => replaceSection(`${close}\n${open}\n`, "engine", "y"), /unbalanced/);
  assert.throws(() => replaceSection(`${open}\n${close}\n${open}\n`, "engine", "y"), /repeated/);
});

Deno.test("writeSection updates a file in place and creates it when missing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tandem-bench-report-" });
  try {
    const path = `${dir}/BENCHMARKS.md`;
    await writeSection(path, RESULT);
    const first = await Deno.readTextFile(path);
    assert.ok(first.includes("<!-- bench:engine -->\nMeasured 2025-01-02."));
    await writeSection(path, { ...RESULT, date: "2025-02-03" });
    const second = await Deno.readTextFile(path);
    assert.ok(second.includes("Measured 2025-02-03."));
    assert.equal(second.includes("2025-01-02"), false);
    assert.equal(second.split("<!-- bench:engine -->").length, 2, "one section, not two");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("medianRange: the median and the range; one value alone; none is n/a", () => {
  assert.equal(medianRange([30, 10, 20]), "20 (10–30)");
  assert.equal(medianRange([10, 40, 20, 30]), "25 (10–40)");
  assert.equal(medianRange([7.25], 1), "7.3");
  assert.equal(medianRange([]), "n/a");
  assert.equal(medianRange([140_000, 120_000, 1_300_000], int), "140 000 (120 000–1 300 000)");
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([]), undefined);
});

Deno.test("benchRuns: TANDEM_BENCH_RUNS, 3 by default, at least 1", () => {
  const saved = Deno.env.get("TANDEM_BENCH_RUNS");
  try {
    Deno.env.delete("TANDEM_BENCH_RUNS");
    assert.equal(benchRuns(), 3);
    Deno.env.set("TANDEM_BENCH_RUNS", "5");
    assert.equal(benchRuns(), 5);
    Deno.env.set("TANDEM_BENCH_RUNS", "0");
    assert.equal(benchRuns(), 1);
    Deno.env.set("TANDEM_BENCH_RUNS", "many");
    assert.equal(benchRuns(), 3);
  } finally {
    if (saved === undefined) Deno.env.delete("TANDEM_BENCH_RUNS");
    else Deno.env.set("TANDEM_BENCH_RUNS", saved);
  }
});
