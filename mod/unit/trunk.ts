/**
 * 802.1Q trunks at the unit's edge. The engine's interface is one L2 segment (its own self
 * address, neighbour cache and virtual MAC); a VLAN on a trunk is simply another interface
 * whose frames share a TAP with the others. This module maps between the two:
 *
 * - receive: (TAP, VID) → engine interface, the tag stripped in place so the engine only ever
 *   sees untagged frames; a frame for a VLAN (or, on a trunk without an untagged interface, an
 *   untagged frame) that is not configured on that TAP is counted (`vlan_unknown`) and dropped,
 *   so nothing leaks between VLANs.
 * - transmit: every frame out of a VLAN interface gets that VLAN's tag (PCP 0), whether the
 *   engine forwarded it, built it (ARP, GARP, ICMP errors, health checks, probes) or a peer
 *   record carried it (mirror, hold, replay): they all leave through `Unit.#send`.
 *
 * Mirror records carry engine interface indexes, so the peer link needs nothing new; both
 * units must give an index the same VLAN (the config digest covers it).
 *
 * Trunk TAPs carry plain frames: a tag in front of a GSO or partial-checksum frame would move
 * the virtio_net_hdr's `csum_start` and `hdr_len`, so the config refuses `offload` with VLANs.
 * @module
 */
import { type Counters, DROP, EV } from "../engine/counters.ts";
import type { FramePort } from "../port/frame_port.ts";
import {
  insertTag,
  isTagged,
  stripTag,
  tagVid,
  VID_MAX,
  VLAN_HEADER_LEN,
  VLAN_MACS_LEN,
  VLAN_TAG_LEN,
  writeTaggedHead,
} from "../wire/vlan.ts";

const ETHERNET_HEADER_LEN = 14;

/** Copies `src[off, end)` to `dst[at]` (the unit's arena copy: `copyWithin` where it can). */
export type CopyFn = (
  dst: Uint8Array,
  at: number,
  src: Uint8Array,
  off: number,
  end: number,
) => void;

export class Trunks {
  /** The distinct ports, one per TAP, in order of first use: what the loop reads. */
  readonly devices: readonly FramePort[];
  /** Per interface: its VLAN id, 0 when untagged. */
  readonly vids: Uint16Array;
  /** Where the frame handed out by the last {@link Trunks.rx} starts. */
  off = 0;
  /** Per device: VLANs are configured on it, so its frames go through the demux. */
  readonly #trunk: boolean[];
  /** Per device: the interface of its untagged frames, -1 for none. */
  readonly #untagged: Int32Array;
  /** Per device: the interface of each VID, -1 for none (empty for a device without VLANs). */
  readonly #byVid: Int16Array[];
  /** Per interface: its port. */
  readonly #ports: readonly FramePort[];
  readonly #counters: Counters;
  readonly #tx: Uint8Array;
  readonly #copy: CopyFn;

