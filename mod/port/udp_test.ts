import assert from "node:assert/strict";
import { MAX_BURST, openUdp, type UdpPort } from "./udp.ts";
import { libc } from "./ffi.ts";
import { Poller } from "./poller.ts";
import { OsError } from "./errors.ts";
import { ip4 } from "./test_util.ts";

const LOOPBACK = ip4(127, 0, 0, 1);

Deno.test("UDP: 1000 datagrams between two sockets arrive whole, in order, with their source", async () => {
  const a = openUdp(LOOPBACK, 0);
  const b = openUdp(LOOPBACK, 0);
  try {
    assert.notEqual(a.localPort, 0);
    assert.notEqual(a.localPort, b.localPort);
    const out = new Uint8Array(200);
    const view = new DataView(out.buffer);
    for (let i = 0; i < 1000; i++) {
      view.setUint32(0, i);
      out.fill(i & 255, 4);
      assert.equal(a.sendTo(out, 4 + (i % 150), LOOPBACK, b.localPort), true);
    }
    const poller = new Poller([b.fd]);
    const buf = new Uint8Array(2048);
    const bufView = new DataView(buf.buffer);
    let got = 0;
    const deadline = performance.now() + 2000;
    while (got < 1000 && performance.now() < deadline) {
      if ((await poller.wait(100)) === 0) continue;
      for (let n = b.recvFrom(buf); n > 0; n = b.recvFrom(buf)) {
        assert.equal(bufView.getUint32(0), got, "order");
        assert.equal(n, 4 + (got % 150), "length");
        assert.ok(buf.subarray(4, n).every((x) => x === (got & 255)), "payload");
        assert.equal(b.lastAddr, LOOPBACK);
        assert.equal(b.lastPort, a.localPort);
        got++;
      }
    }
    assert.equal(got, 1000);
    assert.equal(b.recvFrom(buf), 0);
  } finally {
    a.close();
    b.close();
  }
});

Deno.test("UDP: recvFrom returns 0 on an empty socket (EAGAIN)", () => {
  const s = openUdp(LOOPBACK, 0);
  try {
    assert.equal(s.recvFrom(new Uint8Array(64)), 0);
  } finally {
    s.close();
  }
});

Deno.test("UDP: binding a used port throws OsError EADDRINUSE naming the address", () => {
  const a = openUdp(LOOPBACK, 0);
  try {
    assert.throws(() => openUdp(LOOPBACK, a.localPort), (e) => {
      assert.ok(e instanceof OsError);
      assert.equal(e.code, "EADDRINUSE");
      assert.equal(e.errno, 98);
      assert.equal(e.syscall, "bind");
      assert.equal(e.message, `bind(127.0.0.1:${a.localPort}): EADDRINUSE (98)`);
      return true;
    });
  } finally {
    a.close();
  }
});

Deno.test("UDP: sendTo sends only len bytes; address 0 binds every interface", async () => {
  const a = openUdp(0, 0);
  const b = openUdp(LOOPBACK, 0);
  try {
    assert.equal(a.name, `0.0.0.0:${a.localPort}`);
    assert.equal(a.sendTo(Uint8Array.of(1, 2, 3, 4, 5), 3, LOOPBACK, b.localPort), true);
    assert.notEqual(await new Poller([b.fd]).wait(1000), 0);
    const buf = new Uint8Array(16);
    assert.equal(b.recvFrom(buf), 3);
    assert.deepEqual(buf.subarray(0, 3), Uint8Array.of(1, 2, 3));
    assert.equal(b.lastPort, a.localPort);
  } finally {
    a.close();
    b.close();
  }
});

Deno.test("UDP: use after close throws OsError EBADF", () => {
  const s = openUdp(LOOPBACK, 0);
  s.close();
  assert.equal(s.fd, -1);
  assert.throws(
    () => s.recvFrom(new Uint8Array(8)),
    (e) => e instanceof OsError && e.code === "EBADF",
  );
});

Deno.test("UDP: an ICMP error on receive throws by default, and is counted with countRecvErrors", async () => {
  // ip(7): with IP_RECVERR an unconnected socket reports a port unreachable as ECONNREFUSED on
  // its next receive. A port just closed on loopback answers so.
  const closed = openUdp(LOOPBACK, 0);
  const deadPort = closed.localPort;
  closed.close();
  const recvErr = (s: UdpPort) => {
    const on = new Int32Array([1]);
    assert.equal(libc().setsockopt(s.fd, 0, 11, new Uint8Array(on.buffer), 4), 0);
  };
  const refused = async (s: UdpPort) => {
    assert.equal(s.sendTo(new Uint8Array(8), 8, LOOPBACK, deadPort), true);
    await new Promise((r) => setTimeout(r, 50)); // the ICMP error is queued meanwhile
  };
  const a = openUdp(LOOPBACK, 0);
  try {
    recvErr(a);
    await refused(a);
    assert.throws(() => a.recvFrom(new Uint8Array(64)), (e) => {
      assert.ok(e instanceof OsError);
      assert.equal(e.code, "ECONNREFUSED");
      return true;
    });
  } finally {
    a.close();
  }
  const b = openUdp(LOOPBACK, 0);
  try {
    recvErr(b);
    b.countRecvErrors = true;
    await refused(b);
    assert.equal(b.recvFrom(new Uint8Array(64)), 0, "counted, not thrown");
    assert.equal(b.recvErrors, 1);
    assert.equal(b.lastRecvErrno, 111);
    // A misused socket still throws.
    b.close();
    assert.throws(() => b.recvFrom(new Uint8Array(64)), (e) => e instanceof OsError);
  } finally {
    b.close();
  }
});

Deno.test("UDP: a burst sends the datagram count times in one call, capped at MAX_BURST", async () => {
  const a = openUdp(LOOPBACK, 0);
  const b = openUdp(LOOPBACK, 0);
  try {
    const out = new Uint8Array(100).map((_, i) => i);
    assert.equal(a.sendBurst(out, 64, 10, LOOPBACK, b.localPort), 10);
    // A second target rebuilds the header array; the count is capped.
    const c = openUdp(LOOPBACK, 0);
    try {
      assert.equal(a.sendBurst(out, 64, 1000, LOOPBACK, c.localPort), MAX_BURST);
      assert.equal(a.sendBurst(out, 64, 0, LOOPBACK, c.localPort), 0);
      const buf = new Uint8Array(2048);
      const count = async (s: UdpPort, want: number) => {
        const poller = new Poller([s.fd]);
        let got = 0;
        const deadline = performance.now() + 2000;
        while (got < want && performance.now() < deadline) {
          if ((await poller.wait(100)) === 0) continue;
          for (let n = s.recvFrom(buf); n > 0; n = s.recvFrom(buf)) {
            assert.equal(n, 64);
            assert.deepEqual(buf.subarray(0, 64), out.subarray(0, 64));
            assert.equal(s.lastPort, a.localPort);
            got++;
          }
        }
        return got;
      };
      assert.equal(await count(b, 10), 10);
      assert.equal(await count(c, MAX_BURST), MAX_BURST);
      assert.equal(b.recvFrom(buf), 0, "nothing more than asked");
    } finally {
      c.close();
    }
  } finally {
    a.close();
    b.close();
  }
});
