/**
 * Shared helpers of the lab integration tests: polling, a unit's status, and the catalogue of
 * malformed frames that `single_unit_test.ts` writes onto the lab's front segment (through
 * `inject_frames.ts`) to check that each is dropped under its named reason.
 * @module
 */

import { nsCurl } from "../mod/lab/harness.ts";
import { labStateDir, type Unit } from "../mod/lab/topology.ts";
import type { Mode, StatusSnapshot } from "../mod/api/snapshot.ts";
import { loadConfig } from "../mod/config/load.ts";
import type { DropReason } from "../mod/engine/counters.ts";
import { tcpFrame, udpFrame } from "../mod/engine/testing.ts";
import { internetChecksum, pseudoHeaderSum } from "../mod/wire/checksum.ts";
import { TCP_SYN } from "../mod/wire/tcp.ts";

/** `GET /status` of `unit` in the lab with `prefix`. */
export async function unitStatus(prefix: string, unit: Unit): Promise<StatusSnapshot> {
  return await nsCurl(prefix, unit, "/status") as StatusSnapshot;
}

/**
 * Calls `fn` every 50 ms until it returns something other than undefined, and returns that.
 * Errors thrown by `fn` count as "not yet"; the last one is named when time runs out. `fn` is
 * always called once more after the deadline has passed, so `ms` bounds the condition itself,
 * not how fast this (perhaps busy) machine gets to look at it.
 */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  ms: number,
): Promise<T> {
  const end = performance.now() + ms;
  let last: unknown;
  for (;;) {
    const late = performance.now() >= end;
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (late) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${last}` : ""}`);
}

/**
 * How long the pair may take for each thing the tests wait for, derived from the timers a lab
 * unit is configured with (`peer.heartbeat_interval`, `peer.dead_after`) and the fixed timers of
 * the pair's state machine, which are restated here with where they live.
 */
export interface PairTiming {
  heartbeatMs: number;
  /** heartbeat_interval × dead_after: the silence after which a peer is dead. */
  deadMs: number;
  /** A unit freezes or dies → its peer serves alone. */
  takeoverMs: number;
  /** A unit boots, wakes or heals → one active unit and one synced standby, `flows` synced. */
  settleMs(flows: number): number;
  /** The longest a healthy unit's loop stands still: what it was sent is handled by then. */
  turnMs: number;
  /** The pair settled → both flow tables equal (the records in flight arrive). */
  convergeMs: number;
}

/** mod/ha/pair.ts: the dead time of a peer in its first second (it warms up). */
const WARMUP_DEAD_MS = 200;
/**
 * mod/ha/pair.ts: the longest a unit listens before it acts alone: at boot (startup, at least
 * 1 s) and after waking from a stall (1 s of silence).
 */
const LISTEN_MS = 1000;
/** mod/unit/unit.ts: a joiner repeats its sync request every 200 ms until the sync begins. */
const SYNC_REQUEST_MS = 200;
/** mod/unit/unit.ts: a bulk sync that goes silent for 1 s is asked for again, once here. */
const SYNC_STALL_MS = 1000;
/** DESIGN.md "Targets": a bulk sync of 1M flows in at most 10 s, 10 µs a flow. */
const SYNC_MS_PER_FLOW = 0.01;
/**
 * main.ts HEARTBEAT_GUARD_MS: a unit's heartbeat thread stops when its loop has not turned for
 * 1 s. Each turn flushes what the unit queued for its peer and reads what the peer sent, so
 * while both units keep beating, nothing stays in flight longer than this and one dead time.
 */
const LOOP_GUARD_MS = 1000;

/** {@link PairTiming} from a unit's loaded config. */
export function pairTiming(peer: { heartbeatIntervalMs: number; deadAfter: number }): PairTiming {
  const heartbeatMs = peer.heartbeatIntervalMs;
  const deadMs = heartbeatMs * peer.deadAfter;
  return {
    heartbeatMs,
    deadMs,
    takeoverMs: Math.max(deadMs, WARMUP_DEAD_MS),
    settleMs: (flows) =>
      Math.max(LISTEN_MS, 4 * deadMs) + SYNC_REQUEST_MS + SYNC_STALL_MS +
      Math.ceil(flows * SYNC_MS_PER_FLOW) + 2 * heartbeatMs + deadMs,
    turnMs: LOOP_GUARD_MS,
    convergeMs: LOOP_GUARD_MS + deadMs,
  };
}

