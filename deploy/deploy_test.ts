import assert from "node:assert/strict";
import { parse } from "yaml";
import { loadConfig } from "../mod/config/load.ts";
import { renderMetrics } from "../mod/api/metrics.ts";
import { fixtureSnapshot } from "../mod/api/testdata/fixture.ts";

const here = (name: string): string => new URL(name, import.meta.url).pathname;
const text = (name: string): string => Deno.readTextFileSync(here(name));
// deno-lint-ignore no-explicit-any
const yamlOf = (name: string): any => parse(text(name));
const isRoot = Deno.uid() === 0;

async function run(
  cmd: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(cmd[0]!, {
    args: cmd.slice(1),
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

function hasCommand(name: string): boolean {
  return (Deno.env.get("PATH") ?? "").split(":").some((dir) => {
    try {
      return Deno.statSync(`${dir}/${name}`).isFile;
    } catch {
      return false;
    }
  });
}

/** Every IPv4 literal in a string. */
function ipsIn(s: string): string[] {
  return [...s.matchAll(/\b(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})\b/g)].map((m) => m[1]!);
}

const DOC_RANGES = ["192.0.2.", "198.51.100.", "203.0.113.", "127."];

Deno.test("deploy: a.yaml and b.yaml are the two halves of one pair", () => {
  const a = yamlOf("a.yaml");
  const b = yamlOf("b.yaml");
  const keys = [
    "node",
    "role",
    "mode",
    "interfaces",
    "floating",
    "services",
    "peer",
    "scheduling",
    "api",
  ];
  for (const c of [a, b]) assert.deepEqual(Object.keys(c).sort(), [...keys].sort());
  assert.deepEqual([a.node.name, b.node.name], ["a", "b"]);
  assert.deepEqual([a.role, b.role], ["active", "standby"]);
  assert.ok(["active-forward", "standby-forward", "standby-first"].includes(a.mode));
  // What the config digest covers must be identical on both units.
  assert.equal(a.mode, b.mode);
  assert.deepEqual(a.floating, b.floating);
  assert.deepEqual(a.services, b.services);
  assert.equal(a.peer.address, b.peer.listen);
  assert.equal(b.peer.address, a.peer.listen);
  assert.equal(a.peer.key_file, b.peer.key_file);
  for (const name of Object.keys(a.interfaces)) {
    assert.equal(a.interfaces[name].tap, b.interfaces[name].tap);
    assert.notEqual(a.interfaces[name].address, b.interfaces[name].address, "self addresses");
  }
  for (const f of a.floating) assert.ok(f.interface in a.interfaces, f.interface);
  for (const s of a.services) {
    assert.ok(["tcp", "udp"].includes(s.protocol));
    assert.ok(["round-robin", "maglev"].includes(s.scheduler));
    assert.ok(s.backends.length > 0);
  }
  for (const c of [a, b]) assert.ok(c.api.listen && c.api.token_file);
  for (const name of ["a.yaml", "b.yaml", "prometheus.yml"]) {
    for (const ip of ipsIn(text(name))) {
      assert.ok(DOC_RANGES.some((r) => ip.startsWith(r)), `${name}: ${ip} is not a doc address`);
    }
  }
});

Deno.test("deploy: both example configs load with tandem's own config loader", () => {
  // Secrets are stand-ins: the loader reads key_file and token_file through this hook.
  const readFile = (path: string): Uint8Array =>
    path.endsWith(".yaml")
      ? Deno.readFileSync(path)
      : new TextEncoder().encode(btoa("0123456789abcdef0123456789abcdef") + "\n");
  for (
    const [name, role, api] of [["a", "active", "192.0.2.65:9090"], [
      "b",
      "standby",
      "192.0.2.66:9090",
    ]]
  ) {
    const cfg = loadConfig(here(`${name}.yaml`), {}, readFile);
    assert.equal(cfg.role, role);
    assert.equal(cfg.api.listen.text, api);
    assert.ok(cfg.api.token, `${name}: the API token is configured`);
  }
});

Deno.test("deploy: wire.env wires exactly the TAPs the configs name", () => {
  const m = /^TANDEM_WIRE="([^"]*)"$/m.exec(text("wire.env"));
  assert.ok(m);
  const taps = m[1]!.split(/\s+/).map((pair) => pair.split(":")[1]);
  const a = yamlOf("a.yaml");
  assert.deepEqual(
    taps.sort(),
    Object.values(a.interfaces as Record<string, { tap: string }>).map((i) => i.tap).sort(),
  );
});

