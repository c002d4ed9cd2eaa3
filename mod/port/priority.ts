/**
 * Scheduling priority of the unit. A heartbeat that waits behind other
 * processes for the CPU looks exactly like a dead peer (DESIGN.md: "no false
 * failover at 100% CPU"), so the unit asks for real-time round-robin
 * scheduling at a low real-time priority, as keepalived (`vrrp_rt_priority`)
 * and conntrackd (`Scheduler { Type RR }`) do, and falls back to a better nice
 * value. The kernel's real-time throttling (sched_rt_runtime_us) still leaves
 * other processes their share if the unit ever spins.
 * @module
 */
import { libc } from "./ffi.ts";
import { lastErrno } from "./errors.ts";

const PRIO_PROCESS = 0;
const SCHED_RR = 2;

function threadIds(): number[] {
  try {
    return [...Deno.readDirSync("/proc/self/task")].map((e) => Number(e.name));
  } catch {
    return [0]; // no /proc: the calling thread only
  }
}

/** True when this process already runs under SCHED_FIFO or SCHED_RR (e.g. set by systemd). */
export function isRealtime(): boolean {
  try {
    const policy = Deno.readTextFileSync("/proc/self/stat").split(") ")[1]!.split(" ")[38];
    return policy === "1" || policy === "2";
  } catch {
    return false;
  }
}

/**
 * Puts every thread of this process under SCHED_RR at `priority` (1..99).
 * Returns 0 or the first errno (EPERM without CAP_SYS_NICE); never throws.
 */
export function setRealtime(priority: number): number {
  const param = new Uint8Array(4);
  new DataView(param.buffer).setInt32(0, Math.max(1, Math.min(99, Math.trunc(priority))), true);
  let err = 0;
  for (const tid of threadIds()) {
    if (libc().sched_setscheduler(tid, SCHED_RR, param) !== 0 && err === 0) err = lastErrno();
  }
  return err;
}

/**
 * Sets the nice value (-20..19) of every thread of this process: on Linux
 * nice is per thread, and Deno's runtime threads exist before we run.
 * Returns 0 on success or the first errno (EACCES/EPERM without
 * CAP_SYS_NICE): best effort, never throws.
 */
export function setNice(nice: number): number {
  const value = Math.max(-20, Math.min(19, Math.trunc(nice)));
  let err = 0;
  for (const tid of threadIds()) {
    if (libc().setpriority(PRIO_PROCESS, tid, value) !== 0 && err === 0) err = lastErrno();
  }
  return err;
}

/**
 * Puts only the calling thread under SCHED_RR at `priority`: for a thread that
 * does a few microseconds of work on a timer (the heartbeat) and must not wait
 * behind anything. Returns 0 or the errno; never throws.
 */
export function setThreadRealtime(priority: number): number {
  const param = new Uint8Array(4);
  new DataView(param.buffer).setInt32(0, Math.max(1, Math.min(99, Math.trunc(priority))), true);
  return libc().sched_setscheduler(0, SCHED_RR, param) === 0 ? 0 : lastErrno();
}