/** {@link PairTiming} of the lab with `prefix`, from unit a's config file. */
export function labPairTiming(prefix: string, mode: Mode): PairTiming {
  const cfg = loadConfig(`${labStateDir(prefix)}/a.yaml`, { mode });
  if (cfg.peer === undefined) throw new Error(`lab ${prefix}: unit a has no peer configured`);
  return pairTiming(cfg.peer);
}

/** `after[k] - before[k]` for every key of `keys` (a missing counter reads as 0). */
export function counterDeltas(
  before: Record<string, number>,
  after: Record<string, number>,
  keys: readonly string[],
): Record<string, number> {
  return Object.fromEntries(keys.map((k) => [k, (after[k] ?? 0) - (before[k] ?? 0)]));
}

/** One malformed frame and the drop reason the appliance must count it under. */
export interface MalformedCase {
  name: string;
  reason: DropReason;
  frame: Uint8Array;
}

/** Addresses the malformed frames carry. */
export interface MalformedAddresses {
  /** Destination MAC: the VIP's (virtual) MAC as the client resolved it. */
  dstMac: Uint8Array;
  /** A source MAC no real host uses, so the switch does not move a real host's entry. */
  srcMac: Uint8Array;
  src: number;
  vip: number;
  tcpPort: number;
  udpPort: number;
}

const ETH = 14;
const IP = ETH;
const L4 = ETH + 20;
/** Offsets inside the IPv4 header (RFC 791 §3.1). */
const IP_TOTAL_LEN = 2;
const IP_FLAGS_FRAG = 6;
const IP_CHECKSUM = 10;
/** Offsets inside the TCP (RFC 9293 §3.1) and UDP (RFC 768) headers. */
const TCP_DATA_OFF = 12;
const TCP_CHECKSUM = 16;
const UDP_LENGTH = 4;
const UDP_CHECKSUM = 6;

function u16(b: Uint8Array, at: number): number {
  return (b[at]! << 8) | b[at + 1]!;
}

function setU16(b: Uint8Array, at: number, v: number): void {
  b[at] = (v >>> 8) & 0xff;
  b[at + 1] = v & 0xff;
}

/** Recomputes the 20-byte IPv4 header checksum, whatever IHL claims. */
function fixIpChecksum(f: Uint8Array): Uint8Array {
  setU16(f, IP + IP_CHECKSUM, 0);
  setU16(f, IP + IP_CHECKSUM, internetChecksum(f, IP, IP + 20));
  return f;
}

/** Recomputes the TCP or UDP checksum over the pseudo-header and every byte after the IP header. */
function fixL4Checksum(f: Uint8Array, proto: 6 | 17, src: number, dst: number): Uint8Array {
  const at = L4 + (proto === 6 ? TCP_CHECKSUM : UDP_CHECKSUM);
  setU16(f, at, 0);
  const sum = internetChecksum(f, L4, f.length, pseudoHeaderSum(src, dst, proto, f.length - L4));
  // RFC 768: a computed zero is sent as all ones (zero means "no checksum").
  setU16(f, at, proto === 17 && sum === 0 ? 0xffff : sum);
  return f;
}

/** Cuts the IP datagram to `ipLen` bytes (header included) and makes the IP header agree. */
function truncateIp(f: Uint8Array, ipLen: number): Uint8Array {
  const out = f.slice(0, ETH + ipLen);
  setU16(out, IP + IP_TOTAL_LEN, ipLen);
  return fixIpChecksum(out);
}

/**
 * The malformed frames the appliance must drop and count, each with exactly one fault (every
 * other checksum is correct). Truncated Ethernet headers (< 14 bytes) are not in the list: the
 * TAP driver refuses to send a frame shorter than an Ethernet header (tun_get_user: EINVAL), so
 * no such frame can reach a unit through the lab; the engine's own tests cover that reason.
 */
