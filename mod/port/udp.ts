/**
 * The peer link's UDP socket over FFI, so it sits in the same poll(2) as the
 * TAP fds and each datagram is sent and received synchronously, without an
 * await (DESIGN.md: an awaited `Deno.listenDatagram` send did ~100k/s).
 * @module
 */

import { libc } from "./ffi.ts";
import { ERRNO, lastErrno, OsError } from "./errors.ts";

const AF_INET = 2;
const SOCK_DGRAM = 2;
const SOCK_NONBLOCK = 0x800;
const SOCK_CLOEXEC = 0x80000;
const SOL_SOCKET = 1;
const SO_REUSEADDR = 2;
const SO_SNDBUF = 7;
const SO_RCVBUF = 8;
/** Root (CAP_NET_ADMIN) may exceed net.core.{r,w}mem_max with the *FORCE variants. */
const SO_SNDBUFFORCE = 32;
const SO_RCVBUFFORCE = 33;
/** Datagrams per {@link UdpPort.sendBurst}. */
export const MAX_BURST = 64;
/** sizeof(struct mmsghdr) on LP64: a 56-byte msghdr, the u32 msg_len, padding. */
const MMSGHDR_SIZE = 64;
/** sizeof(struct sockaddr_in) */
const SOCKADDR_IN_SIZE = 16;
/** Socket buffers large enough to absorb a burst of mirror records between polls. */
const SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;
const EINTR_RETRIES = 4;

/**
 * sendto errors that mean "this datagram did not leave" rather than "the
 * socket is broken": full queue, no route while the peer link is down, or an
 * nftables/iptables drop on output (EPERM). The caller counts them as drops;
 * the heartbeat, not an exception, decides whether the peer is gone.
 */
const SEND_DROP_ERRNOS: ReadonlySet<number> = new Set([
  ERRNO.EAGAIN,
  ERRNO.ENOBUFS,
  ERRNO.ENETUNREACH,
  ERRNO.EHOSTUNREACH,
  ERRNO.ENETDOWN,
  ERRNO.EHOSTDOWN,
  ERRNO.EPERM,
  ERRNO.ECONNREFUSED,
  ERRNO.EADDRNOTAVAIL,
]);

/** Options for {@link openUdp}. */
export interface UdpOptions {
  /**
   * Set SO_REUSEADDR before bind. Off by default: on Linux two UDP sockets
   * that both set it may bind the same address and port, which would let a
   * second appliance process share the peer port silently.
   */
  reuseAddr?: boolean;
}

/** Writes a `struct sockaddr_in`: family in host order, port and address in network order. */
function fillSockaddr(view: DataView, ip: number, port: number): void {
  view.setUint16(0, AF_INET, true);
  view.setUint16(2, port, false);
  view.setUint32(4, ip >>> 0, false);
}

function formatAddr(ip: number, port: number): string {
  return `${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}:${port}`;
}

/** A bound, non-blocking IPv4 UDP socket. */
export class UdpPort {
  /** `ip:port` the socket is bound to, for messages. */
  readonly name: string;
  /** The bound port (the kernel's choice when 0 was asked for). */
  readonly localPort: number;
  /** Source address (u32) of the datagram last returned by {@link recvFrom}. */
  lastAddr = 0;
  /** Source port of the datagram last returned by {@link recvFrom}. */
  lastPort = 0;
  /** errno of the last sendTo that returned false, 0 before any. */
  lastSendErrno = 0;
  /**
   * Count a failed receive whose errno does not mean a misused socket (anything but EBADF,
   * EFAULT, EINVAL) instead of throwing it: the unit's peer sockets, which must not end the
   * unit over one datagram. Off by default: a probe wants ECONNREFUSED thrown.
   */
  countRecvErrors = false;
  /** Receives counted under {@link countRecvErrors}, and the last one's errno. */
  recvErrors = 0;
  lastRecvErrno = 0;
  #fd: number;
  readonly #to = new Uint8Array(SOCKADDR_IN_SIZE);
  readonly #toView = new DataView(this.#to.buffer);
  readonly #from = new Uint8Array(SOCKADDR_IN_SIZE);
  readonly #fromView = new DataView(this.#from.buffer);
  readonly #fromLen = new Uint32Array(1);
  readonly #fromLenBytes = new Uint8Array(this.#fromLen.buffer);

