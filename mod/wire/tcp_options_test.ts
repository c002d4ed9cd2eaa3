import assert from "node:assert/strict";
import { readU32 } from "./bytes.ts";
import { TcpRepr, TcpSegment } from "./tcp.ts";
import {
  findTcpOption,
  OPT_MSS,
  OPT_SACK,
  OPT_TIMESTAMPS,
  OPT_WSCALE,
  rewriteOptionU32,
  shiftSackBlocks,
  timestampsAt,
} from "./tcp_options.ts";

const SRC = 0xc6336402, DST = 0xcb007114;

function segment(options: number[]): TcpSegment {
  const repr: TcpRepr = {
    srcPort: 1,
    dstPort: 2,
    seqNumber: 3,
    ackNumber: 4,
    flags: 0x10,
    window: 5,
    urgent: 0,
    options: new Uint8Array(options),
    payload: new Uint8Array([9, 9, 9]),
  };
  const buf = new Uint8Array(TcpRepr.bufferLen(repr));
  TcpRepr.emit(repr, buf, SRC, DST);
  return new TcpSegment(buf);
}

Deno.test("findTcpOption walks NOPs and lengths, stops at EOL and at malformed lengths", () => {
  const s = segment([1, 2, 4, 5, 0xb4, 3, 3, 7, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 1, 1]);
  const o = s.optionsOff;
  assert.equal(findTcpOption(s.buf, o, s.payloadOff, OPT_MSS), o + 1);
  assert.equal(findTcpOption(s.buf, o, s.payloadOff, OPT_WSCALE), o + 5);
  assert.equal(findTcpOption(s.buf, o, s.payloadOff, OPT_TIMESTAMPS), o + 8);
  assert.equal(findTcpOption(s.buf, o, s.payloadOff, OPT_SACK), -1);
  assert.equal(timestampsAt(s), o + 10);
  assert.equal(readU32(s.buf, timestampsAt(s)), 1);
  assert.equal(readU32(s.buf, timestampsAt(s) + 4), 2);
  const eol = segment([0, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 1]);
  assert.equal(timestampsAt(eol), -1, "nothing after End of Option List");
  const bad = segment([2, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2]);
  assert.equal(timestampsAt(bad), -1, "a length below 2 ends the walk");
  const long = segment([8, 40, 0, 0]);
  assert.equal(timestampsAt(long), -1, "an option past the area ends the walk");
  const shortTs = segment([8, 6, 0, 0, 0, 1, 1, 1]);
  assert.equal(timestampsAt(shortTs), -1, "timestamps of the wrong length are ignored");
  const cut = segment([1, 1, 1, 2]);
  assert.equal(
    findTcpOption(cut.buf, cut.optionsOff, cut.payloadOff, OPT_SACK),
    -1,
    "kind at the last byte",
  );
});

Deno.test("shiftSackBlocks moves every edge, keeps the checksum, at any alignment", () => {
  for (const pad of [0, 1, 2, 3]) {
    const edges = [1000, 2000, 0x10, 0xfffffff0];
    const opt = [...Array(pad).fill(1), 5, 2 + edges.length * 4];
    for (const e of edges) opt.push(e >>> 24, (e >>> 16) & 255, (e >>> 8) & 255, e & 255);
    const s = segment(opt);
    assert.ok(s.verifyChecksum(SRC, DST));
    assert.equal(shiftSackBlocks(s, 0x20, true), 4, `pad ${pad}`);
    const at = s.optionsOff + pad + 2;
    assert.deepEqual(
      [0, 1, 2, 3].map((i) => readU32(s.buf, at + 4 * i)),
      [1000 - 0x20, 2000 - 0x20, 0xfffffff0, 0xffffffd0],
      `pad ${pad}: mod 2^32`,
    );
    assert.ok(s.verifyChecksum(SRC, DST), `pad ${pad}: checksum`);
    assert.equal(readU32(s.buf, s.off + 8), 4, "the ack number is not this function's");
  }
});

Deno.test("shiftSackBlocks without fixing leaves the checksum field alone; bad SACKs are left alone", () => {
  const s = segment([1, 1, 5, 10, 0, 0, 0, 9, 0, 0, 0, 10]);
  const before = s.checksum;
  assert.equal(shiftSackBlocks(s, 1, false), 2);
  assert.equal(s.checksum, before);
  assert.equal(readU32(s.buf, s.optionsOff + 4), 8);
  const odd = segment([1, 1, 5, 9, 0, 0, 0, 9, 0, 0, 0]);
  assert.equal(shiftSackBlocks(odd, 1, true), 0, "2 + 8n bytes only");
  assert.equal(shiftSackBlocks(segment([1, 1, 1, 1]), 1, true), 0, "no SACK at all");
});

Deno.test("rewriteOptionU32 keeps the checksum right at even and odd offsets", () => {
  for (const pad of [0, 1]) {
    const s = segment([...Array(pad).fill(1), 8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 1, 1].slice(0, 12));
    const at = timestampsAt(s);
    rewriteOptionU32(s, at, 0xdeadbeef, true);
    assert.equal(readU32(s.buf, at), 0xdeadbeef);
    assert.ok(s.verifyChecksum(SRC, DST), `pad ${pad}`);
  }
});
