import assert from "node:assert/strict";
import { engineResult, measureEngine } from "./engine.ts";

Deno.test("measureEngine times every packet kind (each one forwarded), its garbage, and the peer link", async () => {
  const f = await measureEngine(0.01);
  const names = f.cases.map((c) => c.name);
  for (
    const want of [
      /client→server/,
      /server→client/,
      /checksum verified in software/,
      /TCP .*forwarded \+ mirrored/,
      /SYN, new flow/,
      /UDP 64 B, existing flow/,
      /UDP 64 B, forwarded \+ mirrored/,
    ]
  ) assert.ok(names.some((n) => want.test(n)), `a case matching ${want}`);
  for (const c of f.cases) {
    assert.ok(Number.isFinite(c.ns) && c.ns >= 0, `${c.name}: ${c.ns}`);
    const established = !/SYN/.test(c.name);
    assert.equal(c.bytesPerPacket !== undefined, established, `${c.name}: allocation measured`);
  }
  // The engine alone makes no garbage on an established flow (measured in a fresh process).
  for (const c of f.cases.filter((c) => !/mirrored|SYN/.test(c.name))) {
    // One boxed number per packet would be 16 bytes; allow far less than that.
    assert.ok(c.bytesPerPacket! < 4, `${c.name}: ${c.bytesPerPacket} bytes/packet`);
  }
  assert.ok(f.link.nsPerRecord > 0);
  assert.ok((f.crypto ?? []).length >= 3, "the peer link's authenticators compared");
  // A MIRROR record of a 100-byte frame: fixed fields + 3 header + frame + a share of the batch.
  assert.ok(f.link.bytesPerRecord > 160 && f.link.bytesPerRecord < 180, `${f.link.bytesPerRecord}`);
});

Deno.test("engineResult shows ns, packets/s and garbage, no Linux figure, and judges the targets", () => {
  const fast = engineResult({
    cases: [{
      name: "UDP 64 B, forwarded + mirrored",
      ns: 1000,
      bytesPerPacket: 0,
      gcsPerMillion: 0,
    }],
    link: { nsPerRecord: 600, bytesPerRecord: 168.1 },
  }, 0);
  assert.equal(fast.rows[0]!.tandem, "1000 (1 000 000)");
  assert.equal(fast.rows[0]!.linux, "n/a");
  assert.equal(fast.rows[0]!.target, "≥ 300k pkt/s per unit");
  assert.equal(fast.rows[1]!.tandem, "0.0, 0.0");
  assert.match(fast.notes[1]!, /above the 300k target/);
  assert.match(fast.notes[2]!, /no minor GC/);
  const slow = engineResult({
    cases: [{
      name: "UDP 64 B, forwarded + mirrored",
      ns: 5000,
      bytesPerPacket: 40,
      gcsPerMillion: 3,
    }],
    link: { nsPerRecord: 600, bytesPerRecord: 168.1 },
  }, 0);
  assert.match(slow.notes[1]!, /below 300k/);
  assert.match(slow.notes[2]!, /Minor GCs on the established path: UDP 64 B/);
});
