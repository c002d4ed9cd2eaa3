/**
 * Turns a resolved config into what the engine and the unit need. Kept apart
 * from `main.ts` so tests can build units from config text.
 * @module
 */
import type { Config } from "../config/load.ts";
import { configDigest } from "../config/digest.ts";
import type { EngineConfig, Ip6 } from "../engine/config.ts";
import type { FailsafeSetup, UnitSetup } from "./unit.ts";

export const VERSION = "0.1.0";

/**
 * The virtual MAC of the floating addresses on one interface: the same on both units because
 * it comes from the pair's identity, as VRRP's `00:00:5e:00:01:<vrid>` does (RFC 5798 §7.3);
 * locally administered and unicast (`02:74:6e` = "tn"), then the pair id and the interface.
 * Editing a service or a backend never moves it.
 */
export function virtualMac(pairId: number, iface: number): Uint8Array {
  return new Uint8Array([0x02, 0x74, 0x6e, (pairId >>> 8) & 255, pairId & 255, iface & 255]);
}

/**
 * `{ [key]: copy of w }`, or `{}` when `w` is absent: IPv6 fields appear only where the config
 * has them, so an IPv4-only config maps to exactly what it always did. The copy keeps the
 * engine's words apart from the config's.
 */
function v6<K extends string>(key: K, w: Ip6 | undefined): { [k in K]?: Ip6 } {
  return w === undefined ? {} : { [key]: Uint32Array.from(w) } as { [k in K]?: Ip6 };
}

/**
 * The engine's view of `cfg`. An IPv6 address travels as `ip6` words with its low word in the
 * plain field beside it (`ip`, `vip`, `snatIp`), as `engine/config.ts` expects.
 */
export function engineConfig(cfg: Config): EngineConfig {
  const ifIndex = (name: string) => cfg.interfaces.findIndex((i) => i.name === name);
  return {
    interfaces: cfg.interfaces.map((i) => ({
      name: i.name,
      mac: i.mac,
      ip: i.address,
      prefix: i.prefix,
      ...v6("ip6", i.address6),
      ...(i.prefix6 === undefined ? {} : { prefix6: i.prefix6 }),
      vlan: i.vlan,
      mtu: i.mtu,
    })),
    floating: cfg.floating.map((f) => ({
      ip: f.address,
      prefix: f.prefix,
      iface: ifIndex(f.interface),
      ...v6("ip6", f.address6),
    })),
    services: cfg.services.map((s) => ({
      name: s.name,
      proto: s.protocol === "tcp" ? 6 : 17,
      vip: s.listen.address,
      ...v6("vip6", s.listen.address6),
      port: s.listen.port,
      iface: ifIndex(s.interface),
      backends: s.backends.map((b) => ({
        ip: b.address,
        ...v6("ip6", b.address6),
        port: b.port,
        weight: b.weight,
        admin: b.admin,
      })),
      scheduler: s.scheduler,
      snatIp: s.sourceNat ?? 0,
      ...v6("snatIp6", s.sourceNat6),
      randomizeIsn: s.randomizeIsn,
      pickup: s.pickup,
      synProxy: s.synProxy,
      health: { ...s.health },
      resetOnDown: s.onBackendDown === "reset",
      persistenceMs: s.persistenceMs,
    })),
    resetRemoved: cfg.onServiceRemoved === "reset",
    mirrorPayload: cfg.peer?.mirrorPayload ?? "headers",
    capacity: cfg.flows.capacity,
    timeouts: cfg.timeouts,
    virtualMacs: cfg.interfaces.map((_, i) => virtualMac(cfg.pairId, i)),
    arpQueueLimit: 64,
  };
}

export function unitSetup(cfg: Config): UnitSetup {
  const p = cfg.peer;
  return {
    node: cfg.node.name,
    mode: cfg.mode,
    role: cfg.role,
    version: VERSION,
    engine: engineConfig(cfg),
    configDigest: configDigest(cfg),
    peer: p
      ? {
        ip: p.address.address,
        port: p.address.port,
        key: p.key,
        intervalMs: p.heartbeatIntervalMs,
        deadAfter: p.deadAfter,
        holdNewFlowsMs: p.holdNewFlowsMs,
        garpRepeat: p.garpRepeat,
        probe: p.probe,
      }
      : null,
    failsafe: failsafeSetup(cfg),
    busyPollMs: cfg.busyPollMs,
    // One unit per process: its loop may block the thread while traffic flows.
    blockingWait: true,
  };
}

/** The fail-safes of `cfg` as the unit takes them. */
export function failsafeSetup(cfg: Config): FailsafeSetup {
  const f = cfg.failsafe, t = f.track;
  return {
    track: t === null ? null : {
      links: t.links.map((l) => ({ interface: l.interface, device: l.device })),
      gateways: t.gateways.map((g) => ({ interface: g.interface, iface: g.iface, ip: g.address })),
      intervalMs: t.intervalMs,
      rise: t.rise,
      fall: t.fall,
    },
    preempt: f.preempt,
    preemptDelayMs: f.preemptDelayMs,
    stateDir: f.stateDir,
    notify: f.notify ?? null,
  };
}
