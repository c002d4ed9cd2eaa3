import assert from "node:assert/strict";
import { LAB_USAGE, labMain, labPrerequisites } from "./cli.ts";

/** Runs `labMain` with console.error captured. */
async function quiet(args: string[]): Promise<{ code: number; err: string }> {
  const orig = console.error;
  let err = "";
  console.error = (...a: unknown[]) => {
    err += a.join(" ") + "\n";
  };
  try {
    return { code: await labMain(args), err };
  } finally {
    console.error = orig;
  }
}

Deno.test("lab CLI: bad usage exits 2 with one message naming the problem", async () => {
  const cases: [string[], RegExp][] = [
    [[], /missing command/],
    [["bogus"], /unknown command "bogus"/],
    [["up", "--mode", "sideways"], /--mode/],
    [["up", "--prefix", "Bad-Prefix"], /--prefix/],
    [["up", "--units", "a,c"], /--units/],
    [["up", "--hold-new-flows", "soon"], /--hold-new-flows/],
    [["up", "--vlan", "4095"], /--vlan must be a VLAN id, 1\.\.4094/],
    [["crash", "c"], /unit a or b/],
    [["demo", "--crash", "c"], /--crash must be a or b/],
    [["demo", "--mode", "both"], /--mode/],
    [["restart", "a"], /--role/],
    [["down", "--frobnicate"], /frobnicate/],
    [["traffic", "--conns", "many"], /--conns/],
  ];
  for (const [args, re] of cases) {
    const r = await quiet(args);
    assert.equal(r.code, 2, args.join(" "));
    assert.match(r.err, re, args.join(" "));
  }
});

Deno.test("lab CLI usage names the demo's scenario flags", () => {
  assert.match(LAB_USAGE, /demo \[--mode M\] \[--crash a\|b\] \[--no-linux\]/);
  assert.match(LAB_USAGE, /Linux reference pair/);
});

Deno.test("labPrerequisites: root and the lab's commands, with the Debian packages to install", () => {
  assert.equal(labPrerequisites(true, () => true), null);
  const lines = labPrerequisites(false, (c) => c !== "ip" && c !== "sysctl")!;
  assert.equal(lines[0], "the lab needs root (network namespaces, TAP devices, nftables)");
  assert.equal(
    lines[1],
    "the lab needs ip, sysctl on PATH; as root run: apt-get update && apt-get install -y " +
      "iproute2 procps",
  );
});
