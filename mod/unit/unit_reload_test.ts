import assert from "node:assert/strict";
import type { EngineConfig } from "../engine/config.ts";
import { ConfigError } from "../config/load.ts";
import { labEngineConfig, seeded } from "../engine/testing.ts";
import { MemoryPort } from "../port/memory.ts";
import { Unit } from "./unit.ts";

const DIGEST = "0011223344556677";

function unitWith(load?: () => { engine: EngineConfig; configDigest: string }) {
  return new Unit(
    {
      node: "u",
      mode: "standby-forward",
      role: "active",
      version: "test",
      engine: labEngineConfig("a"),
      configDigest: DIGEST,
      clock: () => 1_000_000,
      rng: seeded(1),
      peer: null,
      configPath: "/etc/tandem/a.yaml",
      loadConfig: load,
    },
    [new MemoryPort("front"), new MemoryPort("back")],
    null,
  );
}

Deno.test("unit reload: applies new services, reports the digest, keeps a log line", async () => {
  const base = labEngineConfig("a");
  const next: EngineConfig = {
    ...base,
    services: [...base.services, { ...base.services[0]!, name: "web", port: 80 }],
  };
  const u = unitWith(() => ({ engine: next, configDigest: "ffeeddccbbaa9988" }));
  assert.equal(u.snapshot().config.path, "/etc/tandem/a.yaml");
  const r = await u.reload();
  assert.equal(r.ok, true);
  assert.match(r.message, /^reloaded, digest ffeeddccbbaa9988: added web$/);
  const s = u.snapshot();
  assert.deepEqual(s.services.map((x) => x.name), ["echo", "echo-udp", "web"]);
  assert.equal(s.config.digest, "ffeeddccbbaa9988");
  assert.deepEqual(s.config.lastReload, { at: 1_000_000, ok: true, message: r.message });
  assert.ok(s.events.some((e) => e.kind === "reload" && e.detail === r.message));
});

Deno.test("unit reload: mirror_payload changes live, and the log line says so", async () => {
  const base = labEngineConfig("a");
  let payload: "headers" | "full" = "full";
  const u = unitWith(() => ({ engine: { ...base, mirrorPayload: payload }, configDigest: DIGEST }));
  assert.equal(u.engine.config.mirrorPayload, undefined, "the engine's default: headers");
  const r = await u.reload();
  assert.equal(r.message, `reloaded, digest ${DIGEST}: mirror_payload full`);
  assert.equal(u.engine.config.mirrorPayload, "full");
  assert.match((await u.reload()).message, /: no change$/);
  payload = "headers";
  assert.match((await u.reload()).message, /: mirror_payload headers$/);
  assert.equal(u.engine.config.mirrorPayload, "headers");
});

Deno.test("unit reload: a bad file or a change that needs a restart changes nothing", async () => {
  let next: () => { engine: EngineConfig; configDigest: string } = () => {
    throw new ConfigError("services[0].backends[1].weight", "-2 is out of range 0..256");
  };
  const u = unitWith(() => next());
  const bad = await u.reload();
  assert.deepEqual(bad, {
    ok: false,
    reason: "invalid-config",
    message: "reload refused: config: services[0].backends[1].weight: -2 is out of range 0..256",
  });
  assert.equal(u.snapshot().config.digest, DIGEST);
  assert.equal(u.snapshot().config.lastReload?.ok, false);
  next = () => ({ engine: labEngineConfig("b"), configDigest: "1111111111111111" });
  const fixed = await u.reload();
  assert.equal(fixed.reason, "needs-restart");
  assert.match(fixed.message, /config: interfaces: changing it needs a restart/);
  assert.equal(u.snapshot().services.length, 2);
  assert.equal(u.snapshot().config.digest, DIGEST);
  const none = await unitWith().reload();
  assert.equal(none.reason, "no-config-file");
});

Deno.test("unit setBackend: drains on this unit, refuses unknown names", () => {
  const u = unitWith();
  assert.deepEqual(u.setBackend("echo", "203.0.113.21:7000", "draining"), {
    ok: true,
    message: "echo 203.0.113.21:7000: draining",
  });
  const b = u.snapshot().services[0]!.backends[1]!;
  assert.deepEqual([b.admin, b.state], ["draining", "draining"]);
  assert.equal(u.setBackend("echo", "203.0.113.9:7000", "enabled").reason, "unknown-backend");
  assert.ok(u.snapshot().events.some((e) => e.kind === "backend"));
});
