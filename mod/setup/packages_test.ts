import assert from "node:assert/strict";
import {
  aptInstallLine,
  findCommand,
  missingFrom,
  optionalFor,
  optionalPackages,
  packageList,
  parsePackageList,
  pathDirs,
  requiredFor,
  requiredPackages,
} from "./packages.ts";

const ROOT = new URL("../../", import.meta.url);

Deno.test("parsePackageList reads package, commands and tasks; ? marks optional use", () => {
  const list = parsePackageList(
    "# comment\n\niproute2 | ip ss | demo test   # trailing comment\n" +
      "chromium | chromium | test?\nkeepalived|keepalived|demo? test?\n",
  );
  assert.deepEqual(list, [
    { pkg: "iproute2", commands: ["ip", "ss"], needs: ["demo", "test"], uses: [] },
    { pkg: "chromium", commands: ["chromium"], needs: [], uses: ["test"] },
    { pkg: "keepalived", commands: ["keepalived"], needs: [], uses: ["demo", "test"] },
  ]);
  assert.deepEqual(requiredFor(list, "demo").map((e) => e.pkg), ["iproute2"]);
  assert.deepEqual(optionalFor(list, "test").map((e) => e.pkg), ["chromium", "keepalived"]);
  assert.deepEqual(requiredPackages(list), ["iproute2"]);
  assert.deepEqual(optionalPackages(list), ["chromium", "keepalived"]);
});

Deno.test("parsePackageList names the line of a malformed entry", () => {
  const cases: [string, RegExp][] = [
    ["iproute2 ip demo", /line 1: expected/],
    ["\nIPROUTE | ip | demo", /line 2: bad package name/],
    ["curl | | demo", /bad command list/],
    ["curl | curl | build", /unknown task "build"/],
    ["curl | curl | ", /no task needs it/],
    ["curl | curl | demo\ncurl | curl | test", /line 2: "curl" listed twice/],
  ];
  for (const [text, re] of cases) assert.throws(() => parsePackageList(text), re, text);
});

Deno.test("the package list: what the lab runs is required by both tasks", () => {
  const list = packageList();
  const has = (task: "demo" | "test", cmd: string) =>
    requiredFor(list, task).some((e) => e.commands.includes(cmd));
  // The lab itself (mod/lab): namespaces, sysctls, detached daemons, crash rules, readiness.
  for (const cmd of ["ip", "sysctl", "setsid", "nft", "curl"]) {
    assert.ok(has("demo", cmd) && has("test", cmd), cmd);
  }
  // Tests only: the privilege test, pings, captures, bulk TCP, offload features.
  for (const cmd of ["setpriv", "ping", "tcpdump", "iperf3", "ethtool", "ss"]) {
    assert.ok(has("test", cmd), cmd);
  }
  // Used when present: the Linux reference pair, the dashboard's browser test, unit files.
  const optional = optionalPackages(list);
  assert.deepEqual(optional.sort(), ["chromium", "conntrackd", "keepalived", "systemd"]);
  assert.deepEqual(optionalFor(list, "demo").map((e) => e.pkg).sort(), [
    "conntrackd",
    "keepalived",
  ]);
});

Deno.test("README.md's two install lines are exactly the list's required and optional packages", async () => {
  const readme = await Deno.readTextFile(new URL("README.md", ROOT));
  const lines = [...readme.matchAll(/^apt-get install -y ([^#\n]*)/gm)].map((m) =>
    m[1]!.trim().split(/\s+/)
  );
  assert.equal(lines.length, 2, "README.md has a required and an optional install line");
  const list = packageList();
  assert.deepEqual(lines[0], requiredPackages(list), "README.md's first line: required");
  assert.deepEqual(lines[1], optionalPackages(list), "README.md's second line: optional");
});

Deno.test(".ci/run installs from the list and names no package of its own", async () => {
  const ci = await Deno.readTextFile(new URL(".ci/run", ROOT));
  assert.match(ci, /mod\/setup\/packages\.txt/);
  for (const e of packageList()) {
    assert.doesNotMatch(ci, new RegExp(`\\b${e.pkg.replaceAll(".", "\\.")}\\b`), e.pkg);
  }
});

Deno.test("findCommand looks in the given directories only; missingFrom lists what is absent", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/tool`, "#!/bin/sh\n");
    await Deno.chmod(`${dir}/tool`, 0o755);
    await Deno.writeTextFile(`${dir}/data`, "");
    await Deno.chmod(`${dir}/data`, 0o644);
    assert.equal(findCommand("tool", ["/nonexistent", `${dir}/`]), `${dir}/tool`);
    assert.equal(findCommand("data", [dir]), undefined, "not executable");
    assert.equal(findCommand("tool", ["/nonexistent"]), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  assert.deepEqual(pathDirs("/a::/b:"), ["/a", "/b"]);
  const list = parsePackageList("iproute2 | ip ss | demo\ncurl | curl | demo\n");
  assert.deepEqual(missingFrom(list, (c) => c === "curl" || c === "ip"), [
    { pkg: "iproute2", commands: ["ss"] },
  ]);
  assert.equal(aptInstallLine(["a", "b"]), "apt-get install -y a b");
});
