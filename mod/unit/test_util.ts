/**
 * Test helpers for the unit: the peer sockets a unit opens, on loopback.
 * @module
 */
import { openUdp, type UdpPort } from "../port/udp.ts";
import type { PeerSockets } from "./peer_link.ts";

export const LOCAL = 0x7f000001;

/** The lanes a unit opens on consecutive ports: data, control and the heartbeat lane. */
export interface TestLanes extends PeerSockets {
  /** The heartbeat lane the link leaves to the heartbeat thread. */
  hbLane: UdpPort;
  /** The data lane's port; the others follow it. */
  base: number;
  all: UdpPort[];
}

/** Three sockets on free consecutive ports of `ip`, as a unit opens them. */
export function openLanes(ip = LOCAL): TestLanes {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20000 + Math.floor(Math.random() * 40000);
    const all: UdpPort[] = [];
    try {
      for (let i = 0; i < 3; i++) all.push(openUdp(ip, base + i));
      return { data: all[0]!, control: all[1]!, hbLane: all[2]!, base, all };
    } catch {
      for (const s of all) s.close();
    }
  }
  throw new Error("no three free consecutive UDP ports");
}
