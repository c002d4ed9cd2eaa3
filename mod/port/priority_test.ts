import assert from "node:assert/strict";
import { setNice } from "./priority.ts";

Deno.test({
  name: "setNice changes this process's nice value (root), or reports the errno",
  ignore: Deno.uid() !== 0,
  fn: async () => {
    const read = async () =>
      Number((await Deno.readTextFile(`/proc/${Deno.pid}/stat`)).split(") ")[1]!.split(" ")[16]);
    const before = await read();
    assert.equal(setNice(5), 0);
    assert.equal(await read(), 5);
    assert.equal(setNice(before), 0);
    assert.equal(await read(), before);
  },
});

Deno.test({
  name: "setRealtime puts every thread under SCHED_RR (checked in a child process)",
  ignore: Deno.uid() !== 0,
  fn: async () => {
    const code = `
      import { setRealtime } from "${new URL("./priority.ts", import.meta.url).href}";
      const err = setRealtime(5);
      const policies = [...Deno.readDirSync("/proc/self/task")].map((t) =>
        Deno.readTextFileSync("/proc/self/task/" + t.name + "/stat").split(") ")[1].split(" ")[38]);
      console.log(JSON.stringify({ err, policies }));`;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--unstable-ffi", code],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const { err, policies } = JSON.parse(new TextDecoder().decode(out.stdout));
    assert.equal(err, 0);
    assert.ok(policies.length > 1);
    for (const p of policies) assert.equal(p, "2", "SCHED_RR");
  },
});
