import assert from "node:assert/strict";
import { LOOP_WINDOW_S, LoopStats } from "./loop_stats.ts";

Deno.test("loop stats: the longest pause ever, and the longest of the last minute", () => {
  const s = new LoopStats();
  s.pause(0.5, 1_000);
  s.pause(250, 2_500);
  s.pause(3, 2_900);
  assert.equal(s.turns, 3);
  assert.equal(s.longestMs, 250);
  assert.equal(s.longestRecentMs(3_000), 250);
  // 60 s after the long pause its second has left the window; the short ones after it remain.
  s.pause(4, 30_000);
  assert.equal(s.longestRecentMs(2_000 + LOOP_WINDOW_S * 1000 - 1), 250);
  assert.equal(s.longestRecentMs(2_000 + LOOP_WINDOW_S * 1000), 4);
  assert.equal(s.longestMs, 250);
});

Deno.test("loop stats: a slot reused a minute later forgets its old maximum", () => {
  const s = new LoopStats();
  s.pause(90, 5_000);
  // The same slot (5 s modulo 60) a minute later: the new second starts from its own pause.
  s.pause(2, 5_000 + LOOP_WINDOW_S * 1000);
  assert.equal(s.longestRecentMs(5_000 + LOOP_WINDOW_S * 1000), 2);
  s.pause(7, 5_500 + LOOP_WINDOW_S * 1000);
  assert.equal(s.longestRecentMs(5_500 + LOOP_WINDOW_S * 1000), 7);
});

Deno.test("loop stats: nothing recorded reads as no pause", () => {
  assert.equal(new LoopStats().longestRecentMs(123_456), 0);
});
