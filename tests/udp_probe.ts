/**
 * Sends a few UDP datagrams to an echo service and reports what came back, including an ICMP
 * port unreachable: with IP_RECVERR set, Linux reports the ICMP error of an unconnected UDP
 * socket as ECONNREFUSED on the next receive (ip(7); RFC 1122 §4.1.3.3 asks that ICMP errors
 * reach the application). Run it inside the client namespace:
 *
 * ```sh
 * ip netns exec ts1-client deno run -A tests/udp_probe.ts 198.51.100.10 7001 5
 * ```
 *
 * Prints one JSON line (`UdpProbeReport`).
 * @module
 */

import { openUdp } from "../mod/port/udp.ts";
import { libc } from "../mod/port/ffi.ts";
import { errnoName, lastErrno, OsError } from "../mod/port/errors.ts";
import { ipv4ToString, parseIpv4 } from "../mod/wire/addr.ts";

/** What the probe saw. */
export interface UdpProbeReport {
  sent: number;
  /** Replies equal, byte for byte, to a datagram we sent, from the address we sent to. */
  echoed: number;
  /** Replies that matched nothing we sent, or came from elsewhere. */
  mismatched: number;
  /** errno name of a failed receive (ECONNREFUSED = ICMP port unreachable), or null. */
  error: string | null;
  /** ms from the first send until every echo, the error, or the timeout. */
  elapsedMs: number;
}

/** ip(7): IPPROTO_IP level, IP_RECVERR option. */
const IPPROTO_IP = 0;
const IP_RECVERR = 11;

/** The `i`th datagram: distinct per index and per run, 64 to 575 bytes. */
function datagram(i: number, nonce: number): Uint8Array {
  const out = new Uint8Array(64 + ((i * 131 + nonce) % 512));
  const dv = new DataView(out.buffer);
  dv.setUint32(0, nonce);
  dv.setUint32(4, i);
  for (let k = 8; k < out.length; k++) out[k] = (k * 7 + i * 13 + nonce) & 0xff;
  return out;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, k) => x === b[k]);
}

/** Sends `count` datagrams to `host:port` and collects echoes for up to `timeoutMs`. */
export async function udpProbe(
  host: string,
  port: number,
  count: number,
  timeoutMs: number,
  nonce: number,
): Promise<UdpProbeReport> {
  const dst = parseIpv4(host);
  if (dst === undefined) throw new Error(`not an IPv4 address: ${host}`);
  const sock = openUdp(0, 0);
  try {
    const on = new Int32Array([1]);
    if (libc().setsockopt(sock.fd, IPPROTO_IP, IP_RECVERR, new Uint8Array(on.buffer), 4) !== 0) {
      throw new OsError("setsockopt(IP_RECVERR)", lastErrno(), sock.name);
    }
    const pending = new Map<number, Uint8Array>();
    const report: UdpProbeReport = { sent: 0, echoed: 0, mismatched: 0, error: null, elapsedMs: 0 };
    const t0 = performance.now();
    for (let i = 0; i < count; i++) {
      const d = datagram(i, nonce);
      if (!sock.sendTo(d, d.length, dst, port)) {
        // An ICMP error that arrived after an earlier datagram fails this send instead.
        report.error = errnoName(sock.lastSendErrno);
        break;
      }
      pending.set(i, d);
      report.sent++;
    }
    const buf = new Uint8Array(2048);
    while (report.error === null && pending.size > 0 && performance.now() - t0 < timeoutMs) {
      let n: number;
      try {
        n = sock.recvFrom(buf);
      } catch (e) {
        if (!(e instanceof OsError)) throw e;
        report.error = e.code;
        break;
      }
      if (n === 0) {
        await new Promise((r) => setTimeout(r, 2));
        continue;
      }
      const got = buf.subarray(0, n);
      const i = n >= 8 ? new DataView(got.buffer, 0, n).getUint32(4) : -1;
      const want = pending.get(i);
      const fromTarget = sock.lastAddr === dst && sock.lastPort === port;
      if (want !== undefined && fromTarget && sameBytes(got, want)) {
        pending.delete(i);
        report.echoed++;
      } else {
        report.mismatched++;
      }
    }
    report.elapsedMs = Math.round(performance.now() - t0);
    return report;
  } finally {
    sock.close();
  }
}

if (import.meta.main) {
  const [host = "", port = "", count = "1", timeout = "2000"] = Deno.args;
  const p = Number(port), c = Number(count), t = Number(timeout);
  if (!parseIpv4(host) || !(p > 0 && p < 65536) || !(c > 0) || !(t > 0)) {
    console.error("usage: udp_probe.ts <ipv4> <port> [count] [timeout-ms]");
    Deno.exit(2);
  }
  const nonce = crypto.getRandomValues(new Uint32Array(1))[0]! >>> 8;
  const r = await udpProbe(ipv4ToString(parseIpv4(host)!), p, c, t, nonce);
  console.log(JSON.stringify(r));
}
