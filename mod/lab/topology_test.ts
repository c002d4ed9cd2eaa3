import assert from "node:assert/strict";
import { parse } from "yaml";
import { labConfigText } from "../config/lab_config.ts";
import { loadConfig } from "../config/load.ts";
import { listNamespaces, requireLabTools, withLab } from "./harness.ts";
import { nsExec, nsRun, pidAlive, run } from "./netns.ts";
import {
  checkPrefix,
  crash,
  LAB_ADDRESSES,
  labAddressLines,
  labDown,
  labNamespaces,
  labStateDir,
  labToolCommand,
  labUp,
  readPid,
  revive,
  tandemCommand,
} from "./topology.ts";
import type { TrafficReport } from "./traffic.ts";

// The topology test pings across the lab.
const skip = requireLabTools("ping");
if (skip !== null) console.warn(`skipping lab topology tests: ${skip}`);

interface IpAddr {
  ifname: string;
  mtu: number;
  operstate: string;
  master?: string;
  addr_info: { family: string; local: string; prefixlen: number }[];
  linkinfo?: { info_kind?: string; info_data?: Record<string, unknown> };
}

async function addrs(ns: string): Promise<Map<string, IpAddr>> {
  const out = await nsExec(ns, ["ip", "-d", "-j", "addr", "show"]);
  return new Map((JSON.parse(out) as IpAddr[]).map((l) => [l.ifname, l]));
}

function v4(l: IpAddr | undefined): string[] {
  return (l?.addr_info ?? []).filter((a) => a.family === "inet").map((a) =>
    `${a.local}/${a.prefixlen}`
  );
}

function v6(l: IpAddr | undefined): string[] {
  return (l?.addr_info ?? []).filter((a) => a.family === "inet6").map((a) => a.local);
}

/** One ping with a 1 s wait: for paths that must be silent. */
async function ping(ns: string, addr: string): Promise<boolean> {
  return (await nsRun(ns, ["ping", "-c1", "-W1", "-q", addr])).code === 0;
}

/**
 * For paths that must work: forget a neighbour entry left FAILED/INCOMPLETE by an earlier silent
 * ping (its ARP retries would otherwise be paced by the old probe timer), then allow 3 tries.
 */
async function pingOk(ns: string, addr: string): Promise<boolean> {
  await nsRun(ns, ["ip", "neigh", "flush", "to", addr]);
  for (let i = 0; i < 3; i++) if (await ping(ns, addr)) return true;
  return false;
}

Deno.test("checkPrefix accepts short lowercase prefixes only", () => {
  for (const ok of ["tnd", "a", "tl1", "abcdef"]) assert.equal(checkPrefix(ok), null);
  for (const bad of ["", "1ab", "abcdefg", "a-b", "A", "a b"]) {
    assert.notEqual(checkPrefix(bad), null);
  }
});

Deno.test("labUp refuses holdNewFlows outside active-forward before touching anything", async () => {
  await assert.rejects(
    labUp({ prefix: "tl7", mode: "standby-first", holdNewFlows: 20, units: [] }),
    /active-forward/,
  );
  await assert.rejects(labUp({ prefix: "Bad" }), /bad lab prefix/);
  if (skip === null) assert.ok(!(await listNamespaces()).some((n) => n.startsWith("tl7-")));
});

Deno.test("tandemCommand / labToolCommand run main.ts and the lab modules under deno", () => {
  const t = tandemCommand();
  assert.equal(t[0], Deno.execPath());
  assert.deepEqual(t.slice(1, 3), ["run", "-A"]);
  assert.match(t[3] ?? "", /^\/.*\/main\.ts$/);
  assert.match(labToolCommand("serve").at(-1) ?? "", /\/mod\/lab\/servers\.ts$/);
  assert.match(labToolCommand("traffic").at(-1) ?? "", /\/mod\/lab\/traffic\.ts$/);
  assert.match(labToolCommand("vlan-tag").at(-1) ?? "", /\/mod\/lab\/vlan_tag\.ts$/);
});

