import assert from "node:assert/strict";
import { loadState, saveState } from "./state_file.ts";

Deno.test("state file: missing is the default, saved survives, garbage is reported", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tandem-state-" });
  try {
    assert.deepEqual(loadState(`${dir}/sub`), { state: { maintenance: false } });
    saveState(`${dir}/sub`, { maintenance: true });
    assert.deepEqual(loadState(`${dir}/sub`), { state: { maintenance: true } });
    // Written by rename: no temporary file is left beside it.
    assert.deepEqual([...Deno.readDirSync(`${dir}/sub`)].map((e) => e.name), ["state.json"]);
    saveState(`${dir}/sub`, { maintenance: false });
    assert.deepEqual(loadState(`${dir}/sub`).state, { maintenance: false });
    await Deno.writeTextFile(`${dir}/sub/state.json`, "{not json");
    const bad = loadState(`${dir}/sub`);
    assert.deepEqual(bad.state, { maintenance: false });
    assert.match(bad.error ?? "", /state\.json/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
