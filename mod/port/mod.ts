/**
 * The I/O ports of the data plane: everything that touches the OS.
 *
 * - {@link openTap}: a Linux TAP device as a {@link FramePort} (FFI, non-blocking fd).
 * - {@link openUdp}: the peer link's UDP socket, sent and received synchronously.
 * - {@link Poller}: one off-thread poll(2) over all of them; the caller then
 *   drains each ready fd with synchronous calls until they return 0.
 * - {@link MemoryPort}, {@link FaultPort}, {@link CapturePort}: test and debug ports.
 * - {@link PcapWriter} / {@link readPcap}: classic pcap files.
 * - {@link onShutdown}: SIGINT/SIGTERM handling.
 *
 * Real ports need `--allow-ffi` (and root or CAP_NET_ADMIN for TAPs).
 *
 * @example
 * ```ts
 * import { openTap, Poller } from "./mod.ts";
 * const tap = openTap("tnd-front");
 * const poller = new Poller([tap.fd]);
 * const buf = new Uint8Array(2048);
 * if (await poller.wait(10)) {
 *   for (let n = tap.recv(buf); n > 0; n = tap.recv(buf)) {
 *     // handle buf.subarray(0, n)
 *   }
 * }
 * ```
 * @module
 */

export { cString, LIBC, libc } from "./ffi.ts";
export type { Libc } from "./ffi.ts";
export { ERRNO, errnoDescription, errnoName, lastErrno, OsError, osError } from "./errors.ts";
export type { ErrnoCause, ErrnoName } from "./errors.ts";
export type { FramePort } from "./frame_port.ts";
export { openTap, TapPort } from "./tap.ts";
export type { TapOptions } from "./tap.ts";
export { openUdp, UdpPort } from "./udp.ts";
export type { UdpOptions } from "./udp.ts";
export { clampTimeout, MAX_POLL_FDS, MAX_POLL_MS, Poller } from "./poller.ts";
export { MemoryPort } from "./memory.ts";
export type { MemoryPortOptions } from "./memory.ts";
export { FaultPort } from "./fault.ts";
export type { FaultOptions } from "./fault.ts";
export { CapturePort, LINKTYPE_ETHERNET, pcapLinkType, PcapWriter, readPcap } from "./pcap.ts";
export type { PcapRecord } from "./pcap.ts";
export { onShutdown } from "./signals.ts";
export type { ShutdownHandler } from "./signals.ts";
