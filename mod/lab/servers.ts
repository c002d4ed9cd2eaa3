/**
 * The lab's backend servers, run in `<prefix>-server` as one process (`tandem lab serve`):
 * TCP echo (:7000), UDP echo (:7001) and HTTP (:80) on each backend address, IPv4 and IPv6.
 *
 * Run directly with `deno run -A mod/lab/servers.ts [--address A]... [--tcp-port N] ...`.
 * @module
 */

import dgram from "node:dgram";
import { parseArgs } from "node:util";

/** The lab's IPv4 backend addresses (DESIGN.md "The lab"). */
export const BACKEND_ADDRESSES: readonly string[] = ["203.0.113.20", "203.0.113.21"];
/** The lab's IPv6 backend addresses, beside the IPv4 ones (RFC 3849 documentation prefix). */
export const BACKEND_ADDRESSES6: readonly string[] = ["2001:db8:113::20", "2001:db8:113::21"];
/** What `serveLab` and `tandem lab serve` serve by default: both families. */
export const ALL_BACKEND_ADDRESSES: readonly string[] = [
  ...BACKEND_ADDRESSES,
  ...BACKEND_ADDRESSES6,
];

/** `host:port` for a URL or a log line: IPv6 in brackets (RFC 3986 §3.2.2). */
export function hostPort(address: string, port: number): string {
  return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
}

/** Where and what to serve; ports 0 pick free ports (for tests on loopback). */
export interface ServeOptions {
  /** IPv4 or IPv6 addresses; default {@link ALL_BACKEND_ADDRESSES}. */
  addresses?: readonly string[];
  tcpPort?: number;
  udpPort?: number;
  httpPort?: number;
  /** Called once per listener that is ready. */
  log?: (line: string) => void;
}

/** Running servers: the bound ports per address, and a way to stop them all. */
export interface LabServers {
  /** `address -> { tcp, udp, http }` actual ports. */
  ports: Map<string, { tcp: number; udp: number; http: number }>;
  close(): Promise<void>;
}

/** Largest body `/bytes?n=` serves, so a typo cannot exhaust memory. */
export const MAX_BYTES = 256 * 1024 * 1024;

/**
 * Byte `i` of the deterministic `/bytes` pattern: a 251-cycle (prime, so it does not line up with
 * any power-of-two chunking and a shifted or repeated chunk is visible).
 */
export function patternByte(i: number): number {
  return i % 251;
}

/** `n` bytes of the `/bytes` pattern starting at offset `from`. */
export function patternBytes(n: number, from = 0): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = patternByte(from + i);
  return out;
}

/** The HTTP handler for one backend address (exported for tests without sockets). */
export function httpHandler(address: string): (req: Request) => Response {
  return (req: Request): Response => {
    const url = new URL(req.url);
    if (req.method !== "GET" && req.method !== "HEAD") {
      return new Response("method not allowed\n", { status: 405 });
    }
    if (url.pathname === "/") {
      return new Response(`tandem lab backend ${address}\n`, {
        headers: { "content-type": "text/plain", "x-backend": address },
      });
    }
    if (url.pathname === "/bytes") {
      const n = Number(url.searchParams.get("n") ?? "0");
      if (!Number.isInteger(n) || n < 0 || n > MAX_BYTES) {
        return new Response(`n must be an integer in 0..${MAX_BYTES}\n`, { status: 400 });
      }
      // Streamed in chunks so a large body is never held in memory at once.
      const chunk = 64 * 1024;
      let sent = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(ctl) {
          if (sent >= n) {
            ctl.close();
            return;
          }
          const len = Math.min(chunk, n - sent);
          ctl.enqueue(patternBytes(len, sent));
          sent += len;
        },
      });
      return new Response(body, {
        headers: {
          "content-type": "application/octet-stream",
          "content-length": String(n),
          "x-backend": address,
        },
      });
    }
    return new Response("not found\n", { status: 404 });
  };
}

async function writeAll(conn: Deno.TcpConn, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += await conn.write(data.subarray(off));
}