Deno.test("deploy: Dockerfile compiles with the task's flags and runs slim with iproute2", () => {
  const docker = Deno.readTextFileSync(here("../Dockerfile"));
  const denoJson = JSON.parse(Deno.readTextFileSync(here("../deno.json")));
  const taskFlags = (denoJson.tasks.compile as string).match(/--allow-[a-z]+/g)!.sort();
  const froms = [...docker.matchAll(/^FROM (\S+)(?: AS (\S+))?$/gm)].map((m) => m[1]);
  assert.deepEqual(froms, ["denoland/deno:2.9.6", "debian:bookworm-slim"]);
  assert.match(docker, /^RUN deno task compile\b/m);
  // The comment that documents the flags matches the task it runs.
  const documented = [...new Set(docker.match(/--allow-[a-z]+/g))].sort();
  assert.deepEqual(documented, taskFlags);
  assert.match(docker, /apt-get install -y --no-install-recommends iproute2/);
  assert.match(docker, /^COPY --from=build \/src\/tandem \/usr\/local\/bin\/tandem$/m);
  const runLine = docker.split("\n").filter((l) => l.startsWith("#")).join(" ").replace(
    /#\s*|\\/g,
    " ",
  ).replace(/\s+/g, " ");
  assert.match(
    runLine,
    /docker run --cap-add NET_ADMIN --device \/dev\/net\/tun --network host -v \/etc\/tandem:\/etc\/tandem tandem run --config \/etc\/tandem\/tandem\.yaml/,
  );
});

function unitKeys(src: string): Map<string, string[]> {
  const keys = new Map<string, string[]>();
  for (const line of src.split("\n")) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (m) keys.set(m[1]!, [...(keys.get(m[1]!) ?? []), m[2]!]);
  }
  return keys;
}

Deno.test("deploy: systemd unit grants only NET_ADMIN and /dev/net/tun, and always restarts", () => {
  const unit = text("tandem.service");
  const k = unitKeys(unit);
  assert.deepEqual(k.get("ExecStart"), [
    "/usr/local/bin/tandem run --config /etc/tandem/tandem.yaml",
  ]);
  assert.deepEqual(k.get("AmbientCapabilities"), ["CAP_NET_ADMIN"]);
  assert.deepEqual(k.get("CapabilityBoundingSet"), ["CAP_NET_ADMIN"]);
  assert.deepEqual(k.get("DeviceAllow"), ["/dev/net/tun rw"]);
  assert.deepEqual(k.get("DevicePolicy"), ["closed"]);
  assert.deepEqual(k.get("Restart"), ["always"]);
  assert.deepEqual(k.get("RestartSec"), ["1"]);
  for (const key of ["NoNewPrivileges", "ProtectHome", "PrivateTmp", "ProtectKernelModules"]) {
    assert.deepEqual(k.get(key), ["yes"], key);
  }
  assert.deepEqual(k.get("ProtectSystem"), ["strict"]);
  // These would break tandem: a private /dev hides /dev/net/tun, W^X breaks V8's JIT.
  assert.equal(k.get("PrivateDevices"), undefined);
  assert.equal(k.get("MemoryDenyWriteExecute"), undefined);
  assert.match(k.get("RestrictAddressFamilies")![0]!, /AF_INET\b.*AF_INET6.*AF_NETLINK/);
});

const hasAnalyze = hasCommand("systemd-analyze");
if (!hasAnalyze) console.warn("deploy_test: systemd-analyze (systemd) not on PATH, skipping");

