import assert from "node:assert/strict";
import dgram from "node:dgram";
import net from "node:net";
import {
  countDiff,
  DEFAULT_TRAFFIC,
  HEADER_LEN,
  MARK_WINDOW_MS,
  messageBytes,
  opsAroundMark,
  parseTrafficArgs,
  percentile,
  runTraffic,
  type TrafficReport,
  VIP,
  VIP6,
  vipOf,
  vipUrl,
  watchdog,
} from "./traffic.ts";
import { trafficArgs } from "./harness.ts";
import { serveLab } from "./servers.ts";

const LO = "127.0.0.1";

/** A TCP server on loopback whose per-connection behaviour is `handle`. */
function tcpServer(handle: (c: Deno.TcpConn) => Promise<void>): {
  port: number;
  close: () => Promise<void>;
} {
  const l = Deno.listen({ hostname: LO, port: 0 });
  const conns = new Set<Deno.TcpConn>();
  const pending = new Set<Promise<void>>();
  const loop = (async () => {
    try {
      for await (const c of l) {
        conns.add(c);
        const p = handle(c).catch(() => {}).finally(() => {
          conns.delete(c);
          pending.delete(p);
          try {
            c.close();
          } catch {
            // already closed
          }
        });
        pending.add(p);
      }
    } catch {
      // closed
    }
  })();
  return {
    port: (l.addr as Deno.NetAddr).port,
    async close() {
      l.close();
      for (const c of conns) {
        try {
          c.close();
        } catch {
          // already closed
        }
      }
      await Promise.all([...pending]);
      await loop;
    },
  };
}

/** Echo with a transform applied to each chunk (identity = an honest echo server). */
function echoWith(
  f: (chunk: Uint8Array, total: number) => Uint8Array | Promise<Uint8Array>,
): (c: Deno.TcpConn) => Promise<void> {
  return async (c) => {
    const buf = new Uint8Array(65536);
    let total = 0;
    for (;;) {
      const n = await c.read(buf);
      if (n === null) return;
      const out = await f(buf.slice(0, n), total);
      total += n;
      let off = 0;
      while (off < out.length) off += await c.write(out.subarray(off));
    }
  };
}

function assertClean(r: TrafficReport, conns: number): void {
  assert.equal(r.tcp.opened, conns, `opened: ${JSON.stringify(r.errorSamples)}`);
  assert.equal(r.tcp.completed, conns, `completed: ${JSON.stringify(r.errorSamples)}`);
  assert.equal(r.tcp.resets, 0);
  assert.equal(r.tcp.errors, 0);
  assert.equal(r.tcp.corruptBytes, 0);
}

Deno.test("messageBytes is deterministic, self-describing and 16..1024 bytes of payload", () => {
  const a = messageBytes(7, 3);
  assert.deepEqual(a, messageBytes(7, 3));
  assert.notDeepEqual(a, messageBytes(7, 4));
  assert.notDeepEqual(a, messageBytes(8, 3));
  const dv = new DataView(a.buffer);
  assert.equal(dv.getUint32(0), 7);
  assert.equal(dv.getUint32(4), 3);
  assert.equal(dv.getUint32(8), a.length - HEADER_LEN);
  let min = Infinity;
  let max = 0;
  for (let s = 0; s < 5000; s++) {
    const len = messageBytes(1, s).length - HEADER_LEN;
    min = Math.min(min, len);
    max = Math.max(max, len);
  }
  assert.ok(min >= 16 && max <= 1024, `payload ${min}..${max}`);
  assert.ok(min < 40 && max > 1000, `payload lengths should span the range, got ${min}..${max}`);
});

Deno.test("countDiff counts differing bytes at an offset", () => {
  const want = Uint8Array.of(1, 2, 3, 4, 5);
  assert.equal(countDiff(Uint8Array.of(3, 4), want, 2), 0);
  assert.equal(countDiff(Uint8Array.of(3, 9), want, 2), 1);
  assert.equal(countDiff(Uint8Array.of(5, 6), want, 4), 1); // past the end counts as different
});

Deno.test("percentile is nearest-rank", () => {
  const s = Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.equal(percentile(s, 50), 5);
  assert.equal(percentile(s, 99), 10);
  assert.equal(percentile(s, 0), 1);
  assert.equal(percentile(new Float64Array(0), 50), 0);
});

