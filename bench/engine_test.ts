import assert from "node:assert/strict";
import { engineResult, measureEngine } from "./engine.ts";

Deno.test("measureEngine times every packet kind (each one forwarded) and the peer link", () => {
  const f = measureEngine(0.01);
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
  for (const c of f.cases) assert.ok(Number.isFinite(c.ns) && c.ns >= 0, `${c.name}: ${c.ns}`);
  assert.ok(f.link.nsPerRecord > 0);
  // A MIRROR record of a 100-byte frame: 65 fixed bytes + 3 header + frame + a share of the batch.
  assert.ok(f.link.bytesPerRecord > 168 && f.link.bytesPerRecord < 175, `${f.link.bytesPerRecord}`);
});

Deno.test("engineResult shows ns and packets/s, no Linux figure, and judges the 300k target", () => {
  const fast = engineResult({
    cases: [{ name: "UDP 64 B, forwarded + mirrored", ns: 1000 }],
    link: { nsPerRecord: 600, bytesPerRecord: 168.1 },
  }, 0);
  assert.equal(fast.rows[0]!.tandem, "1000 (1 000 000)");
  assert.equal(fast.rows[0]!.linux, "n/a");
  assert.equal(fast.rows[0]!.target, "≥ 300k pkt/s per unit");
  assert.match(fast.notes[1]!, /above the 300k target/);
  const slow = engineResult({
    cases: [{ name: "UDP 64 B, forwarded + mirrored", ns: 5000 }],
    link: { nsPerRecord: 600, bytesPerRecord: 168.1 },
  }, 0);
  assert.match(slow.notes[1]!, /below 300k/);
});
