/**
 * errno mapped to one error type, {@link OsError}, whose `cause` describes the
 * errno, plus {@link lastErrno} to read errno after a synchronous libc call.
 * @module
 */

import { errnoNow, libc } from "./ffi.ts";

/** errno values used by the ports (Linux numbering, identical on x86-64 and AArch64). */
export const ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  EINTR: 4,
  EIO: 5,
  ENXIO: 6,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  ENODEV: 19,
  EINVAL: 22,
  ENFILE: 23,
  EMFILE: 24,
  ENOTTY: 25,
  ENOSPC: 28,
  EPIPE: 32,
  EMSGSIZE: 90,
  ENOPROTOOPT: 92,
  EOPNOTSUPP: 95,
  EAFNOSUPPORT: 97,
  EADDRINUSE: 98,
  EADDRNOTAVAIL: 99,
  ENETDOWN: 100,
  ENETUNREACH: 101,
  ECONNRESET: 104,
  ENOBUFS: 105,
  ETIMEDOUT: 110,
  ECONNREFUSED: 111,
  EHOSTDOWN: 112,
  EHOSTUNREACH: 113,
} as const;

/** One of the errno names this module knows. */
export type ErrnoName = keyof typeof ERRNO;

const DESCRIPTIONS: Record<ErrnoName, string> = {
  EPERM: "operation not permitted",
  ENOENT: "no such file or directory",
  EINTR: "interrupted by a signal",
  EIO: "input/output error",
  ENXIO: "no such device or address",
  EBADF: "bad file descriptor",
  EAGAIN: "resource temporarily unavailable",
  ENOMEM: "out of memory",
  EACCES: "permission denied",
  EFAULT: "bad address",
  EBUSY: "device or resource busy",
  EEXIST: "already exists",
  ENODEV: "no such device",
  EINVAL: "invalid argument",
  ENFILE: "too many open files in the system",
  EMFILE: "too many open files in this process",
  ENOTTY: "inappropriate ioctl for device",
  ENOSPC: "no space left on device",
  EPIPE: "broken pipe",
  EMSGSIZE: "message too long",
  ENOPROTOOPT: "protocol option not available",
  EOPNOTSUPP: "operation not supported",
  EAFNOSUPPORT: "address family not supported",
  EADDRINUSE: "address already in use",
  EADDRNOTAVAIL: "address not available",
  ENETDOWN: "network is down",
  ENETUNREACH: "network unreachable",
  ECONNRESET: "connection reset by peer",
  ENOBUFS: "no buffer space available",
  ETIMEDOUT: "timed out",
  ECONNREFUSED: "connection refused",
  EHOSTDOWN: "host is down",
  EHOSTUNREACH: "no route to host",
};

const NAMES = new Map<number, ErrnoName>(
  (Object.entries(ERRNO) as [ErrnoName, number][]).map(([name, value]) => [value, name]),
);

/** Symbolic name of an errno value, `"EUNKNOWN"` when it is not in the table. */
export function errnoName(errno: number): string {
  return NAMES.get(errno) ?? "EUNKNOWN";
}

/** Human-readable text for an errno value. */
export function errnoDescription(errno: number): string {
  const name = NAMES.get(errno);
  return name === undefined ? `errno ${errno}` : DESCRIPTIONS[name];
}

/** What an {@link OsError}'s `cause` holds. */
export interface ErrnoCause {
  errno: number;
  code: string;
  description: string;
}

/** A failed system call: `read(tnd-front): EIO (5)`. */
export class OsError extends Error {
  override name = "OsError";
  /** The errno value the call left behind. */
  readonly errno: number;
  /** The libc function that failed. */
  readonly syscall: string;
  /** Symbolic errno name, e.g. `"EADDRINUSE"`. */
  readonly code: string;

  /**
   * @param syscall the libc function, e.g. `"read"`
   * @param errno errno after the call
   * @param subject what it acted on (device name, path, address)
   * @param hint an optional remedy appended to the message
   */
  constructor(syscall: string, errno: number, subject = "", hint?: string) {
    const code = errnoName(errno);
    const cause: ErrnoCause = { errno, code, description: errnoDescription(errno) };
    super(`${syscall}(${subject}): ${code} (${errno})${hint ? ` — ${hint}` : ""}`, { cause });
    this.errno = errno;
    this.syscall = syscall;
    this.code = code;
  }
}

/**
 * errno of the JS thread, read through `__errno_location` (its address fetched when libc was
 * opened). Valid only right after a synchronous libc call that failed: errno is thread-local,
 * and a `nonblocking: true` call sets it on a worker thread we cannot see.
 */
export function lastErrno(): number {
  libc();
  return errnoNow();
}

/** Builds an {@link OsError} from the current errno. */
export function osError(syscall: string, subject = "", hint?: string): OsError {
  return new OsError(syscall, lastErrno(), subject, hint);
}
