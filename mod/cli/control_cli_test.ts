/**
 * The write commands end to end: `main.ts` in a child process against a live API with a fake
 * unit, so the dispatch, the token lookup and the exit codes are the ones a user gets.
 * @module
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { createApp } from "../api/app.ts";
import { serveApi } from "../api/serve.ts";
import { FakeUnit } from "../api/testdata/fixture.ts";

const MAIN = fileURLToPath(new URL("../../main.ts", import.meta.url));
const TOKEN = "cli-test-token";

async function tandem(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-check", MAIN, ...args],
    // An empty TANDEM_TOKEN_FILE counts as unset: the caller's own cannot leak in.
    env: { NO_COLOR: "1", TANDEM_TOKEN_FILE: "", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("cli: backend, maintenance and reload through main.ts: exit 0, 1 and 2", async () => {
  const unit = new FakeUnit();
  const ac = new AbortController();
  const server = serveApi(createApp(unit, { token: TOKEN }), "127.0.0.1:0", ac.signal);
  const api = `127.0.0.1:${server.addr.port}`;
  const dir = await Deno.makeTempDir();
  const tokenFile = `${dir}/api.token`;
  await Deno.writeTextFile(tokenFile, TOKEN + "\n");
  try {
    let r = await tandem(
      ["backend", "drain", "echo", "203.0.113.21:7000", "--api", api, "--token-file", tokenFile],
    );
    assert.deepEqual(r, { code: 0, stdout: "echo 203.0.113.21:7000 draining\n", stderr: "" });
    assert.deepEqual(unit.backendCalls, [["echo", "203.0.113.21:7000", "draining"]]);

    r = await tandem(["maintenance", "on", "--api", api], { TANDEM_TOKEN_FILE: tokenFile });
    assert.deepEqual(r, { code: 0, stdout: "maintenance on\n", stderr: "" });
    assert.deepEqual(unit.maintenanceCalls, [true]);

    unit.reloadResult = { ok: false, reason: "invalid-config", message: "services[0]: bad port" };
    r = await tandem(["reload", "--api", api, "--token-file", tokenFile]);
    assert.deepEqual(r, {
      code: 1,
      stdout: "",
      stderr: "tandem: services[0]: bad port (invalid-config)\n",
    });
    assert.equal(unit.reloadCalls, 1);

    // Bad usage: one line, exit 2, nothing sent.
    r = await tandem(["reload", "--api", api]);
    assert.deepEqual(r, {
      code: 2,
      stdout: "",
      stderr: "tandem: no API token: give --token-file FILE or set TANDEM_TOKEN_FILE " +
        `(no unit here recorded one for ${api})\n`,
    });
    r = await tandem(["backend", "drain", "echo", "--api", api, "--token-file", tokenFile]);
    assert.deepEqual(r, {
      code: 2,
      stdout: "",
      stderr: "tandem: backend drain needs an ADDR after SERVICE\n",
    });
    assert.equal(unit.reloadCalls, 1);
    assert.equal(unit.backendCalls.length, 1);
  } finally {
    ac.abort();
    await server.finished;
    await Deno.remove(dir, { recursive: true });
  }
});
