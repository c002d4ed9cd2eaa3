import assert from "node:assert/strict";
import { packageList, parsePackageList, requiredFor } from "./packages.ts";
import { EXIT_SETUP, preflight, type PreflightIo, preflightMain } from "./preflight.ts";

const LIST = parsePackageList(`
iproute2   | ip ss       | demo test
procps     | sysctl      | demo test
tcpdump    | tcpdump     | test
keepalived | keepalived  | demo? test?
chromium   | chromium    | test?
`);

/** A machine with `onPath` on PATH, `inSbin` only in /usr/sbin, and apt that installs. */
class FakeMachine implements PreflightIo {
  lines: string[] = [];
  ran: string[][] = [];
  constructor(
    public isRoot: boolean,
    public onPath: Set<string>,
    public inSbin = new Set<string>(),
    public aptInstalls: Record<string, string[]> = {},
    public aptCode = 0,
  ) {}
  which(c: string): string | undefined {
    return this.onPath.has(c) ? `/usr/bin/${c}` : undefined;
  }
  whichSystem(c: string): string | undefined {
    return this.inSbin.has(c) ? `/usr/sbin/${c}` : this.which(c);
  }
  run(args: readonly string[]): Promise<number> {
    this.ran.push([...args]);
    if (args[1] === "install" && this.aptCode === 0) {
      for (const p of args.slice(3)) for (const c of this.aptInstalls[p] ?? []) this.onPath.add(c);
    }
    return Promise.resolve(this.aptCode);
  }
  log(line: string): void {
    this.lines.push(line);
  }
}

const ALL = ["ip", "ss", "sysctl", "tcpdump", "keepalived", "chromium", "apt-get"];

Deno.test("preflight: everything there: silent, exit 0", async () => {
  const m = new FakeMachine(true, new Set(ALL));
  assert.equal(await preflight("test", m, { list: LIST }), 0);
  assert.deepEqual(m.lines, []);
  assert.equal(await preflight("demo", m, { list: LIST }), 0);
  assert.deepEqual(m.ran, []);
});

Deno.test("preflight: root with apt installs what is missing, saying so in one line first", async () => {
  const m = new FakeMachine(
    true,
    new Set(["ip", "ss", "keepalived", "chromium", "apt-get"]),
    new Set(),
    { procps: ["sysctl"], tcpdump: ["tcpdump"] },
  );
  assert.equal(await preflight("test", m, { list: LIST }), 0);
  assert.deepEqual(m.lines, [
    "tandem: installing procps tcpdump for sysctl, tcpdump: " +
    "apt-get update && apt-get install -y procps tcpdump",
  ]);
  assert.deepEqual(m.ran, [["apt-get", "update"], [
    "apt-get",
    "install",
    "-y",
    "procps",
    "tcpdump",
  ]]);
});

Deno.test("preflight: the demo installs only what the demo needs", async () => {
  const m = new FakeMachine(true, new Set(["ip", "ss", "keepalived", "apt-get"]), new Set(), {
    procps: ["sysctl"],
  });
  assert.equal(await preflight("demo", m, { list: LIST }), 0);
  assert.deepEqual(m.ran.at(-1), ["apt-get", "install", "-y", "procps"]);
});

Deno.test("preflight: --dry-run prints the apt commands and runs nothing", async () => {
  const m = new FakeMachine(true, new Set(["ss", "sysctl", "apt-get", "keepalived", "chromium"]));
  assert.equal(await preflight("test", m, { list: LIST, dryRun: true }), 0);
  assert.deepEqual(m.ran, []);
  assert.match(m.lines[0]!, /^tandem: installing iproute2 tcpdump for ip, tcpdump: /);
  assert.match(m.lines[0]!, /apt-get update && apt-get install -y iproute2 tcpdump$/);
});

Deno.test("preflight: a failed or useless install is exit 1 with the reason", async () => {
  const failing = new FakeMachine(true, new Set(["ip", "ss", "apt-get"]), new Set(), {}, 100);
  assert.equal(await preflight("demo", failing, { list: LIST }), 1);
  assert.equal(failing.lines.at(-1), "tandem: apt-get update failed");
  const useless = new FakeMachine(true, new Set(["ip", "ss", "apt-get"]));
  assert.equal(await preflight("demo", useless, { list: LIST }), 1);
  assert.equal(useless.lines.at(-1), "tandem: still not on PATH after the install: sysctl");
});