Deno.test("labUp refuses a VLAN out of range, or with offload, before touching anything", async () => {
  await assert.rejects(labUp({ prefix: "tv7", vlan: 4095, units: [] }), /bad lab vlan 4095/);
  await assert.rejects(labUp({ prefix: "tv7", vlan: 0, units: [] }), /bad lab vlan 0/);
  await assert.rejects(
    labUp({ prefix: "tv7", vlan: 113, offload: true, units: [] }),
    /without offload/,
  );
  if (skip === null) assert.ok(!(await listNamespaces()).some((n) => n.startsWith("tv7-")));
});

Deno.test({
  name: "lab topology (no units, no servers): devices, addresses, L2 paths, crash/revive, down",
  ignore: skip !== null,
  async fn() {
    const prefix = "tl1";
    const ns = labNamespaces(prefix);
    await withLab({
      prefix,
      mode: "active-forward",
      units: [],
      noServers: true,
      holdNewFlows: 20,
    }, async (lab) => {
      // Each unit's config is the lab config, pointing at this lab's key and token files.
      for (const unit of ["a", "b"] as const) {
        const text = await Deno.readTextFile(`${lab.stateDir}/${unit}.yaml`);
        const keyFile = `${lab.stateDir}/peer.key`;
        const tokenFile = `${lab.stateDir}/api.token`;
        assert.equal(
          text,
          labConfigText({
            unit,
            keyFile,
            tokenFile,
            holdNewFlows: 20,
            scheduling: "nice",
            stateDir: `${lab.stateDir}/${unit}-state`,
          }),
        );
        const cfg = parse(text);
        assert.equal(cfg.peer.key_file, keyFile);
        assert.equal(cfg.api.token_file, tokenFile);
        assert.match((await Deno.readTextFile(keyFile)).trim(), /^[0-9a-f]{64}$/);
        // The unit's own loader accepts the files as written (key, token, hold_new_flows).
        const loaded = loadConfig(`${lab.stateDir}/${unit}.yaml`, { mode: "active-forward" });
        assert.equal(loaded.peer?.holdNewFlowsMs, 20);
        assert.equal(loaded.peer?.key.length, 64);
      }
      const names = await listNamespaces();
      for (const n of Object.values(ns)) assert.ok(names.includes(n), `namespace ${n}`);

      const client = await addrs(ns.client);
      assert.deepEqual(v4(client.get("eth0")), ["198.51.100.2/24"]);
      assert.equal(client.get("lo")?.operstate, "UNKNOWN", "lo up");
      const server = await addrs(ns.server);
      assert.deepEqual(v4(server.get("eth0")), ["203.0.113.20/24", "203.0.113.21/24"]);
      const route = await nsExec(ns.server, ["ip", "-j", "route", "show", "default"]);
      assert.equal((JSON.parse(route) as { gateway: string }[])[0]?.gateway, "203.0.113.1");

      for (const u of ["a", "b"] as const) {
        const l = await addrs(ns[u]);
        for (const dev of ["eth0", "eth1", "front", "back", "tnd-front", "tnd-back"]) {
          assert.ok(l.has(dev), `${u}: ${dev} exists`);
          assert.deepEqual(v4(l.get(dev)), [], `${u}: ${dev} has no kernel address`);
        }
        assert.equal(l.get("eth0")?.master, "front");
        assert.equal(l.get("tnd-front")?.master, "front");
        assert.equal(l.get("eth1")?.master, "back");
        assert.equal(l.get("tnd-back")?.master, "back");
        const tap = l.get("tnd-front")?.linkinfo;
        assert.equal(tap?.info_kind, "tun");
        assert.equal(tap?.info_data?.type, "tap");
        assert.equal(tap?.info_data?.persist, true);
        assert.equal(l.get("front")?.linkinfo?.info_data?.stp_state, 0);
        assert.equal(l.get("front")?.linkinfo?.info_data?.forward_delay, 0);
        assert.deepEqual(v4(l.get("ha0")), [`${LAB_ADDRESSES.units[u].ha}/30`]);
        assert.equal(l.get("ha0")?.mtu, 9000);
        assert.equal(
          (await nsExec(ns[u], ["sysctl", "-n", "net.ipv4.ip_forward"])).trim(),
          "0",
        );
        for (const dev of l.values()) {
          assert.deepEqual(v6(dev), [], `${u}: no IPv6 on ${dev.ifname}`);
        }
      }
      const sw = await addrs(ns.sw);
      for (const p of ["cf", "af", "bf"]) assert.equal(sw.get(p)?.master, "brf", p);
      for (const p of ["ab", "bb", "sb"]) assert.equal(sw.get(p)?.master, "brb", p);
      // Dual stack: IPv6 runs in the client's kernel, without router advertisements.
      assert.equal(
        (await nsExec(ns.client, ["sysctl", "-n", "net.ipv6.conf.all.disable_ipv6"])).trim(),
        "0",
      );
      assert.equal(
        (await nsExec(ns.client, ["sysctl", "-n", "net.ipv6.conf.eth0.accept_ra"])).trim(),
        "0",
      );

      // HA link works, and no appliance answers yet: the kernel of P-a holds no front address.
      assert.ok(await pingOk(ns.a, "192.0.2.2"), "ha0 a -> b");
      assert.equal(await ping(ns.client, "198.51.100.3"), false, "nothing answers for a yet");

      // Prove both L2 paths by lending the appliance bridges an address for a moment.
      await nsExec(ns.a, ["ip", "addr", "add", "198.51.100.3/24", "dev", "front"]);
      await nsExec(ns.b, ["ip", "addr", "add", "203.0.113.4/24", "dev", "back"]);
      assert.ok(await pingOk(ns.client, "198.51.100.3"), "client -> brf -> a front");
      assert.ok(await pingOk(ns.server, "203.0.113.4"), "server -> brb -> b back");

      await crash(prefix, "a");
      assert.equal(await ping(ns.client, "198.51.100.3"), false, "crashed a is silent");
      assert.equal(await ping(ns.b, "192.0.2.1"), false, "crashed a drops the HA link");
      assert.ok(await pingOk(ns.server, "203.0.113.4"), "b is unaffected");
      await revive(prefix, "a");
      assert.ok(await pingOk(ns.client, "198.51.100.3"), "revived a answers again");
      assert.ok(await pingOk(ns.b, "192.0.2.1"), "revived a's HA link");
    });

    const after = await listNamespaces();
    for (const n of Object.values(ns)) assert.ok(!after.includes(n), `${n} removed`);
    const links = await run(["ip", "-br", "link"]);
    assert.doesNotMatch(
      links.stdout,
      /tnd-front|tnd-back/,
      "no TAP leaked into the root namespace",
    );
    await assert.rejects(Deno.stat(labStateDir(prefix)), Deno.errors.NotFound, "state removed");
    await labDown(prefix); // idempotent: already gone
    await labDown(prefix);
  },
});

