/**
 * The notify script: `script STATE REASON` on every state change of the unit, strictly in
 * order, exactly once each, never two at once, and never on the data-plane loop's time: a
 * serial queue of child processes. keepalived's notify scripts, run concurrently, could finish
 * out of order (a `backup` after the `master` that followed it); its notify FIFO fixed the order
 * by serialising. Here a slow script delays the notifications after it, not the loop; a script
 * that fails or outlives `timeoutMs` is counted and logged, and the next one runs.
 * @module
 */

/** Runs one notification; resolves with the exit code (or rejects when it cannot start). */
export type NotifyRunner = (script: string, args: string[], timeoutMs: number) => Promise<number>;

/** A child process per notification; one outliving `timeoutMs` is killed (by its own pid). */
export const spawnRunner: NotifyRunner = async (script, args, timeoutMs) => {
  const child = new Deno.Command(script, {
    args,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
  }, timeoutMs);
  try {
    const st = await child.status;
    // Killed by a signal (the timeout, say): not a success whatever `code` says.
    return st.success ? 0 : st.code || 1;
  } finally {
    clearTimeout(timer);
  }
};

/** How long one notification may run before it is killed and counted as failed. */
export const NOTIFY_TIMEOUT_MS = 60_000;

export class Notifier {
  readonly script: string;
  readonly #run: NotifyRunner;
  readonly #log: (line: string) => void;
  readonly #timeoutMs: number;
  readonly #queue: string[][] = [];
  #busy = false;
  #running = false;
  /** Notifications run (each once) and those that failed (non-zero exit, timeout, no start). */
  sent = 0;
  failed = 0;
  /** Resolves when the queue is empty (tests, shutdown). */
  #idle: Promise<void> = Promise.resolve();
  #wake: () => void = () => {};

  constructor(
    script: string,
    log: (line: string) => void,
    run: NotifyRunner = spawnRunner,
    timeoutMs = NOTIFY_TIMEOUT_MS,
  ) {
    this.script = script;
    this.#log = log;
    this.#run = run;
    this.#timeoutMs = timeoutMs;
  }

  /** Notifications waiting, the running one included. */
  get pending(): number {
    return this.#queue.length + (this.#running ? 1 : 0);
  }

  /** Queues `script state reason`; returns at once. */
  push(state: string, reason: string): void {
    this.#queue.push([state, reason]);
    if (this.#busy) return;
    this.#busy = true;
    this.#idle = new Promise((r) => this.#wake = r);
    // Started from a timer, not here: the loop finishes its turn before the fork.
    setTimeout(() => void this.#drain(), 0);
  }

  /** Resolves once every queued notification has run. */
  idle(): Promise<void> {
    return this.#idle;
  }

  async #drain(): Promise<void> {
    for (let args = this.#queue.shift(); args !== undefined; args = this.#queue.shift()) {
      let code: number;
      this.#running = true;
      try {
        code = await this.#run(this.script, args, this.#timeoutMs);
      } catch (e) {
        this.#running = false;
        this.failed++;
        this.sent++;
        this.#log(
          `notify ${args.join(" ")}: could not run ${this.script}: ${(e as Error).message}`,
        );
        continue;
      }
      this.#running = false;
      this.sent++;
      if (code !== 0) {
        this.failed++;
        this.#log(`notify ${args.join(" ")}: ${this.script} exited ${code}`);
      }
    }
    this.#busy = false;
    this.#wake();
  }
}
