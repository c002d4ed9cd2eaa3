/**
 * The port interface the engine's runtime reads and writes whole Ethernet
 * frames through (after gVisor's link endpoints): TAP, memory, fault and
 * capture ports all implement it.
 * @module
 */

/** A source and sink of whole Ethernet frames. Calls never block. */
export interface FramePort {
  /** Device or test name, used in errors and counters. */
  readonly name: string;
  /** File descriptor to poll for readability; -1 for in-memory ports. */
  readonly fd: number;
  /**
   * When true, every frame read or written is preceded by a 10-byte
   * virtio_net_hdr (TAP offload metadata). Absent means false.
   */
  readonly vnet?: boolean;
  /** Reads one frame into buf; returns its length, or 0 when nothing is waiting (EAGAIN). */
  recv(buf: Uint8Array): number;
  /**
   * Writes one frame, `frame[0, len)` (default: all of it), so a caller can send from the
   * start of a reused buffer without making a view per frame. Returns false when the device
   * queue is full (EAGAIN): the caller counts a drop.
   */
  send(frame: Uint8Array, len?: number): boolean;
  /** Releases the device. Further recv/send calls throw. */
  close(): void;
}
