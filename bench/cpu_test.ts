import assert from "node:assert/strict";
import { idlePercent, parseProcStat, parseTaskStat, sampleCpu, threadUse } from "./cpu.ts";

// Field 14 (utime) is 1234 and field 15 (stime) 567; the name has spaces and parentheses.
const TASK =
  "4242 (deno (main) x) S 4200 4242 4200 0 -1 4194560 31337 0 12 0 1234 567 0 0 20 0 8 0 " +
  "99 1000 500 18446744073709551615 0 0 0 0 0 0 0 4096 17922 0 0 0 17 1 0 0 0 0 0\n";

Deno.test("parseTaskStat counts fields after the last parenthesis", () => {
  assert.deepEqual(parseTaskStat(TASK), { user: 1234, system: 567 });
  assert.deepEqual(parseTaskStat("4242 deno S 1 2"), undefined);
  assert.deepEqual(parseTaskStat("4242 (deno) S 1 2 3"), undefined);
});

Deno.test("parseProcStat: idle includes iowait, total the first eight fields", () => {
  const text = "cpu  100 5 50 800 20 0 25 0 7 0\ncpu0 50 2 25 400 10 0 12 0 0 0\nintr 1\n";
  assert.deepEqual(parseProcStat(text), { idle: 820, total: 1000 });
  assert.deepEqual(parseProcStat("cpu0 1 2 3 4 5 6 7 8\n"), undefined);
  assert.deepEqual(parseProcStat("cpu  1 2 x 4 5 6 7 8\n"), undefined);
});

Deno.test("threadUse: % of one core and the kernel's share of it", () => {
  // 150 ticks at 100 Hz over 2 s: 75% of a core, a third of it in the kernel.
  const u = threadUse({ user: 1000, system: 500 }, { user: 1100, system: 550 }, 2000, 100)!;
  assert.ok(Math.abs(u.busy - 75) < 1e-9);
  assert.ok(Math.abs(u.kernel - 100 / 3) < 1e-9);
  assert.deepEqual(threadUse({ user: 5, system: 5 }, { user: 5, system: 5 }, 1000, 100), {
    busy: 0,
    kernel: 0,
  });
  assert.deepEqual(threadUse({ user: 5, system: 5 }, { user: 4, system: 5 }, 1000, 100), undefined);
  assert.deepEqual(threadUse({ user: 0, system: 0 }, { user: 1, system: 0 }, 0, 100), undefined);
});

Deno.test("idlePercent over two readings", () => {
  assert.deepEqual(idlePercent({ idle: 100, total: 1000 }, { idle: 150, total: 1200 }), 25);
  assert.deepEqual(idlePercent({ idle: 100, total: 1000 }, { idle: 100, total: 1000 }), undefined);
});

/** Measures a child `deno eval` process's main thread for 500 ms while it runs `code`. */
async function measureChild(code: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", code],
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    // Past its start-up, into its steady state.
    await new Promise((r) => setTimeout(r, 400));
    return await sampleCpu({ child: child.pid }, () => new Promise((r) => setTimeout(r, 500)));
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
    await child.status;
  }
}

Deno.test("sampleCpu sees a process's loop thread spin, and not sleep", async () => {
  const spin = await measureChild(
    "const end = performance.now() + 3000; while (performance.now() < end);",
  );
  const sleep = await measureChild("setTimeout(() => {}, 3000);");
  const busy = spin.cpu.threads.child!.busy, slept = sleep.cpu.threads.child!.busy;
  // A spin is on a CPU whenever the scheduler lets it; a sleep is not. The bounds leave room for a
  // loaded machine, but a wrong field or unit puts the two on the wrong sides.
  assert.ok(busy > 20, `spinning thread busy ${busy}%`);
  assert.ok(slept < busy / 2, `sleeping thread busy ${slept}%, spinning ${busy}%`);
  const kernel = spin.cpu.threads.child!.kernel;
  assert.ok(kernel < 50, `spin in the kernel ${kernel}%`);
  const idle = spin.cpu.idle!;
  assert.ok(idle >= 0 && idle <= 100, `idle ${idle}%`);
  assert.deepEqual((await sampleCpu({ gone: undefined }, () => Promise.resolve(1))).cpu.threads, {
    gone: undefined,
  });
});
