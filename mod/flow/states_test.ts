import assert from "node:assert/strict";
import {
  ST_ICMP,
  ST_NONE,
  ST_PERSIST,
  ST_TCP_CLOSE,
  ST_TCP_CLOSE_WAIT,
  ST_TCP_ESTABLISHED,
  ST_TCP_FIN_WAIT,
  ST_TCP_LAST_ACK,
  ST_TCP_SYN_RECV,
  ST_TCP_SYN_SENT,
  ST_TCP_TIME_WAIT,
  ST_UDP_NEW,
  ST_UDP_STREAM,
  STATE_NAMES,
  TB_FIN_ORIG,
  TB_FIN_REPLY,
  TB_TS_ORIG,
  TB_TS_REPLY,
} from "./states.ts";

Deno.test("states: codes are the documented values (they travel in mirror records)", () => {
  assert.deepEqual(
    [
      ST_NONE,
      ST_TCP_SYN_SENT,
      ST_TCP_SYN_RECV,
      ST_TCP_ESTABLISHED,
      ST_TCP_FIN_WAIT,
      ST_TCP_CLOSE_WAIT,
      ST_TCP_LAST_ACK,
      ST_TCP_TIME_WAIT,
      ST_TCP_CLOSE,
      ST_UDP_NEW,
      ST_UDP_STREAM,
      ST_ICMP,
      ST_PERSIST,
    ],
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
  );
  assert.deepEqual(STATE_NAMES, [
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
  ]);
  assert.deepEqual([TB_FIN_ORIG, TB_FIN_REPLY, TB_TS_ORIG, TB_TS_REPLY], [1, 2, 4, 8]);
});