Deno.test({
  name: "deploy: systemd-analyze verify accepts both unit files",
  ignore: !hasAnalyze,
  fn: async () => {
    const unit = text("tandem.service");
    // systemd-analyze verify checks every directive; point the binaries at /bin/true.
    const dir = await Deno.makeTempDir({ prefix: "tandem-units-" });
    try {
      await Deno.writeTextFile(
        `${dir}/tandem.service`,
        unit.replaceAll("/usr/local/bin/tandem", "/bin/true"),
      );
      await Deno.writeTextFile(
        `${dir}/tandem-wire.service`,
        text("tandem-wire.service").replaceAll("/usr/local/lib/tandem/wire-nic.sh", "/bin/true")
          .replace("EnvironmentFile=/", "EnvironmentFile=-/"),
      );
      const r = await run([
        "systemd-analyze",
        "verify",
        `${dir}/tandem.service`,
        `${dir}/tandem-wire.service`,
      ]);
      // Bad directives are only warned about ("…, ignoring."), with rc 0: look at the lines.
      const complaints = r.stderr.split("\n").filter((l) =>
        (l.startsWith(dir) || /tandem(-wire)?\.service:/.test(l)) &&
        !/Failed to load configuration/.test(l)
      );
      assert.deepEqual(complaints, [], r.stderr);
      assert.equal(r.code, 0, r.stderr);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("deploy: Prometheus scrapes both units, and every rule uses a real metric", () => {
  const prom = yamlOf("prometheus.yml");
  const a = yamlOf("a.yaml");
  const b = yamlOf("b.yaml");
  const job = prom.scrape_configs.find((j: { job_name: string }) => j.job_name === "tandem");
  assert.equal(job.metrics_path, "/metrics");
  const targets = job.static_configs.flatMap((s: { targets: string[] }) => s.targets).sort();
  assert.deepEqual(targets, [a.api.listen, b.api.listen].sort());
  assert.deepEqual(job.static_configs.map((s: { labels: { unit: string } }) => s.labels.unit), [
    "a",
    "b",
  ]);
  for (const f of prom.rule_files) Deno.statSync(here(f));

  const exposed = new Set(
    renderMetrics(fixtureSnapshot()).split("\n").filter((l) => l && !l.startsWith("#"))
      .map((l) => /^[a-z_:]+/.exec(l)![0]),
  );
  exposed.add("up");
  const rules = yamlOf("tandem-rules.yml").groups.flatMap((g: { rules: unknown[] }) => g.rules);
  assert.ok(rules.length >= 5);
  for (const r of rules as { alert: string; expr: string }[]) {
    const names = String(r.expr).match(/\b(tandem_[a-z_]+|up)\b/g) ?? [];
    assert.ok(names.length > 0, r.alert);
    for (const n of names) assert.ok(exposed.has(n), `${r.alert}: ${n} is not exported`);
  }
});

const wireSkip = !isRoot ? "not root" : hasCommand("ip") ? null : "ip (iproute2) not on PATH";
if (wireSkip) console.warn(`deploy_test: skipping the wire-nic.sh test: ${wireSkip}`);

Deno.test({
  name: "deploy: wire-nic.sh bridges a NIC and a TAP, idempotently, and undoes it",
  ignore: wireSkip !== null,
  async fn() {
    const ns = `tw1-wire-${Deno.pid}`;
    const script = here("wire-nic.sh");
    const inNs = (...cmd: string[]) => run(["ip", "netns", "exec", ns, ...cmd]);
    const linkJson = async (dev: string) => {
      const r = await inNs("ip", "-j", "-d", "link", "show", "dev", dev);
      return r.code === 0 ? JSON.parse(r.stdout)[0] : undefined;
    };
    assert.equal((await run(["ip", "netns", "add", ns])).code, 0);
    try {
      // A veth end stands in for the physical NIC.
      let r = await inNs("ip", "link", "add", "tw1nic", "type", "veth", "peer", "name", "tw1far");
      assert.equal(r.code, 0, r.stderr);
      for (let round = 0; round < 2; round++) {
        r = await inNs("bash", script, "up", "tw1nic:tw1tap");
        assert.equal(r.code, 0, r.stderr);
      }
      const br = await linkJson("tbr-tw1tap");
      assert.equal(br?.linkinfo?.info_kind, "bridge");
      assert.equal(br.linkinfo.info_data.stp_state, 0);
      const nic = await linkJson("tw1nic");
      const tap = await linkJson("tw1tap");
      assert.equal(nic?.master, "tbr-tw1tap");
      assert.equal(tap?.master, "tbr-tw1tap");
      assert.equal(tap.linkinfo.info_kind, "tun");
      for (const dev of [br, nic, tap]) {
        assert.ok(dev.flags.includes("NOARP"), `${dev.ifname} has kernel ARP off`);
        assert.ok(dev.flags.includes("UP"), `${dev.ifname} is up`);
      }
      r = await inNs("ip", "-o", "addr", "show", "dev", "tw1nic");
      assert.doesNotMatch(r.stdout, /inet6? /, "no kernel address on the NIC");
      if (hasCommand("ethtool")) {
        r = await inNs("ethtool", "-k", "tw1nic");
        assert.match(r.stdout, /^generic-receive-offload: off/m);
        assert.match(r.stdout, /^tcp-segmentation-offload: off/m);
        assert.match(r.stdout, /^tx-checksumming: off/m);
      }

      for (let round = 0; round < 2; round++) {
        r = await inNs("bash", script, "down", "tw1nic:tw1tap");
        assert.equal(r.code, 0, r.stderr);
      }
      assert.equal(await linkJson("tbr-tw1tap"), undefined);
      assert.equal(await linkJson("tw1tap"), undefined);
      const freed = await linkJson("tw1nic");
      assert.equal(freed?.master, undefined);
      assert.ok(!freed.flags.includes("NOARP"), "ARP is back on the freed NIC");

      for (const bad of [["up"], ["sideways", "a:b"], ["up", "nonexistent:tw1tap"], ["up", "x"]]) {
        r = await inNs("bash", script, ...bad);
        assert.equal(r.code, 2, `${bad.join(" ")}: ${r.stderr}`);
        assert.match(r.stderr, /wire-nic|wire-nic\.sh/);
      }
      assert.equal(await linkJson("tw1tap"), undefined, "a failed up leaves nothing behind");
    } finally {
      await run(["ip", "netns", "del", ns]);
    }
  },
});
