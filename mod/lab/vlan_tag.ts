/**
 * A user-space 802.1Q sub-interface for the lab's servers (`lab up` with a VLAN). The lab's
 * kernel may have no 8021q module, no `act_vlan` and no bridge VLAN filtering, so a host's VLAN
 * device is built from two TAPs and this loop:
 *
 * - `access`: the host's interface on the VLAN (its addresses live there, untagged);
 * - `trunk`: bridged to the host's cable; frames on it carry the VLAN's tag.
 *
 * Frames the host sends on `access` leave `trunk` with the tag (PCP 0); frames on `trunk`
 * tagged with the VLAN enter `access` untagged. Anything else on `trunk` (untagged, or another
 * VLAN) is dropped, as an access port of a switch drops it. Both TAPs carry plain frames: the
 * kernel completes checksums before user space reads them.
 *
 * Run with `deno run -A mod/lab/vlan_tag.ts --access IF --trunk IF --vlan N`; it runs until
 * killed.
 * @module
 */
import { parseArgs } from "node:util";
import { openTap } from "../port/tap.ts";
import { Poller } from "../port/poller.ts";
import type { FramePort } from "../port/frame_port.ts";
import {
  insertTag,
  isTagged,
  stripTag,
  tagVid,
  VLAN_HEADER_LEN,
  VLAN_TAG_LEN,
} from "../wire/vlan.ts";

/** Frames of at most this size (a jumbo frame and its tag). */
const BUFFER = 16384;

/** Moves frames between `access` and `trunk` until `signal` aborts; counts what it moved. */
export async function vlanTagLoop(
  access: FramePort,
  trunk: FramePort,
  vid: number,
  signal: AbortSignal,
): Promise<{ tagged: number; untagged: number; dropped: number }> {
  const buf = new Uint8Array(BUFFER + VLAN_TAG_LEN);
  // Views made once: frames are read behind 4 bytes of headroom and written from there.
  const behind = buf.subarray(VLAN_TAG_LEN);
  const counts = { tagged: 0, untagged: 0, dropped: 0 };
  const poller = access.fd >= 0 && trunk.fd >= 0 ? new Poller([access.fd, trunk.fd]) : null;
  while (!signal.aborted) {
    let work = 0;
    for (let n = access.recv(behind); n > 0; n = access.recv(behind), work++) {
      insertTag(buf, VLAN_TAG_LEN, vid);
      trunk.send(buf, n + VLAN_TAG_LEN);
      counts.tagged++;
    }
    for (let n = trunk.recv(buf); n > 0; n = trunk.recv(buf), work++) {
      if (n < VLAN_HEADER_LEN || !isTagged(buf, 0) || tagVid(buf, 0) !== vid) {
        counts.dropped++;
        continue;
      }
      stripTag(buf, 0);
      access.send(behind, n - VLAN_TAG_LEN);
      counts.untagged++;
    }
    if (work > 0) continue;
    if (poller) await poller.wait(100);
    else await new Promise((r) => setTimeout(r, 1));
  }
  return counts;
}

/** `lab vlan-tag --access IF --trunk IF --vlan N`. */
export async function vlanTagMain(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      access: { type: "string" },
      trunk: { type: "string" },
      vlan: { type: "string" },
    },
  });
  const vid = Number(values.vlan);
  if (!values.access || !values.trunk || !Number.isInteger(vid) || vid < 1 || vid > 4094) {
    console.error("usage: vlan_tag --access IF --trunk IF --vlan 1..4094");
    return 2;
  }
  const access = openTap(values.access), trunk = openTap(values.trunk);
  const stop = new AbortController();
  for (const sig of ["SIGTERM", "SIGINT"] as const) {
    Deno.addSignalListener(sig, () => stop.abort());
  }
  console.log(`vlan ${vid}: ${values.access} <-> ${values.trunk} (tagged)`);
  const counts = await vlanTagLoop(access, trunk, vid, stop.signal);
  console.log(`stopped: ${JSON.stringify(counts)}`);
  access.close();
  trunk.close();
  return 0;
}

if (import.meta.main) Deno.exit(await vlanTagMain(Deno.args));