export function malformedFrames(a: MalformedAddresses): MalformedCase[] {
  let sport = 41000;
  const syn = (): Uint8Array =>
    tcpFrame({
      srcMac: a.srcMac,
      dstMac: a.dstMac,
      src: a.src,
      dst: a.vip,
      sport: sport++,
      dport: a.tcpPort,
      flags: TCP_SYN,
      seq: 0x1000_0000 + sport,
    });
  const dgram = (): Uint8Array =>
    udpFrame({
      srcMac: a.srcMac,
      dstMac: a.dstMac,
      src: a.src,
      dst: a.vip,
      sport: sport++,
      dport: a.udpPort,
      payload: new TextEncoder().encode("malformed-probe"),
    });
  const cases: MalformedCase[] = [];
  const add = (name: string, reason: DropReason, frame: Uint8Array): void => {
    cases.push({ name, reason, frame });
  };

  add("Ethernet header only, no IPv4 header", "bad_ipv4_header", syn().slice(0, ETH));
  add("truncated IPv4 header (12 of 20 bytes)", "bad_ipv4_header", syn().slice(0, ETH + 12));
  add("truncated TCP header (12 of 20 bytes)", "bad_tcp_header", truncateIp(syn(), 20 + 12));
  add("truncated UDP header (4 of 8 bytes)", "bad_udp_header", truncateIp(dgram(), 20 + 4));

  const badIp = syn();
  badIp[IP + IP_CHECKSUM + 1]! ^= 0x5a;
  add("bad IPv4 header checksum", "bad_ipv4_checksum", badIp);

  const badTcp = syn();
  badTcp[L4 + TCP_CHECKSUM + 1]! ^= 0x5a;
  add("bad TCP checksum", "bad_tcp_checksum", badTcp);

  // Neither 0 (no checksum, RFC 768) nor the correct value.
  const badUdp = dgram();
  const good = u16(badUdp, L4 + UDP_CHECKSUM);
  setU16(badUdp, L4 + UDP_CHECKSUM, good === 0x1234 ? 0x4321 : 0x1234);
  add("bad UDP checksum", "bad_udp_checksum", badUdp);

  const ihl = syn();
  ihl[IP] = 0x44; // version 4, IHL 4: a header shorter than the 20-byte minimum (RFC 791)
  add("IPv4 IHL 4 (< 5)", "bad_ipv4_header", fixIpChecksum(ihl));

  const off = syn();
  off[L4 + TCP_DATA_OFF] = 0x40; // data offset 4: shorter than the 20-byte header (RFC 9293)
  add("TCP data offset 4 (< 5)", "bad_tcp_header", fixL4Checksum(off, 6, a.src, a.vip));

  const ipLie = syn();
  setU16(ipLie, IP + IP_TOTAL_LEN, u16(ipLie, IP + IP_TOTAL_LEN) + 100);
  add("IPv4 total length 100 bytes beyond the frame", "bad_ipv4_header", fixIpChecksum(ipLie));

  const udpLie = dgram();
  setU16(udpLie, L4 + UDP_LENGTH, u16(udpLie, L4 + UDP_LENGTH) + 50);
  add(
    "UDP length 50 bytes beyond the datagram",
    "bad_udp_header",
    fixL4Checksum(udpLie, 17, a.src, a.vip),
  );

  // 802.1Q (TPID 0x8100, VID 5) in front of an otherwise valid SYN: no VLAN is configured.
  const plain = syn();
  const tagged = new Uint8Array(plain.length + 4);
  tagged.set(plain.subarray(0, 12), 0);
  tagged.set([0x81, 0x00, 0x00, 0x05], 12);
  tagged.set(plain.subarray(12), 16);
  add("802.1Q VLAN-tagged frame", "vlan_unknown", tagged);

  // Fragments are followed, not reassembled: a later one needs its datagram's first fragment
  // to have passed, and a TCP fragment at offset 8 would overwrite the header (RFC 1858 §3.2).
  const later = dgram();
  setU16(later, IP + IP_FLAGS_FRAG, 185); // offset 185 × 8 bytes, last fragment
  add("IPv4 later fragment without its first", "fragment_no_first", fixIpChecksum(later));
  const overlap = syn();
  setU16(overlap, IP + IP_FLAGS_FRAG, 1); // offset 8 bytes
  add("TCP fragment at offset 8 (RFC 1858)", "bad_fragment", fixIpChecksum(overlap));
  return cases;
}
