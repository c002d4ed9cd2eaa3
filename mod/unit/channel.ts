/**
 * One direction-agnostic lane of the peer link: a UDP socket, a batch writer
 * and a batch reader with its own sequence space and replay window.
 *
 * The link has two lanes. Heartbeats, acks and switchover control travel on
 * the control lane, which is drained first; mirror records, bulk sync and
 * expiries on the data lane. A forwarder that falls behind the mirror stream
 * then never reads a heartbeat late: head-of-line blocking behind data is
 * what turns load into a false failover.
 * @module
 */
import { BatchReader, BatchWriter, type PeerRecordIn, type PeerRecordOut } from "../peer/mod.ts";
import type { UdpPort } from "../port/udp.ts";

export class PeerChannel {
  readonly udp: UdpPort;
  readonly writer: BatchWriter;
  readonly reader: BatchReader;
  readonly #ip: number;
  readonly #port: number;
  txFull = 0;
  wrongSource = 0;
  /** Called with each sealed batch before it is sent (the data lane keeps it for resending). */
  onSealed: ((seq: number, dg: Uint8Array) => void) | undefined;

  constructor(
    udp: UdpPort,
    key: Uint8Array,
    epoch: number,
    peerIp: number,
    peerPort: number,
    maxBytes?: number,
    buffer?: Uint8Array,
  ) {
    this.udp = udp;
    // One bad receive must not end the unit: counted (`peer_rx_errors`), the link goes on.
    udp.countRecvErrors = true;
    this.writer = new BatchWriter(key, epoch, maxBytes, buffer);
    this.reader = new BatchReader(key);
    this.#ip = peerIp;
    this.#port = peerPort;
  }

  /** Adds a record to the current batch, flushing first when it is full. */
  queue(rec: PeerRecordOut): void {
    if (!this.writer.add(rec)) {
      this.flush();
      this.writer.add(rec);
    }
  }

  flush(): void {
    if (this.writer.pending === 0) return;
    const dg = this.writer.seal();
    if (!dg) return;
    this.onSealed?.(this.writer.seq, dg);
    if (!this.udp.sendTo(dg, dg.length, this.#ip, this.#port)) this.txFull++;
  }

  /**
   * Reads up to `budget` datagrams and hands each authenticated record to
   * `onRecord`; returns how many datagrams were read.
   */
  drain(buf: Uint8Array, budget: number, onRecord: (rec: PeerRecordIn) => void): number {
    let n = 0;
    for (; n < budget; n++) {
      const len = this.udp.recvFrom(buf);
      if (len <= 0) break;
      if (this.udp.lastAddr !== this.#ip) {
        this.wrongSource++;
        continue;
      }
      this.reader.open(buf.subarray(0, len), onRecord);
    }
    return n;
  }
}