Deno.test("preflight: not root, or no apt: the exact command and exit 2", async () => {
  const user = new FakeMachine(false, new Set(["ss", "sysctl", "apt-get"]));
  assert.equal(await preflight("test", user, { list: LIST }), EXIT_SETUP);
  assert.deepEqual(user.lines, [
    "tandem: test needs ip, tcpdump (Debian: iproute2 tcpdump); as root run:",
    "  apt-get update && apt-get install -y iproute2 tcpdump",
  ]);
  assert.deepEqual(user.ran, []);
  const noApt = new FakeMachine(true, new Set(["ss", "sysctl", "tcpdump"]));
  assert.equal(await preflight("test", noApt, { list: LIST }), EXIT_SETUP);
  assert.equal(noApt.lines[1], "  apt-get update && apt-get install -y iproute2");
});

Deno.test("preflight: without root, a tool in sbin counts though PATH lacks it", async () => {
  const m = new FakeMachine(false, new Set(["ip", "ss", "tcpdump"]), new Set(["sysctl"]));
  assert.equal(await preflight("test", m, { list: LIST }), 0);
  assert.deepEqual(m.ran, []);
});

Deno.test("preflight: the demo needs root even with every tool there", async () => {
  const user = new FakeMachine(false, new Set(ALL));
  assert.equal(await preflight("demo", user, { list: LIST }), EXIT_SETUP);
  assert.match(user.lines[0]!, /^tandem: the demo needs root/);
  // The tests run without root; their lab parts skip, and the user is told so.
  const tests = new FakeMachine(false, new Set(ALL));
  assert.equal(await preflight("test", tests, { list: LIST }), 0);
  assert.deepEqual(tests.lines, ["tandem: not root: the lab, TAP and namespace tests will skip"]);
});

Deno.test("preflight: installed but off PATH is exit 2 with the PATH to set, not an install", async () => {
  const m = new FakeMachine(
    true,
    new Set(["ip", "ss", "tcpdump", "apt-get", "keepalived", "chromium"]),
    new Set(["sysctl"]),
  );
  assert.equal(await preflight("test", m, { list: LIST }), EXIT_SETUP);
  assert.deepEqual(m.ran, []);
  assert.deepEqual(m.lines, [
    'tandem: sysctl installed in /usr/sbin, which PATH lacks; run: export PATH="$PATH:/usr/sbin"',
  ]);
});

Deno.test("preflight: optional packages are named in one line, not installed", async () => {
  const m = new FakeMachine(true, new Set(["ip", "ss", "sysctl", "tcpdump", "apt-get"]));
  assert.equal(await preflight("test", m, { list: LIST }), 0);
  assert.deepEqual(m.ran, []);
  assert.deepEqual(m.lines, [
    "tandem: without keepalived, chromium the tests that use them skip " +
    "(optional: apt-get install -y keepalived chromium)",
  ]);
  const demo = new FakeMachine(true, new Set(["ip", "ss", "sysctl", "apt-get"]));
  assert.equal(await preflight("demo", demo, { list: LIST }), 0);
  assert.deepEqual(demo.lines, [
    "tandem: without keepalived the demo skips its comparison with the Linux reference pair " +
    "(optional: apt-get install -y keepalived)",
  ]);
});

Deno.test("preflightMain: bad usage is exit 2", async () => {
  for (const args of [[], ["build"], ["demo", "test"]]) {
    const m = new FakeMachine(true, new Set(ALL));
    assert.equal(await preflightMain(args, m), EXIT_SETUP, args.join(" "));
    assert.match(m.lines[0]!, /^usage: /);
  }
});

Deno.test("preflight.ts as a program: with an empty PATH it names every tool and exits 2", async () => {
  // No tool and no apt-get on PATH: even as root nothing is installed. Each tool is reported
  // either as installed off PATH (the PATH to set) or as missing (the apt command).
  const dir = await Deno.makeTempDir();
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("./preflight.ts", import.meta.url).pathname, "test"],
      env: { PATH: dir, NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    assert.equal(out.code, EXIT_SETUP, text + new TextDecoder().decode(out.stderr));
    for (const line of text.trim().split("\n")) {
      assert.match(
        line,
        /^(tandem: .*(as root run:|export PATH=".+")| {2}apt-get update && apt-get install -y .+)$/,
      );
    }
    for (const e of requiredFor(packageList(), "test")) {
      for (const c of e.commands) assert.match(text, new RegExp(`\\b${c}\\b`), c);
    }
  } finally {
    await Deno.remove(dir);
  }
});
