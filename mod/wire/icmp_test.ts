import assert from "node:assert/strict";
import {
  ICMP_CODE_FRAG_NEEDED,
  ICMP_CODE_PORT_UNREACHABLE,
  ICMP_DEST_UNREACHABLE,
  ICMP_ECHO_REPLY,
  ICMP_ECHO_REQUEST,
  ICMP_HEADER_LEN,
  ICMP_TIME_EXCEEDED,
  IcmpPacket,
  IcmpRepr,
  isIcmpError,
} from "./icmp.ts";
import { fromHex, fuzz, poisoned, prng, randomBytes } from "./test_util.ts";

// Echo request id 0x27a5 seq 1 with 4 data bytes; checksum filled in by the tests.
const ECHO = fromHex("08" + "00" + "0000" + "27a5" + "0001" + "deadbeef");

Deno.test("IcmpPacket.checked rejects anything shorter than 8 bytes", () => {
  for (let len = 0; len < ICMP_HEADER_LEN; len++) {
    assert.equal(IcmpPacket.checked(ECHO.subarray(0, len)), undefined, `length ${len}`);
  }
  assert.ok(IcmpPacket.checked(ECHO.subarray(0, 8)));
});

Deno.test("IcmpPacket getters: type, code, echo id/seq, rest, embedded", () => {
  const p = IcmpPacket.checked(ECHO)!;
  assert.equal(p.type, ICMP_ECHO_REQUEST);
  assert.equal(p.code, 0);
  assert.equal(p.echoId, 0x27a5);
  assert.equal(p.echoSeq, 1);
  assert.deepEqual(p.rest, fromHex("27a50001"));
  assert.deepEqual(p.embedded, fromHex("deadbeef"));
  const frag = IcmpPacket.checked(fromHex("0304" + "0000" + "0000" + "05dc"))!;
  assert.equal(frag.nextHopMtu, 1500);
});

Deno.test("constants match RFC 792 and isIcmpError knows the error types", () => {
  assert.deepEqual(
    [ICMP_ECHO_REPLY, ICMP_DEST_UNREACHABLE, ICMP_ECHO_REQUEST, ICMP_TIME_EXCEEDED],
    [0, 3, 8, 11],
  );
  assert.deepEqual([ICMP_CODE_PORT_UNREACHABLE, ICMP_CODE_FRAG_NEEDED], [3, 4]);
  const errors = [];
  for (let t = 0; t < 256; t++) if (isIcmpError(t)) errors.push(t);
  assert.deepEqual(errors, [3, 4, 5, 11, 12]);
});

Deno.test("fillChecksum covers the whole message; verify detects a flipped bit", () => {
  const p = new IcmpPacket(ECHO.slice());
  p.fillChecksum();
  assert.ok(p.verifyChecksum());
  p.bytes[11] = p.bytes[11]! ^ 1;
  assert.equal(p.verifyChecksum(), false);
});

Deno.test("setters write; rewriteTypeCode matches a full recompute", () => {
  const next = prng(792);
  for (let i = 0; i < 1000; i++) {
    const p = new IcmpPacket(randomBytes(next, 8 + (next() % 30)));
    p.fillChecksum();
    p.rewriteTypeCode(next() & 0xff, next() & 0xff);
    assert.ok(p.verifyChecksum(), `round ${i}`);
  }
  const p = new IcmpPacket(ECHO.slice());
  p.type = 0;
  p.code = 9;
  p.echoId = 0x1234;
  p.echoSeq = 0xfffe;
  p.checksum = 0xabcd;
  assert.deepEqual(p.bytes, fromHex("0009abcd1234fffedeadbeef"));
});

Deno.test("IcmpRepr emit into a 0xa5 buffer fills the checksum and parses back", () => {
  const repr: IcmpRepr = {
    type: ICMP_DEST_UNREACHABLE,
    code: ICMP_CODE_FRAG_NEEDED,
    rest: 1400,
    payload: fromHex("4500001c"),
  };
  const buf = poisoned(14);
  assert.equal(IcmpRepr.emit(repr, buf), 12);
  assert.deepEqual(buf.subarray(12), fromHex("a5a5"));
  const p = IcmpPacket.checked(buf.subarray(0, 12))!;
  assert.ok(p.verifyChecksum());
  assert.equal(p.nextHopMtu, 1400);
  assert.deepEqual(IcmpRepr.parse(p), repr);
});

Deno.test("IcmpPacket.checked never throws on 20k random inputs", () => {
  const accepted = fuzz(0x792, 20_000, 40, (b) => {
    const p = IcmpPacket.checked(b);
    if (p !== undefined) void [p.echoId, p.echoSeq, p.rest, p.embedded, p.verifyChecksum()];
    return p;
  });
  assert.ok(accepted > 0);
});
