import assert from "node:assert/strict";
import { Notifier, spawnRunner } from "./notify.ts";

/** A runner whose runs the test finishes by hand, recording starts and overlaps. */
function manual() {
  const started: string[] = [];
  const finish: ((code: number) => void)[] = [];
  let running = 0, maxRunning = 0;
  const run = (_s: string, args: string[]) => {
    started.push(args.join(" "));
    running++;
    maxRunning = Math.max(maxRunning, running);
    return new Promise<number>((r) =>
      finish.push((c) => {
        running--;
        r(c);
      })
    );
  };
  return { started, finish, run, max: () => maxRunning };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

Deno.test("notify: one at a time, in order, once each; push never waits", async () => {
  const m = manual();
  const logs: string[] = [];
  const n = new Notifier("/x", (l) => logs.push(l), m.run);
  n.push("standby", "a");
  n.push("active", "b");
  n.push("solo", "c");
  assert.equal(m.started.length, 0, "nothing runs inside push (the loop's turn)");
  assert.equal(n.pending, 3);
  await tick();
  assert.deepEqual(m.started, ["standby a"]);
  m.finish.shift()!(0);
  await tick();
  assert.deepEqual(m.started, ["standby a", "active b"]);
  m.finish.shift()!(3); // fails: counted and logged, the next one still runs
  await tick();
  m.finish.shift()!(0);
  await n.idle();
  assert.deepEqual(m.started, ["standby a", "active b", "solo c"]);
  assert.equal(m.max(), 1);
  assert.deepEqual([n.sent, n.failed, n.pending], [3, 1, 0]);
  assert.deepEqual(logs, ["notify active b: /x exited 3"]);
  // After going idle, a new push starts again.
  n.push("joining", "d");
  await tick();
  m.finish.shift()!(0);
  await n.idle();
  assert.deepEqual(m.started.at(-1), "joining d");
});

Deno.test("notify: a script that cannot start is counted as failed", async () => {
  const n = new Notifier("/x", () => {}, () => Promise.reject(new Error("ENOENT")));
  n.push("active", "x");
  await n.idle();
  assert.deepEqual([n.sent, n.failed], [1, 1]);
});

Deno.test("notify: the spawn runner passes STATE REASON and kills a script past its timeout", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tandem-notify-" });
  try {
    const out = `${dir}/out`;
    const script = `${dir}/notify.sh`;
    await Deno.writeTextFile(
      script,
      `#!/bin/sh\necho "$1 $2" >> ${out}\n[ "$1" = slow ] && sleep 30\nexit 0\n`,
    );
    await Deno.chmod(script, 0o755);
    assert.equal(await spawnRunner(script, ["active", "peer-dead"], 5000), 0);
    assert.equal(await Deno.readTextFile(out), "active peer-dead\n");
    const t0 = performance.now();
    assert.notEqual(await spawnRunner(script, ["slow", "x"], 200), 0);
    assert.ok(performance.now() - t0 < 10_000);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
