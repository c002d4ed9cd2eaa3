/**
 * What a live reload may change: services (and everything under them), their timeouts,
 * `on_service_removed` and `peer.mirror_payload`. Everything else shapes the running process
 * (its TAPs, sockets, pair identity and roles) and needs a restart; a reload that changes it is
 * refused, naming the field, and the running config stays.
 * @module
 */
import type { Config } from "./load.ts";

/** The first field that differs between `running` and `next` and needs a restart. */
export function restartField(running: Config, next: Config): string | undefined {
  // Byte and word arrays (MACs, IPv6 addresses) compare as plain lists.
  const json = (v: unknown) =>
    JSON.stringify(v, (_k, x) => x instanceof Uint8Array || x instanceof Uint32Array ? [...x] : x);
  const fields: [string, (c: Config) => unknown][] = [
    ["node.name", (c) => c.node.name],
    ["mode", (c) => c.mode],
    ["role", (c) => c.role],
    ["interfaces", (c) => c.interfaces],
    ["floating", (c) => c.floating],
    // `mirror_payload` only changes what later mirror records carry: live (`unit/reload.ts`).
    ["peer", (c) => c.peer && { ...c.peer, mirrorPayload: undefined }],
    ["api", (c) => c.api],
    ["flows.capacity", (c) => c.flows.capacity],
    ["log", (c) => c.log],
    ["scheduling", (c) => c.scheduling],
    ["busy_poll", (c) => c.busyPollMs],
  ];
  for (const [name, get] of fields) if (json(get(running)) !== json(get(next))) return name;
  return undefined;
}
