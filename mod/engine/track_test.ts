import assert from "node:assert/strict";
import { TB_TS_ORIG, TB_TS_REPLY } from "../flow/states.ts";
import { TCP_ACK, TCP_FIN, TCP_SYN } from "../wire/mod.ts";
import { Engine } from "./engine.ts";
import {
  BACKENDS,
  CLIENT,
  clientSegment,
  clientSyn,
  feed,
  labEngineConfig,
  learnNeighbors,
  RecordingOutput,
  serverSegment,
  tsOpt,
  VIP,
} from "./testing.ts";

Deno.test("track: each direction's last seq, ack, window and timestamps are kept, after NAT", () => {
  const base = labEngineConfig("a");
  const cfg = labEngineConfig("a", {
    services: base.services.map((s) => ({ ...s, randomizeIsn: true })),
  });
  const off = 1_000_000;
  const engine = new Engine(cfg, new RecordingOutput(), () => off);
  learnNeighbors(engine);
  feed(engine, clientSyn(cfg, 40000, 100), 0, 1);
  const f = engine.flows.lookup(6, CLIENT, 40000, VIP, 7000) >> 1;
  const c = engine.flows.c;
  assert.equal(c.oSeqNext[f], 100 + off + 1, "SYN counts one; the offset applied");
  assert.equal(c.tcpBits[f]! & (TB_TS_ORIG | TB_TS_REPLY), 0);
  feed(
    engine,
    serverSegment(cfg, BACKENDS[0]!, 40000, {
      flags: TCP_SYN | TCP_ACK,
      seq: 7000,
      ack: 101 + off,
      options: tsOpt(555, 444),
    }),
    1,
    2,
  );
  assert.equal(c.rSeqNext[f], 7001);
  assert.equal(c.rAck[f], 101, "the ack as the client sees it");
  assert.equal(c.rWin[f], 64240);
  assert.equal(c.rTsVal[f], 555);
  assert.equal(c.rTsEcr[f], 444);
  assert.equal(c.tcpBits[f]! & (TB_TS_ORIG | TB_TS_REPLY), TB_TS_REPLY);
  const payload = new Uint8Array(10);
  feed(
    engine,
    clientSegment(cfg, 40000, {
      flags: TCP_ACK | TCP_FIN,
      seq: 101,
      ack: 7001,
      payload,
      options: tsOpt(999, 555),
    }),
    0,
    3,
  );
  assert.equal(c.oSeqNext[f], 101 + off + 10 + 1, "payload plus FIN");
  assert.equal(c.oAck[f], 7001);
  assert.equal(c.oWin[f], 64240);
  assert.equal(c.oTsVal[f], 999);
  assert.equal(c.oTsEcr[f], 555);
  assert.equal(c.tcpBits[f]! & (TB_TS_ORIG | TB_TS_REPLY), TB_TS_ORIG | TB_TS_REPLY);
});
