import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { ConfigError } from "../config/load.ts";
import { UsageError } from "./args.ts";
import { describeFailure, runCli } from "./exit.ts";

const PROBE = fileURLToPath(new URL("./testdata/cli_probe.ts", import.meta.url));
const REPO = fileURLToPath(new URL("../../", import.meta.url));
const CONFIG_A = fileURLToPath(new URL("../config/testdata/a.yaml", import.meta.url));
const PEER_KEY = fileURLToPath(new URL("../config/testdata/peer.key", import.meta.url));

async function probe(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-check", PROBE, ...args],
    cwd: REPO,
    env: { NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

function lines(text: string): string[] {
  return text.split("\n").filter((l) => l !== "");
}

Deno.test("exit: usage and config errors are code 2 with one line, others code 1", () => {
  assert.deepEqual(describeFailure(new UsageError("unknown flag --rol"), true), {
    code: 2,
    lines: ["tandem: unknown flag --rol"],
  });
  assert.deepEqual(describeFailure(new ConfigError("peer.dead_after", "1 is out of range"), true), {
    code: 2,
    lines: ["tandem: config: peer.dead_after: 1 is out of range"],
  });
  const boom = new Error("tap open failed\nmore detail");
  assert.deepEqual(describeFailure(boom, false), { code: 1, lines: ["tandem: tap open failed"] });
  const debug = describeFailure(boom, true);
  assert.equal(debug.code, 1);
  assert.equal(debug.lines.length, 2);
  assert.match(debug.lines[1]!, /\n\s+at /, "the stack follows in debug mode");
  assert.deepEqual(describeFailure("thrown string", false), {
    code: 1,
    lines: ["tandem: thrown string"],
  });
});

Deno.test("exit: runCli exits with main's code or the failure's code", async () => {
  class Exited extends Error {
    constructor(readonly code: number) {
      super(`exit ${code}`);
    }
  }
  const written: string[] = [];
  const io = {
    exit: (code: number): never => {
      throw new Exited(code);
    },
    writeErr: (t: string) => written.push(t),
    debug: () => false,
  };
  const codeOf = async (main: () => Promise<number>): Promise<number> => {
    try {
      await runCli(main, io);
    } catch (err) {
      if (err instanceof Exited) return err.code;
      throw err;
    }
    assert.fail("runCli returned");
  };
  assert.equal(await codeOf(() => Promise.resolve(0)), 0);
  assert.equal(await codeOf(() => Promise.resolve(3)), 3);
  assert.deepEqual(written, []);
  assert.equal(await codeOf(() => Promise.reject(new UsageError("unknown flag --x"))), 2);
  assert.deepEqual(written, ["tandem: unknown flag --x\n"]);
});

Deno.test("exit (subprocess): a bad flag exits 2 with exactly one line naming it", async () => {
  const r = await probe(["run", "--config", CONFIG_A, "--bogus"]);
  assert.equal(r.code, 2, r.stderr);
  assert.deepEqual(lines(r.stderr), ["tandem: unknown flag --bogus"]);
});

Deno.test("exit (subprocess): a bad config exits 2 with one line naming the field", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tandem-cli-" });
  try {
    const text = (await Deno.readTextFile(CONFIG_A))
      .replace("dead_after: 5", "dead_after: 500")
      .replace("key_file: peer.key", `key_file: ${JSON.stringify(PEER_KEY)}`)
      .replace("token_file: api.token", "");
    await Deno.writeTextFile(`${dir}/tandem.yaml`, text);
    const r = await probe(["run", "--config", `${dir}/tandem.yaml`]);
    assert.equal(r.code, 2, r.stderr);
    const out = lines(r.stderr);
    assert.equal(out.length, 1, r.stderr);
    assert.equal(out[0], "tandem: config: peer.dead_after: 500 is out of range 2..100");
    assert.ok(!/^\s+at /m.test(r.stderr), "no stack frames");
    const missing = await probe(["run", "--config", `${dir}/absent.yaml`]);
    assert.equal(missing.code, 2);
    assert.deepEqual(lines(missing.stderr), [
      `tandem: config: cannot read ${dir}/absent.yaml: No such file or directory`,
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("exit (subprocess): a good config runs; other errors exit 1, stack only in debug", async () => {
  const ok = await probe(["run", "--config", CONFIG_A, "--role", "standby"]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stdout.trim(), "ok a standby standby-forward");
  const plain = await probe(["version"]);
  assert.equal(plain.code, 1);
  assert.deepEqual(lines(plain.stderr), ["tandem: probe failure"]);
  const debug = await probe(["version"], { TANDEM_DEBUG: "1" });
  assert.equal(debug.code, 1);
  assert.equal(lines(debug.stderr)[0], "tandem: probe failure");
  assert.match(debug.stderr, /\n\s+at .*cli_probe\.ts/);
});
