/**
 * The command line (DESIGN.md "Command line"): `parseArgs` turns `Deno.args` into a `Command`
 * or a one-line `UsageError`; `runCli` wraps the program so bad flags and bad configs exit 2
 * with one message and no stack trace, and other failures exit 1.
 * @module
 */

export {
  type Command,
  DEFAULT_MODE,
  DEFAULT_PREFIX,
  type LabAction,
  type LabHelperAction,
  type LabUnitAction,
  parseArgs,
  PREFIX_PATTERN,
  USAGE,
  UsageError,
} from "./args.ts";
export {
  type CliIo,
  describeFailure,
  EXIT_FAILURE,
  EXIT_USAGE,
  type Failure,
  runCli,
} from "./exit.ts";
