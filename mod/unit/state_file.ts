/**
 * State of the unit that must survive a restart (unit maintenance), in `state_dir`. Written
 * atomically: a temporary file in the same directory, fsynced, then renamed over the old one
 * (rename(2) is atomic within a file system), so a crash leaves the old state or the new one,
 * never half of either.
 * @module
 */

/** What survives a restart. */
export interface PersistentState {
  maintenance: boolean;
}

const FILE = "state.json";

/** The saved state, or the defaults when there is none (a first boot) or it is unreadable. */
export function loadState(dir: string): { state: PersistentState; error?: string } {
  try {
    const raw = JSON.parse(Deno.readTextFileSync(`${dir}/${FILE}`)) as unknown;
    const m = (raw as { maintenance?: unknown } | null)?.maintenance;
    return { state: { maintenance: m === true } };
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { state: { maintenance: false } };
    return { state: { maintenance: false }, error: `${dir}/${FILE}: ${(e as Error).message}` };
  }
}

/** Saves `state` atomically; throws on failure (the caller refuses the change). */
export function saveState(dir: string, state: PersistentState): void {
  Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = `${dir}/.${FILE}.${Deno.pid}.tmp`;
  const f = Deno.openSync(tmp, { write: true, create: true, truncate: true, mode: 0o600 });
  try {
    f.writeSync(new TextEncoder().encode(JSON.stringify(state) + "\n"));
    f.syncSync();
  } finally {
    f.close();
  }
  Deno.renameSync(tmp, `${dir}/${FILE}`);
}