Deno.test("parseTrafficArgs reads every flag and names the bad one", () => {
  const o = parseTrafficArgs([
    "--target",
    "198.51.100.10",
    "--conns",
    "3",
    "--interval-ms",
    "5",
    "--churn-ms",
    "0",
    "--udp",
    "2",
    "--duration-ms",
    "100",
    "--port",
    "7100",
    "--udp-port",
    "7101",
    "--stop-file",
    "/tmp/s",
    "--mark-file",
    "/tmp/m",
    "--ready-file",
    "/tmp/r",
    "--timeout-ms",
    "900",
  ]);
  assert.deepEqual(o, {
    target: "198.51.100.10",
    conns: 3,
    intervalMs: 5,
    churnMs: 0,
    udp: 2,
    durationMs: 100,
    port: 7100,
    udpPort: 7101,
    stopFile: "/tmp/s",
    markFile: "/tmp/m",
    readyFile: "/tmp/r",
    timeoutMs: 900,
  });
  assert.match(String(parseTrafficArgs(["--conns", "x"])), /--conns/);
  assert.match(String(parseTrafficArgs(["--port", "70000"])), /--port/);
  assert.match(String(parseTrafficArgs(["--target", "vip"])), /--target/);
  assert.match(String(parseTrafficArgs(["--bogus"])), /bogus/);
});

Deno.test("traffic against honest lab servers on loopback: everything completes byte-exact", async () => {
  const srv = await serveLab({ addresses: [LO], tcpPort: 0, udpPort: 0, httpPort: 0 });
  const dir = await Deno.makeTempDir();
  try {
    const p = srv.ports.get(LO)!;
    const readyFile = `${dir}/ready`;
    const r = await runTraffic({
      readyFile,
      target: LO,
      port: p.tcp,
      udpPort: p.udp,
      conns: 8,
      intervalMs: 10,
      churnMs: 10,
      udp: 3,
      durationMs: 500,
      timeoutMs: 2000,
    });
    assertClean(r, 8);
    // How much traffic fits in 500 ms depends on the machine; that each connection and flow
    // carried some, all of it echoed byte-exact, does not.
    assert.ok(r.conns.every((c) => c.echoes >= 1), JSON.stringify(r.conns));
    assert.equal(r.tcp.messages, r.conns.reduce((n, c) => n + c.echoes, 0));
    assert.ok(r.tcp.bytes > 0 && r.tcp.p50RttMs > 0 && r.tcp.p99RttMs >= r.tcp.p50RttMs);
    assert.ok(r.churn.opened >= 1, `churn opened ${r.churn.opened}`);
    assert.equal(r.churn.completed, r.churn.opened);
    assert.equal(r.churn.failed, 0);
    assert.ok(r.udp.sent >= 3, `udp sent ${r.udp.sent}`);
    assert.equal(r.udp.received, r.udp.sent);
    assert.equal(r.udp.corrupt, 0);
    assert.equal(r.udp.lost, 0);
    assert.equal(r.conns.length, 8);
    for (const c of r.conns) {
      assert.equal(c.error, null);
      assert.ok(c.lastEchoAt !== null && c.lastEchoAt >= r.startedAt && c.lastEchoAt <= r.endedAt);
    }
    assert.equal(r.opsAroundMark, null);
    // Written once all 8 connections and 3 UDP flows were up; the 500 ms run starts then.
    const readyAt = Number(await Deno.readTextFile(readyFile));
    assert.ok(readyAt >= r.startedAt && readyAt <= r.endedAt, `ready at ${readyAt}`);
    assert.ok(r.endedAt - readyAt >= 500, `ran ${r.endedAt - readyAt} ms after ready`);
    assert.ok(r.conns.every((c) => c.lastEchoAt! >= readyAt), "ready before the last echoes");
  } finally {
    await srv.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a server that flips one echoed byte is reported as corrupt", async () => {
  const srv = tcpServer(echoWith((chunk, total) => {
    // Flip the stream's 20th byte once per connection: inside the first message's payload (12
    // header bytes and at least 16 payload bytes), so one message is enough to see it.
    if (total <= 20 && total + chunk.length > 20) chunk[20 - total]! ^= 0xff;
    return chunk;
  }));
  try {
    const r = await runTraffic({
      target: LO,
      port: srv.port,
      conns: 3,
      intervalMs: 10,
      churnMs: 0,
      udp: 0,
      durationMs: 200,
      timeoutMs: 2000,
    });
    assert.equal(r.tcp.corruptBytes, 3);
    assert.equal(r.tcp.completed, 0);
    assert.equal(r.tcp.opened, 3);
    assert.ok(r.conns.every((c) => c.error?.includes("corrupt")));
  } finally {
    await srv.close();
  }
});

Deno.test("a server that resets connections is counted in resets", async () => {
  // node:net's resetAndDestroy() closes with SO_LINGER 0, so the kernel sends RST (RFC 793 3.4).
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((s) => {
    sockets.add(s);
    s.on("error", () => {});
    s.on("close", () => sockets.delete(s));
    setTimeout(() => s.resetAndDestroy(), 60);
  });
  await new Promise<void>((r) => srv.listen(0, LO, () => r()));
  try {
    const r = await runTraffic({
      target: LO,
      port: (srv.address() as net.AddressInfo).port,
      conns: 4,
      intervalMs: 5,
      churnMs: 0,
      udp: 0,
      durationMs: 300,
      timeoutMs: 2000,
    });
    assert.equal(r.tcp.resets, 4, JSON.stringify(r.errorSamples));
    assert.equal(r.tcp.errors, 0);
    assert.equal(r.tcp.completed, 0);
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => srv.close(() => r()));
  }
});

