import assert from "node:assert/strict";
import { parseBenchArgs } from "./main.ts";

Deno.test("parseBenchArgs: no suite means all, in the canonical order", () => {
  const o = parseBenchArgs([]);
  assert.ok(typeof o !== "string");
  assert.deepEqual(o.suites, ["engine", "forward", "failover", "synflood", "memory", "sync"]);
  assert.equal(o.write, false);
  assert.ok(o.file.endsWith("/BENCHMARKS.md"));
});

Deno.test("parseBenchArgs: named suites run once each in order, with --write and --file", () => {
  const o = parseBenchArgs(["sync", "engine", "sync", "--write", "--file", "/tmp/x.md"]);
  assert.ok(typeof o !== "string");
  assert.deepEqual(o.suites, ["engine", "sync"]);
  assert.equal(o.write, true);
  assert.equal(o.file, "/tmp/x.md");
});

Deno.test("parseBenchArgs: unknown suites and flags are errors", () => {
  assert.equal(parseBenchArgs(["engnie"]), 'unknown suite "engnie"');
  assert.equal(typeof parseBenchArgs(["--wrte"]), "string");
});
