/**
 * Writes every frame of a pcap file into a TAP device, once and in order: how the lab tests put
 * frames on a segment that no kernel would send (malformed headers). Run it inside the namespace
 * that holds the TAP, e.g.
 *
 * ```sh
 * ip netns exec ts1-sw deno run -A tests/inject_frames.ts tsinj0 /tmp/frames.pcap
 * ```
 *
 * When the TAP is a bridge port, frames are written only once the port forwards: a TAP gets its
 * carrier when a process attaches, and the bridge drops what arrives before it enables the port.
 * Prints one JSON line `{ "written": n, "refused": [{ "index": i, "error": "..." }] }`.
 * @module
 */

import { openTap } from "../mod/port/tap.ts";
import { readPcap } from "../mod/port/pcap.ts";

/** include/uapi/linux/if_bridge.h BR_STATE_FORWARDING. */
const BR_STATE_FORWARDING = "3";

async function waitForwarding(tap: string, timeoutMs: number): Promise<void> {
  const file = `/sys/class/net/${tap}/brport/state`;
  const end = performance.now() + timeoutMs;
  for (;;) {
    let state: string;
    try {
      state = (await Deno.readTextFile(file)).trim();
    } catch {
      return; // not a bridge port: nothing to wait for
    }
    if (state === BR_STATE_FORWARDING) return;
    if (performance.now() > end) {
      throw new Error(`${tap}: bridge port state ${state} after ${timeoutMs} ms, not forwarding`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function main(args: string[]): Promise<number> {
  const [tapName, pcapFile] = args;
  if (tapName === undefined || pcapFile === undefined) {
    console.error("usage: inject_frames.ts <tap> <file.pcap>");
    return 2;
  }
  const frames = readPcap(await Deno.readFile(pcapFile));
  const tap = openTap(tapName);
  try {
    await waitForwarding(tapName, 5000);
    const refused: { index: number; error: string }[] = [];
    let written = 0;
    frames.forEach(({ frame }, index) => {
      try {
        if (tap.send(frame)) written++;
        else refused.push({ index, error: "device queue full or link down" });
      } catch (e) {
        refused.push({ index, error: (e as Error).message });
      }
    });
    // Frames still queued in the kernel are lost if the port goes down before they leave it:
    // a TAP loses its carrier when its last file closes.
    await new Promise((r) => setTimeout(r, 200));
    console.log(JSON.stringify({ written, refused }));
    return 0;
  } finally {
    tap.close();
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
