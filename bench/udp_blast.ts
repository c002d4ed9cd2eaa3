/**
 * A small-packet UDP sender for the `forward` suite, run in the client namespace:
 * `deno run -A bench/udp_blast.ts --target IP --port N --size BYTES --seconds S --flows F`.
 * Sends as fast as it can from `flows` sockets (one flow each, round robin), 64 datagrams per
 * sendmmsg(2) over FFI (`UdpPort.sendBurst`): one `sendto` per datagram topped out near 140k/s
 * here, below what a unit or the kernel forwards, so the bench measured its own sender (issue
 * 11). Prints `{"sent":…,"failed":…,"seconds":…}` on one line.
 * @module
 */

import { parseArgs } from "node:util";
import { MAX_BURST, openUdp, type UdpPort } from "../mod/port/udp.ts";
import { parseIpv4 } from "../mod/wire/addr.ts";

/** Options of one blast. */
export interface BlastOptions {
  target: number;
  port: number;
  /** UDP payload bytes. */
  size: number;
  seconds: number;
  flows: number;
}

/** What one blast did. */
export interface BlastResult {
  /** Datagrams the kernel accepted (sendto returned the length). */
  sent: number;
  /** sendto refused (full socket queue): not sent, not counted as lost. */
  failed: number;
  /** Wall time of the blast itself, warm-up excluded. */
  seconds: number;
}

/** Parses the command line; returns a message for bad input. */
export function parseBlastArgs(args: string[]): BlastOptions | string {
  let values: Record<string, string | undefined>;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        target: { type: "string" },
        port: { type: "string" },
        size: { type: "string" },
        seconds: { type: "string" },
        flows: { type: "string" },
      },
    }));
  } catch (e) {
    return (e as Error).message;
  }
  const target = parseIpv4(values.target ?? "");
  if (target === undefined) return "--target must be an IPv4 address";
  const n = (k: string, d: number, lo: number, hi: number): number | string => {
    const v = values[k] === undefined ? d : Number(values[k]);
    return Number.isFinite(v) && v >= lo && v <= hi ? v : `--${k} must be in [${lo}, ${hi}]`;
  };
  const port = n("port", 7001, 1, 65535);
  const size = n("size", 64, 0, 1472);
  const seconds = n("seconds", 3, 0.1, 60);
  const flows = n("flows", 4, 1, 64);
  for (const v of [port, size, seconds, flows]) if (typeof v === "string") return v;
  return {
    target,
    port: port as number,
    size: size as number,
    seconds: seconds as number,
    flows: Math.floor(flows as number),
  };
}

/** Sends for `o.seconds` after a short warm-up that lets ARP resolve the target. */
export async function blast(o: BlastOptions): Promise<BlastResult> {
  const socks: UdpPort[] = [];
  try {
    for (let i = 0; i < o.flows; i++) socks.push(openUdp(0, 0));
    const buf = new Uint8Array(o.size);
    for (let i = 0; i < buf.length; i++) buf[i] = i & 255;
    let sent = 0, failed = 0;
    for (const s of socks) {
      if (s.sendTo(buf, buf.length, o.target, o.port)) sent++;
    }
    await new Promise((r) => setTimeout(r, 300));
    const t0 = performance.now();
    const end = t0 + o.seconds * 1000;
    let i = 0;
    for (;;) {
      // The clock is read once per 4 bursts of MAX_BURST datagrams.
      for (let k = 0; k < 4; k++) {
        const n = socks[i]!.sendBurst(buf, buf.length, MAX_BURST, o.target, o.port);
        sent += n;
        failed += MAX_BURST - n;
        i = i + 1 === socks.length ? 0 : i + 1;
      }
      if (performance.now() >= end) break;
    }
    return { sent, failed, seconds: (performance.now() - t0) / 1000 };
  } finally {
    for (const s of socks) s.close();
  }
}

if (import.meta.main) {
  const o = parseBlastArgs(Deno.args);
  if (typeof o === "string") {
    console.error(`udp_blast: ${o}`);
    Deno.exit(2);
  }
  console.log(JSON.stringify(await blast(o)));
}
