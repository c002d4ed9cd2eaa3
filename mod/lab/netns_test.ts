import assert from "node:assert/strict";
import { requireLabTools } from "./harness.ts";
import {
  hasCommand,
  killPid,
  pidAlive,
  procState,
  run,
  sh,
  spawnInNs,
  stopPid,
  tail,
  waitExit,
} from "./netns.ts";

const skip = requireLabTools();
if (skip !== null) console.warn(`skipping the namespace spawn test: ${skip}`);

Deno.test("run returns code and output; sh throws with the command and stderr", async () => {
  const r = await run(["sh", "-c", "echo out; echo err >&2; exit 3"]);
  assert.deepEqual(r, { code: 3, stdout: "out\n", stderr: "err\n" });
  assert.equal(await sh(["cat"], "piped stdin"), "piped stdin");
  await assert.rejects(
    sh(["sh", "-c", "echo boom >&2; exit 1", "x y"]),
    (e: Error) => e.message.includes("exit 1") && e.message.includes("boom"),
  );
  const missing = await run(["/nonexistent/tandem-no-such-binary"]);
  assert.equal(missing.code, 127);
});

Deno.test("hasCommand finds sh and not a made-up name", () => {
  assert.ok(hasCommand("sh"));
  assert.equal(hasCommand("tandem-no-such-command-xyz"), false);
});

Deno.test("procState / pidAlive / killPid / waitExit track a child by pid", async () => {
  const child = new Deno.Command("sleep", { args: ["30"] }).spawn();
  try {
    assert.ok(pidAlive(child.pid));
    assert.ok(killPid(child.pid, "SIGSTOP"));
    for (let i = 0; i < 100 && procState(child.pid) !== "T"; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(procState(child.pid), "T", "stopped");
    assert.equal(await waitExit(child.pid, 100), false, "a stopped process has not exited");
    assert.ok(await stopPid(child.pid, 2000), "SIGCONT + SIGTERM ends it");
    assert.equal(pidAlive(child.pid), false);
  } finally {
    killPid(child.pid, "SIGKILL");
    await child.status;
  }
  assert.equal(killPid(child.pid, "SIGTERM"), false, "already gone");
  assert.equal(procState(2 ** 22 + 12345), undefined);
});

Deno.test({
  name: "spawnInNs starts a detached daemon in the namespace and reports its real pid",
  ignore: skip !== null,
  async fn() {
    const ns = "tl3-spawn";
    const dir = await Deno.makeTempDir();
    await run(["ip", "netns", "del", ns]);
    await sh(["ip", "netns", "add", ns]);
    let pid = 0;
    try {
      pid = await spawnInNs(
        ns,
        ["sh", "-c", 'echo "hello $PWD"; exec sleep 30'],
        `${dir}/log`,
        `${dir}/pid`,
        dir,
      );
      assert.equal((await Deno.readTextFile(`${dir}/pid`)).trim(), String(pid));
      assert.equal((await sh(["ip", "netns", "identify", String(pid)])).trim(), ns);
      for (let i = 0; i < 100 && !(await tail(`${dir}/log`)).includes("hello"); i++) {
        await new Promise((r) => setTimeout(r, 10));
      }
      assert.equal(await tail(`${dir}/log`), `hello ${dir}`);
      // After `exec sleep`, the pid we were given is the sleep itself.
      for (
        let i = 0;
        i < 100 && !Deno.readTextFileSync(`/proc/${pid}/cmdline`).startsWith("sleep");
        i++
      ) {
        await new Promise((r) => setTimeout(r, 10));
      }
      assert.equal(await Deno.readTextFile(`/proc/${pid}/cmdline`), "sleep\x0030\x00");
      // Own session: not in our process group, so it outlives us.
      const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      assert.equal(fields[3], String(pid), "session leader");
      assert.ok(killPid(pid, "SIGTERM"));
      assert.ok(await waitExit(pid, 3000));
    } finally {
      if (pid > 0) killPid(pid, "SIGKILL");
      await run(["ip", "netns", "del", ns]);
      await Deno.remove(dir, { recursive: true });
    }
  },
});
