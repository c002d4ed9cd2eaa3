/**
 * Scheduling priority of the unit. A heartbeat that waits behind other
 * processes for the CPU looks exactly like a dead peer, so the unit asks for a
 * better nice value at start (DESIGN.md: "no false failover at 100% CPU");
 * keepalived raises its own priority for the same reason.
 * @module
 */
import { libc } from "./ffi.ts";
import { lastErrno } from "./errors.ts";

const PRIO_PROCESS = 0;

/**
 * Sets the nice value (-20..19) of every thread of this process: on Linux
 * nice is per thread, and Deno's runtime threads exist before we run.
 * Returns 0 on success or the first errno (EACCES/EPERM without
 * CAP_SYS_NICE): best effort, never throws.
 */
export function setNice(nice: number): number {
  const value = Math.max(-20, Math.min(19, Math.trunc(nice)));
  let tids: number[] = [0];
  try {
    tids = [...Deno.readDirSync("/proc/self/task")].map((e) => Number(e.name));
  } catch { /* no /proc: the calling thread only */ }
  let err = 0;
  for (const tid of tids) {
    if (libc().setpriority(PRIO_PROCESS, tid, value) !== 0 && err === 0) err = lastErrno();
  }
  return err;
}
