import assert from "node:assert/strict";
import { ERRNO, errnoDescription, errnoName, lastErrno, OsError, osError } from "./errors.ts";
import { libc } from "./ffi.ts";

Deno.test("errnoName maps Linux errno numbers to names", () => {
  assert.equal(errnoName(11), "EAGAIN");
  assert.equal(errnoName(98), "EADDRINUSE");
  assert.equal(errnoName(2), "ENOENT");
  assert.equal(errnoName(ERRNO.EHOSTUNREACH), "EHOSTUNREACH");
  assert.equal(errnoName(4242), "EUNKNOWN");
  assert.equal(errnoDescription(13), "permission denied");
  assert.equal(errnoDescription(4242), "errno 4242");
});

Deno.test("OsError carries errno, syscall, code, message and a describing cause", () => {
  const err = new OsError("read", 11, "tnd-front");
  assert.ok(err instanceof Error);
  assert.equal(err.name, "OsError");
  assert.equal(err.message, "read(tnd-front): EAGAIN (11)");
  assert.equal(err.errno, 11);
  assert.equal(err.syscall, "read");
  assert.equal(err.code, "EAGAIN");
  assert.deepEqual(err.cause, {
    errno: 11,
    code: "EAGAIN",
    description: "resource temporarily unavailable",
  });
});

Deno.test("OsError appends a hint when given one", () => {
  const err = new OsError("open", 2, "/dev/net/tun", "modprobe tun");
  assert.equal(err.message, "open(/dev/net/tun): ENOENT (2) — modprobe tun");
});

Deno.test("lastErrno reads errno left by a failing synchronous libc call", () => {
  assert.equal(libc().close(-1), -1);
  assert.equal(lastErrno(), ERRNO.EBADF);
  // The next failure overwrites it, so the value is read fresh each time.
  assert.equal(libc().socket(12345, 2, 0), -1);
  assert.equal(lastErrno(), ERRNO.EAFNOSUPPORT);
  const err = osError("socket", "family 12345");
  assert.equal(err.code, "EAFNOSUPPORT");
  assert.equal(err.message, "socket(family 12345): EAFNOSUPPORT (97)");
});
