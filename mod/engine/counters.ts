/**
 * Every drop has a reason and every reason has a counter (DESIGN.md "Status
 * API"): bad input is counted, never thrown. Counters live in one
 * Float64Array indexed by constant so the hot path only increments.
 * @module
 */

/** Drop reasons, in the order of their counter slots. */
export const DROP_REASONS = [
  "truncated_frame",
  "not_for_us",
  "vlan_unknown",
  "bad_ipv6_header",
  /** An IPv6 fragment to a self address or of a protocol other than TCP and UDP. */
  "ipv6_fragment",
  /** A neighbour solicitation or advertisement failing RFC 4861 §7.1 validation. */
  "bad_ndp",
  "unknown_ethertype",
  "bad_arp",
  "bad_ipv4_header",
  "bad_ipv4_checksum",
  "ipv4_fragment",
  "bad_tcp_header",
  "bad_tcp_checksum",
  "bad_udp_header",
  "bad_udp_checksum",
  "bad_icmp",
  "icmp_unhandled",
  "no_service",
  "tcp_no_flow",
  "no_flow",
  "not_receiver",
  "ttl_exceeded",
  "flow_table_full",
  "snat_ports_exhausted",
  "arp_queue_full",
  "arp_unresolved",
  "no_route",
  "no_forwarder",
  "local_unhandled",
  "tx_full",
  "mirror_no_flow",
  "mirror_bad_record",
  "no_backend_up",
  "flow_reset_backend_gone",
  "bad_fragment",
  "fragment_no_first",
  "fragment_table_full",
  "too_big",
  /** A bare ACK to a SYN-proxied service whose ack − 1 is no valid cookie (RFC 4987 §3.6). */
  "syncookie_invalid",
  /** A segment of a proxied flow while the handshake with the backend is pending. */
  "syn_proxy_pending",
] as const;
export type DropReason = typeof DROP_REASONS[number];

/** Non-drop event counters. */
export const EVENT_COUNTERS = [
  "rx_packets",
  "rx_bytes",
  "tx_packets",
  "tx_bytes",
  "forwarded",
  "mirror_out",
  /** Mirror records sent with the frame's headers only (`MF_HEADERS`, `mirror_payload`). */
  "mirror_headers_only",
  "mirror_in",
  "arp_replies",
  "arp_requests",
  "garp_sent",
  /** Neighbour advertisements sent for self or floating addresses (RFC 4861 §7.2.4). */
  "ndp_advertisements",
  /** Neighbour solicitations sent to resolve a next hop (RFC 4861 §7.2.2). */
  "ndp_solicitations",
  /** Unsolicited advertisements of floating addresses on takeover (RFC 4861 §7.2.6). */
  "unsolicited_na_sent",
  "icmp_echo_replies",
  "tcp_rst_sent",
  "icmp_errors_sent",
  "flows_created",
  "flows_expired",
  "flows_picked_up",
  "probes_sent",
  "held_new_flows",
  "relayed",
  /** Frames of flows this unit did not know, sent to the peer over the LAN while solo. */
  "split_bounced",
  "replayed",
  "replay_skipped",
  "health_checks_ok",
  "health_checks_failed",
  "backends_up",
  "backends_down",
  "persistence_hits",
  "fragments_forwarded",
  "frag_needed_sent",
  /** SYN proxy (claims 23, 24): SYN-ACKs with a cookie sent instead of creating a flow. */
  "syncookies_sent",
  /** Client ACKs whose cookie validated: a proxied flow was created. */
  "syncookies_valid",
  /** Proxied flows whose backend handshake completed (offset set). */
  "syn_proxy_established",
  /** Client segments held while their flow's backend handshake was pending. */
  "syn_proxy_held",
  /** Proxied flows the backend refused (RST), reset toward the client. */
  "syn_proxy_backend_refused",
  /** A service in `auto` started or stopped answering SYNs with cookies. */
  "syn_proxy_engaged",
  "syn_proxy_disengaged",
  /** The cookie secret was replaced (receiver) or installed from the peer. */
  "syn_secret_rotations",
  "syn_secret_installed",
] as const;
export type EventCounter = typeof EVENT_COUNTERS[number];

const DROP_BASE = 0;
const EVENT_BASE = DROP_REASONS.length;

/** Slot of each drop reason, e.g. `DROP.bad_tcp_checksum`. */
export const DROP = Object.fromEntries(DROP_REASONS.map((r, i) => [r, DROP_BASE + i])) as Record<
  DropReason,
  number
>;
/** Slot of each event counter. */
export const EV = Object.fromEntries(EVENT_COUNTERS.map((r, i) => [r, EVENT_BASE + i])) as Record<
  EventCounter,
  number
>;

export class Counters {
  readonly values: Float64Array = new Float64Array(DROP_REASONS.length + EVENT_COUNTERS.length);

  drop(slot: number): void {
    this.values[slot]!++;
  }

  add(slot: number, n = 1): void {
    this.values[slot]! += n;
  }

  get(slot: number): number {
    return this.values[slot]!;
  }

  /** Total drops across every reason. */
  drops(): number {
    let n = 0;
    for (let i = 0; i < DROP_REASONS.length; i++) n += this.values[DROP_BASE + i]!;
    return n;
  }

  /** `{ drop_<reason>: n, <event>: n }` for the status API; every reason present, zero or not. */
  toRecord(): Record<string, number> {
    const out: Record<string, number> = {};
    DROP_REASONS.forEach((r, i) => out[`drop_${r}`] = this.values[DROP_BASE + i]!);
    EVENT_COUNTERS.forEach((r, i) => out[r] = this.values[EVENT_BASE + i]!);
    return out;
  }
}
