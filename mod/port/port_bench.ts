/**
 * Throughput of the ports on this machine (a plain script, not a test):
 *
 *   deno run -A mod/port/port_bench.ts [seconds per case, default 2]
 *
 * - TAP: frames written into one TAP cross a Linux bridge and are read from a
 *   second TAP (write + kernel + poll + read; needs root). Names tp1b*.
 * - UDP: sendto/recvfrom between two FFI sockets on loopback.
 * - Poller: cost of one off-thread poll that returns at once.
 * @module
 */

import { openTap } from "./tap.ts";
import { openUdp } from "./udp.ts";
import { Poller } from "./poller.ts";

const SECONDS = Number(Deno.args[0] ?? 2);
const BATCH = 256;

async function ip(...args: string[]): Promise<boolean> {
  const out = await new Deno.Command("ip", { args, stdout: "null", stderr: "null" }).output();
  return out.success;
}

function rate(n: number, ms: number): string {
  return `${Math.round(n / (ms / 1000)).toLocaleString("en-US")}/s`;
}

async function benchTap(frameLen: number): Promise<void> {
  const [A, B, BR] = ["tp1b0", "tp1b1", "tp1br"];
  await ip("link", "del", BR);
  const a = openTap(A);
  const b = openTap(B);
  try {
    for (const dev of [A, B]) {
      try {
        Deno.writeTextFileSync(`/proc/sys/net/ipv6/conf/${dev}/disable_ipv6`, "1");
      } catch { /* IPv6 absent: nothing to silence */ }
    }
    await ip("link", "add", BR, "type", "bridge");
    try {
      Deno.writeTextFileSync(`/proc/sys/net/ipv6/conf/${BR}/disable_ipv6`, "1");
    } catch { /* as above */ }
    for (const dev of [A, B]) {
      await ip("link", "set", dev, "master", BR, "txqueuelen", "10000", "up");
    }
    await ip("link", "set", BR, "up");
    // Unknown unicast destination: the bridge floods it to the other port.
    const frame = new Uint8Array(frameLen);
    frame.set([0x02, 0, 0x5e, 0x77, 0, 2, 0x02, 0, 0x5e, 0x77, 0, 1, 0x88, 0xb5]);
    const buf = new Uint8Array(2048);
    const poller = new Poller([b.fd]);
    let sent = 0, refused = 0, got = 0;
    const drain = (): void => {
      // Count only our frames (local experimental ethertype 0x88b5), not kernel chatter.
      for (let n = b.recv(buf); n > 0; n = b.recv(buf)) {
        if (buf[12] === 0x88 && buf[13] === 0xb5) got++;
      }
    };
    // Warm-up also lets the bridge learn the source MAC.
    for (let i = 0; i < 1000; i++) a.send(frame);
    do drain(); while ((await poller.wait(50)) !== 0);
    const t0 = performance.now();
    const end = t0 + SECONDS * 1000;
    const got0 = got;
    while (performance.now() < end) {
      for (let i = 0; i < BATCH; i++) {
        if (a.send(frame)) sent++;
        else refused++;
      }
      drain();
      if (got - got0 < sent - BATCH * 4) {
        await poller.wait(1);
        drain();
      }
    }
    await poller.wait(50);
    drain();
    const ms = performance.now() - t0;
    console.log(
      `TAP→bridge→TAP ${frameLen} B: written ${rate(sent, ms)}, read ${
        rate(got - got0, ms)
      } (sent ${sent}, read ${got - got0}, refused ${refused})`,
    );
  } finally {
    a.close();
    b.close();
    await ip("link", "del", BR);
  }
}

async function benchUdp(size: number): Promise<void> {
  const LO = 0x7f000001;
  const s = openUdp(LO, 0);
  const r = openUdp(LO, 0);
  try {
    const out = new Uint8Array(size);
    const buf = new Uint8Array(65536);
    const poller = new Poller([r.fd]);
    let sent = 0, refused = 0, got = 0;
    const t0 = performance.now();
    const end = t0 + SECONDS * 1000;
    while (performance.now() < end) {
      for (let i = 0; i < BATCH; i++) {
        if (s.sendTo(out, size, LO, r.localPort)) sent++;
        else refused++;
      }
      for (let n = r.recvFrom(buf); n > 0; n = r.recvFrom(buf)) got++;
    }
    await poller.wait(20);
    for (let n = r.recvFrom(buf); n > 0; n = r.recvFrom(buf)) got++;
    const ms = performance.now() - t0;
    console.log(
      `UDP loopback ${size} B: sendto ${rate(sent, ms)}, recvfrom ${
        rate(got, ms)
      } (sent ${sent}, received ${got}, refused ${refused})`,
    );
  } finally {
    s.close();
    r.close();
  }
}

async function benchPoller(): Promise<void> {
  const s = openUdp(0x7f000001, 0);
  try {
    s.sendTo(new Uint8Array(1), 1, 0x7f000001, s.localPort); // stays readable: never read
    const poller = new Poller([s.fd]);
    const N = 20_000;
    let t0 = performance.now();
    for (let i = 0; i < N; i++) await poller.wait(10);
    let ms = performance.now() - t0;
    console.log(`Poller.wait, fd ready: ${((ms * 1000) / N).toFixed(1)} µs per wait`);
    t0 = performance.now();
    for (let i = 0; i < N; i++) poller.waitSync(0);
    ms = performance.now() - t0;
    console.log(`Poller.waitSync(0), fd ready: ${((ms * 1000) / N).toFixed(2)} µs per call`);
  } finally {
    s.close();
  }
}

if (import.meta.main) {
  console.log(
    `deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} cpus, ${SECONDS} s per case`,
  );
  if (Deno.uid() === 0) {
    await benchTap(60);
    await benchTap(1514);
  } else {
    console.log("TAP: skipped (needs root)");
  }
  await benchUdp(64);
  await benchUdp(1400);
  await benchUdp(64); // again, JIT warm
  await benchPoller();
}
