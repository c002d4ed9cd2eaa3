import assert from "node:assert/strict";
import { nextTcpState, opensTcpFlow } from "./tcp_state.ts";
import {
  ST_TCP_CLOSE,
  ST_TCP_ESTABLISHED,
  ST_TCP_FIN_WAIT,
  ST_TCP_LAST_ACK,
  ST_TCP_SYN_RECV,
  ST_TCP_SYN_SENT,
  ST_TCP_TIME_WAIT,
  TB_FIN_ORIG as FIN_ORIG,
  TB_FIN_REPLY as FIN_REPLY,
} from "./states.ts";

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

Deno.test("only a bare SYN opens a TCP flow", () => {
  assert.equal(opensTcpFlow(S), true);
  assert.equal(opensTcpFlow(S | 8), true, "PSH does not matter");
  for (const f of [S | A, S | R, A, F, R, 0]) assert.equal(opensTcpFlow(f), false, String(f));
});

Deno.test("TCP tracking: each transition needs exactly its direction and flags", () => {
  const P = 8;
  const all = [
    ST_TCP_SYN_SENT,
    ST_TCP_SYN_RECV,
    ST_TCP_ESTABLISHED,
    ST_TCP_FIN_WAIT,
    ST_TCP_LAST_ACK,
    ST_TCP_TIME_WAIT,
    ST_TCP_CLOSE,
  ];
  // [state, reply?, flags, bits, expected]
  const cases: [number, boolean, number, number, number][] = [
    [ST_TCP_SYN_SENT, true, S | A, 0, ST_TCP_SYN_RECV],
    [ST_TCP_SYN_SENT, true, S | A | P, 0, ST_TCP_SYN_RECV],
    [ST_TCP_SYN_SENT, false, S | A, 0, ST_TCP_SYN_SENT],
    [ST_TCP_SYN_SENT, true, S, 0, ST_TCP_SYN_SENT],
    [ST_TCP_SYN_SENT, true, A, 0, ST_TCP_SYN_SENT],
    [ST_TCP_SYN_RECV, false, A, 0, ST_TCP_ESTABLISHED],
    [ST_TCP_SYN_RECV, false, A | P, 0, ST_TCP_ESTABLISHED],
    [ST_TCP_SYN_RECV, false, A | F, FIN_ORIG, ST_TCP_FIN_WAIT],
    [ST_TCP_SYN_RECV, false, S | A, 0, ST_TCP_SYN_RECV],
    [ST_TCP_SYN_RECV, false, F, FIN_ORIG, ST_TCP_SYN_RECV],
    [ST_TCP_SYN_RECV, true, A, 0, ST_TCP_SYN_RECV],
    [ST_TCP_ESTABLISHED, false, A, 0, ST_TCP_ESTABLISHED],
    [ST_TCP_ESTABLISHED, false, F | A, FIN_ORIG, ST_TCP_FIN_WAIT],
    [ST_TCP_ESTABLISHED, true, F, FIN_REPLY, ST_TCP_FIN_WAIT],
    [ST_TCP_FIN_WAIT, true, A, FIN_ORIG, ST_TCP_FIN_WAIT],
    [ST_TCP_FIN_WAIT, false, A, FIN_REPLY, ST_TCP_FIN_WAIT],
    [ST_TCP_FIN_WAIT, true, F | A, FIN_ORIG | FIN_REPLY, ST_TCP_LAST_ACK],
    [ST_TCP_FIN_WAIT, false, A, FIN_ORIG | FIN_REPLY | 4 | 8, ST_TCP_LAST_ACK],
    [ST_TCP_LAST_ACK, false, A, 3, ST_TCP_TIME_WAIT],
    [ST_TCP_LAST_ACK, true, A | P, 3, ST_TCP_TIME_WAIT],
    [ST_TCP_LAST_ACK, false, A | F, 3, ST_TCP_LAST_ACK],
    [ST_TCP_LAST_ACK, false, 0, 3, ST_TCP_LAST_ACK],
    [ST_TCP_TIME_WAIT, false, S, 3, ST_TCP_SYN_SENT],
    [ST_TCP_TIME_WAIT, false, S | A, 3, ST_TCP_TIME_WAIT],
    [ST_TCP_TIME_WAIT, true, S, 3, ST_TCP_TIME_WAIT],
    [ST_TCP_TIME_WAIT, false, A, 3, ST_TCP_TIME_WAIT],
    [ST_TCP_CLOSE, false, S, 0, ST_TCP_SYN_SENT],
    [ST_TCP_CLOSE, false, S | A, 0, ST_TCP_CLOSE],
    [ST_TCP_CLOSE, false, A, 0, ST_TCP_CLOSE],
  ];
  for (const [st, reply, flags, bits, want] of cases) {
    assert.equal(nextTcpState(st, reply, flags, bits), want, `${st} reply=${reply} ${flags}`);
  }
  for (const st of all) {
    for (const reply of [false, true]) {
      for (const flags of [R, R | A, R | S, R | F | A]) {
        assert.equal(nextTcpState(st, reply, flags, 3), ST_TCP_CLOSE, `RST in ${st}`);
      }
    }
  }
  // States that are not TCP's stay as they are.
  for (const st of [0, 9, 10, 11, 200]) assert.equal(nextTcpState(st, false, S, 0), st);
});
