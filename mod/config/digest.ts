/**
 * The config digest the two units exchange on the peer link (DESIGN.md "The peer link"), so each
 * can warn when the service definitions differ. It covers only what must match between the units
 * for mirror records to mean the same thing on both: the mode, the floating addresses and the
 * services, in file order (a service's and a backend's position can be part of a mirrored
 * decision). Per-node fields (name, self addresses, MACs, peer endpoints, role) are left out.
 * With VLANs, each interface index's VLAN id is covered too: a mirror record names its egress
 * by index, and the peer tags the frame with that index's VLAN. Without VLANs the text is what
 * it always was, so existing pairs keep their digest.
 * @module
 */

import { createHash } from "node:crypto";
import { ipv4ToString, ipv6ToString } from "../wire/addr.ts";
import type { Config } from "./load.ts";

/** Version tag of the canonical encoding; bump it when the encoding changes. */
const ENCODING = "tandem-config-digest-v2";

/** The canonical text the digest is taken over (exported for debugging a mismatch). */
export function canonicalConfig(config: Config): string {
  return JSON.stringify([
    ENCODING,
    config.mode,
    // IPv4 renders as it always did; IPv6 in RFC 5952 text, so the families never collide.
    config.floating.map((f) => [`${addrOf(f.address, f.address6)}/${f.prefix}`, f.interface]),
    config.services.map((s) => [
      s.name,
      s.listen.text,
      s.protocol,
      s.scheduler,
      s.backends.map((b) => [b.text, b.weight, b.admin]),
      s.sourceNat === undefined ? null : addrOf(s.sourceNat, s.sourceNat6),
      s.randomizeIsn,
      s.health,
      s.onBackendDown,
      s.persistenceMs,
      // Both units must agree on cookies; only a non-default choice enters, so the digests of
      // configs from before syn_proxy stay as they were.
      ...(s.synProxy === (s.protocol === "tcp" && !s.pickup ? "auto" : "off")
        ? []
        : [["syn_proxy", s.synProxy]]),
    ]),
    config.onServiceRemoved,
    ...(config.interfaces.some((i) => i.vlan !== 0)
      ? [["vlans", config.interfaces.map((i) => i.vlan)]]
      : []),
  ]);
}

function addrOf(lo: number, w: ArrayLike<number> | undefined): string {
  return w === undefined ? ipv4ToString(lo) : ipv6ToString(w);
}

/** First 16 hex digits of SHA-256 over {@link canonicalConfig}. */
export function configDigest(config: Config): string {
  return createHash("sha256").update(canonicalConfig(config)).digest("hex").slice(0, 16);
}

/** A 16-hex-digit digest as its two u32 halves (how the heartbeat carries it). */
export function digestWords(hex: string): [hi: number, lo: number] {
  if (!/^[0-9a-fA-F]{16}$/.test(hex)) throw new RangeError(`digest must be 16 hex digits: ${hex}`);
  return [parseInt(hex.slice(0, 8), 16), parseInt(hex.slice(8), 16)];
}

/** Two u32 halves as the 16-hex-digit digest. */
export function digestHex(hi: number, lo: number): string {
  return (hi >>> 0).toString(16).padStart(8, "0") + (lo >>> 0).toString(16).padStart(8, "0");
}
