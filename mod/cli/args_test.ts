import assert from "node:assert/strict";
import { type Command, parseArgs, USAGE, UsageError } from "./args.ts";

function usageError(argv: string[]): UsageError {
  try {
    parseArgs(argv);
  } catch (err) {
    if (err instanceof UsageError) return err;
    throw err;
  }
  assert.fail(`expected a UsageError for ${argv.join(" ")}`);
}

const RUN = ["run", "--config", "tandem.yaml"];

/** [argv, exact message]: every message is one line naming the flag or argument at fault. */
const BAD: [string[], string][] = [
  [[...RUN, "--rol", "active"], "unknown flag --rol"],
  [[...RUN, "-x"], "unknown flag -x"],
  [
    [...RUN, "--mode", "x"],
    '--mode must be one of active-forward, standby-forward, standby-first (got "x")',
  ],
  [[...RUN, "--role", "leader"], '--role must be one of active, standby (got "leader")'],
  [
    [...RUN, "--api", "localhost:9090"],
    '--api must be an IPv4 address:port (got "localhost:9090")',
  ],
  [[...RUN, "--api", "127.0.0.1"], '--api must be an IPv4 address:port (got "127.0.0.1")'],
  [
    [...RUN, "--log-level", "trace"],
    '--log-level must be one of debug, info, warning, error (got "trace")',
  ],
  [[...RUN, "--log-format", "xml"], '--log-format must be one of text, json (got "xml")'],
  [["run", "--role", "active"], "--config is required for run"],
  [["run", "--config"], "--config needs a value"],
  [["run", "--config", "--role", "active"], "--config needs a value"],
  [[...RUN, "extra"], 'unexpected argument "extra"'],
  [["run", "--prefix", "tnd", "--config", "x"], "unknown flag --prefix"],
  [["lab"], "lab needs an action: up, down, demo, crash, revive"],
  [["lab", "sideways"], 'unknown lab action "sideways" (expected up, down, demo, crash, revive)'],
  [["lab", "crash"], "lab crash needs a unit: a or b"],
  [["lab", "revive", "c"], 'lab revive: unit must be a or b (got "c")'],
  [["lab", "crash", "a", "b"], 'unexpected argument "b"'],
  [["lab", "up", "a"], 'unexpected argument "a"'],
  [
    ["lab", "up", "--prefix", "Tnd"],
    '--prefix must be 1-6 lowercase letters or digits, starting with a letter (got "Tnd")',
  ],
  [
    ["lab", "up", "--prefix", "toolong7"],
    '--prefix must be 1-6 lowercase letters or digits, starting with a letter (got "toolong7")',
  ],
  [
    ["lab", "demo", "--mode", "hot"],
    '--mode must be one of active-forward, standby-forward, standby-first (got "hot")',
  ],
  [["lab", "up", "--no-servers=yes"], "--no-servers takes no value"],
  [["lab", "up", "--config", "x"], "unknown flag --config"],
  [["lab", "serve", "--prefix"], "--prefix needs a value"],
  [["status", "--api", "nope"], '--api must be an IPv4 address:port (got "nope")'],
  [["status", "now"], 'unexpected argument "now"'],
  [["status", "--role", "active"], "unknown flag --role"],
  [["version", "--verbose"], "unknown flag --verbose"],
  [
    ["start"],
    'unknown command "start" (expected run, lab, status, backend, maintenance, reload, version, help)',
  ],
  [
    ["--config", "x"],
    "expected a command (run, lab, status, backend, maintenance, reload, version, help) before --config",
  ],
  [["backend"], "backend needs an action: drain, enable, maintenance"],
  [
    ["backend", "disable", "echo", "203.0.113.20:7000"],
    'unknown backend action "disable" (expected drain, enable, maintenance)',
  ],
  [
    ["backend", "constructor", "echo", "203.0.113.20:7000"],
    'unknown backend action "constructor" (expected drain, enable, maintenance)',
  ],
  [["backend", "drain"], "backend drain needs a SERVICE and an ADDR"],
  [["backend", "drain", "echo"], "backend drain needs an ADDR after SERVICE"],
  [
    ["backend", "drain", "echo", "203.0.113.20"],
    'ADDR must be an IPv4 address:port (got "203.0.113.20")',
  ],
  [
    ["backend", "drain", "echo", "203.0.113.20:0"],
    'ADDR must be an IPv4 address:port (got "203.0.113.20:0")',
  ],
  [
    ["backend", "enable", "echo", "server1:7000"],
    'ADDR must be an IPv4 address:port (got "server1:7000")',
  ],
  [["backend", "drain", "echo", "203.0.113.20:7000", "now"], 'unexpected argument "now"'],
  [
    ["backend", "drain", "echo", "203.0.113.20:7000", "--api", "x"],
    '--api must be an IPv4 address:port (got "x")',
  ],
  [["backend", "drain", "echo", "203.0.113.20:7000", "--token-file"], "--token-file needs a value"],
  [
    ["backend", "drain", "echo", "203.0.113.20:7000", "--token-file="],
    "--token-file needs a value",
  ],
  [["backend", "drain", "echo", "203.0.113.20:7000", "--force"], "unknown flag --force"],
  [["maintenance"], "maintenance needs on or off"],
  [["maintenance", "yes"], 'maintenance: expected on or off (got "yes")'],
  [["maintenance", "on", "off"], 'unexpected argument "off"'],
  [["maintenance", "on", "--prefix", "tnd"], "unknown flag --prefix"],
  [["reload", "now"], 'unexpected argument "now"'],
  [["reload", "--config", "x.yaml"], "unknown flag --config"],
];

