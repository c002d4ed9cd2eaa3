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

/** True when an executable named `name` is on PATH. */
export function hasCommand(name: string): boolean {
  return (Deno.env.get("PATH") ?? "").split(":").some((dir) => {
    if (dir === "") return false;
    try {
      const st = Deno.statSync(`${dir}/${name}`);
      return st.isFile && ((st.mode ?? 0o111) & 0o111) !== 0;
    } catch {
      return false;
    }
  });
}

/** Why TAP tests cannot run here, or undefined when they can (they configure devices with ip). */
export const tapSkipReason: string | undefined = !isRoot
  ? "not root"
  : !exists("/dev/net/tun")
  ? "/dev/net/tun missing"
  : !hasCommand("ip")
  ? "ip (iproute2) not on PATH"
  : undefined;

/**
 * Copies `entry` and every module it imports by a relative path, transitively, into `dir`,
 * each at its path relative to `root`; returns the copy of `entry`. A child process can then
 * run the very same code from a directory it may read (a checkout under a home directory with
 * mode 700 is closed to other users).
 */
export async function copyModuleTree(entry: URL, root: URL, dir: string): Promise<string> {
  const seen = new Set<string>();
  const spec = /(?:from\s+|import\s*\(?\s*)["'](\.\.?\/[^"']+)["']/g;
  const visit = async (url: URL): Promise<void> => {
    if (seen.has(url.href)) return;
    seen.add(url.href);
    if (!url.href.startsWith(root.href)) throw new Error(`${url.href} is outside ${root.href}`);
    const text = await Deno.readTextFile(url);
    const dest = `${dir}/${url.href.slice(root.href.length)}`;
    await Deno.mkdir(dest.slice(0, dest.lastIndexOf("/")), { recursive: true, mode: 0o755 });
    await Deno.writeTextFile(dest, text, { mode: 0o644 });
    for (const m of text.matchAll(spec)) await visit(new URL(m[1]!, url));
  };
  await visit(entry);
  return `${dir}/${entry.href.slice(root.href.length)}`;
}

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
