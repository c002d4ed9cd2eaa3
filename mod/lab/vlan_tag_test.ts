import assert from "node:assert/strict";
import { MemoryPort } from "../port/memory.ts";
import { vlanTagLoop } from "./vlan_tag.ts";

const MACS = [2, 0, 0, 0, 0, 0x20, 2, 0, 0, 0, 0, 3];
const BODY = [0x08, 0x00, 0x45, 0, 0, 20, 9, 9];
const plain = () => new Uint8Array([...MACS, ...BODY]);
const tagged = (vid: number) => new Uint8Array([...MACS, 0x81, 0x00, vid >> 8, vid & 255, ...BODY]);

Deno.test("lab vlan tagger: the host's frames leave tagged, only its VLAN comes back", async () => {
  const access = new MemoryPort("access"), trunk = new MemoryPort("trunk");
  access.inject(plain());
  trunk.inject(tagged(113));
  trunk.inject(tagged(114));
  trunk.inject(plain());
  const stop = new AbortController();
  const done = vlanTagLoop(access, trunk, 113, stop.signal);
  while (access.pending + trunk.pending > 0) await new Promise((r) => setTimeout(r, 1));
  stop.abort();
  assert.deepEqual(await done, { tagged: 1, untagged: 1, dropped: 2 });
  assert.deepEqual(trunk.take(), [tagged(113)]);
  assert.deepEqual(access.take(), [plain()]);
});
