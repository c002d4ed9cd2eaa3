/**
 * One tandem `Unit` in a worker thread, for the `sync` suite's two-unit run: in-memory frame
 * ports, a real peer link (two UDP lanes on 127.0.0.1), and the unit's own loop. The parent
 * starts it with a `SyncWorkerStart` message; the unit's timeline events come back as
 * `{type: "event"}`, `{type: "status"}` answers `{cmd: "status"}`, and `{cmd: "stop"}` ends it.
 * @module
 */
/// <reference lib="deno.worker" />

import { Unit } from "../mod/unit/unit.ts";
import { labEngineConfig } from "../mod/engine/testing.ts";
import { MemoryPort } from "../mod/port/memory.ts";
import { openUdp, type UdpPort } from "../mod/port/udp.ts";
import { fillTable } from "./memory.ts";

/** The parent's start message. */
export interface SyncWorkerStart {
  cmd: "start";
  node: "a" | "b";
  role: "active" | "standby";
  /** Flows to put in this unit's table before its loop starts. */
  flows: number;
  capacity: number;
  /** Data lane port; the control lane is the next one. */
  port: number;
  peerPort: number;
  key: number[];
}

/** What the worker reports. */
export type SyncWorkerMessage =
  | { type: "event"; node: string; at: number; kind: string; detail: string }
  | { type: "ready"; node: string; fillMs: number }
  | {
    type: "status";
    node: string;
    state: string;
    count: number;
    digest: string;
    sync: { state: string; done: number; total: number };
    counters: Record<string, number>;
  }
  | { type: "error"; node: string; message: string };

const LOOPBACK = 0x7f000001;

let unit: Unit | undefined;
const stop = new AbortController();
const lanes: UdpPort[] = [];

function post(m: SyncWorkerMessage): void {
  self.postMessage(m);
}

async function start(m: SyncWorkerStart): Promise<void> {
  lanes.push(openUdp(LOOPBACK, m.port), openUdp(LOOPBACK, m.port + 1));
  unit = new Unit(
    {
      node: m.node,
      mode: "standby-forward",
      role: m.role,
      version: "bench",
      engine: labEngineConfig(m.node, { capacity: m.capacity }),
      configDigest: "0123456789abcdef",
      peer: {
        ip: LOOPBACK,
        port: m.peerPort,
        key: Uint8Array.from(m.key),
        intervalMs: 10,
        deadAfter: 5,
        holdNewFlowsMs: 0,
        garpRepeat: 1,
        probe: false,
      },
      onEvent: (e) => post({ type: "event", node: m.node, ...e }),
    },
    [new MemoryPort("front"), new MemoryPort("back")],
    { data: lanes[0]!, control: lanes[1]! },
  );
  const t0 = performance.now();
  if (m.flows > 0) fillTable(unit.engine.flows, m.flows, 0x5eed, Date.now());
  post({ type: "ready", node: m.node, fillMs: performance.now() - t0 });
  try {
    await unit.run(stop.signal);
  } finally {
    for (const l of lanes) l.close();
  }
}

self.onmessage = (ev: MessageEvent) => {
  const m = ev.data as { cmd: string } & Partial<SyncWorkerStart>;
  if (m.cmd === "start") {
    start(m as SyncWorkerStart).catch((e) =>
      post({ type: "error", node: String(m.node), message: (e as Error).message })
    );
  } else if (m.cmd === "status" && unit) {
    const s = unit.snapshot();
    post({
      type: "status",
      node: s.node,
      state: s.state,
      count: s.flows.count,
      digest: s.flows.digest,
      sync: s.sync,
      counters: s.counters,
    });
  } else if (m.cmd === "stop") {
    stop.abort();
    unit?.stop();
  }
};
