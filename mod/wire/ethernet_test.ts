import assert from "node:assert/strict";
import {
  ETHERNET_HEADER_LEN,
  EthernetFrame,
  EthernetRepr,
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  ETHERTYPE_IPV6,
  ETHERTYPE_VLAN,
} from "./ethernet.ts";
import { macToString, parseMac } from "./addr.ts";
import { fromHex, fuzz, poisoned } from "./test_util.ts";

const FRAME = fromHex("020000000003" + "020000000002" + "0800" + "4500");

Deno.test("EthernetFrame.checked rejects every length below 14 and accepts 14", () => {
  for (let len = 0; len < ETHERNET_HEADER_LEN; len++) {
    assert.equal(EthernetFrame.checked(new Uint8Array(len)), undefined, `length ${len}`);
  }
  assert.ok(EthernetFrame.checked(new Uint8Array(14)));
});

Deno.test("EthernetFrame getters read dst, src, EtherType and payload without copying", () => {
  const frame = EthernetFrame.checked(FRAME)!;
  assert.equal(macToString(frame.dst), "02:00:00:00:00:03");
  assert.equal(macToString(frame.src), "02:00:00:00:00:02");
  assert.equal(frame.etherType, ETHERTYPE_IPV4);
  assert.deepEqual(frame.payload, fromHex("4500"));
  assert.equal(frame.isGroupDst, false);
  frame.payload[0] = 0x46;
  assert.equal(FRAME[14], 0x46, "payload aliases the frame");
  FRAME[14] = 0x45;
  assert.equal(frame.dst.buffer, FRAME.buffer, "dst aliases the frame");
});

Deno.test("EthernetFrame setters write at the right offsets", () => {
  const bytes = poisoned(16);
  const frame = new EthernetFrame(bytes);
  frame.dst = parseMac("ff:ff:ff:ff:ff:ff")!;
  frame.src = parseMac("02:00:5e:00:01:02")!;
  frame.etherType = ETHERTYPE_VLAN;
  assert.deepEqual(bytes, fromHex("ffffffffffff" + "02005e000102" + "8100" + "a5a5"));
  assert.equal(frame.isGroupDst, true);
});

Deno.test("EtherType constants", () => {
  assert.deepEqual(
    [ETHERTYPE_IPV4, ETHERTYPE_ARP, ETHERTYPE_VLAN, ETHERTYPE_IPV6],
    [0x0800, 0x0806, 0x8100, 0x86dd],
  );
});

Deno.test("EthernetRepr emit into a 0xa5 buffer writes every header byte and parses back", () => {
  const repr: EthernetRepr = {
    dst: parseMac("02:00:00:00:00:03")!,
    src: parseMac("02:00:00:00:00:02")!,
    etherType: ETHERTYPE_ARP,
  };
  const buf = poisoned(20);
  assert.equal(EthernetRepr.emit(repr, buf), 14);
  assert.deepEqual(buf, fromHex("020000000003" + "020000000002" + "0806" + "a5a5a5a5a5a5"));
  const parsed = EthernetRepr.parse(new EthernetFrame(buf));
  assert.deepEqual(parsed, repr);
  buf[0] = 0;
  assert.equal(parsed.dst[0], 2, "parse copies the MACs");
});

Deno.test("EthernetFrame.checked never throws on 20k random inputs", () => {
  const accepted = fuzz(0xe7e7, 20_000, 40, (b) => {
    const f = EthernetFrame.checked(b);
    if (f !== undefined) void [f.dst, f.src, f.etherType, f.payload];
    return f;
  });
  assert.ok(accepted > 0 && accepted < 20_000);
});
