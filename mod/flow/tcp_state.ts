/**
 * TCP connection tracking state machine, condensed from RFC 9293 §3.3.2 the
 * way nf_conntrack does: the appliance sees both directions and only needs to
 * know when a connection is opening, open, closing or gone, to pick a timeout.
 * @module
 */
import {
  ST_TCP_CLOSE,
  ST_TCP_ESTABLISHED,
  ST_TCP_FIN_WAIT,
  ST_TCP_LAST_ACK,
  ST_TCP_SYN_RECV,
  ST_TCP_SYN_SENT,
  ST_TCP_TIME_WAIT,
} from "../flow/table.ts";

const FIN = 1, SYN = 2, RST = 4, ACK = 16;

/** Bits of `fins`: which directions have sent a FIN. */
export const FIN_ORIG = 8, FIN_REPLY = 16;

/**
 * Next state after a segment with `flags` in direction `reply`. `fins` holds
 * the FIN bits already including this segment's.
 */
export function nextTcpState(state: number, reply: boolean, flags: number, fins: number): number {
  if (flags & RST) return ST_TCP_CLOSE;
  switch (state) {
    case ST_TCP_SYN_SENT:
      return reply && (flags & (SYN | ACK)) === (SYN | ACK) ? ST_TCP_SYN_RECV : state;
    case ST_TCP_SYN_RECV:
      if (!reply && (flags & (SYN | ACK)) === ACK) {
        return flags & FIN ? ST_TCP_FIN_WAIT : ST_TCP_ESTABLISHED;
      }
      return state;
    case ST_TCP_ESTABLISHED:
      return flags & FIN ? ST_TCP_FIN_WAIT : state;
    case ST_TCP_FIN_WAIT:
      return (fins & (FIN_ORIG | FIN_REPLY)) === (FIN_ORIG | FIN_REPLY) ? ST_TCP_LAST_ACK : state;
    case ST_TCP_LAST_ACK:
      return (flags & (ACK | FIN)) === ACK ? ST_TCP_TIME_WAIT : state;
    case ST_TCP_TIME_WAIT:
    case ST_TCP_CLOSE:
      // A new SYN on a closed tuple reopens it (port reuse), as conntrack allows.
      return !reply && (flags & (SYN | ACK)) === SYN ? ST_TCP_SYN_SENT : state;
    default:
      return state;
  }
}