/** Echoes everything until EOF, then closes; errors (resets) just end the connection. */
async function echoConn(conn: Deno.TcpConn): Promise<void> {
  const buf = new Uint8Array(64 * 1024);
  try {
    conn.setNoDelay(true);
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      await writeAll(conn, buf.subarray(0, n));
    }
  } catch {
    // peer reset or we are closing: nothing to report to anyone
  } finally {
    try {
      conn.close();
    } catch {
      // already closed
    }
  }
}

/** Starts every listener and resolves once all are bound. They run until `close()`. */
export async function serveLab(opts: ServeOptions = {}): Promise<LabServers> {
  const addresses = opts.addresses ?? ALL_BACKEND_ADDRESSES;
  const log = opts.log ?? (() => {});
  const listeners: Deno.TcpListener[] = [];
  const conns = new Set<Deno.TcpConn>();
  const sockets: dgram.Socket[] = [];
  const https: Deno.HttpServer[] = [];
  const ports = new Map<string, { tcp: number; udp: number; http: number }>();
  const loops: Promise<void>[] = [];

  for (const address of addresses) {
    const listener = Deno.listen({ hostname: address, port: opts.tcpPort ?? 7000 });
    listeners.push(listener);
    loops.push((async () => {
      try {
        for await (const conn of listener) {
          conns.add(conn);
          echoConn(conn).finally(() => conns.delete(conn));
        }
      } catch {
        // listener closed
      }
    })());

    const sock = dgram.createSocket(address.includes(":") ? "udp6" : "udp4");
    sockets.push(sock);
    sock.on("message", (msg, rinfo) => {
      sock.send(msg, rinfo.port, rinfo.address);
    });
    sock.on("error", (e) => log(`udp ${address}: ${e.message}`));
    await new Promise<void>((resolve, reject) => {
      sock.once("error", reject);
      sock.bind(opts.udpPort ?? 7001, address, () => {
        sock.off("error", reject);
        resolve();
      });
    });

    const http = Deno.serve({
      hostname: address,
      port: opts.httpPort ?? 80,
      onListen: () => {},
    }, httpHandler(address));
    https.push(http);

    const tcpAddr = listener.addr as Deno.NetAddr;
    const httpAddr = http.addr as Deno.NetAddr;
    const p = { tcp: tcpAddr.port, udp: sock.address().port, http: httpAddr.port };
    ports.set(address, p);
    log(`serving ${address}: tcp echo :${p.tcp}, udp echo :${p.udp}, http :${p.http}`);
  }

  return {
    ports,
    async close(): Promise<void> {
      for (const l of listeners) l.close();
      for (const c of conns) {
        try {
          c.close();
        } catch {
          // already closed
        }
      }
      for (const s of sockets) s.close();
      await Promise.all(https.map((h) => h.shutdown()));
      await Promise.all(loops);
    },
  };
}

/** CLI entry for `tandem lab serve`: serves until killed. Returns an exit code on bad flags. */
export async function serveMain(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        address: { type: "string", multiple: true },
        "tcp-port": { type: "string" },
        "udp-port": { type: "string" },
        "http-port": { type: "string" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    console.error(`lab serve: ${(e as Error).message}`);
    return 2;
  }
  const port = (s: string | undefined, d: number): number => (s === undefined ? d : Number(s));
  const opts: ServeOptions = {
    addresses: values.address ?? ALL_BACKEND_ADDRESSES,
    tcpPort: port(values["tcp-port"], 7000),
    udpPort: port(values["udp-port"], 7001),
    httpPort: port(values["http-port"], 80),
    log: (l) => console.log(l),
  };
  for (
    const [k, v] of Object.entries({ tcp: opts.tcpPort, udp: opts.udpPort, http: opts.httpPort })
  ) {
    if (!Number.isInteger(v) || v! < 0 || v! > 65535) {
      console.error(`lab serve: --${k}-port must be a port number`);
      return 2;
    }
  }
  await serveLab(opts);
  console.log("ready");
  // Listeners keep the process alive; wait forever.
  await new Promise<never>(() => {});
  return 0;
}

if (import.meta.main) Deno.exit(await serveMain(Deno.args));
