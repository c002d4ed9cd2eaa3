import assert from "node:assert/strict";
import { reset } from "@logtape/logtape";
import { logger, setupLogging } from "./log.ts";

async function capture(
  format: "text" | "json",
  level: "debug" | "info" | "warning" | "error",
  body: () => void,
): Promise<string[]> {
  const lines: string[] = [];
  await setupLogging({ level, format, write: (line) => lines.push(line) });
  try {
    body();
  } finally {
    await reset();
  }
  return lines;
}

Deno.test("log json: one JSON object per line with the structured fields", async () => {
  const lines = await capture("json", "info", () => {
    logger("ha").info("peer {peer} down", { peer: "192.0.2.2:4790", misses: 5 });
    logger("engine").warn("drops: {reason}", { reason: "bad_checksum", count: 12 });
  });
  assert.equal(lines.length, 2);
  for (const line of lines) {
    assert.ok(line.endsWith("\n") && line.indexOf("\n") === line.length - 1);
  }
  const first = JSON.parse(lines[0]!);
  assert.equal(first.message, 'peer "192.0.2.2:4790" down');
  assert.equal(first.logger, "tandem.ha");
  assert.equal(first.level, "INFO");
  assert.equal(first.peer, "192.0.2.2:4790");
  assert.equal(first.misses, 5);
  const second = JSON.parse(lines[1]!);
  assert.equal(second.logger, "tandem.engine");
  assert.equal(second.count, 12);
  assert.equal(second.reason, "bad_checksum");
});

Deno.test("log text: one line with level, category, message and extra fields", async () => {
  const lines = await capture("text", "info", () => {
    logger("peer").info("heartbeat late {peer}", {
      peer: "b",
      age_ms: 52,
      note: "two\nlines",
    });
  });
  assert.equal(lines.length, 1);
  const line = lines[0]!;
  assert.equal(line.split("\n").length, 2, "exactly one newline, at the end");
  assert.match(line, /^\d{4}-\d\d-\d\dT\S+ INF tandem\.peer: heartbeat late b age_ms=52 /);
  assert.ok(!line.includes(" peer=b"), "a field used in the message is not repeated");
  assert.ok(line.includes('note="two\\nlines"'), line);
});

Deno.test("log text: a newline inside the message cannot start a second line", async () => {
  const lines = await capture("text", "info", () => {
    logger("api").info("client said {what}", { what: "hi\n2025-01-01 ERR forged" });
  });
  assert.equal(lines.length, 1);
  assert.equal(lines[0]!.split("\n").length, 2, lines[0]);
});

Deno.test("log level: records below the configured level are dropped", async () => {
  const lines = await capture("text", "warning", () => {
    logger("ha").debug("noise");
    logger("ha").info("noise");
    logger("ha").warn("kept");
    logger("ha").error("kept too");
  });
  assert.equal(lines.length, 2);
  assert.match(lines[0]!, /WRN tandem\.ha: kept/);
  assert.match(lines[1]!, /ERR tandem\.ha: kept too/);
});

Deno.test("log: loggers outside the tandem category are not emitted", async () => {
  const { getLogger } = await import("@logtape/logtape");
  const lines = await capture("json", "debug", () => {
    getLogger(["other"]).error("not ours");
    logger("x").debug("ours");
  });
  assert.equal(lines.length, 1);
  assert.equal(JSON.parse(lines[0]!).logger, "tandem.x");
});
