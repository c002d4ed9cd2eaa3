import assert from "node:assert/strict";
import { openUdp } from "../mod/port/udp.ts";
import { blast, parseBlastArgs } from "./udp_blast.ts";

Deno.test("parseBlastArgs takes defaults and rejects bad values", () => {
  const o = parseBlastArgs(["--target", "198.51.100.10"]);
  assert.deepEqual(o, { target: 0xc633640a, port: 7001, size: 64, seconds: 3, flows: 4 });
  assert.match(parseBlastArgs([]) as string, /--target/);
  assert.match(parseBlastArgs(["--target", "1.2.3.4", "--size", "9000"]) as string, /--size/);
  assert.match(parseBlastArgs(["--target", "1.2.3.4", "--flows", "x"]) as string, /--flows/);
});

Deno.test("blast sends sized datagrams from several flows for the time asked", async () => {
  const rx = openUdp(0x7f000001, 0);
  try {
    const r = await blast({
      target: 0x7f000001,
      port: rx.localPort,
      size: 64,
      seconds: 0.2,
      flows: 3,
    });
    assert.ok(r.sent >= 3, `${r.sent} sent`);
    assert.ok(r.seconds >= 0.2 && r.seconds < 2, `${r.seconds} s`);
    const buf = new Uint8Array(2048);
    const sources = new Set<number>();
    let n = 0, len = 0;
    while ((len = rx.recvFrom(buf)) > 0) {
      assert.equal(len, 64);
      assert.equal(buf[5], 5, "payload is the byte pattern 0, 1, 2, …");
      sources.add(rx.lastPort);
      n++;
    }
    assert.ok(n > 0 && n <= r.sent, `${n} received of ${r.sent}`);
    assert.equal(sources.size, 3, "one source port per flow");
  } finally {
    rx.close();
  }
});
