import assert from "node:assert/strict";
import { openTap, VNET_HDR_LEN } from "./tap.ts";
import { openUdp, type UdpPort } from "./udp.ts";
import { Poller } from "./poller.ts";
import { OsError } from "./errors.ts";
import { copyModuleTree, hasCommand, ip4, sh, shQuiet, tapSkipReason } from "./test_util.ts";

const ignore = tapSkipReason !== undefined;
if (ignore) console.warn(`mod/port: skipping TAP device tests (${tapSkipReason})`);
// Unique names for this folder's tests (prefix tp1), removed in finally.
const TAP = "tp1t0";
const PERSISTENT = "tp1t1";
const HOST_MAC = Uint8Array.of(0x02, 0x00, 0x5e, 0x10, 0x00, 0x01); // made up, locally administered
const TAP_IP = [198, 51, 100, 1] as const;
const HOST_IP = [198, 51, 100, 2] as const;

/** An ARP request (RFC 826) from HOST_MAC/HOST_IP asking who has TAP_IP, padded to 60 bytes. */
function arpRequest(): Uint8Array {
  const f = new Uint8Array(60);
  f.fill(0xff, 0, 6);
  f.set(HOST_MAC, 6);
  f.set([0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01], 12);
  f.set(HOST_MAC, 22);
  f.set(HOST_IP, 28);
  f.set(TAP_IP, 38);
  return f;
}

function isArpReplyToUs(f: Uint8Array): boolean {
  return f.length >= 42 && f[12] === 0x08 && f[13] === 0x06 && f[21] === 2 &&
    f.subarray(28, 32).every((b, i) => b === TAP_IP[i]) &&
    f.subarray(32, 38).every((b, i) => b === HOST_MAC[i]) &&
    f.subarray(38, 42).every((b, i) => b === HOST_IP[i]);
}

async function linkExists(name: string): Promise<boolean> {
  try {
    await sh("ip", "link", "show", name);
    return true;
  } catch {
    return false;
  }
}

Deno.test({
  name: "TAP: write, poll and read on a real device (ARP), empty reads, 10k-frame burst",
  ignore,
  fn: async () => {
    await shQuiet("ip", "link", "del", TAP);
    const tap = openTap(TAP);
    let udp: UdpPort | undefined;
    try {
      assert.equal(tap.name, TAP);
      assert.ok(tap.fd >= 0);
      const buf = new Uint8Array(2048);
      // (b) nothing to read on a fresh, down device.
      assert.equal(tap.recv(buf), 0);
      // IPv6 autoconfiguration would emit frames at random times; keep the device quiet.
      await shQuiet("sysctl", "-qw", `net.ipv6.conf.${TAP}.disable_ipv6=1`);
      await sh("ip", "link", "set", TAP, "up", "txqueuelen", "12000");
      await sh("ip", "addr", "add", `${TAP_IP.join(".")}/24`, "dev", TAP);
      const poller = new Poller([tap.fd]);

      // (a) the kernel answers our ARP request through the same fd.
      assert.equal(tap.send(arpRequest()), true);
      let reply: Uint8Array | undefined;
      const deadline = performance.now() + 2000;
      while (reply === undefined && performance.now() < deadline) {
        if ((await poller.wait(deadline - performance.now())) === 0) continue;
        for (let n = tap.recv(buf); n > 0; n = tap.recv(buf)) {
          if (isArpReplyToUs(buf.subarray(0, n))) reply = buf.slice(0, n);
        }
      }
      assert.ok(reply !== undefined, "no ARP reply within 2 s");
      assert.deepEqual(reply.subarray(0, 6), HOST_MAC);

      // (b) after draining, the fd is empty again and recv says so with 0.
      while (tap.recv(buf) > 0);
      assert.equal(tap.recv(buf), 0);
      assert.equal(poller.waitSync(0), 0);

      // (c) the kernel emits a burst of 10k frames; drain and count them.
      await sh(
        "ip",
        "neigh",
        "replace",
        HOST_IP.join("."),
        "lladdr",
        "02:00:5e:10:00:01",
        "dev",
        TAP,
        "nud",
        "permanent",
      );
      udp = openUdp(ip4(...TAP_IP), 0);
      const payload = new Uint8Array(18);
      const BURST = 10_000;
      for (let i = 0; i < BURST; i++) {
        new DataView(payload.buffer).setUint32(0, i);
        assert.equal(udp.sendTo(payload, payload.length, ip4(...HOST_IP), 9), true, `send ${i}`);
      }
      let count = 0;
      let lastIndex = -1;
      const until = performance.now() + 2000;
      while (count < BURST && performance.now() < until) {
        if ((await poller.wait(100)) === 0) continue;
        for (let n = tap.recv(buf); n > 0; n = tap.recv(buf)) {
          // IPv4 / UDP to port 9 from our socket: ethertype, protocol, dst port.
          if (buf[12] !== 0x08 || buf[13] !== 0x00 || buf[23] !== 17) continue;
          if (((buf[36]! << 8) | buf[37]!) !== 9) continue;
          const index = new DataView(buf.buffer).getUint32(42);
          assert.equal(index, lastIndex + 1, "frames arrive in order");
          lastIndex = index;
          count++;
        }
      }
      assert.equal(count, BURST);
    } finally {
      udp?.close();
      tap.close();
      await shQuiet("ip", "link", "del", TAP);
    }
    // Created by openTap, not persistent: it disappears with its fd.
    assert.equal(await linkExists(TAP), false);
  },
});