  /**
   * `ports[i]` and `vlans[i]` are interface i's port and VLAN (0: untagged); interfaces that
   * share a TAP share the port object. `tx` is the scratch a tagged copy is built in.
   * Throws on a combination the config loader refuses (a programming error here).
   */
  constructor(
    ports: readonly FramePort[],
    vlans: readonly number[],
    counters: Counters,
    tx: Uint8Array,
    copy: CopyFn,
  ) {
    if (vlans.length !== ports.length) {
      throw new RangeError(`${ports.length} ports but ${vlans.length} VLAN ids`);
    }
    this.#ports = ports;
    this.#counters = counters;
    this.#tx = tx;
    this.#copy = copy;
    this.vids = new Uint16Array(ports.length);
    const devices: FramePort[] = [];
    const untagged: number[] = [];
    this.#trunk = [];
    this.#byVid = [];
    for (let i = 0; i < ports.length; i++) {
      const port = ports[i]!, vid = vlans[i]!;
      if (!Number.isInteger(vid) || vid < 0 || vid > VID_MAX) {
        throw new RangeError(`interface ${i}: VLAN ${vid} is out of range 1..${VID_MAX}`);
      }
      this.vids[i] = vid;
      let d = devices.indexOf(port);
      if (d < 0) {
        d = devices.push(port) - 1;
        untagged.push(-1);
        this.#trunk.push(false);
        this.#byVid.push(new Int16Array(0));
      }
      if (vid === 0) {
        if (untagged[d]! >= 0) {
          throw new RangeError(
            `interfaces ${untagged[d]} and ${i} are both untagged on ${port.name}`,
          );
        }
        untagged[d] = i;
        continue;
      }
      if (port.vnet) throw new RangeError(`interface ${i}: VLAN on ${port.name}, an offload port`);
      if (!this.#trunk[d]) {
        this.#trunk[d] = true;
        this.#byVid[d] = new Int16Array(VID_MAX + 2).fill(-1);
      }
      const table = this.#byVid[d]!;
      if (table[vid]! >= 0) {
        throw new RangeError(
          `interfaces ${table[vid]} and ${i} are both VLAN ${vid} on ${port.name}`,
        );
      }
      table[vid] = i;
    }
    this.devices = devices;
    this.#untagged = Int32Array.from(untagged);
  }

  /** True when device `d` carries VLANs. */
  isTrunk(d: number): boolean {
    return this.#trunk[d]!;
  }

  /**
   * The interface the frame `buf[off, end)` read from device `d` belongs to, with its tag (if
   * any) stripped in place: the untagged frame then starts at {@link Trunks.off}. -1 when the
   * frame was dropped here (counted, as received and under its drop reason).
   */
  rx(d: number, buf: Uint8Array, off: number, end: number): number {
    this.off = off;
    const untagged = this.#untagged[d]!;
    if (!this.#trunk[d]) return untagged;
    let iface = untagged;
    if (end - off >= ETHERNET_HEADER_LEN && isTagged(buf, off)) {
      if (end - off < VLAN_HEADER_LEN) return this.#drop(DROP.truncated_frame, end - off);
      const vid = tagVid(buf, off);
      // VID 0 is a priority tag: the frame belongs to the untagged VLAN (802.1Q §6.9.1).
      iface = vid === 0 ? untagged : this.#byVid[d]![vid]!;
      if (iface < 0) return this.#drop(DROP.vlan_unknown, end - off);
      this.off = stripTag(buf, off);
      return iface;
    }
    if (iface < 0) return this.#drop(DROP.vlan_unknown, end - off);
    return iface;
  }

  #drop(reason: number, bytes: number): number {
    const c = this.#counters;
    c.add(EV.rx_packets);
    c.add(EV.rx_bytes, bytes);
    c.drop(reason);
    return -1;
  }

  /**
   * Sends the untagged frame `buf[off, end)` out of VLAN interface `iface` (`vids[iface] > 0`)
   * with its tag. A frame that starts 4 bytes into its buffer (one the demux stripped, being
   * forwarded in place) is tagged in place and sent without a copy, then put back as it was;
   * any other is copied behind the tag into the transmit scratch.
   */
  send(iface: number, buf: Uint8Array, off: number, end: number): boolean {
    const port = this.#ports[iface]!, vid = this.vids[iface]!;
    if (off === VLAN_TAG_LEN) {
      const h0 = buf[0]!, h1 = buf[1]!, h2 = buf[2]!, h3 = buf[3]!;
      insertTag(buf, off, vid);
      const ok = port.send(buf, end);
      // Callers may read the frame again (a mirror record after an emit): restore it.
      stripTag(buf, 0);
      buf[0] = h0;
      buf[1] = h1;
      buf[2] = h2;
      buf[3] = h3;
      return ok;
    }
    const tx = this.#tx;
    writeTaggedHead(tx, 0, buf, off, vid);
    this.#copy(tx, VLAN_MACS_LEN + VLAN_TAG_LEN, buf, off + VLAN_MACS_LEN, end);
    return port.send(tx, end - off + VLAN_TAG_LEN);
  }
}
