import assert from "node:assert/strict";
import { createApp } from "./app.ts";
import { DASHBOARD_CSP, DASHBOARD_HTML } from "./dashboard.ts";
import { serveApi } from "./serve.ts";
import { FakeUnit, fixtureHistory } from "./testdata/fixture.ts";

const CHROMIUM = "/usr/bin/chromium";
const hasChromium = (() => {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
})();
if (!hasChromium) {
  console.warn(
    `dashboard_test: ${CHROMIUM} not found, skipping the browser test ` +
      "(apt-get install -y chromium)",
  );
}

// Written on every run to a path git ignores; docs/dashboard.png is a copy kept for the docs.
const SCREENSHOT = new URL("../../.lab/dashboard.png", import.meta.url);

/** The app's event interval in this test. */
const EVENT_MS = 200;
/**
 * How long a change may take to show (dashboard.ts): with events, one interval; without, the
 * page polls once no event came for 2.5 s (checked every second), and it refreshes flows every
 * 2 s. The deadline allows the slowest path and a flows refresh after it.
 */
const UPDATE_MS = 2500 + 1000 + 2000;
/**
 * The fake unit's clock: each snapshot is taken STEP_MS after the one before on the unit's
 * monotonic clock (`monotonicMs`), whenever it is asked for, so the rates the page derives are
 * exact and independent of how fast this machine runs the page.
 */
const CLOCK_START_MS = 1_000_000;
/** Samples in the fixture's history. */
const HISTORY_N = 120;
const STEP_MS = 500;