Deno.test(`cli: each bad command line is one UsageError naming the flag (${BAD.length})`, () => {
  assert.ok(BAD.length >= 12);
  for (const [argv, message] of BAD) {
    assert.equal(usageError(argv).message, message, argv.join(" "));
  }
});

const GOOD: [string[], Command][] = [
  [[...RUN], { cmd: "run", config: "tandem.yaml", overrides: {} }],
  [
    [
      "run",
      "--config=/etc/tandem.yaml",
      "--role",
      "standby",
      "--mode",
      "standby-first",
      "--api",
      "127.0.0.1:9191",
      "--log-level",
      "debug",
      "--log-format",
      "json",
    ],
    {
      cmd: "run",
      config: "/etc/tandem.yaml",
      overrides: {
        role: "standby",
        mode: "standby-first",
        api: "127.0.0.1:9191",
        logLevel: "debug",
        logFormat: "json",
      },
    },
  ],
  [["run", "-c", "t.yaml", "--role=active"], {
    cmd: "run",
    config: "t.yaml",
    overrides: { role: "active" },
  }],
  [["lab", "up"], {
    cmd: "lab",
    action: "up",
    prefix: "tnd",
    mode: "standby-forward",
    noServers: false,
  }],
  [["lab", "down", "--prefix", "tw1"], {
    cmd: "lab",
    action: "down",
    prefix: "tw1",
    mode: "standby-forward",
    noServers: false,
  }],
  [["lab", "demo", "--mode", "active-forward", "--no-servers"], {
    cmd: "lab",
    action: "demo",
    prefix: "tnd",
    mode: "active-forward",
    noServers: true,
  }],
  [["lab", "--prefix=ab12", "crash", "a"], {
    cmd: "lab",
    action: "crash",
    unit: "a",
    prefix: "ab12",
    mode: "standby-forward",
    noServers: false,
  }],
  [["lab", "revive", "b", "--mode", "standby-first"], {
    cmd: "lab",
    action: "revive",
    unit: "b",
    prefix: "tnd",
    mode: "standby-first",
    noServers: false,
  }],
  [["lab", "serve", "--prefix", "tw2", "--port", "7000", "--", "--prefix", "x"], {
    cmd: "lab",
    action: "serve",
    prefix: "tw2",
    rest: ["--port", "7000", "--prefix", "x"],
  }],
  [["lab", "traffic", "conns=10"], {
    cmd: "lab",
    action: "traffic",
    prefix: "tnd",
    rest: ["conns=10"],
  }],
  [["status"], { cmd: "status", api: "127.0.0.1:9090" }],
  [["status", "--api", "127.0.0.1:9191"], { cmd: "status", api: "127.0.0.1:9191" }],
  [["backend", "drain", "echo", "203.0.113.20:7000"], {
    cmd: "backend",
    admin: "draining",
    service: "echo",
    address: "203.0.113.20:7000",
    api: "127.0.0.1:9090",
  }],
  [["backend", "enable", "web", "203.0.113.021:80", "--api", "127.0.0.1:9191"], {
    cmd: "backend",
    admin: "enabled",
    service: "web",
    // Written the way the unit writes it.
    address: "203.0.113.21:80",
    api: "127.0.0.1:9191",
  }],
  [["backend", "--token-file", "/etc/tandem/api.token", "maintenance", "echo", "1.2.3.4:5"], {
    cmd: "backend",
    admin: "maintenance",
    service: "echo",
    address: "1.2.3.4:5",
    api: "127.0.0.1:9090",
    tokenFile: "/etc/tandem/api.token",
  }],
  [["maintenance", "on"], { cmd: "maintenance", on: true, api: "127.0.0.1:9090" }],
  [["maintenance", "off", "--api=10.0.0.1:9090", "--token-file=t"], {
    cmd: "maintenance",
    on: false,
    api: "10.0.0.1:9090",
    tokenFile: "t",
  }],
  [["reload"], { cmd: "reload", api: "127.0.0.1:9090" }],
  [["reload", "--token-file", "api.token"], {
    cmd: "reload",
    api: "127.0.0.1:9090",
    tokenFile: "api.token",
  }],
  [["backend", "--help"], { cmd: "help" }],
  [["reload", "-h"], { cmd: "help" }],
  [["version"], { cmd: "version" }],
  [["--version"], { cmd: "version" }],
  [[], { cmd: "help" }],
  [["help"], { cmd: "help" }],
  [["-h"], { cmd: "help" }],
  [["run", "--help"], { cmd: "help" }],
  [["lab", "-h"], { cmd: "help" }],
];

Deno.test(`cli: each good form parses (${GOOD.length})`, () => {
  for (const [argv, expected] of GOOD) assert.deepEqual(parseArgs(argv), expected, argv.join(" "));
});

Deno.test("cli: later flags win, as with most tools", () => {
  assert.deepEqual(parseArgs([...RUN, "--role", "active", "--role", "standby"]), {
    cmd: "run",
    config: "tandem.yaml",
    overrides: { role: "standby" },
  });
});

Deno.test("cli: USAGE shows every command of the design", () => {
  for (
    const part of [
      "tandem run --config",
      "tandem lab up|down|demo",
      "tandem lab demo [--mode M] [--crash a|b]",
      "tandem status",
      "tandem backend drain|enable|maintenance SERVICE ADDR [--api ADDR] [--token-file FILE]",
      "tandem maintenance on|off [--api ADDR] [--token-file FILE]",
      "tandem reload [--api ADDR] [--token-file FILE]",
      "TANDEM_TOKEN_FILE",
      "version",
    ]
  ) {
    assert.ok(USAGE.includes(part), part);
  }
});