Deno.test({
  name: "TAP: attaching to a persistent device (ip tuntap add) works and leaves it in place",
  ignore,
  fn: async () => {
    await shQuiet("ip", "link", "del", PERSISTENT);
    await sh("ip", "tuntap", "add", "dev", PERSISTENT, "mode", "tap");
    try {
      const tap = openTap(PERSISTENT);
      try {
        assert.equal(tap.name, PERSISTENT);
        assert.ok(tap.fd >= 0);
        assert.equal(tap.recv(new Uint8Array(2048)), 0);
        // Down device: the kernel refuses the write (EIO); the port reports a drop.
        assert.equal(tap.send(arpRequest()), false);
        // A second attach to a single-queue TAP is refused with a clear error.
        assert.throws(
          () => openTap(PERSISTENT),
          (e) =>
            e instanceof OsError && e.code === "EBUSY" &&
            e.message.startsWith(`ioctl(${PERSISTENT}, TUNSETIFF): EBUSY (16) — `),
        );
      } finally {
        tap.close();
      }
      assert.equal(await linkExists(PERSISTENT), true);
      openTap(PERSISTENT).close(); // and it can be attached again
    } finally {
      await shQuiet("ip", "link", "del", PERSISTENT);
    }
  },
});

Deno.test({
  // Needs neither root nor /dev/net/tun: both failures happen before any device exists.
  name: "TAP: a missing clone device is a clear OsError; bad names are RangeErrors",
  fn: () => {
    assert.throws(
      () => openTap("tp1t2", { devicePath: "/nonexistent/net/tun" }),
      (e) =>
        e instanceof OsError && e.code === "ENOENT" && e.syscall === "open" &&
        e.message.startsWith("open(/nonexistent/net/tun): ENOENT (2) — "),
    );
    assert.throws(() => openTap(""), RangeError);
    assert.throws(() => openTap("a-name-that-is-too-long"), RangeError);
    assert.throws(() => openTap("bad/name"), RangeError);
  },
});

const privSkip = tapSkipReason ?? (hasCommand("setpriv") ? undefined : "setpriv not on PATH");
if (privSkip !== undefined && !ignore) {
  console.warn(`mod/port: skipping the unprivileged TAP test (${privSkip})`);
}

Deno.test({
  name: "TAP: without CAP_NET_ADMIN, openTap fails with a clear EPERM OsError",
  ignore: privSkip !== undefined,
  fn: async () => {
    // A child process running as nobody with no capabilities tries to create a TAP, with a copy
    // of tap.ts and its imports in a temporary directory: the checkout itself may sit in a home
    // directory nobody cannot enter.
    const dir = await Deno.makeTempDir({ prefix: "tandem-eperm-" });
    try {
      await Deno.chmod(dir, 0o755);
      const tap = await copyModuleTree(
        new URL("./tap.ts", import.meta.url),
        new URL("../../", import.meta.url),
        `${dir}/src`,
      );
      const script = `${dir}/src/eperm.ts`;
      await Deno.writeTextFile(
        script,
        `import { openTap } from ${JSON.stringify(tap)};
try { openTap("tp1t3"); console.log("opened"); }
catch (e) { console.log(e instanceof Error ? e.message : String(e)); }`,
        { mode: 0o644 },
      );
      // Deno's cache for the child: the one place nobody writes.
      const cache = `${dir}/deno`;
      await Deno.mkdir(cache, { mode: 0o777 });
      await Deno.chmod(cache, 0o777);
      const out = await new Deno.Command("setpriv", {
        args: [
          "--reuid=65534",
          "--regid=65534",
          "--clear-groups",
          "--inh-caps=-all",
          Deno.execPath(),
          "run",
          "--no-check",
          "--no-config",
          "-A",
          script,
        ],
        cwd: dir,
        env: { DENO_DIR: cache, HOME: cache, NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(out.stdout).trim();
      assert.equal(
        text,
        "ioctl(tp1t3, TUNSETIFF): EPERM (1) — needs CAP_NET_ADMIN, or be the owner of the persistent device",
        new TextDecoder().decode(out.stderr),
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
      await shQuiet("ip", "link", "del", "tp1t3");
    }
  },
});

Deno.test({
  name: "TAP with offload: every frame carries a 10-byte virtio_net_hdr both ways",
  ignore,
  fn: async () => {
    const name = "tp1t2";
    await shQuiet("ip", "link", "del", name);
    const tap = openTap(name, { offload: true });
    try {
      assert.equal(tap.vnet, true);
      await shQuiet("sysctl", "-qw", `net.ipv6.conf.${name}.disable_ipv6=1`);
      await sh("ip", "link", "set", name, "up");
      await sh("ip", "addr", "add", `${TAP_IP.join(".")}/24`, "dev", name);
      const out = new Uint8Array(VNET_HDR_LEN + 60);
      out.set(arpRequest(), VNET_HDR_LEN); // a zero header: no offload for this frame
      assert.equal(tap.send(out), true);
      const buf = new Uint8Array(VNET_HDR_LEN + 2048);
      const poller = new Poller([tap.fd]);
      let reply: Uint8Array | undefined;
      const deadline = performance.now() + 2000;
      while (reply === undefined && performance.now() < deadline) {
        if ((await poller.wait(deadline - performance.now())) === 0) continue;
        for (let n = tap.recv(buf); n > 0; n = tap.recv(buf)) {
          if (isArpReplyToUs(buf.subarray(VNET_HDR_LEN, n))) reply = buf.slice(0, n);
        }
      }
      assert.ok(reply !== undefined, "no ARP reply behind a vnet header within 2 s");
      assert.deepEqual([...reply.subarray(0, VNET_HDR_LEN)], new Array(VNET_HDR_LEN).fill(0));
      const features = await sh("ethtool", "-k", name).catch(() => "");
      if (features) assert.match(features, /tcp-segmentation-offload: on/);
    } finally {
      tap.close();
      await shQuiet("ip", "link", "del", name);
    }
  },
});