Deno.test({
  name: "lab servers (no units): TCP/UDP echo byte-exact and HTTP on both backend addresses",
  ignore: skip !== null,
  async fn() {
    const prefix = "tl2";
    const ns = labNamespaces(prefix);
    let serversPid: number | undefined;
    await withLab({ prefix, units: [] }, async (lab) => {
      serversPid = lab.pids.servers;
      assert.ok(serversPid !== undefined && pidAlive(serversPid));
      assert.equal(await readPid(prefix, "servers"), serversPid);
      for (const backend of LAB_ADDRESSES.backends) {
        // The traffic generator itself, run inside P-server against one backend address.
        const out = await nsExec(ns.server, [
          ...labToolCommand("traffic"),
          "--target",
          backend,
          "--conns",
          "4",
          "--udp",
          "2",
          "--churn-ms",
          "20",
          "--interval-ms",
          "10",
          "--duration-ms",
          "400",
        ]);
        const r = JSON.parse(out.trim().split("\n").pop()!) as TrafficReport;
        assert.equal(r.tcp.completed, 4, JSON.stringify(r.errorSamples));
        assert.equal(r.tcp.corruptBytes, 0);
        assert.ok(r.tcp.messages > 4 * 10, `messages ${r.tcp.messages}`);
        assert.ok(r.churn.opened > 0 && r.churn.completed === r.churn.opened);
        assert.ok(r.udp.sent > 0 && r.udp.received === r.udp.sent, `udp ${JSON.stringify(r.udp)}`);

        const body = await nsExec(ns.server, ["curl", "-sf", "-m", "2", `http://${backend}/`]);
        assert.match(body, new RegExp(backend.replaceAll(".", "\\.")));
        const size = await nsExec(ns.server, [
          "curl",
          "-sf",
          "-m",
          "2",
          "-o",
          "/dev/null",
          "-w",
          "%{size_download}",
          `http://${backend}/bytes?n=123456`,
        ]);
        assert.equal(size.trim(), "123456");
      }
    });
    assert.ok(serversPid !== undefined && !pidAlive(serversPid), "labDown stopped the servers");
    await assert.rejects(Deno.stat(labStateDir(prefix)), Deno.errors.NotFound, "state removed");
  },
});

