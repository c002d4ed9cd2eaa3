import assert from "node:assert/strict";
import { onShutdown } from "./signals.ts";

const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 50));

// SIGINT is taken by `deno test` itself, so in-process tests use SIGTERM and
// SIGINT is exercised in a child process.

Deno.test("onShutdown runs every handler in order on SIGTERM; unregistered ones stay quiet", async () => {
  const calls: string[] = [];
  const offA = onShutdown(async () => {
    await new Promise((r) => setTimeout(r, 5));
    calls.push("a");
  });
  const offB = onShutdown(() => {
    calls.push("b");
  });
  try {
    Deno.kill(Deno.pid, "SIGTERM");
    await settle();
    assert.deepEqual(calls, ["a", "b"]); // b waited for async a
    offA();
    Deno.kill(Deno.pid, "SIGTERM");
    await settle();
    assert.deepEqual(calls, ["a", "b", "b"]);
  } finally {
    offA();
    offB();
  }
});

Deno.test("onShutdown: a failing handler does not stop the next one", async () => {
  const calls: string[] = [];
  const originalError = console.error;
  const logged: unknown[] = [];
  console.error = (...args: unknown[]) => logged.push(args.join(" "));
  const offA = onShutdown(() => {
    throw new Error("boom");
  });
  const offB = onShutdown(() => {
    calls.push("b");
  });
  try {
    Deno.kill(Deno.pid, "SIGTERM");
    await settle();
    assert.deepEqual(calls, ["b"]);
    assert.deepEqual(logged, ["shutdown handler failed: boom"]);
  } finally {
    console.error = originalError;
    offA();
    offB();
  }
});

/** Starts a child that registers a handler, waits for "ready", sends signals, returns its result. */
async function child(
  body: string,
  signals: Deno.Signal[],
): Promise<{ code: number; stdout: string }> {
  const url = new URL("./signals.ts", import.meta.url).href;
  const script = await Deno.makeTempFile({ suffix: ".ts" });
  await Deno.writeTextFile(script, `import { onShutdown } from ${JSON.stringify(url)};\n${body}`);
  const proc = new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-check", "-A", script],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  try {
    const reader = proc.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let stdout = "";
    while (!stdout.includes("ready\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      stdout += value;
    }
    for (const sig of signals) {
      proc.kill(sig);
      await new Promise((r) => setTimeout(r, 50));
    }
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      stdout += value;
    }
    return { code: (await proc.status).code, stdout };
  } finally {
    try {
      proc.kill("SIGKILL");
    } catch {
      // Already exited.
    }
    await Deno.remove(script);
  }
}

Deno.test("onShutdown handles SIGINT; the process exits normally once handlers finish", async () => {
  const r = await child(
    `const timer = setInterval(() => {}, 1000);
const off = onShutdown(() => { console.log("ran"); clearInterval(timer); off(); });
console.log("ready");`,
    ["SIGINT"],
  );
  assert.equal(r.stdout, "ready\nran\n");
  assert.equal(r.code, 0);
});

Deno.test("onShutdown: a second signal during a slow shutdown exits at once with 128+signo", async () => {
  const r = await child(
    `setInterval(() => {}, 1000);
onShutdown(async () => { console.log("slow"); await new Promise((r) => setTimeout(r, 60_000)); });
console.log("ready");`,
    ["SIGTERM", "SIGTERM"],
  );
  assert.equal(r.stdout, "ready\nslow\n");
  assert.equal(r.code, 143);
});
