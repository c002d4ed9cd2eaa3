/**
 * Sends UDP datagrams bigger than the link MTU to an echo service at a steady pace, so the
 * client's kernel cuts each one into IPv4 (RFC 791) or IPv6 (RFC 8200 §4.5) fragments and the
 * server's kernel cuts each echo again, and counts the echoes that come back whole and byte-exact. Run it inside the
 * client namespace:
 *
 * ```sh
 * ip netns exec tf1-client deno run -A tests/udp_big.ts 198.51.100.10 7001 4000 6000 20
 * ```
 *
 * (address, port, datagram size, how long in ms, ms between datagrams). It waits 1.5 s for the
 * last echoes and prints one JSON line (`UdpBigReport`).
 * @module
 */
import dgram from "node:dgram";

export interface UdpBigReport {
  size: number;
  /** Wall-clock time (unix ms) of the first send: `*AtMs` fields count from here. */
  startedAt: number;
  sent: number;
  /** Echoes equal, byte for byte, to a datagram we sent, from the address we sent to. */
  echoed: number;
  /** Anything else that came back (wrong bytes, wrong length, a duplicate). */
  mismatched: number;
  /** Longest time between two whole echoes, ms (the stall a failover caused). */
  maxGapMs: number;
  /** When each lost datagram was sent, ms after the start (where the losses were). */
  lostAtMs: number[];
}

/** The `i`th datagram: its index up front, then bytes that depend on index and nonce. */
function datagram(i: number, size: number, nonce: number): Uint8Array {
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, nonce);
  dv.setUint32(4, i);
  for (let k = 8; k < size; k++) out[k] = (k * 7 + i * 13 + nonce) & 0xff;
  return out;
}

export async function udpBig(
  host: string,
  port: number,
  size: number,
  durationMs: number,
  everyMs: number,
): Promise<UdpBigReport> {
  const nonce = crypto.getRandomValues(new Uint32Array(1))[0]! >>> 8;
  // An IPv6 host gets an IPv6 socket: its datagrams leave in IPv6 fragments (RFC 8200 §4.5).
  const sock = dgram.createSocket(host.includes(":") ? "udp6" : "udp4");
  await new Promise<void>((r) => sock.bind(0, r));
  const sentAt = new Map<number, number>();
  const report: UdpBigReport = {
    size,
    startedAt: Date.now(),
    sent: 0,
    echoed: 0,
    mismatched: 0,
    maxGapMs: 0,
    lostAtMs: [],
  };
  const t0 = performance.now();
  let lastEcho = t0;
  sock.on("message", (msg: Uint8Array, rinfo: { address: string; port: number }) => {
    const i = msg.length >= 8 ? new DataView(msg.buffer, msg.byteOffset, 8).getUint32(4) : -1;
    const want = sentAt.has(i) ? datagram(i, size, nonce) : undefined;
    const ok = want !== undefined && rinfo.address === host && rinfo.port === port &&
      msg.length === want.length && want.every((b, k) => msg[k] === b);
    if (!ok) {
      report.mismatched++;
      return;
    }
    sentAt.delete(i);
    report.echoed++;
    const now = performance.now();
    report.maxGapMs = Math.max(report.maxGapMs, Math.round(now - lastEcho));
    lastEcho = now;
  });
  for (let i = 0; performance.now() - t0 < durationMs; i++) {
    sentAt.set(i, Math.round(performance.now() - t0));
    sock.send(datagram(i, size, nonce), port, host);
    report.sent++;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  await new Promise((r) => setTimeout(r, 1500));
  sock.close();
  report.lostAtMs = [...sentAt.values()];
  return report;
}

if (import.meta.main) {
  const [host = "", port = "7001", size = "4000", duration = "5000", every = "20"] = Deno.args;
  const r = await udpBig(host, Number(port), Number(size), Number(duration), Number(every));
  console.log(JSON.stringify(r));
}
