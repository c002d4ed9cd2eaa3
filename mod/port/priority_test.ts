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
