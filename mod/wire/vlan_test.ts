import assert from "node:assert/strict";
import { fromHex } from "./test_util.ts";
import {
  insertTag,
  isTagged,
  stripTag,
  tagVid,
  TPID_8021Q,
  VLAN_TAG_LEN,
  writeTaggedHead,
} from "./vlan.ts";

const DST = "020000000003", SRC = "020000000002";
const UNTAGGED = fromHex(DST + SRC + "0800" + "45000014");
/** The same frame tagged VID 113 (0x071) with PCP 5 (0xa071): strip ignores the priority. */
const TAGGED = fromHex(DST + SRC + "8100a071" + "0800" + "45000014");

Deno.test("vlan: a tagged frame reads as tagged with its 12-bit VID; priority bits ignored", () => {
  assert.ok(isTagged(TAGGED, 0));
  assert.ok(!isTagged(UNTAGGED, 0));
  assert.equal(tagVid(TAGGED, 0), 113);
  assert.equal(tagVid(fromHex(DST + SRC + "8100e000" + "0800"), 0), 0, "priority tag: VID 0");
  assert.equal(TPID_8021Q, 0x8100);
});

Deno.test("vlan: stripTag leaves the untagged frame 4 bytes later, payload untouched", () => {
  const buf = TAGGED.slice();
  const off = stripTag(buf, 0);
  assert.equal(off, VLAN_TAG_LEN);
  assert.deepEqual(buf.subarray(off), UNTAGGED);
});

Deno.test("vlan: insertTag writes the tag into the headroom; strip undoes it", () => {
  const buf = new Uint8Array(VLAN_TAG_LEN + UNTAGGED.length).fill(0xa5);
  buf.set(UNTAGGED, VLAN_TAG_LEN);
  const at = insertTag(buf, VLAN_TAG_LEN, 113);
  assert.equal(at, 0);
  assert.deepEqual(buf, fromHex(DST + SRC + "81000071" + "0800" + "45000014"));
  assert.equal(stripTag(buf, 0), VLAN_TAG_LEN);
  assert.deepEqual(buf.subarray(VLAN_TAG_LEN), UNTAGGED);
});

Deno.test("vlan: insertTag keeps only the 12 VID bits (PCP 0, DEI 0)", () => {
  const buf = new Uint8Array(VLAN_TAG_LEN + UNTAGGED.length);
  buf.set(UNTAGGED, VLAN_TAG_LEN);
  insertTag(buf, VLAN_TAG_LEN, 0xf071);
  assert.equal(buf[14], 0x00);
  assert.equal(buf[15], 0x71);
});

Deno.test("vlan: writeTaggedHead writes MACs and tag; the rest is the caller's copy", () => {
  const dst = new Uint8Array(UNTAGGED.length + VLAN_TAG_LEN).fill(0xa5);
  writeTaggedHead(dst, 0, UNTAGGED, 0, 4094);
  dst.set(UNTAGGED.subarray(12), 16);
  assert.deepEqual(dst, fromHex(DST + SRC + "81000ffe" + "0800" + "45000014"));
});
