/**
 * How the process ends: bad input (flags, config) prints one line and exits 2 with no stack
 * trace (DESIGN.md "Command line"); anything else prints one line and exits 1, with the stack
 * only when `TANDEM_DEBUG=1`.
 * @module
 */

import { ConfigError } from "../config/load.ts";
import { UsageError } from "./args.ts";

/** Exit code for bad flags or a bad config. */
export const EXIT_USAGE = 2;
/** Exit code for any other failure. */
export const EXIT_FAILURE = 1;

/** What to print and which code to exit with for an error that reached the top. */
export interface Failure {
  code: number;
  /** Lines for stderr, each without a trailing newline. */
  lines: string[];
}

function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message === "" ? err.name : err.message;
  return String(err);
}

/** Maps an error to its exit code and stderr lines (pure, for tests and for {@link runCli}). */
export function describeFailure(err: unknown, debug: boolean): Failure {
  const message = messageOf(err);
  if (err instanceof UsageError || err instanceof ConfigError) {
    // Both are one line by construction; flatten anyway so the contract holds for any text.
    return { code: EXIT_USAGE, lines: [`tandem: ${message.replace(/\s*\n\s*/g, " ")}`] };
  }
  const lines = [`tandem: ${message.split("\n")[0] ?? message}`];
  if (debug && err instanceof Error && err.stack !== undefined) lines.push(err.stack);
  return { code: EXIT_FAILURE, lines };
}

/** What {@link runCli} needs from the process; replaceable for tests. */
export interface CliIo {
  exit: (code: number) => never;
  writeErr: (text: string) => void;
  debug: () => boolean;
}

const encoder = new TextEncoder();

const DENO_IO: CliIo = {
  exit: (code) => Deno.exit(code),
  writeErr: (text) => {
    const bytes = encoder.encode(text);
    let done = 0;
    while (done < bytes.length) done += Deno.stderr.writeSync(bytes.subarray(done));
  },
  debug: () => {
    try {
      return Deno.env.get("TANDEM_DEBUG") === "1";
    } catch {
      return false; // no --allow-env: no stack traces
    }
  },
};

/** Runs `main` and exits with its code, or reports what it threw (see the module doc). */
export async function runCli(
  main: () => Promise<number>,
  io: Partial<CliIo> = {},
): Promise<never> {
  const { exit, writeErr, debug } = { ...DENO_IO, ...io };
  let code: number;
  try {
    code = await main();
  } catch (err) {
    const failure = describeFailure(err, debug());
    writeErr(failure.lines.map((l) => `${l}\n`).join(""));
    code = failure.code;
  }
  return exit(code);
}
