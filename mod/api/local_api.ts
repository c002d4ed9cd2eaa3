/**
 * How `tandem backend|maintenance|reload` finds the API token on the appliance itself: a unit
 * with a token records where its token file is, under `/run/tandem/`, keyed by its network
 * namespace and API port (two lab units both listen on 127.0.0.1:9090, each in its own
 * namespace). Root on the box then needs no flag, as with `ipvsadm` or `keepalived`'s own
 * tools; the file names the token file, it does not copy the token, and only root reads it.
 * `--token-file` and `$TANDEM_TOKEN_FILE` still come first.
 * @module
 */

/** Where units record their API (created mode 0700). */
export const LOCAL_API_DIR = "/run/tandem";

/** This process's network namespace (`net:[4026531840]` → `4026531840`), or "host". */
export function netnsId(readLink: (p: string) => string = Deno.readLinkSync): string {
  try {
    return /\[(\d+)\]/.exec(readLink("/proc/self/ns/net"))?.[1] ?? "host";
  } catch {
    return "host";
  }
}

/** The record's path for the API at `api` (`address:port`) in this namespace. */
export function localApiPath(api: string, dir = LOCAL_API_DIR, ns = netnsId()): string {
  const port = api.slice(api.lastIndexOf(":") + 1);
  return `${dir}/api-${ns}-${port}.json`;
}

export interface LocalApiRecord {
  api: string;
  tokenFile: string;
  pid: number;
}

/**
 * Records this unit's API and token file; returns the function that removes the record (at
 * exit). A record that cannot be written only costs the convenience: the caller logs it.
 */
export function recordLocalApi(
  api: string,
  tokenFile: string,
  dir = LOCAL_API_DIR,
): { remove: () => void } {
  Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = localApiPath(api, dir);
  const rec: LocalApiRecord = { api, tokenFile, pid: Deno.pid };
  const tmp = `${path}.${Deno.pid}.tmp`;
  Deno.writeTextFileSync(tmp, JSON.stringify(rec) + "\n", { mode: 0o600 });
  Deno.renameSync(tmp, path);
  return {
    remove: () => {
      try {
        const now = JSON.parse(Deno.readTextFileSync(path)) as LocalApiRecord;
        // Only our own record: a newer unit may have taken the port since.
        if (now.pid === Deno.pid) Deno.removeSync(path);
        // The folder too once empty, so a stopped box keeps nothing of ours in /run.
        Deno.removeSync(dir);
      } catch { /* already gone, or other units' records remain */ }
    },
  };
}

/** The token file a running unit recorded for `api` in this namespace, or undefined. */
export function localTokenFile(
  api: string,
  dir = LOCAL_API_DIR,
  alive: (pid: number) => boolean = pidAlive,
): string | undefined {
  try {
    const rec = JSON.parse(Deno.readTextFileSync(localApiPath(api, dir))) as LocalApiRecord;
    if (typeof rec.tokenFile !== "string" || typeof rec.pid !== "number") return undefined;
    return alive(rec.pid) ? rec.tokenFile : undefined;
  } catch {
    return undefined;
  }
}

function pidAlive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}
