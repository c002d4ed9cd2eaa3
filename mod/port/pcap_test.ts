import assert from "node:assert/strict";
import { CapturePort, LINKTYPE_ETHERNET, pcapLinkType, PcapWriter, readPcap } from "./pcap.ts";
import { MemoryPort } from "./memory.ts";

function ethFrame(len: number, seed: number): Uint8Array {
  const f = new Uint8Array(len);
  for (let i = 0; i < len; i++) f[i] = (i * 7 + seed) & 255;
  f[12] = 0x08;
  f[13] = 0x00;
  return f;
}

Deno.test("pcap: writer output reads back with frames and microsecond times", () => {
  const w = new PcapWriter();
  const frames = [ethFrame(60, 1), ethFrame(1514, 2), ethFrame(42, 3)];
  const times = [1_700_000_000_123.456, 1_700_000_001_000, 1_700_000_001_999.999];
  frames.forEach((f, i) => w.write(f, times[i]!));
  assert.equal(w.count, 3);
  const bytes = w.bytes();
  assert.equal(bytes.length, 24 + 3 * 16 + 60 + 1514 + 42);
  // Header: little-endian microsecond magic, version 2.4, Ethernet.
  assert.deepEqual(bytes.subarray(0, 8), Uint8Array.of(0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0));
  assert.equal(pcapLinkType(bytes), LINKTYPE_ETHERNET);
  const back = readPcap(bytes);
  assert.equal(back.length, 3);
  back.forEach((r, i) => {
    assert.deepEqual(r.frame, frames[i]);
    assert.ok(Math.abs(r.timeMs - times[i]!) < 0.0005, `time ${r.timeMs} vs ${times[i]}`);
  });
});

Deno.test("pcap: frames beyond snaplen are cut, original length kept", () => {
  const w = new PcapWriter(64);
  w.write(ethFrame(100, 9), 1000);
  const bytes = w.bytes();
  const v = new DataView(bytes.buffer);
  assert.equal(v.getUint32(24 + 8, true), 64);
  assert.equal(v.getUint32(24 + 12, true), 100);
  const [rec] = readPcap(bytes);
  assert.deepEqual(rec?.frame, ethFrame(100, 9).subarray(0, 64));
});

Deno.test("pcap: the writer grows past its first buffer", () => {
  const w = new PcapWriter();
  for (let i = 0; i < 200; i++) w.write(ethFrame(1514, i), i);
  const back = readPcap(w.bytes());
  assert.equal(back.length, 200);
  assert.deepEqual(back[199]?.frame, ethFrame(1514, 199));
});

Deno.test("readPcap returns [] on garbage and never throws", () => {
  assert.deepEqual(readPcap(new Uint8Array(0)), []);
  assert.deepEqual(readPcap(new Uint8Array(23)), []);
  assert.deepEqual(readPcap(new TextEncoder().encode("this is not a capture file at all")), []);
  // pcapng section header block: a different format, not read here.
  assert.deepEqual(readPcap(Uint8Array.of(0x0a, 0x0d, 0x0d, 0x0a, ...new Uint8Array(28))), []);
  let x = 12345;
  for (let round = 0; round < 200; round++) {
    const junk = new Uint8Array(64 + round);
    for (let i = 0; i < junk.length; i++) junk[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
    assert.ok(Array.isArray(readPcap(junk)));
  }
});

Deno.test("readPcap keeps the records before a truncated or absurd one", () => {
  const w = new PcapWriter();
  w.write(ethFrame(60, 1), 1);
  w.write(ethFrame(60, 2), 2);
  const bytes = w.bytes();
  assert.equal(readPcap(bytes.subarray(0, bytes.length - 10)).length, 1);
  const bad = bytes.slice();
  new DataView(bad.buffer).setUint32(24 + 16 + 60 + 8, 0x7fffffff, true);
  assert.equal(readPcap(bad).length, 1);
});

Deno.test("readPcap reads big-endian and nanosecond files", () => {
  const bytes = new Uint8Array(24 + 16 + 4);
  const v = new DataView(bytes.buffer);
  v.setUint32(0, 0xa1b23c4d, false); // nanosecond magic, big-endian
  v.setUint16(4, 2, false);
  v.setUint16(6, 4, false);
  v.setUint32(16, 65535, false);
  v.setUint32(20, 1, false);
  v.setUint32(24, 10, false); // 10 s
  v.setUint32(28, 500_000_000, false); // + 0.5 s in ns
  v.setUint32(32, 4, false);
  v.setUint32(36, 4, false);
  bytes.set([1, 2, 3, 4], 40);
  const [rec, ...rest] = readPcap(bytes);
  assert.equal(rest.length, 0);
  assert.equal(rec?.timeMs, 10_500);
  assert.deepEqual(rec?.frame, Uint8Array.of(1, 2, 3, 4));
  assert.equal(pcapLinkType(bytes), 1);
});

Deno.test("CapturePort records frames received and accepted, stamped by the injected clock", () => {
  const inner = new MemoryPort("c0", { capacity: 1 });
  const w = new PcapWriter();
  let now = 5000;
  const port = new CapturePort(inner, w, () => now);
  inner.inject(ethFrame(60, 1));
  const buf = new Uint8Array(2048);
  assert.equal(port.recv(buf), 60);
  assert.equal(port.recv(buf), 0); // nothing recorded for an empty read
  now = 6000;
  assert.equal(port.send(ethFrame(70, 2)), true);
  assert.equal(port.send(ethFrame(80, 3)), false); // refused: not on the wire, not recorded
  const recs = readPcap(w.bytes());
  assert.deepEqual(recs.map((r) => [r.timeMs, r.frame.length]), [[5000, 60], [6000, 70]]);
});

const hasTcpdump = ((): boolean => {
  try {
    return new Deno.Command("tcpdump", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
})();

if (!hasTcpdump) console.warn("mod/port: tcpdump not on PATH, skipping the tcpdump read test");

Deno.test({
  name: "pcap: tcpdump reads the writer's file",
  ignore: !hasTcpdump,
  fn: async () => {
    const w = new PcapWriter();
    for (let i = 0; i < 5; i++) w.write(ethFrame(60, i), 1_700_000_000_000 + i);
    const path = await Deno.makeTempFile({ suffix: ".pcap" });
    try {
      await Deno.writeFile(path, w.bytes());
      const out = await new Deno.Command("tcpdump", {
        args: ["-nn", "-r", path],
        stdout: "piped",
        stderr: "piped",
      })
        .output();
      assert.ok(out.success, new TextDecoder().decode(out.stderr));
      const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
      assert.equal(lines.length, 5);
      assert.match(new TextDecoder().decode(out.stderr), /link-type EN10MB/);
    } finally {
      await Deno.remove(path);
    }
  },
});
