/**
 * Linux TAP device as a {@link FramePort}, over FFI (`/dev/net/tun`,
 * `TUNSETIFF`), read and written synchronously on a non-blocking fd.
 * See Documentation/networking/tuntap.rst in the Linux tree.
 * @module
 */

import { cString, libc } from "./ffi.ts";
import { ERRNO, lastErrno, OsError } from "./errors.ts";
import type { FramePort } from "./frame_port.ts";

const O_RDWR = 0x2;
const O_NONBLOCK = 0x800;
const O_CLOEXEC = 0x80000;
/** _IOW('T', 202, int) */
const TUNSETIFF = 0x400454can;
const IFF_TAP = 0x0002;
/** No 4-byte packet-information prefix: reads and writes are bare Ethernet frames. */
const IFF_NO_PI = 0x1000;
/** Each frame is preceded by a struct virtio_net_hdr (offload metadata). */
const IFF_VNET_HDR = 0x4000;
/** _IOW('T', 208, unsigned int): which offloads user space accepts. */
const TUNSETOFFLOAD = 0x400454d0n;
/** TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO_ECN (include/uapi/linux/if_tun.h). */
const TUN_OFFLOADS = 0x01n | 0x02n | 0x08n;
/** sizeof(struct virtio_net_hdr) without num_buffers: the kernel's default vnet header size. */
export const VNET_HDR_LEN = 10;
/** sizeof(struct ifreq) on Linux: 16-byte name + 24-byte union. */
const IFREQ_SIZE = 40;
/** IFNAMSIZ - 1: the name and its NUL must fit in 16 bytes. */
const MAX_NAME = 15;
/** Retries of a call interrupted by a signal before giving up for this round. */
const EINTR_RETRIES = 4;

/** Options for {@link openTap}. */
export interface TapOptions {
  /** Clone device path; tests point it elsewhere to exercise the error path. */
  devicePath?: string;
  /**
   * Exchange frames with a 10-byte virtio_net_hdr in front and accept
   * checksum and TCP segmentation offload: the kernel then hands over and
   * takes back GSO frames of up to 64 KiB (many TCP segments in one read or
   * write), the largest lever on throughput for a user-space data plane.
   */
  offload?: boolean;
}

/** An attached TAP device. */
export class TapPort implements FramePort {
  readonly name: string;
  /** Every read and write carries a virtio_net_hdr of {@link VNET_HDR_LEN} bytes first. */
  readonly vnet: boolean;
  #fd: number;

  constructor(name: string, fd: number, vnet = false) {
    this.name = name;
    this.#fd = fd;
    this.vnet = vnet;
  }

  get fd(): number {
    return this.#fd;
  }

  recv(buf: Uint8Array): number {
    const sym = libc();
    for (let attempt = 0;; attempt++) {
      const n = sym.read(this.#fd, buf, BigInt(buf.length));
      if (n >= 0) return n;
      const errno = lastErrno();
      if (errno === ERRNO.EAGAIN) return 0;
      if (errno === ERRNO.EINTR && attempt < EINTR_RETRIES) continue;
      if (errno === ERRNO.EINTR) return 0;
      throw new OsError("read", errno, this.name);
    }
  }

  send(frame: Uint8Array, len: number = frame.length): boolean {
    const sym = libc();
    for (let attempt = 0;; attempt++) {
      const n = sym.write(this.#fd, frame, BigInt(len));
      if (n >= 0) return true;
      const errno = lastErrno();
      // EIO: the kernel refuses writes while the interface is administratively
      // down (tun_get_user). A link flap is a drop to count, not a crash.
      if (errno === ERRNO.EAGAIN || errno === ERRNO.EIO) return false;
      if (errno === ERRNO.EINTR && attempt < EINTR_RETRIES) continue;
      if (errno === ERRNO.EINTR) return false;
      throw new OsError("write", errno, this.name);
    }
  }

  close(): void {
    if (this.#fd < 0) return;
    libc().close(this.#fd);
    this.#fd = -1;
  }
}

/**
 * Attaches to the TAP device `name`, creating it when it does not exist. A
 * persistent device (`ip tuntap add dev X mode tap`) is attached as is and
 * survives close(); one created here disappears when the port closes.
 *
 * @throws RangeError when the name cannot be an interface name
 * @throws OsError when the clone device is missing, access is denied, or the
 *   existing device has different flags (multi_queue, vnet_hdr, tun mode)
 */
export function openTap(name: string, options: TapOptions = {}): TapPort {
  const nameBytes = new TextEncoder().encode(name);
  if (nameBytes.length === 0 || nameBytes.length > MAX_NAME || /[\s/:\0]/.test(name)) {
    throw new RangeError(
      `TAP name ${JSON.stringify(name)}: 1 to ${MAX_NAME} bytes, no / : or space`,
    );
  }
  const path = options.devicePath ?? "/dev/net/tun";
  const sym = libc();
  const fd = sym.open(cString(path), O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    const errno = lastErrno();
    const hint = errno === ERRNO.ENOENT
      ? "the tun driver is missing: modprobe tun, or give the container /dev/net/tun"
      : errno === ERRNO.EACCES || errno === ERRNO.EPERM
      ? "run as root or grant CAP_NET_ADMIN"
      : undefined;
    throw new OsError("open", errno, path, hint);
  }
  const ifr = new Uint8Array(IFREQ_SIZE);
  ifr.set(nameBytes);
  const flags = IFF_TAP | IFF_NO_PI | (options.offload ? IFF_VNET_HDR : 0);
  new DataView(ifr.buffer).setUint16(16, flags, true);
  if (sym.ioctl(fd, TUNSETIFF, ifr) < 0) {
    const errno = lastErrno();
    sym.close(fd);
    const hint = errno === ERRNO.EPERM
      ? "needs CAP_NET_ADMIN, or be the owner of the persistent device"
      : errno === ERRNO.EINVAL
      ? "an existing device of that name is not a plain TAP (tun mode, multi_queue or vnet_hdr?)"
      : errno === ERRNO.EBUSY
      ? "another process is attached to this device"
      : undefined;
    throw new OsError("ioctl", errno, `${name}, TUNSETIFF`, hint);
  }
  if (options.offload && sym.ioctl_value(fd, TUNSETOFFLOAD, TUN_OFFLOADS) < 0) {
    const errno = lastErrno();
    sym.close(fd);
    throw new OsError("ioctl", errno, `${name}, TUNSETOFFLOAD`);
  }
  // The kernel writes back the final name (it expands patterns such as "tap%d").
  const end = ifr.indexOf(0);
  const actual = new TextDecoder().decode(ifr.subarray(0, end < 0 ? 16 : Math.min(end, 16)));
  return new TapPort(actual, fd, options.offload === true);
}
