/**
 * tandem: the composition root. Parses the command line and wires the
 * config, the ports, the unit, the status API and logging together; all
 * behaviour lives under `mod/`.
 * @module
 */
import { parseArgs, USAGE } from "./mod/cli/args.ts";
import { runCli } from "./mod/cli/exit.ts";
import { ConfigError, loadConfig } from "./mod/config/load.ts";
import { restartField } from "./mod/config/reload.ts";
import { configDigest } from "./mod/config/digest.ts";
import { resolve } from "node:path";
import { logger, setupLogging } from "./mod/log/log.ts";
import { RateLimitedWarning } from "./mod/log/rate_limit.ts";
import { createApp } from "./mod/api/app.ts";
import { serveApi } from "./mod/api/serve.ts";
import { controlCommand, statusCommand } from "./mod/api/client.ts";
import { localTokenFile, recordLocalApi } from "./mod/api/local_api.ts";
import { labMain } from "./mod/lab/cli.ts";
import { openTap } from "./mod/port/tap.ts";
import { openUdp } from "./mod/port/udp.ts";
import { onShutdown } from "./mod/port/signals.ts";
import { isRealtime, setNice, setRealtime } from "./mod/port/priority.ts";
import type { FramePort } from "./mod/port/frame_port.ts";
import type { UdpPort } from "./mod/port/udp.ts";
import { Unit } from "./mod/unit/unit.ts";
import { nativeLinkTag } from "./mod/peer/link_tag.ts";
import { type HeartbeatThread, startHeartbeatWorker } from "./mod/unit/heartbeat.ts";
import { engineConfig, unitSetup, VERSION } from "./mod/unit/setup.ts";

/** `scheduling: realtime`: SCHED_RR at a low priority, like keepalived's; `nice`: this nice value. */
const UNIT_RT_PRIORITY = 10;
const UNIT_NICE = -10;
/** How long the loop may pause before its heartbeat thread falls silent too. */
const HEARTBEAT_GUARD_MS = 1000;

