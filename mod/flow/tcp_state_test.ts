import assert from "node:assert/strict";
import { FIN_ORIG, FIN_REPLY, nextTcpState } from "./tcp_state.ts";
import {
  ST_TCP_CLOSE,
  ST_TCP_ESTABLISHED,
  ST_TCP_FIN_WAIT,
  ST_TCP_LAST_ACK,
  ST_TCP_SYN_RECV,
  ST_TCP_SYN_SENT,
  ST_TCP_TIME_WAIT,
} from "../flow/table.ts";

const F = 1, S = 2, R = 4, A = 16;

Deno.test("TCP tracking follows a full open and close", () => {
  const steps: [boolean, number, number, number][] = [
    // reply?, flags, fins, expected state
    [true, S | A, 0, ST_TCP_SYN_RECV],
    [false, A, 0, ST_TCP_ESTABLISHED],
    [false, A, 0, ST_TCP_ESTABLISHED],
    [false, F | A, FIN_ORIG, ST_TCP_FIN_WAIT],
    [true, A, FIN_ORIG, ST_TCP_FIN_WAIT],
    [true, F | A, FIN_ORIG | FIN_REPLY, ST_TCP_LAST_ACK],
    [false, A, FIN_ORIG | FIN_REPLY, ST_TCP_TIME_WAIT],
  ];
  let st = ST_TCP_SYN_SENT;
  for (const [reply, flags, fins, want] of steps) {
    st = nextTcpState(st, reply, flags, fins);
    assert.equal(st, want, `after flags ${flags} reply=${reply}`);
  }
});

Deno.test("RST closes from any state; a new SYN reopens a closed tuple", () => {
  for (const st of [ST_TCP_SYN_SENT, ST_TCP_ESTABLISHED, ST_TCP_FIN_WAIT]) {
    assert.equal(nextTcpState(st, true, R, 0), ST_TCP_CLOSE);
  }
  assert.equal(nextTcpState(ST_TCP_TIME_WAIT, false, S, 0), ST_TCP_SYN_SENT);
  assert.equal(nextTcpState(ST_TCP_CLOSE, true, S, 0), ST_TCP_CLOSE, "only the client reopens");
  assert.equal(
    nextTcpState(ST_TCP_SYN_SENT, false, A, 0),
    ST_TCP_SYN_SENT,
    "no ACK before SYN-ACK",
  );
});
