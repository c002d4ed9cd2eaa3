/**
 * The one FFI symbol table of the project (libc over `Deno.dlopen`).
 *
 * Every other file reaches the OS through {@link libc}. Parameters that carry
 * memory are `"buffer"` so a `Uint8Array` passes by pointer without a copy.
 *
 * `ssize_t` results (read, write, sendto, recvfrom) are declared `"i32"` on
 * purpose: Deno returns 64-bit results as `bigint`, which costs an allocation
 * per call on the hot path. On LP64 (x86-64 SysV, AArch64 AAPCS64) the value
 * comes back in a 64-bit register whose low 32 bits are exact for -1 and for
 * any length below 2^31, and our buffers are far smaller than that.
 *
 * 64-bit parameters (`size_t`, `nfds_t`, the ioctl request) are `bigint`.
 * Pass `BigInt(n)`: measured on Deno 2.9, a plain number there drops the call
 * to the slow path (~1.5x the cost per call); a bigint keeps the fast one.
 *
 * Only synchronous symbols may be followed by {@link lastErrno}: errno is
 * thread-local and `nonblocking: true` calls run on another thread.
 * @module
 */

/** libc symbols used by the ports. */
export const LIBC = {
  /** int open(const char *path, int flags) — path must be NUL-terminated. */
  open: { parameters: ["buffer", "i32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  /** ioctl is variadic; every request we make passes one pointer argument. */
  ioctl: { parameters: ["i32", "u64", "buffer"], result: "i32" },
  /** The same ioctl for requests whose argument is a value, not a pointer (TUNSETOFFLOAD). */
  ioctl_value: { name: "ioctl", parameters: ["i32", "u64", "u64"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "i32" },
  write: { parameters: ["i32", "buffer", "usize"], result: "i32" },
  /** int poll(struct pollfd *fds, nfds_t nfds, int timeout) on the calling thread. */
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32" },
  /** The same poll(2), run off the JS thread so the event loop keeps turning while it waits. */
  poll_wait: {
    name: "poll",
    parameters: ["buffer", "u64", "i32"],
    result: "i32",
    nonblocking: true,
  },
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  sendto: {
    parameters: ["i32", "buffer", "usize", "i32", "buffer", "u32"],
    result: "i32",
  },
  /** int sendmmsg(int fd, struct mmsghdr *vec, unsigned vlen, int flags): many datagrams, one call. */
  sendmmsg: { parameters: ["i32", "buffer", "u32", "i32"], result: "i32" },
  recvfrom: {
    parameters: ["i32", "buffer", "usize", "i32", "buffer", "buffer"],
    result: "i32",
  },
  /** int setpriority(int which, id_t who, int prio): the unit raises its own priority. */
  setpriority: { parameters: ["i32", "u32", "i32"], result: "i32" },
  /** int sched_setscheduler(pid_t tid, int policy, const struct sched_param *param). */
  sched_setscheduler: { parameters: ["i32", "i32", "buffer"], result: "i32" },
  /** Address of the calling thread's errno. */
  __errno_location: { parameters: [], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

/** The opened library type. */
export type Libc = Deno.DynamicLibrary<typeof LIBC>["symbols"];

let opened: Deno.DynamicLibrary<typeof LIBC> | undefined;

/**
 * Opens libc on first use and returns its symbols. Lazy so that importing a
 * module never needs `--allow-ffi` unless a real port is opened.
 */
export function libc(): Libc {
  if (opened === undefined) {
    opened = Deno.dlopen("libc.so.6", LIBC);
    // errno's address (per thread, stable for its life) is fetched once, here: the first call
    // of a symbol may run the runtime's own code, which must never come between a failing
    // call and the read of its errno (`errors.ts`).
    const at = opened.symbols.__errno_location();
    errnoView = at === null ? undefined : new Deno.UnsafePointerView(at);
  }
  return opened.symbols;
}

let errnoView: Deno.UnsafePointerView | undefined;

/** The calling thread's errno now (0 if its address is unknown). */
export function errnoNow(): number {
  return errnoView === undefined ? 0 : errnoView.getInt32();
}

/**
 * libcrypto (OpenSSL 3) symbols: the peer link's batch tag, ChaCha20-Poly1305 (RFC 8439) over
 * the batch as additional data, through one reused cipher context. node:crypto creates a cipher
 * object per call; its one-shot hash (the link's old HMAC) returned a new buffer per call, about
 * 12 000 a second on a busy link, whose memory went back to malloc in bursts after a GC: the loop
 * stood still for 100–480 ms in free() and malloc_consolidate (seen with perf).
 */
export const LIBCRYPTO = {
  /** const EVP_CIPHER *EVP_chacha20_poly1305(void): a static cipher description. */
  EVP_chacha20_poly1305: { parameters: [], result: "pointer" },
  /** EVP_CIPHER_CTX *EVP_CIPHER_CTX_new(void): NULL on failure. */
  EVP_CIPHER_CTX_new: { parameters: [], result: "pointer" },
  /** void EVP_CIPHER_CTX_free(EVP_CIPHER_CTX *ctx). */
  EVP_CIPHER_CTX_free: { parameters: ["pointer"], result: "void" },
  /**
   * int EVP_EncryptInit_ex(ctx, const EVP_CIPHER *type, ENGINE *impl, const unsigned char *key,
   * const unsigned char *iv): 1 on success. NULL arguments keep what the context has.
   */
  EVP_EncryptInit_ex: {
    parameters: ["pointer", "pointer", "pointer", "buffer", "buffer"],
    result: "i32",
  },
  /** int EVP_EncryptUpdate(ctx, unsigned char *out, int *outl, const unsigned char *in, int inl). */
  EVP_EncryptUpdate: {
    parameters: ["pointer", "buffer", "buffer", "buffer", "i32"],
    result: "i32",
  },
  /** int EVP_EncryptFinal_ex(ctx, unsigned char *out, int *outl). */
  EVP_EncryptFinal_ex: { parameters: ["pointer", "buffer", "buffer"], result: "i32" },
  /** int EVP_CIPHER_CTX_ctrl(ctx, int type, int arg, void *ptr): the AEAD tag is read here. */
  EVP_CIPHER_CTX_ctrl: { parameters: ["pointer", "i32", "i32", "buffer"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

/** The opened libcrypto's symbols. */
export type Libcrypto = Deno.DynamicLibrary<typeof LIBCRYPTO>["symbols"];

let crypto: Deno.DynamicLibrary<typeof LIBCRYPTO> | null | undefined;

/**
 * Opens libcrypto on first use; null when it is missing (no OpenSSL 3 on the host) or FFI is
 * not allowed, and the caller falls back to node:crypto.
 */
export function libcrypto(): Libcrypto | null {
  if (crypto === undefined) {
    try {
      crypto = Deno.dlopen("libcrypto.so.3", LIBCRYPTO);
    } catch {
      crypto = null;
    }
  }
  return crypto?.symbols ?? null;
}

/** Encodes a string as a NUL-terminated C string. */
export function cString(text: string): Uint8Array {
  const bytes = new TextEncoder().encode(text);
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}