/** Global IPv6 addresses of a device (not link-local), sorted (the kernel lists newest first). */
function v6global(l: IpAddr | undefined): string[] {
  return (l?.addr_info ?? []).filter((a) => a.family === "inet6" && !a.local.startsWith("fe80:"))
    .map((a) => `${a.local}/${a.prefixlen}`).sort();
}

/** True when any IPv6 address in namespace `ns` still waits for DAD. */
async function tentative(ns: string): Promise<boolean> {
  return (await nsExec(ns, ["ip", "-6", "addr", "show", "tentative"])).trim() !== "";
}

/** The IPv6 default route's gateway in `ns`, if any. */
async function defaultGw6(ns: string): Promise<string | undefined> {
  const out = await nsExec(ns, ["ip", "-6", "-j", "route", "show", "default"]);
  return (JSON.parse(out) as { gateway?: string }[])[0]?.gateway;
}

/** Asserts the appliance namespaces' kernels hold no IPv6 address anywhere, TAPs included. */
async function assertApplianceNoIpv6(ns: ReturnType<typeof labNamespaces>): Promise<void> {
  for (const u of ["a", "b"] as const) {
    const l = await addrs(ns[u]);
    for (const dev of ["tnd-front", "tnd-back", "eth0", "eth1", "front", "back", "ha0"]) {
      assert.ok(l.has(dev), `${u}: ${dev} exists`);
      assert.deepEqual(v6(l.get(dev)), [], `${u}: no IPv6 on ${dev}`);
    }
    for (const dev of l.values()) assert.deepEqual(v6(dev), [], `${u}: no IPv6 on ${dev.ifname}`);
    for (const tap of ["tnd-front", "tnd-back"]) {
      assert.equal(
        (await nsExec(ns[u], ["sysctl", "-n", `net.ipv6.conf.${tap}.disable_ipv6`])).trim(),
        "1",
        `${u}: IPv6 off on ${tap}: the kernel never answers NDP for the process`,
      );
    }
  }
}

Deno.test({
  name: "lab IPv6 (servers, no units): client and backend addresses, v6 default route, " +
    "silent appliance TAPs, echo and HTTP on the IPv6 backends",
  ignore: skip !== null,
  async fn() {
    const prefix = "t6lb";
    const ns = labNamespaces(prefix);
    try {
      await withLab({ prefix, units: [] }, async (lab) => {
        assert.equal(lab.ipv6, true);
        const client = await addrs(ns.client);
        assert.deepEqual(v6global(client.get("eth0")), ["2001:db8:100::2/64"]);
        assert.equal(await defaultGw6(ns.client), undefined, "the VIP is on-link: no route");
        const server = await addrs(ns.server);
        assert.deepEqual(v6global(server.get("eth0")), [
          "2001:db8:113::20/64",
          "2001:db8:113::21/64",
        ]);
        assert.deepEqual(v4(server.get("eth0")), ["203.0.113.20/24", "203.0.113.21/24"]);
        assert.equal(await defaultGw6(ns.server), LAB_ADDRESSES.gateway6);
        assert.equal(await tentative(ns.client), false, "nodad: usable at once");
        assert.equal(await tentative(ns.server), false, "nodad: usable at once");
        for (const n of [ns.client, ns.server]) {
          for (const key of ["accept_ra", "autoconf"]) {
            assert.equal(
              (await nsExec(n, ["sysctl", "-n", `net.ipv6.conf.eth0.${key}`])).trim(),
              "0",
              `${n}: ${key}`,
            );
          }
        }
        await assertApplianceNoIpv6(ns);
        const sw = await addrs(ns.sw);
        for (const dev of sw.values()) assert.deepEqual(v6(dev), [], `sw: ${dev.ifname}`);
        assert.equal(sw.get("brf")?.linkinfo?.info_data?.mcast_snooping, 0);

        // The units' configs are dual stack.
        const cfg = loadConfig(`${lab.stateDir}/a.yaml`, { mode: "standby-forward" });
        assert.deepEqual(cfg.services.map((s) => s.name).slice(3), ["echo6", "udp-echo6", "http6"]);

        // The servers answer on the IPv6 backends: the lab's own clients, run in P-server.
        for (const backend of LAB_ADDRESSES.backends6) {
          const out = await nsExec(ns.server, [
            ...labToolCommand("traffic"),
            "--target",
            backend,
            "--conns",
            "3",
            "--udp",
            "2",
            "--churn-ms",
            "25",
            "--interval-ms",
            "10",
            "--duration-ms",
            "300",
          ]);
          const r = JSON.parse(out.trim().split("\n").pop()!) as TrafficReport;
          assert.equal(r.tcp.completed, 3, JSON.stringify(r.errorSamples));
          assert.equal(r.tcp.corruptBytes, 0);
          assert.ok(r.churn.opened > 0 && r.churn.completed === r.churn.opened);
          assert.ok(r.udp.sent > 0 && r.udp.received === r.udp.sent, JSON.stringify(r.udp));
          const body = await nsExec(ns.server, ["curl", "-gsf", "-m", "2", `http://[${backend}]/`]);
          assert.equal(body, `tandem lab backend ${backend}\n`);
        }
        // The server's kernel reaches its on-link gateway's subnet only: the gateway itself is
        // the units' floating address, and no unit runs, so nothing answers for it.
        const r = await nsRun(ns.server, [
          "ping",
          "-6",
          "-c1",
          "-W1",
          "-q",
          LAB_ADDRESSES.gateway6,
        ]);
        assert.notEqual(r.code, 0, "no unit: nothing answers for the IPv6 gateway");
      });
    } finally {
      await labDown(prefix);
    }
    const after = await listNamespaces();
    for (const n of Object.values(ns)) assert.ok(!after.includes(n), `${n} removed`);
  },
});

