/**
 * Timer expiry: flows idle longer than their state's timeout are removed. Only the receiver
 * reaps, because expiry is a decision (determinism rule); it tells its peer, which drops the
 * flow when the expire record arrives. The sweep is incremental: a bounded slice of the table
 * per turn, so a million flows never stall the loop.
 * @module
 */
import {
  ST_ICMP,
  ST_NONE,
  ST_PERSIST,
  ST_TCP_CLOSE,
  ST_TCP_ESTABLISHED,
  ST_TCP_FIN_WAIT,
  ST_TCP_LAST_ACK,
  ST_TCP_SYN_RECV,
  ST_TCP_SYN_SENT,
  ST_TCP_TIME_WAIT,
  ST_UDP_NEW,
  ST_UDP_STREAM,
} from "../flow/states.ts";
import type { FlowTable } from "../flow/table.ts";
import type { EngineTimeouts } from "./config.ts";

/** Slots examined per turn. */
export const REAP_BUDGET = 65536;
/** Flows removed per turn at most (removal is the costly part: a mass expiry is spread out). */
export const REAP_MAX_EXPIRE = 1024;
/** Time between two full sweeps. */
export const REAP_PERIOD_MS = 1000;

/** The idle timeout of a flow in `state`. */
export function timeoutOf(t: EngineTimeouts, state: number): number {
  switch (state) {
    case ST_TCP_SYN_SENT:
    case ST_TCP_SYN_RECV:
      return t.tcpSyn;
    case ST_TCP_ESTABLISHED:
      return t.tcpEstablished;
    case ST_TCP_FIN_WAIT:
    case ST_TCP_LAST_ACK:
      return t.tcpFin;
    case ST_TCP_TIME_WAIT:
      return t.tcpTimeWait;
    case ST_UDP_NEW:
      return t.udp;
    case ST_UDP_STREAM:
      return t.udpStream;
    case ST_ICMP:
      return t.icmp;
    case ST_TCP_CLOSE:
    default:
      return t.tcpClose;
  }
}

export class Reaper {
  #cursor = 0;
  #next = 0;

  /**
   * Runs one slice of the sweep when it is due: each flow idle past its timeout is handed to
   * `onExpire` (while still readable), then removed. Returns when it wants to run again: soon
   * while a sweep is under way, a period later after a full pass. The caller decides who may
   * reap (the receiver: expiry is a decision).
   */
  sweep(
    ft: FlowTable,
    t: EngineTimeouts,
    now: number,
    onExpire: (flow: number) => void,
    persistMs: (service: number) => number = () => 0,
  ): number {
    if (now < this.#next) return this.#next;
    const st = ft.c.state, seen = ft.c.lastSeen;
    const end = Math.min(ft.capacity, this.#cursor + REAP_BUDGET);
    let expired = 0;
    let f = this.#cursor;
    for (; f < end && expired < REAP_MAX_EXPIRE; f++) {
      const s = st[f]!;
      const limit = s === ST_PERSIST ? persistMs(ft.c.service[f]!) : timeoutOf(t, s);
      if (s !== ST_NONE && now - seen[f]! >= limit) {
        onExpire(f);
        ft.remove(f);
        expired++;
      }
    }
    if (f >= ft.capacity) {
      this.#cursor = 0;
      this.#next = now + REAP_PERIOD_MS;
    } else {
      this.#cursor = f;
      this.#next = now + 1;
    }
    return this.#next;
  }
}
