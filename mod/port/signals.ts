/**
 * Orderly shutdown on SIGINT and SIGTERM. The OS listeners are installed once,
 * while at least one handler is registered, and removed with the last one so
 * they never keep a finished program alive or swallow a signal nobody handles.
 * @module
 */

/** A shutdown step; may be async. */
export type ShutdownHandler = () => void | Promise<void>;

const SIGNALS = ["SIGINT", "SIGTERM"] as const;
type ShutdownSignal = typeof SIGNALS[number];
/** Conventional exit status for death by signal: 128 + signal number. */
const EXIT_STATUS: Record<ShutdownSignal, number> = { SIGINT: 130, SIGTERM: 143 };

/** Entries rather than a Set of functions, so one function may be registered twice. */
const handlers: { fn: ShutdownHandler }[] = [];
const listeners = new Map<ShutdownSignal, () => void>();
let running = false;

async function runHandlers(): Promise<void> {
  running = true;
  try {
    for (const entry of [...handlers]) {
      try {
        await entry.fn();
      } catch (err) {
        // One failing step must not skip the others (e.g. removing namespaces).
        console.error(`shutdown handler failed: ${err instanceof Error ? err.message : err}`);
      }
    }
  } finally {
    running = false;
  }
}

function install(): void {
  for (const signal of SIGNALS) {
    const listener = (): void => {
      // A second signal while shutdown is still running: the operator insists.
      if (running) Deno.exit(EXIT_STATUS[signal]);
      void runHandlers();
    };
    listeners.set(signal, listener);
    Deno.addSignalListener(signal, listener);
  }
}

function uninstall(): void {
  for (const [signal, listener] of listeners) Deno.removeSignalListener(signal, listener);
  listeners.clear();
}

/**
 * Runs fn (after the handlers registered before it, one at a time) when the
 * process gets SIGINT or SIGTERM. A second signal during shutdown exits at
 * once with 128 + signo. Returns a function that unregisters fn.
 */
export function onShutdown(fn: ShutdownHandler): () => void {
  const entry = { fn };
  if (handlers.length === 0) install();
  handlers.push(entry);
  return (): void => {
    const i = handlers.indexOf(entry);
    if (i < 0) return;
    handlers.splice(i, 1);
    if (handlers.length === 0) uninstall();
  };
}