Deno.test("connecting to a closed port counts as reset (ECONNREFUSED)", async () => {
  const l = Deno.listen({ hostname: LO, port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  const r = await runTraffic({
    target: LO,
    port,
    conns: 2,
    churnMs: 20,
    udp: 0,
    durationMs: 100,
    timeoutMs: 1000,
  });
  assert.equal(r.tcp.opened, 0);
  assert.equal(r.tcp.resets, 2);
  assert.ok(r.churn.opened > 0 && r.churn.failed === r.churn.opened && r.churn.resets > 0);
});

Deno.test("a delayed echo shows as the longest stall; a missing one times out", async () => {
  let first = true;
  const srv = tcpServer(echoWith(async (chunk) => {
    if (first) {
      first = false;
      await new Promise((r) => setTimeout(r, 300));
    }
    return chunk;
  }));
  try {
    const r = await runTraffic({
      target: LO,
      port: srv.port,
      conns: 2,
      intervalMs: 10,
      churnMs: 0,
      udp: 0,
      durationMs: 500,
      timeoutMs: 2000,
    });
    assertClean(r, 2);
    // At least the server's delay, and under the 2000 ms timeout: a stall, not a failure.
    assert.ok(r.tcp.maxStallMs >= 290 && r.tcp.maxStallMs < 2000, `stall ${r.tcp.maxStallMs}`);
  } finally {
    await srv.close();
  }
  const silent = tcpServer(async (c) => {
    await c.read(new Uint8Array(1));
    await new Promise((r) => setTimeout(r, 1000));
  });
  try {
    const r = await runTraffic({
      target: LO,
      port: silent.port,
      conns: 1,
      churnMs: 0,
      udp: 0,
      durationMs: 100,
      timeoutMs: 300,
    });
    assert.equal(r.tcp.errors, 1);
    assert.match(r.conns[0]?.error ?? "", /timeout/);
    assert.ok(r.tcp.maxStallMs >= 290, `stall ${r.tcp.maxStallMs}`);
  } finally {
    await silent.close();
  }
});

Deno.test("UDP: a corrupting echo is counted, silence is loss", async () => {
  const sock = dgram.createSocket("udp4");
  let n = 0;
  sock.on("message", (msg, rinfo) => {
    n++;
    if (n % 3 === 0) return; // drop every third
    if (n % 3 === 1) msg[HEADER_LEN + 1]! ^= 1; // corrupt every other one
    sock.send(msg, rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => sock.bind(0, LO, () => r()));
  try {
    const r = await runTraffic({
      target: LO,
      udpPort: sock.address().port,
      conns: 0,
      churnMs: 0,
      udp: 2,
      intervalMs: 10,
      durationMs: 300,
      timeoutMs: 1000,
    });
    // Three datagrams show each fate the server deals (corrupt, echoed, dropped).
    assert.ok(r.udp.sent >= 3, `sent ${r.udp.sent}`);
    assert.ok(r.udp.corrupt > 0, "corrupt");
    assert.ok(r.udp.received > 0 && r.udp.received < r.udp.sent);
    assert.equal(r.udp.lost, r.udp.sent - r.udp.received);
    assert.ok(r.udp.lost >= r.udp.corrupt, "corrupt echoes do not count as received");
  } finally {
    sock.close();
  }
});

Deno.test("stop file ends the run early; mark file reports churn opened just before it", async () => {
  const srv = await serveLab({ addresses: [LO], tcpPort: 0, udpPort: 0, httpPort: 0 });
  const dir = await Deno.makeTempDir();
  try {
    const p = srv.ports.get(LO)!;
    const t0 = Date.now();
    const run = runTraffic({
      target: LO,
      port: p.tcp,
      conns: 2,
      intervalMs: 10,
      churnMs: 5,
      udp: 0,
      durationMs: 20000,
      stopFile: `${dir}/stop`,
      markFile: `${dir}/mark`,
      readyFile: `${dir}/ready`,
      timeoutMs: 2000,
    });
    while (!(await Deno.stat(`${dir}/ready`).then(() => true, () => false))) {
      await new Promise((r) => setTimeout(r, 10));
    }
    await Deno.writeTextFile(`${dir}/mark`, "");
    const markMtime = (await Deno.stat(`${dir}/mark`)).mtime!.getTime();
    await new Promise((r) => setTimeout(r, 200));
    await Deno.writeTextFile(`${dir}/stop`, "");
    const r = await run;
    assert.ok(Date.now() - t0 < 5000, "stopped early");
    assertClean(r, 2);
    const m = r.opsAroundMark;
    assert.ok(m !== null, "mark recorded");
    assert.ok(Math.abs(m.markAt - markMtime) < 1, `markAt ${m.markAt} vs mtime ${markMtime}`);
    assert.equal(m.windowMs, 50);
    // How many fall in the window depends on the machine (opsAroundMark's own test below
    // checks the counting); whatever was opened there completed.
    assert.equal(m.completed, m.opened);
    assert.equal(m.failed, 0);
  } finally {
    await srv.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("connections live longer than the connect/echo timeout without being cut", async () => {
  const srv = await serveLab({ addresses: [LO], tcpPort: 0, udpPort: 0, httpPort: 0 });
  const dir = await Deno.makeTempDir();
  const readyFile = `${dir}/ready`;
  try {
    const r = await runTraffic({
      target: LO,
      port: srv.ports.get(LO)!.tcp,
      conns: 3,
      intervalMs: 10,
      churnMs: 0,
      udp: 0,
      durationMs: 700,
      timeoutMs: 200,
      readyFile,
    });
    assertClean(r, 3);
    // Every connection still echoed after the timeout had passed since the traffic was up.
    const readyAt = Number(await Deno.readTextFile(readyFile));
    for (const c of r.conns) {
      assert.ok(
        c.lastEchoAt! > readyAt + 200,
        `conn ${c.id}: last echo ${c.lastEchoAt! - readyAt} ms`,
      );
    }
  } finally {
    await srv.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("opsAroundMark counts the churn opened in the 50 ms up to the mark, and its fate", () => {
  const log = [
    { at: 900, ok: true }, // before the window
    { at: 950, ok: true }, // its first instant
    { at: 990, ok: false },
    { at: 999.5, ok: null }, // still open at the end: not completed
    { at: 1000, ok: true }, // the mark itself
    { at: 1001, ok: true }, // after
  ];
  assert.deepEqual(opsAroundMark(log, 1000), {
    markAt: 1000,
    windowMs: MARK_WINDOW_MS,
    opened: 4,
    completed: 2,
    failed: 2,
  });
  assert.deepEqual(opsAroundMark([], 5).opened, 0);
});

Deno.test("watchdog fires after its time, but not for time this process was not running", async () => {
  let fired = 0;
  const t0 = performance.now();
  await new Promise<void>((resolve) => watchdog(30, () => (fired++, resolve())));
  assert.equal(fired, 1);
  assert.ok(performance.now() - t0 >= 29);

  // The reply is in the socket while this process is away (here: its loop blocked 400 ms,
  // past the 200 ms watchdog): the read gets its turn before the watchdog, which then stands.
  const l = Deno.listen({ hostname: LO, port: 0 });
  const server = (async () => {
    const c = await l.accept();
    const b = new Uint8Array(1);
    await c.read(b);
    await c.write(b);
    return c;
  })();
  const c = await Deno.connect({ hostname: LO, port: (l.addr as Deno.NetAddr).port });
  try {
    let timedOut = false;
    await c.write(Uint8Array.of(7));
    const srv = await server; // echoed by now, or soon
    const cancel = watchdog(200, () => {
      timedOut = true;
      c.close();
    });
    const until = performance.now() + 400;
    while (performance.now() < until) { /* away */ }
    const got = new Uint8Array(1);
    assert.equal(await c.read(got), 1);
    cancel();
    assert.equal(timedOut, false, "the watchdog did not cut a reply that had arrived");
    srv.close();
  } finally {
    try {
      c.close();
    } catch { /* closed */ }
    l.close();
  }
});

Deno.test("traffic over IPv6 loopback: TCP echo, churn and UDP (udp6) complete byte-exact", async () => {
  const LO6 = "::1";
  const srv = await serveLab({ addresses: [LO6], tcpPort: 0, udpPort: 0, httpPort: 0 });
  try {
    const p = srv.ports.get(LO6)!;
    const r = await runTraffic({
      target: LO6,
      port: p.tcp,
      udpPort: p.udp,
      conns: 4,
      intervalMs: 10,
      churnMs: 20,
      udp: 2,
      durationMs: 300,
      timeoutMs: 2000,
    });
    assert.equal(r.tcp.completed, 4, JSON.stringify(r.errorSamples));
    assert.equal(r.tcp.corruptBytes, 0);
    assert.ok(r.conns.every((c) => c.echoes >= 1 && c.error === null));
    assert.ok(r.churn.opened >= 1 && r.churn.completed === r.churn.opened);
    assert.ok(r.udp.sent >= 2 && r.udp.received === r.udp.sent, JSON.stringify(r.udp));
    assert.equal(r.udp.corrupt, 0);
  } finally {
    await srv.close();
  }
});

Deno.test("traffic targets: the IPv6 VIP by family, IPv4 stays the default", () => {
  assert.equal(VIP, "198.51.100.10");
  assert.equal(VIP6, "2001:db8:100::10");
  assert.equal(DEFAULT_TRAFFIC.target, VIP);
  assert.equal(vipOf(), VIP);
  assert.equal(vipOf(6), VIP6);
  assert.equal(vipUrl("/"), "http://198.51.100.10/");
  assert.equal(vipUrl("/bytes?n=5", 6), "http://[2001:db8:100::10]/bytes?n=5");
  assert.equal(vipUrl("x", 6, 8080), "http://[2001:db8:100::10]:8080/x");
  assert.deepEqual(parseTrafficArgs(["--target", "2001:db8:100::10"]), { target: VIP6 });
  assert.deepEqual(parseTrafficArgs(["--family", "6"]), { family: 6 });
  assert.deepEqual(parseTrafficArgs(["--family", "6", "--target", "::1"]), {
    family: 6,
    target: "::1",
  });
  assert.match(String(parseTrafficArgs(["--family", "5"])), /--family must be 4 or 6/);
  assert.match(String(parseTrafficArgs(["--target", "2001:db8::g"])), /IPv4 or IPv6/);
  assert.match(String(parseTrafficArgs(["--target", "300.1.1.1"])), /IPv4 or IPv6/);
  assert.match(
    String(parseTrafficArgs(["--family", "4", "--target", "::1"])),
    /not an IPv4 address/,
  );
  assert.deepEqual(trafficArgs({ family: 6, conns: 2 }), ["--family", "6", "--conns", "2"]);
});