  constructor(fd: number, name: string, localPort: number) {
    this.#fd = fd;
    this.name = name;
    this.localPort = localPort;
  }

  get fd(): number {
    return this.#fd;
  }

  /**
   * Receives one datagram into buf (truncated to buf.length). Returns its
   * length, or 0 when none is waiting (or a failure was counted, see
   * {@link countRecvErrors}); an empty datagram also reads as 0. Other failures
   * throw OsError.
   */
  recvFrom(buf: Uint8Array): number {
    const sym = libc();
    for (let attempt = 0;; attempt++) {
      this.#fromLen[0] = SOCKADDR_IN_SIZE;
      const n = sym.recvfrom(this.#fd, buf, BigInt(buf.length), 0, this.#from, this.#fromLenBytes);
      if (n >= 0) {
        this.lastAddr = this.#fromView.getUint32(4, false);
        this.lastPort = this.#fromView.getUint16(2, false);
        return n;
      }
      const errno = lastErrno();
      if (errno === ERRNO.EAGAIN) return 0;
      if (errno === ERRNO.EINTR && attempt < EINTR_RETRIES) continue;
      if (errno === ERRNO.EINTR) return 0;
      // With `countRecvErrors`, only a socket we misuse is fatal; anything else (an ICMP
      // error reported as ECONNREFUSED, ENOMEM) loses this receive at most: counted.
      if (
        !this.countRecvErrors || errno === ERRNO.EBADF || errno === ERRNO.EFAULT ||
        errno === ERRNO.EINVAL
      ) {
        throw new OsError("recvfrom", errno, this.name);
      }
      this.recvErrors++;
      this.lastRecvErrno = errno;
      return 0;
    }
  }

  /**
   * Sends the first len bytes of buf to ip:port. Returns false when the
   * datagram was not sent (queue full, no route, filtered); the errno is in
   * {@link lastSendErrno}. Other failures throw OsError.
   */
  sendTo(buf: Uint8Array, len: number, ip: number, port: number): boolean {
    const sym = libc();
    fillSockaddr(this.#toView, ip, port);
    const size = BigInt(Math.max(0, Math.min(len, buf.length)));
    for (let attempt = 0;; attempt++) {
      const n = sym.sendto(this.#fd, buf, size, 0, this.#to, SOCKADDR_IN_SIZE);
      if (n >= 0) return true;
      const errno = lastErrno();
      if (errno === ERRNO.EINTR && attempt < EINTR_RETRIES) continue;
      if (errno === ERRNO.EINTR || SEND_DROP_ERRNOS.has(errno)) {
        this.lastSendErrno = errno;
        return false;
      }
      throw new OsError("sendto", errno, `${this.name} -> ${formatAddr(ip, port)}`);
    }
  }

  /**
   * Sends the first len bytes of buf to ip:port `count` times (at most {@link MAX_BURST}) with
   * one sendmmsg(2): a traffic generator's way to offer more datagrams per second than one
   * sendto per datagram can. Returns how many the kernel took (0 when the queue is full).
   */
  sendBurst(buf: Uint8Array, len: number, count: number, ip: number, port: number): number {
    const n = Math.max(0, Math.min(count, MAX_BURST));
    if (n === 0) return 0;
    const vec = this.#burst(buf, Math.max(0, Math.min(len, buf.length)), ip, port);
    for (let attempt = 0;; attempt++) {
      const sent = libc().sendmmsg(this.#fd, vec, n, 0);
      if (sent >= 0) return sent;
      const errno = lastErrno();
      if (errno === ERRNO.EINTR && attempt < EINTR_RETRIES) continue;
      if (errno === ERRNO.EINTR || SEND_DROP_ERRNOS.has(errno)) {
        this.lastSendErrno = errno;
        return 0;
      }
      throw new OsError("sendmmsg", errno, `${this.name} -> ${formatAddr(ip, port)}`);
    }
  }

  #burstVec: Uint8Array | null = null;
  #burstKey = "";
  /** Keeps the iovecs' and names' targets alive while the kernel reads them. */
  #burstKeep: Uint8Array[] = [];

  /** The mmsghdr array of a burst (x86-64/AArch64 LP64 layout), built once per target. */
  #burst(buf: Uint8Array, len: number, ip: number, port: number): Uint8Array {
    const key = `${ip}:${port}:${len}`;
    if (this.#burstVec !== null && this.#burstKey === key && this.#burstKeep[0] === buf) {
      return this.#burstVec;
    }
    const name = new Uint8Array(SOCKADDR_IN_SIZE);
    fillSockaddr(new DataView(name.buffer), ip, port);
    const iov = new BigUint64Array(2);
    iov[0] = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(buf)));
    iov[1] = BigInt(len);
    const iovBytes = new Uint8Array(iov.buffer);
    const vec = new Uint8Array(MMSGHDR_SIZE * MAX_BURST);
    const v = new DataView(vec.buffer);
    const namePtr = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(name)));
    const iovPtr = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(iovBytes)));
    for (let i = 0; i < MAX_BURST; i++) {
      const at = i * MMSGHDR_SIZE;
      // struct msghdr: name, namelen, iov, iovlen, control, controllen, flags; then msg_len.
      v.setBigUint64(at, namePtr, true);
      v.setUint32(at + 8, SOCKADDR_IN_SIZE, true);
      v.setBigUint64(at + 16, iovPtr, true);
      v.setBigUint64(at + 24, 1n, true);
    }
    this.#burstVec = vec;
    this.#burstKey = key;
    this.#burstKeep = [buf, name, iovBytes];
    return vec;
  }

  close(): void {
    if (this.#fd < 0) return;
    libc().close(this.#fd);
    this.#fd = -1;
  }
}

function setIntOption(fd: number, option: number, value: number): boolean {
  const v = new Int32Array([value]);
  return libc().setsockopt(fd, SOL_SOCKET, option, new Uint8Array(v.buffer), 4) === 0;
}

/**
 * Opens an AF_INET datagram socket bound to bindIp:port (ip as an unsigned
 * 32-bit number, 0 for any address; port 0 lets the kernel choose).
 * Send and receive buffers are raised to 4 MiB, best effort.
 *
 * @throws OsError when the socket cannot be created or bound (EADDRINUSE, …)
 */
export function openUdp(bindIp: number, port: number, options: UdpOptions = {}): UdpPort {
  const sym = libc();
  const name = formatAddr(bindIp, port);
  const fd = sym.socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw new OsError("socket", lastErrno(), name);
  try {
    if (options.reuseAddr && !setIntOption(fd, SO_REUSEADDR, 1)) {
      throw new OsError("setsockopt(SO_REUSEADDR)", lastErrno(), name);
    }
    // Best effort: FORCE needs CAP_NET_ADMIN; without it the plain option is
    // silently capped at net.core.{r,w}mem_max, which is still the best we can get.
    if (!setIntOption(fd, SO_RCVBUFFORCE, SOCKET_BUFFER_BYTES)) {
      setIntOption(fd, SO_RCVBUF, SOCKET_BUFFER_BYTES);
    }
    if (!setIntOption(fd, SO_SNDBUFFORCE, SOCKET_BUFFER_BYTES)) {
      setIntOption(fd, SO_SNDBUF, SOCKET_BUFFER_BYTES);
    }
    const addr = new Uint8Array(SOCKADDR_IN_SIZE);
    const view = new DataView(addr.buffer);
    fillSockaddr(view, bindIp, port);
    if (sym.bind(fd, addr, SOCKADDR_IN_SIZE) < 0) throw new OsError("bind", lastErrno(), name);
    const len = new Uint32Array([SOCKADDR_IN_SIZE]);
    if (sym.getsockname(fd, addr, new Uint8Array(len.buffer)) < 0) {
      throw new OsError("getsockname", lastErrno(), name);
    }
    const localPort = view.getUint16(2, false);
    return new UdpPort(fd, formatAddr(bindIp, localPort), localPort);
  } catch (err) {
    sym.close(fd);
    throw err;
  }
}
