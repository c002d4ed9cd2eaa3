import assert from "node:assert/strict";
import {
  adjust16,
  adjust32,
  applyDelta,
  fold,
  internetChecksum,
  pseudoHeaderSum,
  sum16,
  wordDelta32,
} from "./checksum.ts";
import { fromHex, prng, randomBytes } from "./test_util.ts";

Deno.test("RFC 1071 §3 worked example: 00 01 f2 03 f4 f5 f6 f7", () => {
  const bytes = fromHex("0001f203f4f5f6f7");
  assert.equal(sum16(bytes, 0, 8), 0x2ddf0);
  assert.equal(fold(0x2ddf0), 0xddf2);
  assert.equal(internetChecksum(bytes, 0, 8), 0x220d);
});

Deno.test("sum16 pads an odd trailing byte and honours start, end and initial", () => {
  const bytes = fromHex("ff0102ab");
  assert.equal(sum16(bytes, 1, 4), 0x0102 + 0xab00);
  assert.equal(sum16(bytes, 0, 1), 0xff00);
  assert.equal(sum16(bytes, 0, 0, 7), 7);
  assert.equal(sum16(bytes, 0, 4, 0x10000), 0x10000 + 0xff01 + 0x02ab);
});

Deno.test("fold handles sums beyond 32 bits and repeated carries", () => {
  assert.equal(fold(0x1fffe), 0xffff);
  assert.equal(fold(0xffff), 0xffff);
  assert.equal(fold(0), 0);
  assert.equal(fold(0x3_0000_0002), 0x0005);
});

Deno.test("a known IPv4 header sums to 0xb861 and then verifies to 0", () => {
  const header = fromHex("450000730000400040110000c0a80001c0a800c7");
  assert.equal(internetChecksum(header, 0, 20), 0xb861);
  header[10] = 0xb8;
  header[11] = 0x61;
  assert.equal(internetChecksum(header, 0, 20), 0);
});

Deno.test("pseudoHeaderSum adds both address halves, protocol and length", () => {
  assert.equal(pseudoHeaderSum(0xc6336402, 0xc6336403, 6, 40), 0xc633 * 2 + 0x6402 + 0x6403 + 46);
});

Deno.test("adjust16/adjust32 match a full recompute for 5000 random edits", () => {
  const next = prng(0x5eed1624);
  for (let round = 0; round < 5000; round++) {
    const len = 4 + 2 * (next() % 40);
    const bytes = randomBytes(next, len);
    const before = internetChecksum(bytes, 0, len);
    const at = 2 * (next() % (len / 2 - 1)) & ~1;
    if (round % 2 === 0) {
      const oldWord = (bytes[at]! << 8) | bytes[at + 1]!;
      const newWord = next() & 0xffff;
      bytes[at] = newWord >>> 8;
      bytes[at + 1] = newWord & 0xff;
      assert.equal(
        adjust16(before, oldWord, newWord),
        internetChecksum(bytes, 0, len),
        `r${round}`,
      );
    } else {
      const view = new DataView(bytes.buffer);
      const oldValue = view.getUint32(at);
      const newValue = next();
      view.setUint32(at, newValue);
      assert.equal(
        adjust32(before, oldValue, newValue),
        internetChecksum(bytes, 0, len),
        `r${round}`,
      );
    }
  }
});

Deno.test("RFC 1624 §4 example: eqn 3 gives 0x0000 where eqn 2 would give 0xffff", () => {
  // Sum of the other header words is 0xcd7a; m = 0x5555 changes to m' = 0x3285.
  const hc = ~fold(0xcd7a + 0x5555) & 0xffff;
  assert.equal(hc, 0xdd2f);
  const recomputed = ~fold(0xcd7a + 0x3285) & 0xffff;
  assert.equal(recomputed, 0x0000);
  assert.equal(adjust16(hc, 0x5555, 0x3285), 0x0000);
});

Deno.test("RFC 1624 edges: no-op edits keep the checksum; 0xffff and 0x0000 words are equal", () => {
  for (const hc of [0x0000, 0x1234, 0xfffe]) {
    assert.equal(adjust16(hc, 0xabcd, 0xabcd), hc);
    assert.equal(adjust32(hc, 0xc6336402, 0xc6336402), hc);
  }
  // In one's complement 0x0000 and 0xffff are both zero, so swapping one for the other in the data
  // must not change a non-degenerate checksum.
  assert.equal(adjust16(0x1234, 0x0000, 0xffff), 0x1234);
  assert.equal(adjust16(0x1234, 0xffff, 0x0000), 0x1234);
  // Changing a word to make the data sum 0xffff yields 0x0000, never negative zero.
  const bytes = fromHex("00010000");
  const hc = internetChecksum(bytes, 0, 4);
  bytes[2] = 0xff;
  bytes[3] = 0xfe;
  assert.equal(internetChecksum(bytes, 0, 4), 0x0000);
  assert.equal(adjust16(hc, 0x0000, 0xfffe), 0x0000);
});

Deno.test("wordDelta32 + applyDelta and adjust16/adjust32 match a full recompute (3000 rounds)", () => {
  const next = prng(1624);
  for (let i = 0; i < 3000; i++) {
    const bytes = randomBytes(next, 24 + 2 * (next() % 20));
    // The checksum lives in bytes 0-1 of this test region; fill it in.
    bytes[0] = bytes[1] = 0;
    const fill = () => {
      bytes[0] = bytes[1] = 0;
      const c = internetChecksum(bytes, 0, bytes.length);
      bytes[0] = c >> 8;
      bytes[1] = c & 255;
    };
    fill();
    const dv = new DataView(bytes.buffer);
    let hc = dv.getUint16(0);
    // Change 1-3 aligned 32-bit values and one 16-bit word, the way NAT does.
    let delta = 0;
    for (let k = 0; k < 1 + (i % 3); k++) {
      const at = 2 + 4 * (next() % ((bytes.length - 2) / 4 - 1));
      const old = dv.getUint32(at), now = next() >>> 0;
      if (k === 0 && i % 2) hc = adjust32(hc, old, now);
      else delta += wordDelta32(old, now);
      dv.setUint32(at, now);
    }
    hc = applyDelta(hc, delta);
    const w = 2 + 2 * (next() % ((bytes.length - 2) / 2));
    const oldWord = dv.getUint16(w), newWord = next() & 0xffff;
    hc = adjust16(hc, oldWord, newWord);
    dv.setUint16(w, newWord);
    dv.setUint16(0, hc);
    assert.equal(internetChecksum(bytes, 0, bytes.length), 0, `round ${i}: verifies`);
    fill();
    assert.equal(hc, dv.getUint16(0), `round ${i}: equals a full recompute`);
  }
});

Deno.test("applyDelta with no change leaves a checksum as it was; eqn 3 never yields 0xffff", () => {
  for (const c of [0, 1, 0x1234, 0xfffe]) assert.equal(applyDelta(c, 0), c);
  // RFC 1624 §3: eqn 3 gives 0x0000, not the negative zero 0xffff of eqn 2.
  assert.equal(adjust16(0x0001, 0x0000, 0x0001), 0x0000);
  assert.equal(wordDelta32(0, 0), 0x1fffe);
});
