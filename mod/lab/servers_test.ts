import assert from "node:assert/strict";
import dgram from "node:dgram";
import {
  ALL_BACKEND_ADDRESSES,
  BACKEND_ADDRESSES6,
  hostPort,
  httpHandler,
  patternBytes,
  serveLab,
} from "./servers.ts";

const LO = "127.0.0.1";

Deno.test("http handler: / names the backend, /bytes returns n pattern bytes, bad n is 400", async () => {
  const h = httpHandler("203.0.113.21");
  const root = h(new Request("http://x/"));
  assert.equal(root.status, 200);
  assert.match(await root.text(), /203\.0\.113\.21/);
  const bytes = h(new Request("http://x/bytes?n=200000"));
  assert.equal(bytes.headers.get("content-length"), "200000");
  const body = new Uint8Array(await bytes.arrayBuffer());
  assert.deepEqual(body, patternBytes(200000));
  assert.equal(body[251], 0);
  assert.equal(body[252], 1);
  assert.equal(h(new Request("http://x/bytes?n=-1")).status, 400);
  assert.equal(h(new Request("http://x/bytes?n=1.5")).status, 400);
  assert.equal(h(new Request("http://x/nope")).status, 404);
  assert.equal(h(new Request("http://x/", { method: "POST" })).status, 405);
});

Deno.test("serveLab on loopback: TCP echo byte-exact, UDP echo, HTTP", async () => {
  const srv = await serveLab({ addresses: [LO], tcpPort: 0, udpPort: 0, httpPort: 0 });
  try {
    const p = srv.ports.get(LO)!;

    const conn = await Deno.connect({ hostname: LO, port: p.tcp });
    const sent = patternBytes(100000, 7);
    const writing = (async () => {
      let off = 0;
      while (off < sent.length) off += await conn.write(sent.subarray(off));
      await conn.closeWrite();
    })();
    const got = new Uint8Array(sent.length + 10);
    let n = 0;
    for (;;) {
      const r = await conn.read(got.subarray(n));
      if (r === null) break;
      n += r;
    }
    await writing;
    conn.close();
    assert.equal(n, sent.length, "server echoes everything, then closes after our FIN");
    assert.deepEqual(got.subarray(0, n), sent);

    const sock = dgram.createSocket("udp4");
    try {
      const echo = new Promise<Uint8Array>((r) => sock.once("message", (m: Uint8Array) => r(m)));
      await new Promise<void>((r) => sock.bind(0, LO, () => r()));
      sock.send(Uint8Array.of(1, 2, 3, 250), p.udp, LO);
      assert.deepEqual(new Uint8Array(await echo), Uint8Array.of(1, 2, 3, 250));
    } finally {
      sock.close();
    }

    const res = await fetch(`http://${LO}:${p.http}/`);
    assert.equal(await res.text(), `tandem lab backend ${LO}\n`);
    const big = await fetch(`http://${LO}:${p.http}/bytes?n=70000`);
    assert.deepEqual(new Uint8Array(await big.arrayBuffer()), patternBytes(70000));
  } finally {
    await srv.close();
  }
});

Deno.test("serveLab on IPv6 loopback: TCP echo, UDP echo (udp6) and HTTP on ::1", async () => {
  const LO6 = "::1";
  const srv = await serveLab({ addresses: [LO6], tcpPort: 0, udpPort: 0, httpPort: 0 });
  try {
    const p = srv.ports.get(LO6)!;
    const conn = await Deno.connect({ hostname: LO6, port: p.tcp });
    try {
      const sent = patternBytes(3000, 3);
      let off = 0;
      while (off < sent.length) off += await conn.write(sent.subarray(off));
      await conn.closeWrite();
      const got = new Uint8Array(sent.length + 10);
      let n = 0;
      for (;;) {
        const r = await conn.read(got.subarray(n));
        if (r === null) break;
        n += r;
      }
      assert.deepEqual(got.subarray(0, n), sent);
      assert.equal((conn.remoteAddr as Deno.NetAddr).hostname, LO6);
    } finally {
      conn.close();
    }

    const sock = dgram.createSocket("udp6");
    try {
      const echo = new Promise<Uint8Array>((r) => sock.once("message", (m: Uint8Array) => r(m)));
      await new Promise<void>((r) => sock.bind(0, LO6, () => r()));
      sock.send(Uint8Array.of(6, 6, 6), p.udp, LO6);
      assert.deepEqual(new Uint8Array(await echo), Uint8Array.of(6, 6, 6));
    } finally {
      sock.close();
    }

    const res = await fetch(`http://${hostPort(LO6, p.http)}/`);
    assert.equal(res.headers.get("x-backend"), LO6);
    assert.equal(await res.text(), `tandem lab backend ${LO6}\n`);
  } finally {
    await srv.close();
  }
});

Deno.test("lab servers: both families by default; hostPort brackets IPv6", () => {
  assert.deepEqual(ALL_BACKEND_ADDRESSES, [
    "203.0.113.20",
    "203.0.113.21",
    "2001:db8:113::20",
    "2001:db8:113::21",
  ]);
  assert.deepEqual(BACKEND_ADDRESSES6, ["2001:db8:113::20", "2001:db8:113::21"]);
  assert.equal(hostPort("2001:db8:113::20", 80), "[2001:db8:113::20]:80");
  assert.equal(hostPort("203.0.113.20", 80), "203.0.113.20:80");
});
