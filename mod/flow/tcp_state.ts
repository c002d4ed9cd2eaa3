/**
 * The TCP tracking state machine (RFC 9293 §3.3.2, condensed the way nf_conntrack does): a
 * pure function of the current state, the segment's direction and flags, and the FINs seen.
 * Only the receiver runs it; the mirror record carries the result (determinism rule).
 * @module
 */
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from "../wire/tcp.ts";
import {
  ST_TCP_CLOSE,
  ST_TCP_ESTABLISHED,
  ST_TCP_FIN_WAIT,
  ST_TCP_LAST_ACK,
  ST_TCP_SYN_RECV,
  ST_TCP_SYN_SENT,
  ST_TCP_TIME_WAIT,
  TB_FIN_ORIG,
  TB_FIN_REPLY,
} from "./states.ts";

/**
 * Next state after a segment with `flags` in direction `reply`. `bits` holds the flow's
 * `tcpBits` already including this segment's FIN.
 */
export function nextTcpState(state: number, reply: boolean, flags: number, bits: number): number {
  if (flags & TCP_RST) return ST_TCP_CLOSE;
  switch (state) {
    case ST_TCP_SYN_SENT:
      return reply && (flags & (TCP_SYN | TCP_ACK)) === (TCP_SYN | TCP_ACK)
        ? ST_TCP_SYN_RECV
        : state;
    case ST_TCP_SYN_RECV:
      if (!reply && (flags & (TCP_SYN | TCP_ACK)) === TCP_ACK) {
        return flags & TCP_FIN ? ST_TCP_FIN_WAIT : ST_TCP_ESTABLISHED;
      }
      return state;
    case ST_TCP_ESTABLISHED:
      return flags & TCP_FIN ? ST_TCP_FIN_WAIT : state;
    case ST_TCP_FIN_WAIT:
      return (bits & (TB_FIN_ORIG | TB_FIN_REPLY)) === (TB_FIN_ORIG | TB_FIN_REPLY)
        ? ST_TCP_LAST_ACK
        : state;
    case ST_TCP_LAST_ACK:
      return (flags & (TCP_ACK | TCP_FIN)) === TCP_ACK ? ST_TCP_TIME_WAIT : state;
    case ST_TCP_TIME_WAIT:
    case ST_TCP_CLOSE:
      // A new SYN on a closed tuple reopens it (port reuse), as conntrack allows.
      return !reply && (flags & (TCP_SYN | TCP_ACK)) === TCP_SYN ? ST_TCP_SYN_SENT : state;
    default:
      return state;
  }
}

/** True when `flags` may open a TCP flow: a SYN without ACK or RST (RFC 9293 §3.5). */
export function opensTcpFlow(flags: number): boolean {
  return (flags & (TCP_SYN | TCP_ACK | TCP_RST)) === TCP_SYN;
}