Deno.test("dashboard: page is self-contained and its CSP pins the inline code", () => {
  assert.doesNotMatch(DASHBOARD_HTML, /<(script|link|img)[^>]+(src|href)="(?!data:)/);
  assert.doesNotMatch(DASHBOARD_HTML, /style="/, "no inline style attributes (CSP blocks them)");
  assert.equal(DASHBOARD_CSP.match(/'sha256-/g)?.length, 2);
});

Deno.test({
  name: "dashboard: live in headless Chromium via SSE, and by polling when SSE is blocked",
  ignore: !hasChromium,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const { chromium } = await import("playwright-core");
    const unit = new FakeUnit();
    unit.snap = {
      ...unit.snap,
      role: "standby",
      state: "standby",
      receiver: false,
      forwarder: true,
      sync: { state: "done", done: 1234, total: 1234 },
      monotonicMs: CLOCK_START_MS,
    };
    // Two minutes of samples up to now; the peer was lost, and this unit took the addresses,
    // half a second before the last quarter of them.
    const historyEnd = Date.now();
    // Samples 10 to 14 are missing: a 6 s gap (a stalled unit) that no line may bridge.
    unit.samples = fixtureHistory(historyEnd, HISTORY_N).filter((_, i) => i < 10 || i >= 15);
    const lost = historyEnd - (HISTORY_N / 4) * 1000 + 500;
    unit.snap.events = [
      ...unit.snap.events,
      { at: lost, kind: "peer", detail: "peer down: no heartbeat for 52 ms" },
      { at: lost + 1, kind: "role", detail: "standby -> solo/standby: peer dead" },
      { at: lost + 20_000, kind: "sync", detail: "not a marker kind" },
    ];
    const ac = new AbortController();
    const server = serveApi(
      createApp(unit, { eventIntervalMs: EVENT_MS }),
      "127.0.0.1:0",
      ac.signal,
    );
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
      const problems: string[] = [];
      page.on("console", (m) => {
        if (m.type() === "error") problems.push(m.text());
      });
      page.on("pageerror", (e) => problems.push(String(e)));
      await page.goto(`http://127.0.0.1:${server.addr.port}/`);

      await page.locator("#state", { hasText: "standby" }).waitFor({ timeout: UPDATE_MS });
      assert.equal(await page.textContent("#role"), "standby");
      assert.equal(await page.textContent("#node"), "a");
      assert.equal(await page.textContent("#peer-state"), "up");
      assert.equal(await page.textContent("#flow-count"), (1234).toLocaleString("en-US"));
      assert.equal(await page.getAttribute("#forwarder", "class"), "flag on");
      assert.equal(await page.getAttribute("#receiver", "class"), "flag");
      await page.locator("#flows tr").nth(9).waitFor({ timeout: UPDATE_MS });
      assert.equal(await page.locator("#flows tr").count(), 10);
      // Backends of the fixture's service, with their own and peer health and coloured state.
      const rows = page.locator("#services tr[data-backend]");
      await rows.nth(1).waitFor({ timeout: UPDATE_MS });
      assert.equal(await rows.count(), 2);
      const row = (address: string) =>
        page.$$eval(
          `#services tr[data-backend="${address}"] td`,
          (tds) => tds.map((td) => [td.textContent, td.querySelector("span")?.className ?? ""]),
        );
      assert.deepEqual(await row("203.0.113.20:7000"), [
        ["203.0.113.20:7000", ""],
        ["1", ""],
        ["enabled", ""],
        ["up", ""],
        ["up", ""],
        ["up", "badge s-up"],
        ["800", ""],
      ]);
      assert.deepEqual(await row("203.0.113.21:7000"), [
        ["203.0.113.21:7000", ""],
        ["2", ""],
        ["draining", ""],
        ["down", ""],
        ["up", ""],
        ["draining", "badge s-draining"],
        ["434", ""],
      ]);
      assert.match((await page.textContent("#services .svc-head")) ?? "", /echo.*1 of 2 up/);
      // Fail-safes and config.
      assert.equal(await page.textContent("#fs-healthy"), "healthy");
      assert.equal(await page.textContent("#fs-maintenance"), "off");
      assert.match((await page.textContent("#fs-checks")) ?? "", /front · link tnd-front\s*up/);
      assert.equal(await page.textContent("#cfg-digest"), "0123456789abcdef");
      assert.equal(await page.textContent("#cfg-reload"), "none");
      assert.equal(await page.isHidden("#cfg-differs"), true);
      // Charts: one point per sample of the fixture's history, in two lines either side of the
      // gap; the peer's charts stop where the peer went (the last quarter has no RTT or lag).
      const points = (id: string) =>
        page.$$eval(
          `#${id} polyline.series`,
          (ls) => ls.map((l) => (l.getAttribute("points") ?? "").trim().split(" ").length),
        );
      await page.locator("#chart-rx polyline.series").first().waitFor({ timeout: UPDATE_MS });
      const full = [10, HISTORY_N - 15], peered = [10, (HISTORY_N * 3) / 4 - 15];
      assert.deepEqual(await points("chart-rx"), full);
      assert.deepEqual(await points("chart-tx"), full);
      assert.deepEqual(await points("chart-flows"), full);
      assert.deepEqual(await points("chart-lag"), peered);
      assert.deepEqual(await points("chart-rtt"), peered);
      // Geometry of the rx chart (360 × 130 box, plot from y 22 to 112): the axis tops out at
      // 20 k, a round number above the peak of 12.9 k pkt/s; the oldest point (1 k) is at the
      // left edge near the bottom, the newest at the right edge.
      const ends = await page.$$eval("#chart-rx polyline.series", (ls) => {
        const pts = ls.flatMap((l) => (l.getAttribute("points") ?? "").trim().split(" "));
        return [pts[0]!, pts.at(-1)!].map((p) => p.split(",").map(Number));
      });
      const near = (a: number, b: number) => Math.abs(a - b) <= 0.06;
      assert.ok(near(ends[0]![0]!, 4) && near(ends[0]![1]!, 22 + 0.95 * 90), `first ${ends[0]}`);
      assert.ok(near(ends[1]![0]!, 356) && near(ends[1]![1]!, 22 + 0.355 * 90), `last ${ends[1]}`);
      assert.match((await page.textContent("#chart-rx")) ?? "", /max 20\.0 kpkt\/s/);
      // The role change is a marker on every chart; a sync event is not.
      for (const id of ["chart-rx", "chart-tx", "chart-flows", "chart-lag", "chart-rtt"]) {
        const labels = await page.$$eval(
          `#${id} .marker text`,
          (ts) => ts.map((t) => t.textContent),
        );
        assert.deepEqual(labels, ["peer", "role"], id);
      }
      // Receiver seconds are shaded: the last quarter of the fixture's samples.
      assert.equal(await page.locator("#chart-rx rect.rx").count(), HISTORY_N / 4);
      // New samples arrive by polling /history?since=…; the ramp goes on for 3 s.
      unit.samples = [
        ...unit.samples,
        ...fixtureHistory(historyEnd + 3000, HISTORY_N + 3).slice(-3),
      ];
      await page.waitForFunction(
        (n) => {
          const l = [...document.querySelectorAll("#chart-flows polyline.series")].at(-1);
          return (l?.getAttribute("points") ?? "").trim().split(" ").length === n;
        },
        HISTORY_N - 15 + 3,
        { timeout: UPDATE_MS },
      );
      // The fixture's event detail contains markup characters; it must show as text.
      await page.locator("#events li", { hasText: 'peer "b" <joined>' }).waitFor({
        timeout: UPDATE_MS,
      });

      // Traffic flows and the peer dies: the unit takes over. No reload from here on.
      const navigations: string[] = [];
      page.on("framenavigated", (f) => navigations.push(f.url()));
      unit.snap = {
        ...unit.snap,
        state: "solo",
        receiver: true,
        forwarder: true,
        peer: {
          ...unit.snap.peer,
          state: "down",
          lastHeartbeatAgeMs: 61,
          rttMs: null,
          configMatch: false,
        },
        config: {
          ...unit.snap.config,
          lastReload: { at: Date.now(), ok: false, message: "services[0].listen: bad port" },
        },
        events: [
          ...unit.snap.events,
          // Just after the last sample, as a live unit's next sample would follow it within a
          // second (a wall-clock time would drift past the chart's end on a slow run).
          { at: historyEnd + 3500, kind: "takeover", detail: "peer missed 5 heartbeats; now solo" },
        ],
      };
      await page.locator("#state", { hasText: "solo" }).waitFor({ timeout: UPDATE_MS });
      const first = page.locator("#events li").first();
      await first.filter({ hasText: "takeover" }).waitFor({ timeout: UPDATE_MS });
      await page.locator("#chart-rx .marker text", { hasText: "takeover" }).waitFor({
        timeout: UPDATE_MS,
      });
      assert.match((await first.textContent()) ?? "", /peer missed 5 heartbeats; now solo/);
      assert.equal(await page.getAttribute("#receiver", "class"), "flag on");
      assert.equal(await page.textContent("#peer-state"), "down");
      assert.equal(await page.isVisible("#cfg-differs"), true);
      assert.match((await page.textContent("#cfg-reload")) ?? "", /^FAILED /);
      assert.equal(await page.textContent("#cfg-reload-msg"), "services[0].listen: bad port");
      // Counters now grow at 250k packets/s on the unit's clock; the page derives the rates.
      const base = { ...unit.snap.counters };
      const still = unit.snap;
      let taken = 0;
      unit.snapshot = () => {
        const ms = ++taken * STEP_MS;
        const grow = (name: string, perSecond: number) => base[name]! + (ms * perSecond) / 1000;
        return {
          ...still,
          monotonicMs: CLOCK_START_MS + ms,
          counters: {
            ...base,
            rx_packets: grow("rx_packets", 250_000),
            tx_packets: grow("tx_packets", 240_000),
            rx_bytes: grow("rx_bytes", 250_000 * 600),
            tx_bytes: grow("tx_bytes", 240_000 * 600),
          },
        };
      };
      // Every pair of snapshots, the first after the switch included, carries the unit's clock:
      // each rate shown is exact.
      await page.locator("#rx-pps", { hasText: "250.0 kpkt/s" }).waitFor({ timeout: UPDATE_MS });
      assert.equal(await page.textContent("#rx-pps"), "250.0 kpkt/s");
      assert.equal(await page.textContent("#tx-pps"), "240.0 kpkt/s");
      assert.equal(await page.textContent("#rx-bps"), "1.20 Gbit/s");
      assert.equal(await page.textContent("#tx-bps"), "1.15 Gbit/s");
      assert.equal(await page.textContent("#live"), "live");
      assert.deepEqual(navigations, [], "the page was not reloaded");
      assert.deepEqual(problems, [], "no console errors (e.g. CSP violations)");
      await Deno.mkdir(new URL(".", SCREENSHOT), { recursive: true });
      await page.screenshot({ path: SCREENSHOT.pathname, fullPage: true });

      // Fallback: with the event stream blocked (say, a buffering proxy) the page polls.
      const polled = await browser.newPage();
      await polled.route("**/events", (route) => route.abort());
      await polled.goto(`http://127.0.0.1:${server.addr.port}/`);
      await polled.locator("#state", { hasText: "solo" }).waitFor({ timeout: UPDATE_MS });
      const before = unit.snapshot;
      unit.snapshot = () => ({ ...before(), state: "joining" });
      await polled.locator("#state", { hasText: "joining" }).waitFor({ timeout: UPDATE_MS });
    } finally {
      await browser.close();
      ac.abort();
      await server.finished;
    }
  },
});
