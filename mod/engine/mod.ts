/**
 * The data-plane engine, one stage per file, in the order a frame meets them:
 * `classify` → `arp` / `ndp` (neighbours, IPv4 / IPv6) / `local` → `synproxy` → `conntrack`
 * (with `decide` for a new flow) → `evict` → `mtu` → `fragments` →
 * `nat` → `track` → `deliver` (who emits, who mirrors). `icmp_error` translates ICMP errors
 * of tracked flows; `replica` applies a peer's mirror records; `reaper` expires idle flows;
 * `takeover` announces the floating addresses and probes endpoints. `engine.ts` strings them
 * together; `context.ts` is what they share; `output.ts` is the port they send through.
 * @module
 */
export * from "./config.ts";
export * from "./context.ts";
export * from "./counters.ts";
export * from "./engine.ts";
export * from "./output.ts";
export type { MirrorIn } from "./replica.ts";
