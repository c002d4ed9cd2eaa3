/**
 * Sequence tracking: the last sequence state that left the pair in each direction of a TCP
 * flow (next sequence, acknowledgment, window, timestamps per RFC 7323). The receiver tracks
 * the frames it translates and the peer tracks the same frames as it applies their mirror
 * records, so both hold what a survivor needs to build its takeover probes.
 * @module
 */
import { TB_TS_ORIG, TB_TS_REPLY } from "../flow/states.ts";
import type { FlowTable } from "../flow/table.ts";
import { readU32, type TcpSegment, timestampsAt } from "../wire/mod.ts";

/** Records `seg` (already translated) as the latest of flow `f` in its direction. */
export function trackSeq(ft: FlowTable, f: number, reply: boolean, seg: TcpSegment): void {
  const c = ft.c;
  const next = (seg.seqNumber + seg.segmentLength) >>> 0;
  const ts = timestampsAt(seg);
  if (reply) {
    c.rSeqNext[f] = next;
    c.rAck[f] = seg.ackNumber;
    c.rWin[f] = seg.window;
    if (ts >= 0) {
      c.rTsVal[f] = readU32(seg.buf, ts);
      c.rTsEcr[f] = readU32(seg.buf, ts + 4);
      c.tcpBits[f]! |= TB_TS_REPLY;
    }
  } else {
    c.oSeqNext[f] = next;
    c.oAck[f] = seg.ackNumber;
    c.oWin[f] = seg.window;
    if (ts >= 0) {
      c.oTsVal[f] = readU32(seg.buf, ts);
      c.oTsEcr[f] = readU32(seg.buf, ts + 4);
      c.tcpBits[f]! |= TB_TS_ORIG;
    }
  }
}
