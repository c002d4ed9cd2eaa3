/**
 * Flow tracking states and the per-flow TCP bits, in one place. TCP states follow RFC 9293
 * §3.3.2, condensed as nf_conntrack does: the appliance sees both directions and only needs to
 * know whether a connection is opening, open, closing or gone, to pick its timeout.
 * @module
 */

/** A free slot in the flow table. */
export const ST_NONE = 0;
export const ST_TCP_SYN_SENT = 1;
export const ST_TCP_SYN_RECV = 2;
export const ST_TCP_ESTABLISHED = 3;
export const ST_TCP_FIN_WAIT = 4;
export const ST_TCP_CLOSE_WAIT = 5;
export const ST_TCP_LAST_ACK = 6;
export const ST_TCP_TIME_WAIT = 7;
export const ST_TCP_CLOSE = 8;
export const ST_UDP_NEW = 9;
/** A UDP flow that has seen a reply (conntrack's ASSURED): a longer timeout. */
export const ST_UDP_STREAM = 10;
export const ST_ICMP = 11;
/**
 * A persistence template (IPVS's name): not a connection but a client's affinity to a backend,
 * proto 0, kept `persistence` after the client's last new flow (`engine/persist.ts`).
 */
export const ST_PERSIST = 12;

/** Names for the API, indexed by state. */
export const STATE_NAMES: readonly string[] = [
  "none",
  "syn_sent",
  "syn_recv",
  "established",
  "fin_wait",
  "close_wait",
  "last_ack",
  "time_wait",
  "close",
  "udp_new",
  "udp_stream",
  "icmp",
  "persist",
];

/** `tcpBits`: the client (original direction) sent a FIN. */
export const TB_FIN_ORIG = 1;
/** `tcpBits`: the server (reply direction) sent a FIN. */
export const TB_FIN_REPLY = 2;
/** `tcpBits`: the original direction carries timestamps (RFC 7323), so probes must too. */
export const TB_TS_ORIG = 4;
/** `tcpBits`: the reply direction carries timestamps. */
export const TB_TS_REPLY = 8;
/**
 * `tcpBits`: SYN proxy, handshake with the backend pending (the client is established with
 * the cookie; `seqOffset` holds the cookie until the backend's SYN-ACK gives the offset).
 */
export const TB_PROXY = 16;
/**
 * `tcpBits`: the offsets apply to the server's sequence space (SYN proxy: the backend chose its
 * own ISN, the client was given the cookie): the server's seq is shifted toward the client, the
 * client's ack and SACK edges back toward the server.
 */
export const TB_OFF_REPLY = 32;