async function run(
  configPath: string,
  overrides: Parameters<typeof loadConfig>[1],
): Promise<number> {
  const cfg = loadConfig(configPath, overrides);
  await setupLogging({ level: cfg.log.level, format: cfg.log.format });
  const log = logger("unit");
  // Heartbeats must not wait behind other processes for the CPU (needs CAP_SYS_NICE unless
  // the service manager already set it up).
  if (cfg.scheduling === "realtime" && !isRealtime()) {
    const err = setRealtime(UNIT_RT_PRIORITY);
    if (err !== 0) {
      log.warn("could not switch to real-time scheduling (errno {errno})", { errno: err });
    }
  } else if (cfg.scheduling === "nice") {
    const err = setNice(UNIT_NICE);
    if (err !== 0) {
      log.warn("could not raise priority to nice {nice} (errno {errno})", {
        nice: UNIT_NICE,
        errno: err,
      });
    }
  }
  if (cfg.peer && !nativeLinkTag()) {
    log.warn(
      "libcrypto.so.3 (OpenSSL 3) not found: the peer link's batch tag falls back to " +
        "node:crypto, slower and with garbage that pauses the loop under load; install libssl3",
    );
  }
  const ports: FramePort[] = [];
  let peer: { data: UdpPort; control: UdpPort } | null = null;
  let heartbeatLane: UdpPort | undefined;
  let heartbeat: HeartbeatThread | undefined;
  try {
    // VLANs of one trunk share its TAP: one device, one port object (unit/trunk.ts).
    const taps = new Map<string, FramePort>();
    for (const i of cfg.interfaces) {
      let port = taps.get(i.tap);
      if (port === undefined) {
        port = openTap(i.tap, { offload: i.offload });
        taps.set(i.tap, port);
      }
      ports.push(port);
    }
    if (cfg.peer) {
      // The peer link's data lane on the listen port, its control lane on the next one, the
      // heartbeat lane (read by the heartbeat thread) on the one after.
      const { address, port } = cfg.peer.listen;
      peer = { data: openUdp(address, port), control: openUdp(address, port + 1) };
      heartbeatLane = openUdp(address, port + 2);
    }
    const setup = unitSetup(cfg);
    setup.epoch = performance.timeOrigin + performance.now();
    if (cfg.peer) {
      // Heartbeats sent and read by their own thread: a loop paused by load neither looks dead
      // nor sees its peer as dead.
      heartbeat = startHeartbeatWorker({
        listenFd: heartbeatLane!.fd,
        bindIp: cfg.peer.listen.address,
        peerIp: cfg.peer.address.address,
        peerPort: cfg.peer.address.port + 2,
        key: cfg.peer.key,
        epoch: setup.epoch,
        intervalMs: cfg.peer.heartbeatIntervalMs,
        guardMs: HEARTBEAT_GUARD_MS,
      });
      setup.heartbeat = heartbeat;
      setup.heartbeatGuardMs = HEARTBEAT_GUARD_MS;
    }
    setup.onEvent = (e) => log.info("{kind}: {detail}", { kind: e.kind, detail: e.detail });
    setup.configPath = resolve(configPath);
    // SIGHUP and POST /reload read the file again; what needs a restart is refused, by name.
    setup.loadConfig = () => {
      const next = loadConfig(configPath, overrides);
      const fixed = restartField(cfg, next);
      if (fixed !== undefined) throw new ConfigError(fixed, "changing it needs a restart");
      return { engine: engineConfig(next), configDigest: configDigest(next) };
    };
    const unit = new Unit(setup, ports, peer);
    const stop = new AbortController();
    onShutdown(() => stop.abort());
    // Planned switchover (DESIGN.md): SIGUSR1 hands the roles over like POST /failover.
    Deno.addSignalListener("SIGUSR1", () => void unit.failover());
    Deno.addSignalListener("SIGHUP", () => void unit.reload());
    // Root on this box may then drive the unit's write API without naming the token file.
    let local: { remove: () => void } | undefined;
    if (cfg.api.tokenFile !== undefined && cfg.api.listen.port !== 0) {
      try {
        local = recordLocalApi(cfg.api.listen.text, cfg.api.tokenFile);
      } catch (e) {
        log.warn("could not record the API for local commands: {error}", {
          error: e instanceof Error ? e.message : String(e),
        });
      }
    }
    stop.signal.addEventListener("abort", () => local?.remove());
    const api = serveApi(
      createApp(unit, { token: cfg.api.token }),
      cfg.api.listen.text,
      stop.signal,
    );
    log.info("tandem {version} {node} running: mode {mode}, role {role}, api {api}", {
      version: VERSION,
      node: cfg.node.name,
      mode: cfg.mode,
      role: cfg.role,
      api: cfg.api.listen.text,
    });
    // Nothing is logged per packet; drops that burst are summarised at most once a second per reason.
    const bursts = new RateLimitedWarning({ intervalMs: 1000, label: "drops" });
    let last: Record<string, number> = {};
    const watch = setInterval(() => {
      const now = performance.now();
      const counters = unit.counters();
      for (const [k, v] of Object.entries(counters)) {
        if (!k.startsWith("drop_")) continue;
        const delta = v - (last[k] ?? 0);
        const msg = delta > 0 ? bursts.observe(now, k.slice(5), delta) : undefined;
        if (msg) log.warn(msg, { reason: k.slice(5), count: delta });
      }
      last = counters;
    }, 1000);
    stop.signal.addEventListener("abort", () => clearInterval(watch));
    await unit.run(stop.signal);
    await api.finished;
    log.info("stopped");
    return 0;
  } finally {
    for (const p of new Set(ports)) p.close();
    heartbeat?.stop();
    heartbeatLane?.close();
    peer?.data.close();
    peer?.control.close();
  }
}

async function main(argv: string[]): Promise<number> {
  // The lab has its own sub-command parser (it also runs the lab's servers and traffic).
  if (argv[0] === "lab") return await labMain(argv.slice(1));
  const cmd = parseArgs(argv);
  switch (cmd.cmd) {
    case "run":
      return await run(cmd.config, cmd.overrides);
    case "status":
      return await statusCommand(cmd.api);
    case "backend":
      return await controlCommand(
        cmd.api,
        { kind: "backend", service: cmd.service, address: cmd.address, admin: cmd.admin },
        { tokenFile: cmd.tokenFile, localTokenFile },
      );
    case "maintenance":
      return await controlCommand(cmd.api, { kind: "maintenance", on: cmd.on }, {
        tokenFile: cmd.tokenFile,
        localTokenFile,
      });
    case "reload":
      return await controlCommand(cmd.api, { kind: "reload" }, {
        tokenFile: cmd.tokenFile,
        localTokenFile,
      });
    case "version":
      console.log(`tandem ${VERSION} (deno ${Deno.version.deno})`);
      return 0;
    case "help":
      console.log(USAGE);
      return 0;
    case "lab":
      return await labMain(argv.slice(1));
  }
}

if (import.meta.main) await runCli(() => main(Deno.args));