Deno.test({
  name: "lab IPv6 with a VLAN: the servers' IPv6 addresses move to the VLAN interface too",
  ignore: skip !== null,
  async fn() {
    const prefix = "t6lv";
    const ns = labNamespaces(prefix);
    try {
      await withLab({ prefix, units: [], noServers: true, vlan: 113 }, async () => {
        const server = await addrs(ns.server);
        assert.deepEqual(v6global(server.get("vlan0")), [
          "2001:db8:113::20/64",
          "2001:db8:113::21/64",
        ]);
        assert.deepEqual(v6global(server.get("eth0")), []);
        assert.equal(await defaultGw6(ns.server), LAB_ADDRESSES.gateway6);
        assert.equal(await tentative(ns.server), false);
        await assertApplianceNoIpv6(ns);
      });
    } finally {
      await labDown(prefix);
    }
    const after = await listNamespaces();
    for (const n of Object.values(ns)) assert.ok(!after.includes(n), `${n} removed`);
  },
});

Deno.test({
  name: "lab with ipv6: false: the IPv4-only lab, IPv6 off everywhere",
  ignore: skip !== null,
  async fn() {
    const prefix = "t6l4";
    const ns = labNamespaces(prefix);
    try {
      await withLab({ prefix, units: [], noServers: true, ipv6: false }, async (lab) => {
        assert.equal(lab.ipv6, false);
        for (const n of [ns.client, ns.server]) {
          assert.equal(
            (await nsExec(n, ["sysctl", "-n", "net.ipv6.conf.all.disable_ipv6"])).trim(),
            "1",
          );
        }
        assert.ok(!(await Deno.readTextFile(`${lab.stateDir}/a.yaml`)).includes("2001:"));
      });
    } finally {
      await labDown(prefix);
    }
  },
});

Deno.test("labAddressLines: every IPv4 address beside its IPv6 twin", () => {
  const lines = labAddressLines();
  assert.equal(lines[0], "client 198.51.100.2 2001:db8:100::2");
  assert.ok(lines.some((l) => l.includes("VIP 198.51.100.10 2001:db8:100::10")));
  assert.ok(lines.some((l) => l.includes("front 198.51.100.4 2001:db8:100::4")));
  assert.ok(lines.some((l) => l.includes("2001:db8:113::20 2001:db8:113::21")));
  assert.ok(labAddressLines(false).every((l) => !l.includes("2001:")));
});
