/**
 * Helpers shared by this folder's tests (not exported from mod.ts).
 * @module
 */

/** True when running as root, which TAP tests need. */
export const isRoot: boolean = Deno.uid() === 0;

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Why TAP tests cannot run here, or undefined when they can. */
export const tapSkipReason: string | undefined = !isRoot
  ? "not root"
  : !exists("/dev/net/tun")
  ? "/dev/net/tun missing"
  : undefined;

/** Runs a command; throws with its stderr when it fails. */
export async function sh(...args: string[]): Promise<string> {
  const [cmd, ...rest] = args;
  if (cmd === undefined) throw new Error("sh: no command");
  const out = await new Deno.Command(cmd, { args: rest, stdout: "piped", stderr: "piped" })
    .output();
  if (!out.success) {
    throw new Error(`${args.join(" ")}: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
  return new TextDecoder().decode(out.stdout);
}

/** Runs a command and ignores failure (cleanup of things that may not exist). */
export async function shQuiet(...args: string[]): Promise<void> {
  try {
    await sh(...args);
  } catch {
    // Cleanup of something already gone.
  }
}

/** Dotted quad to u32. */
export function ip4(a: number, b: number, c: number, d: number): number {
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}
