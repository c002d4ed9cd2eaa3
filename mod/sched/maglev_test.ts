import assert from "node:assert/strict";
import { isPrime, Maglev } from "./maglev.ts";
import { hashTuple } from "../util/hash.ts";

const names = (n: number): string[] =>
  Array.from({ length: n }, (_, i) => `203.0.113.${20 + i}:7000`);

function shares(m: Maglev, n: number): number[] {
  const c = new Array<number>(n).fill(0);
  for (const b of m.table) c[b]!++;
  return c;
}

for (const n of [2, 3, 7]) {
  Deno.test(`Maglev gives each of ${n} backends its fair share of the table within ±2%`, () => {
    const m = new Maglev(names(n));
    const fair = m.size / n;
    for (const [i, c] of shares(m, n).entries()) {
      assert.ok(Math.abs(c - fair) <= fair * 0.02, `backend ${i}: ${c} slots, fair ${fair}`);
    }
    assert.ok(!m.table.includes(-1), "every slot filled");
  });
}

for (const n of [3, 5, 10]) {
  Deno.test(`Maglev: removing one of ${n} backends moves < 1/N + 5% of the others' slots`, () => {
    const all = names(n);
    const before = new Maglev(all);
    for (let gone = 0; gone < n; gone++) {
      const kept = all.filter((_, i) => i !== gone);
      const after = new Maglev(kept);
      let moved = 0;
      for (let s = 0; s < before.size; s++) {
        const was = before.table[s]!;
        if (was === gone) continue;
        // Same backend name before and after, whatever its new index.
        if (kept[after.table[s]!] !== all[was]) moved++;
      }
      const frac = moved / before.size;
      const msg = `removing ${gone} of ${n}: ${(frac * 100).toFixed(2)}% moved`;
      assert.ok(frac < 1 / n + 0.05, msg);
      // With M = 65537 ≫ N the paper's populate moves far less than that bound.
      assert.ok(frac < 0.01, msg);
    }
  });
}

Deno.test("Maglev is deterministic: same names give the same table, pinned across runs", () => {
  const a = new Maglev(names(4));
  const b = new Maglev(names(4));
  assert.deepEqual(a.table, b.table);
  // FNV-1a over the table: changes only if the hash or populate order changes.
  let h = 0x811c9dc5;
  for (const v of a.table) h = Math.imul(h ^ v, 0x01000193) >>> 0;
  assert.equal(h, PINNED_TABLE_FNV);
});

Deno.test("Maglev.pick maps a flow hash through the table", () => {
  const m = new Maglev(names(3));
  const h = hashTuple(6, 0xc0000201, 40000, 0xcb007101, 80, 0);
  assert.equal(m.pick(h), m.table[h % m.size]);
  assert.equal(m.pick(0xffffffff), m.table[0xffffffff % m.size]);
  assert.equal(m.pick(-1), m.pick(0xffffffff), "negative int32 treated as u32");
});

Deno.test("Maglev order of names matters only for indices, not for which name a slot gets", () => {
  const fwd = names(5);
  const rev = [...fwd].reverse();
  const a = new Maglev(fwd), b = new Maglev(rev);
  let differ = 0;
  for (let s = 0; s < a.size; s++) if (fwd[a.table[s]!] !== rev[b.table[s]!]) differ++;
  // Turn order changes who wins a few contested slots, but it is no reshuffle.
  assert.ok(differ / a.size < 0.01, `${differ} slots differ`);
});

Deno.test("Maglev rejects a non-prime table size, no backends, or more backends than slots", () => {
  assert.throws(() => new Maglev(names(2), 65536), RangeError);
  assert.throws(() => new Maglev(names(2), 1), RangeError);
  assert.throws(() => new Maglev([], 13), RangeError);
  assert.throws(() => new Maglev(names(17), 13), RangeError);
  assert.doesNotThrow(() => new Maglev(names(13), 13));
});

Deno.test("isPrime on small and edge values", () => {
  assert.deepEqual(
    [0, 1, 2, 3, 4, 9, 13, 25, 65537, 65539, 65541].map(isPrime),
    [false, false, true, true, false, false, true, false, true, true, false],
  );
});

const PINNED_TABLE_FNV = 3757670843;

Deno.test("Maglev with weights: slots in proportion (±2%), weight 0 claims none", () => {
  const names = ["203.0.113.20:80", "203.0.113.21:80", "203.0.113.22:80"];
  const m = new Maglev(names, 65537, [3, 1, 0]);
  const count = [0, 0, 0];
  for (const b of m.table) count[b]!++;
  assert.equal(count[2], 0);
  assert.ok(Math.abs(count[0]! / 65537 - 0.75) < 0.02, `share of a: ${count[0]! / 65537}`);
  assert.ok(Math.abs(count[1]! / 65537 - 0.25) < 0.02, `share of b: ${count[1]! / 65537}`);
  assert.equal(count[0]! + count[1]!, 65537, "every slot is filled");
});

Deno.test("Maglev: a backend set to weight 0 moves only its own slots", () => {
  const names = Array.from({ length: 5 }, (_, i) => `203.0.113.${20 + i}:80`);
  const all = new Maglev(names, 65537);
  const without = new Maglev(names, 65537, [1, 1, 0, 1, 1]);
  let moved = 0;
  for (let i = 0; i < 65537; i++) {
    if (all.table[i] !== 2 && all.table[i] !== without.table[i]) moved++;
  }
  assert.ok(moved / 65537 < 0.05, `moved ${moved} slots of the others`);
  assert.equal(new Maglev(names, 65537, [0, 0, 0, 0, 0]).pick(12345), -1);
  assert.throws(() => new Maglev(names, 65537, [1, 1]), RangeError);
});
