/**
 * What the engine hands out, and the port it hands it through. The engine is pure: frames to
 * send, mirror records for the peer, frames to hold and flows to expire go to an
 * {@link EngineOutput} that the unit (or a test's recorder) implements. Nothing crosses the
 * port as a new object: frames are `(buf, off, end)` ranges and the mirror record is one
 * engine-owned object, valid during the call only.
 * @module
 */
import type { FlowTable } from "../flow/table.ts";

/** Mirror flag: this record created the flow. */
export const MF_NEW_FLOW = 1;
/** Mirror flag: the sender holds the frame until the peer acks (`hold_new_flows`). */
export const MF_WANT_ACK = 2;
/** Mirror flag: a frame without a flow (a translated ICMP error): emit as is. */
export const MF_NO_FLOW = 4;
/**
 * Mirror flag: the sender did not emit this frame, the peer must (standby-forward and
 * standby-first, claims 19-24). Without it the record only keeps state.
 */
export const MF_PEER_EMITS = 8;

/**
 * Mirror flag: a frame the sender received but no longer handles (it just handed the
 * receiver role over): the peer, now the receiver, handles it as if it had arrived on its own
 * `ingress` port. Planned switchover relays the frames still in flight to the old receiver.
 */
export const MF_RELAY = 16;

/**
 * Mirror flag, set by the peer-link codec: the record's flow is IPv6, and the high words of its
 * addresses (`MIRROR6_ROW`) travel with it.
 */
export const MF_IPV6 = 32;

/**
 * Mirror flag: the record's frame is cut after its L4 header (TCP with its options, or UDP);
 * the IP header's length fields still give the whole packet's size (`mirror_payload: headers`).
 * Only on records the peer does not emit (never with `MF_PEER_EMITS`, `MF_RELAY` or
 * `MF_NO_FLOW`, never on a fragment): a state-only record needs no payload to keep an identical
 * flow table (determinism rule), and takeover replays only `MF_PEER_EMITS` frames.
 */
export const MF_HEADERS = 64;

/**
 * One packet as the receiver processed it, with every decision it made (determinism rule):
 * the flow's mirrored fields (read from `flows` row `flow`, or none for `MF_NO_FLOW`), the
 * egress port and next hop, and the rewritten frame.
 */
export interface MirrorOut {
  flags: number;
  /** The receiver's clock for this packet (ms). */
  time: number;
  ingress: number;
  egress: number;
  /** The next hop's MAC; the forwarder puts its own MAC in the source field. */
  nextHop: Uint8Array;
  flows: FlowTable;
  /** The flow whose decisions travel with the frame; -1 with `MF_NO_FLOW`. */
  flow: number;
  /** The rewritten frame is `frame[frameOff, frameEnd)`. */
  frame: Uint8Array;
  frameOff: number;
  frameEnd: number;
  /** The frame's TAP offload header (virtio_net_hdr); zeros for a plain frame. */
  vnet: Uint8Array;
}

/** The engine's outbound port. */
export interface EngineOutput {
  /**
   * Sends `buf[off, end)` out of interface `iface` now. The bytes are reused after the call.
   * `vnet` is the offload header to send the frame with (a forwarded GSO frame keeps its own);
   * null for frames the engine built.
   */
  emit(iface: number, buf: Uint8Array, off: number, end: number, vnet: Uint8Array | null): void;
  /** Queues a mirror record for the peer; returns its mirror sequence number. */
  mirror(rec: MirrorOut): number;
  /** Sends the queued mirror records now, before anything emitted after this call. */
  flush(): void;
  /** `hold_new_flows`: keeps a copy of the frame and sends it once the peer acks `mseq`. */
  hold(
    iface: number,
    buf: Uint8Array,
    off: number,
    end: number,
    vnet: Uint8Array,
    mseq: number,
  ): void;
  /** The receiver expired flow `flow` (still readable in `flows` during the call). */
  expire(flows: FlowTable, flow: number): void;
  /**
   * Hands a frame this unit received but no longer handles to the peer, which is the receiver
   * now (`MF_RELAY`): the rest of a planned switchover's in-flight traffic.
   */
  relay(ingress: number, buf: Uint8Array, off: number, end: number, vnet: Uint8Array): void;
}

/** What `handle` did with a frame. */
export const V_DROP = 0;
export const V_FORWARD = 1;
/** Answered here (ARP, ICMP echo) or consumed (an ARP reply learned). */
export const V_REPLY = 2;
/** Mirrored to the forwarder, not emitted here. */
export const V_MIRROR = 3;
/** Queued until its next hop resolves. */
export const V_QUEUED = 4;
/** Handed to the peer unprocessed (this unit just gave up the receiver role). */
export const V_RELAY = 5;
/** Internal: the stage did not decide; the next one runs. */
export const NEXT = -1;
/** Consumed by the unit itself (an answer to its own health check). */
export const V_LOCAL = 6;
/** Sent to the peer's own MAC over the LAN: a flow only the peer may know (`split.ts`). */
export const V_BOUNCE = 7;
