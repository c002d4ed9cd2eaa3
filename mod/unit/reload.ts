/**
 * A live reload as the unit runs it (SIGHUP, `POST /reload`): read the file again, refuse what
 * needs a restart, apply the services (and `peer.mirror_payload`, which only changes what later
 * mirror records carry) to the running engine (`engine/reconfigure.ts`), and say in one line
 * what changed or why nothing did.
 * @module
 */
import type { ControlResult } from "../api/snapshot.ts";
import type { EngineConfig } from "../engine/config.ts";
import type { Engine } from "../engine/engine.ts";
import { fixedPartsDiffer, type ReloadSummary } from "../engine/reconfigure.ts";

/** What the unit's config loader gives: the engine's config and the digest the peer compares. */
export interface LoadedConfig {
  engine: EngineConfig;
  configDigest: string;
}

/** A reload's outcome; `digest` is the new config digest when it applied. */
export type ReloadOutcome = ControlResult & { digest?: string };

/** Reads with `load` and applies to `engine`; a failure changes nothing. */
export function reloadEngine(
  engine: Engine,
  load: (() => LoadedConfig) | undefined,
): ReloadOutcome {
  if (!load) {
    return { ok: false, reason: "no-config-file", message: "this unit has no config file" };
  }
  let next: LoadedConfig;
  try {
    next = load();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return { ok: false, reason: "invalid-config", message: `reload refused: ${message}` };
  }
  const fixed = fixedPartsDiffer(engine.config, next.engine);
  if (fixed !== undefined) {
    return {
      ok: false,
      reason: "needs-restart",
      message: `reload refused: config: ${fixed}: changing it needs a restart`,
    };
  }
  const payloadWas = engine.config.mirrorPayload ?? "headers";
  const r = engine.reconfigure(next.engine);
  const payload = engine.config.mirrorPayload ?? "headers";
  const also = payload === payloadWas ? "" : `mirror_payload ${payload}`;
  return {
    ok: true,
    digest: next.configDigest,
    message: `reloaded, digest ${next.configDigest}: ${describe(r, also)}`,
  };
}

function describe(r: ReloadSummary, also: string): string {
  const parts = [
    r.added.length ? `added ${r.added.join(", ")}` : "",
    r.removed.length ? `removed ${r.removed.join(", ")}` : "",
    r.changed.length ? `changed ${r.changed.join(", ")}` : "",
    r.retired.length ? `kept for their flows: ${r.retired.join(", ")}` : "",
    r.orphaned ? `${r.orphaned} flows to removed backends` : "",
    also,
  ].filter((x) => x !== "");
  return parts.join("; ") || "no change";
}
