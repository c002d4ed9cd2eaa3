/**
 * `GET /`: a one-page live dashboard. One self-contained HTML string (inline
 * CSS and JS, no external resources) so it works on an air-gapped appliance.
 *
 * Live updates come from `GET /events` (server-sent events, one snapshot per
 * 500 ms). If no event arrives for 2.5 s (a buffering proxy, a browser without
 * EventSource) the page polls `GET /status` instead. The busiest flows come
 * from `GET /flows?limit=10`, refreshed every 2 s. The charts draw the unit's
 * own one-second samples: `GET /history` once, then `GET /history?since=T` every
 * second; role changes, peer loss and takeovers from the snapshot's timeline
 * are marked on them. Charts are inline SVG built with DOM calls (no library).
 * All data is inserted with `textContent`, never as HTML, so event details and
 * service names cannot inject markup.
 * @module
 */

import { createHash } from "node:crypto";

const STYLE = String.raw`
:root { color-scheme: dark; --bg: #0f1419; --card: #182029; --line: #26313d; --fg: #e6edf3;
  --dim: #8b98a5; --green: #2ea043; --blue: #388bfd; --orange: #d29922; --red: #f85149;
  --purple: #a371f7; --grey: #484f58; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
header { display: flex; align-items: center; gap: 12px; padding: 14px 20px;
  border-bottom: 1px solid var(--line); }
header h1 { font-size: 20px; margin: 0; font-weight: 600; }
header .sp { flex: 1; }
main { padding: 16px 20px; display: grid; gap: 16px; }
h2 { font-size: 12px; text-transform: uppercase; letter-spacing: .08em; color: var(--dim);
  margin: 0 0 8px; font-weight: 600; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(200px, 1fr)); gap: 12px; }
.card, .panel { background: var(--card); border: 1px solid var(--line); border-radius: 8px;
  padding: 12px 14px; }
.big { font-size: 26px; font-weight: 600; margin-bottom: 4px; }
.cols { display: grid; grid-template-columns: 2fr 1fr; gap: 12px; }
@media (max-width: 800px) { .cols { grid-template-columns: 1fr; } }
.badge { display: inline-block; padding: 1px 10px; border-radius: 999px; background: var(--grey);
  color: #fff; font-size: 0.8em; font-weight: 600; }
.s-active, .s-up, .s-done { background: var(--green); }
.s-standby, .s-sending, .s-receiving { background: var(--blue); }
.s-solo, .s-unknown { background: var(--orange); }
.s-joining { background: var(--purple); }
.s-down { background: var(--red); }
.flag { display: inline-block; margin: 6px 6px 0 0; padding: 1px 8px; border-radius: 4px;
  border: 1px solid var(--grey); color: var(--dim); font-size: 12px; }
.flag.on { border-color: var(--green); color: #fff; background: rgba(46, 160, 67, .25); }
.pill { font-size: 12px; padding: 2px 10px; border-radius: 999px; border: 1px solid var(--grey); }
.pill.on { border-color: var(--green); color: var(--green); }
.pill.off { border-color: var(--red); color: var(--red); }
.dim { color: var(--dim); }
.mono, td.mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  font-size: 12px; }
dl { display: grid; grid-template-columns: auto 1fr; gap: 2px 12px; margin: 6px 0 0; }
dt { color: var(--dim); } dd { margin: 0; text-align: right; font-variant-numeric: tabular-nums; }
progress { width: 100%; height: 10px; margin: 6px 0; accent-color: var(--blue); }
table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); }
th { color: var(--dim); font-weight: 600; font-size: 12px; }
td.n, th.n { text-align: right; }
ol { list-style: none; margin: 0; padding: 0; max-height: 320px; overflow: auto; }
ol li { display: grid; grid-template-columns: 190px 110px 1fr; gap: 8px; padding: 5px 0;
  border-bottom: 1px solid var(--line); }
.kind { font-weight: 600; }
.empty { color: var(--dim); font-style: italic; }
.gap { margin-top: 12px; }
[hidden] { display: none !important; }
.s-draining { background: var(--orange); }
.s-maintenance { background: var(--purple); }
.s-unchecked { background: var(--grey); }
.ok { color: var(--green); } .bad { color: var(--red); }
.warn { margin-top: 8px; padding: 4px 8px; border-radius: 4px; border: 1px solid var(--red);
  color: var(--red); font-weight: 600; }
ul.checks { list-style: none; margin: 6px 0 0; padding: 0; font-size: 12px; }
ul.checks li { display: flex; justify-content: space-between; gap: 8px; }
.svc + .svc { margin-top: 14px; }
.svc-head { display: flex; flex-wrap: wrap; gap: 4px 14px; align-items: baseline;
  margin-bottom: 4px; }
.svc-head b { font-size: 15px; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap: 12px; }
svg.chart { width: 100%; height: auto; display: block; }
svg.chart .axis { stroke: var(--line); stroke-width: 1; }
svg.chart .series { fill: none; stroke: var(--blue); stroke-width: 1.5;
  stroke-linejoin: round; }
svg.chart .dot { fill: var(--blue); }
svg.chart .rx { fill: rgba(46, 160, 67, .10); }
svg.chart text { fill: var(--dim); font-size: 10px; }
svg.chart text.title { fill: var(--fg); font-weight: 600; }
svg.chart .marker line { stroke: var(--orange); stroke-width: 1; stroke-dasharray: 3 2; }
svg.chart .marker text { fill: var(--orange); }
`;

const SCRIPT = String.raw`
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const set = (id, v) => { const e = $(id); if (e && e.textContent !== v) e.textContent = v; };
  let prev = null;
  let lastMsg = 0; // any snapshot
  let lastEvent = 0; // a snapshot from the event stream
  let lastFlows = 0;

  function si(n, unit) {
    if (n === null || !isFinite(n)) return "–";
    const steps = [[1e9, "G"], [1e6, "M"], [1e3, "k"]];
    for (const [f, p] of steps) if (Math.abs(n) >= f) return (n / f).toFixed(n / f < 10 ? 2 : 1) + " " + p + unit;
    return (Number.isInteger(n) ? String(n) : n.toFixed(1)) + (unit ? " " + unit : "");
  }
  function ms(v) {
    if (v === null || v === undefined) return "–";
    if (v < 1) return Math.round(v * 1000) + " µs";
    return v.toFixed(v < 10 ? 2 : 0) + " ms";
  }
  function dur(s) {
    s = Math.floor(s);
    const d = Math.floor(s / 86400), h = Math.floor(s / 3600) % 24, m = Math.floor(s / 60) % 60;
    return (d ? d + "d " : "") + (d || h ? h + "h " : "") + (d || h || m ? m + "m " : "") + (s % 60) + "s";
  }
  function badge(id, value) {
    const e = $(id);
    e.textContent = value;
    e.className = "badge s-" + value;
  }
  function flag(id, on) { $(id).className = on ? "flag on" : "flag"; }
  function stamp(at) {
    const d = new Date(at);
    const p = (n, w) => String(n).padStart(w || 2, "0");
    const day = d.getFullYear() + "-" + p(d.getMonth() + 1) + "-" + p(d.getDate());
    const time = p(d.getHours()) + ":" + p(d.getMinutes()) + ":" + p(d.getSeconds()) + "." +
      p(d.getMilliseconds(), 3);
    return new Date().toDateString() === d.toDateString() ? time : day + " " + time;
  }
  function cell(tr, text, cls) {
    const td = document.createElement("td");
    td.textContent = text;
    if (cls) td.className = cls;
    tr.appendChild(td);
  }
  function empty(parent, tag, text, span) {
    const e = document.createElement(tag);
    e.className = "empty";
    if (span) e.colSpan = span;
    e.textContent = text;
    if (tag === "td") { const tr = document.createElement("tr"); tr.appendChild(e); parent.appendChild(tr); }
    else parent.appendChild(e);
  }

  const SVGNS = "http://www.w3.org/2000/svg";
  /** Ten minutes of one-second samples, as the unit keeps them. */
  const HISTORY_KEEP = 600;
  /** Timeline kinds worth a line on the charts: who holds the addresses changed, or may. */
  const MARK_KINDS = ["role", "peer", "takeover", "failover", "split", "recover", "maintenance"];
  const CHARTS = [
    { id: "chart-rx", key: "rxPps", title: "rx packets/s", fmt: (v) => si(v, "pkt/s") },
    { id: "chart-tx", key: "txBps", title: "tx bits/s", fmt: (v) => si(v, "bit/s") },
    { id: "chart-flows", key: "flows", title: "flows", fmt: (v) => si(v, "") },
    { id: "chart-lag", key: "mirrorLagMs", title: "mirror lag p50", fmt: ms },
    { id: "chart-rtt", key: "heartbeatRttMs", title: "heartbeat RTT", fmt: ms },
  ];
  let history = [];
  let marks = [];

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function svg(parent, tag, attrs, text) {
    const e = document.createElementNS(SVGNS, tag);
    for (const k in attrs) e.setAttribute(k, String(attrs[k]));
    if (text !== undefined) e.textContent = text;
    parent.appendChild(e);
    return e;
  }
  function clock(at) {
    const d = new Date(at);
    const p = (n) => String(n).padStart(2, "0");
    return p(d.getHours()) + ":" + p(d.getMinutes()) + ":" + p(d.getSeconds());
  }
  /** The smallest of 1, 2, 2.5, 5 × 10^k at or above v: a round top for the y axis. */
  function niceMax(v) {
    if (!(v > 0) || !isFinite(v)) return 1;
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 2, 2.5, 5, 10]) if (v <= m * p * (1 + 1e-9)) return m * p;
    return 10 * p;
  }
  const num = (v) => typeof v === "number" && isFinite(v);

  /** One chart: the series (broken at nulls and gaps), receiver spans shaded, event lines. */
  function drawChart(def, start, end) {
    const box = $(def.id);
    if (!box) return;
    box.replaceChildren();
    const W = 360, H = 130, L = 4, R = 4, T = 22, B = 18;
    const span = Math.max(1, end - start);
    const x = (at) => L + ((at - start) / span) * (W - L - R);
    const vals = history.map((s) => s[def.key]).filter(num);
    const max = niceMax(Math.max(0, ...vals));
    const y = (v) => T + (1 - Math.min(v, max) / max) * (H - T - B);
    // Shade the seconds this unit was the receiver (it owned the addresses).
    for (let i = 0; i < history.length; i++) {
      const s = history[i];
      if (!s.receiver) continue;
      const from = i > 0 && s.at - history[i - 1].at <= 3000 ? history[i - 1].at : s.at - 1000;
      svg(box, "rect", { class: "rx", x: x(Math.max(start, from)).toFixed(1), y: T,
        width: Math.max(0.5, x(s.at) - x(Math.max(start, from))).toFixed(1), height: H - T - B });
    }
    svg(box, "line", { class: "axis", x1: L, x2: W - R, y1: H - B, y2: H - B });
    svg(box, "line", { class: "axis", x1: L, x2: W - R, y1: T, y2: T });
    let seg = [];
    const flush = () => {
      if (seg.length === 1) {
        const [px, py] = seg[0].split(",");
        svg(box, "circle", { class: "dot", cx: px, cy: py, r: 1.8 });
      }
      if (seg.length > 1) svg(box, "polyline", { class: "series", points: seg.join(" ") });
      seg = [];
    };
    let prevAt = null;
    for (const s of history) {
      const v = s[def.key];
      // A gap of more than a few seconds (a stalled or restarted unit) is not drawn across.
      if (!num(v) || (prevAt !== null && s.at - prevAt > 3000)) flush();
      if (num(v)) seg.push(x(s.at).toFixed(1) + "," + y(v).toFixed(1));
      prevAt = s.at;
    }
    flush();
    let drawn = 0;
    for (const ev of marks) {
      if (ev.at < start || ev.at > end) continue;
      const g = svg(box, "g", { class: "marker" });
      const mx = x(ev.at);
      svg(g, "line", { x1: mx.toFixed(1), x2: mx.toFixed(1), y1: T - 4, y2: H - B });
      const right = mx > W * 0.75;
      // Alternate rows so that labels of events close together do not overprint.
      svg(g, "text", { x: (right ? mx - 3 : mx + 3).toFixed(1), y: T + 10 + (drawn++ % 2) * 12,
        "text-anchor": right ? "end" : "start" }, ev.kind);
      svg(g, "title", {}, stamp(ev.at) + "  " + ev.kind + ": " + ev.detail);
    }
    const last = history.length ? history[history.length - 1][def.key] : null;
    svg(box, "text", { class: "title", x: L, y: 14 }, def.title + "  " + (num(last) ? def.fmt(last) : "–"));
    svg(box, "text", { x: W - R, y: 14, "text-anchor": "end" }, "max " + def.fmt(max));
    svg(box, "text", { x: L, y: H - 5 }, clock(start));
    svg(box, "text", { x: W - R, y: H - 5, "text-anchor": "end" }, clock(end));
    if (history.length === 0) {
      svg(box, "text", { x: W / 2, y: H / 2, "text-anchor": "middle" }, "waiting for samples");
    }
  }

  function drawCharts() {
    // The unit's clock sets the window (no skew with the browser's): its last sample, or a
    // newer event, is the right edge; ten minutes back, or the first sample, the left.
    let end = history.length ? history[history.length - 1].at : Date.now();
    for (const ev of marks) if (ev.at > end && ev.at - end < 5000) end = ev.at;
    const first = history.length ? history[0].at : end - 60000;
    const start = Math.max(end - HISTORY_KEEP * 1000, Math.min(first, end - 60000));
    for (const def of CHARTS) {
      try { drawChart(def, start, end); } catch (err) { console.error(err); }
    }
  }

  let historyBusy = false;
  let historyPolls = 0;
  function pollHistory() {
    if (historyBusy) return;
    historyBusy = true;
    const last = history.length ? history[history.length - 1].at : null;
    // Every 30th poll takes the whole history again: after a unit restart or a clock step,
    // samples older than our newest would never come through ?since=.
    const whole = last === null || ++historyPolls % 30 === 0;
    fetch(whole ? "/history" : "/history?since=" + last)
      .then((r) => r.json())
      .then((j) => {
        const got = Array.isArray(j.samples) ? j.samples : [];
        if (whole) history = got.slice(-HISTORY_KEEP);
        else history = history.concat(got.filter((s) => s.at > last)).slice(-HISTORY_KEEP);
        if (whole || got.length) drawCharts();
      })
      .catch(() => {})
      .finally(() => { historyBusy = false; });
  }

  function renderServices(services) {
    const root = $("services");
    root.replaceChildren();
    if (services.length === 0) { empty(root, "div", "no services"); return; }
    for (const svc of services) {
      const box = el("div", "svc");
      const head = el("div", "svc-head");
      head.append(
        el("b", "", svc.name),
        el("span", "mono", svc.listen + "/" + svc.protocol),
        el("span", "dim", svc.scheduler),
        el("span", "dim", svc.health.kind === "none" ? "no health checks"
          : "health " + svc.health.kind + " every " + svc.health.intervalMs / 1000 + " s"),
      );
      if (svc.persistenceMs !== null) {
        head.append(el("span", "dim", "persistence " + svc.persistenceMs / 1000 + " s"));
      }
      const up = el("span", svc.backendsUp > 0 ? "ok" : "bad",
        svc.backendsUp + " of " + svc.backends.length + " up");
      head.append(up);
      const table = el("table");
      const thead = el("thead");
      const hr = el("tr");
      for (const [h, n] of [["backend"], ["weight", 1], ["admin"], ["health"], ["peer health"],
        ["state"], ["flows", 1]]) hr.appendChild(el("th", n ? "n" : "", h));
      thead.appendChild(hr);
      const body = el("tbody");
      if (svc.backends.length === 0) empty(body, "td", "no backends", 7);
      for (const b of svc.backends) {
        const tr = el("tr");
        tr.dataset.backend = b.address;
        cell(tr, b.address, "mono");
        cell(tr, String(b.weight), "n");
        cell(tr, b.admin, b.admin === "enabled" ? "" : "admin");
        const health = (h) => h === null ? "–" : h;
        const hcls = (h) => h === "up" ? "ok" : h === "down" ? "bad" : "dim";
        cell(tr, health(b.health), "health " + hcls(b.health));
        cell(tr, health(b.peerHealth), "peer " + hcls(b.peerHealth));
        const td = el("td", "state");
        td.appendChild(el("span", "badge s-" + b.state, b.state));
        tr.appendChild(td);
        cell(tr, b.flows.toLocaleString(), "n");
        body.appendChild(tr);
      }
      table.append(thead, body);
      box.append(head, table);
      root.appendChild(box);
    }
  }

  function renderFailsafe(f) {
    const e = $("fs-healthy");
    e.textContent = f.healthy ? "healthy" : "unhealthy";
    e.className = "badge " + (f.healthy ? "s-up" : "s-down");
    set("fs-peer", f.peerHealthy === null ? "–" : f.peerHealthy ? "healthy" : "UNHEALTHY");
    set("fs-maintenance", f.maintenance ? "ON" : "off");
    set("fs-preempt", f.preempt ? "on, after " + f.preemptDelayMs / 1000 + " s" : "off");
    const list = $("fs-checks");
    list.replaceChildren();
    if (f.checks.length === 0) empty(list, "li", "no link or gateway checks");
    for (const c of f.checks) {
      const li = el("li");
      li.append(el("span", "", c.name + " · " + c.kind + " " + c.target),
        el("span", c.up ? "ok" : "bad", c.up ? "up" : "DOWN"));
      list.appendChild(li);
    }
  }

  function renderConfig(cfg, match) {
    set("cfg-digest", cfg.digest);
    set("cfg-loaded", stamp(cfg.loadedAt));
    const r = cfg.lastReload;
    const e = $("cfg-reload");
    e.textContent = r === null ? "none" : (r.ok ? "ok" : "FAILED") + " " + stamp(r.at);
    e.className = r === null ? "" : r.ok ? "ok" : "bad";
    set("cfg-reload-msg", r === null ? "" : r.message);
    $("cfg-differs").hidden = match !== false;
  }

  function render(s) {
    const c = s.counters || {};
    document.title = "tandem " + s.node + " · " + s.state;
    set("node", s.node);
    set("version", "v" + s.version);
    set("mode", s.mode);
    badge("state", s.state);
    set("role", s.role);
    flag("receiver", s.receiver);
    flag("forwarder", s.forwarder);

    badge("peer-state", s.peer.state);
    set("peer-address", s.peer.address || "no peer configured");
    set("peer-age", s.peer.lastHeartbeatAgeMs === null ? "never" : ms(s.peer.lastHeartbeatAgeMs) + " ago");
    set("peer-rtt", ms(s.peer.rttMs));
    set("peer-config", s.peer.configMatch === null ? "–" : s.peer.configMatch ? "match" : "DIFFERS");

    set("flow-count", s.flows.count.toLocaleString());
    set("flow-capacity", s.flows.capacity.toLocaleString());
    set("flow-digest", s.flows.digest);

    // Prefer the unit's own clock (exact); fall back to arrival time on the page's clock.
    const unitT = typeof s.monotonicMs === "number" ? s.monotonicMs : null;
    const pageT = performance.now();
    if (prev) {
      const dt = ((unitT !== null && prev.unitT !== null) ? unitT - prev.unitT : pageT - prev.pageT) /
        1000;
      // A restarted unit (counters or clock went back) yields no rate for one round.
      const rate = (k) => {
        const a = c[k], b = prev.c[k];
        return typeof a === "number" && typeof b === "number" && a >= b && dt > 0 ? (a - b) / dt : null;
      };
      const bits = (k) => { const r = rate(k); return r === null ? null : r * 8; };
      set("rx-pps", si(rate("rx_packets"), "pkt/s"));
      set("tx-pps", si(rate("tx_packets"), "pkt/s"));
      set("rx-bps", si(bits("rx_bytes"), "bit/s"));
      set("tx-bps", si(bits("tx_bytes"), "bit/s"));
    }
    prev = { unitT, pageT, c };

    badge("sync-state", s.sync.state);
    const total = s.sync.total;
    const ratio = s.sync.state === "done" ? 1 : total > 0 ? Math.min(1, s.sync.done / total) : 0;
    $("sync-bar").value = ratio;
    set("sync-text", s.sync.done.toLocaleString() + " / " + total.toLocaleString() + " flows (" +
      Math.round(ratio * 100) + "%)");
    set("uptime", dur(s.uptimeSeconds));

    const drops = Object.keys(c).filter((k) => k.startsWith("drop_") && c[k] > 0)
      .sort((a, b) => c[b] - c[a]);
    const dropTable = $("drops");
    dropTable.replaceChildren();
    if (drops.length === 0) empty(dropTable, "td", "no drops", 2);
    for (const k of drops.slice(0, 12)) {
      const tr = document.createElement("tr");
      cell(tr, k.slice(5));
      cell(tr, c[k].toLocaleString(), "n");
      dropTable.appendChild(tr);
    }

    const list = $("events");
    const events = (s.events || []).slice().sort((a, b) => b.at - a.at).slice(0, 100);
    list.replaceChildren();
    if (events.length === 0) empty(list, "li", "no events yet");
    for (const ev of events) {
      const li = document.createElement("li");
      const t = document.createElement("span"); t.className = "dim mono"; t.textContent = stamp(ev.at);
      const k = document.createElement("span"); k.className = "kind"; k.textContent = ev.kind;
      const d = document.createElement("span"); d.textContent = ev.detail;
      li.append(t, k, d);
      list.appendChild(li);
    }

    // Sections from issue 9; an older unit without them leaves the placeholders.
    if (Array.isArray(s.services)) renderServices(s.services);
    if (s.failsafe) renderFailsafe(s.failsafe);
    if (s.config) renderConfig(s.config, s.peer.configMatch);
    const newMarks = (s.events || []).filter((e) => MARK_KINDS.includes(e.kind));
    if (JSON.stringify(newMarks) !== JSON.stringify(marks)) {
      marks = newMarks;
      drawCharts();
    }
  }

  function renderFlows(flows) {
    const body = $("flows");
    body.replaceChildren();
    if (flows.length === 0) empty(body, "td", "no flows", 8);
    for (const f of flows) {
      const tr = document.createElement("tr");
      cell(tr, f.proto);
      cell(tr, f.client, "mono");
      cell(tr, f.vip, "mono");
      cell(tr, f.backend, "mono");
      cell(tr, f.state);
      cell(tr, f.packets.toLocaleString(), "n");
      cell(tr, si(f.bytes, "B"), "n");
      cell(tr, dur(f.ageSeconds), "n");
      body.appendChild(tr);
    }
  }

  function live(ok) {
    const e = $("live");
    e.textContent = ok ? "live" : "disconnected";
    e.className = ok ? "pill on" : "pill off";
  }
  function onSnapshot(s) {
    lastMsg = Date.now();
    live(true);
    try { render(s); } catch (err) { console.error(err); }
    if (Date.now() - lastFlows >= 2000) {
      lastFlows = Date.now();
      fetch("/flows?limit=10").then((r) => r.json()).then((j) => renderFlows(j.flows || []))
        .catch(() => {});
    }
  }
  function poll() {
    fetch("/status").then((r) => r.json()).then(onSnapshot).catch(() => live(false));
  }

  if (typeof EventSource === "function") {
    const es = new EventSource("/events");
    es.addEventListener("snapshot", (e) => {
      lastEvent = Date.now();
      try { onSnapshot(JSON.parse(e.data)); } catch (_) {}
    });
    es.onerror = () => {
      if (Date.now() - lastMsg > 1000) { live(false); poll(); }
    };
  }
  // Fallback: poll when the stream is silent (buffering proxy, no EventSource).
  setInterval(() => { if (Date.now() - lastEvent > 2500) poll(); }, 1000);
  poll();
  // Charts: everything the unit holds once, then what is new, every second.
  drawCharts();
  pollHistory();
  setInterval(pollHistory, 1000);
})();
`;

const BODY = String.raw`
<header>
  <h1>tandem <span id="node" class="dim">…</span></h1>
  <span id="mode" class="dim"></span>
  <span id="version" class="dim"></span>
  <span class="sp"></span>
  <span id="live" class="pill off">connecting</span>
</header>
<main>
  <section class="cards">
    <div class="card">
      <h2>State</h2>
      <div class="big"><span id="state" class="badge">…</span></div>
      <div class="dim">boot role <b id="role">…</b></div>
      <span id="receiver" class="flag">receiver</span><span id="forwarder" class="flag">forwarder</span>
    </div>
    <div class="card">
      <h2>Peer</h2>
      <div class="big"><span id="peer-state" class="badge">…</span></div>
      <div id="peer-address" class="mono dim"></div>
      <dl>
        <dt>heartbeat</dt><dd id="peer-age">–</dd>
        <dt>RTT</dt><dd id="peer-rtt">–</dd>
        <dt>config</dt><dd id="peer-config">–</dd>
      </dl>
    </div>
    <div class="card">
      <h2>Flows</h2>
      <div class="big" id="flow-count">–</div>
      <div class="dim">capacity <span id="flow-capacity">–</span></div>
      <div class="dim">digest <span id="flow-digest" class="mono">–</span></div>
    </div>
    <div class="card">
      <h2>Throughput</h2>
      <dl>
        <dt>rx</dt><dd id="rx-pps">–</dd>
        <dt>tx</dt><dd id="tx-pps">–</dd>
        <dt>rx</dt><dd id="rx-bps">–</dd>
        <dt>tx</dt><dd id="tx-bps">–</dd>
      </dl>
    </div>
    <div class="card">
      <h2>Sync</h2>
      <span id="sync-state" class="badge">…</span>
      <progress id="sync-bar" max="1" value="0"></progress>
      <div id="sync-text" class="dim"></div>
      <h2 class="gap">Uptime</h2>
      <div id="uptime">–</div>
    </div>
    <div class="card">
      <h2>Fail-safes</h2>
      <div class="big"><span id="fs-healthy" class="badge">…</span></div>
      <dl>
        <dt>peer</dt><dd id="fs-peer">–</dd>
        <dt>maintenance</dt><dd id="fs-maintenance">–</dd>
        <dt>preempt</dt><dd id="fs-preempt">–</dd>
      </dl>
      <ul id="fs-checks" class="checks"></ul>
    </div>
    <div class="card">
      <h2>Config</h2>
      <div id="cfg-digest" class="mono">–</div>
      <dl>
        <dt>loaded</dt><dd id="cfg-loaded">–</dd>
        <dt>last reload</dt><dd id="cfg-reload">–</dd>
      </dl>
      <div id="cfg-reload-msg" class="dim"></div>
      <div id="cfg-differs" class="warn" hidden>configs differ from the peer's</div>
    </div>
  </section>
  <section class="panel">
    <h2>Last minutes</h2>
    <div class="charts">
      <svg id="chart-rx" class="chart" viewBox="0 0 360 130" role="img" aria-label="rx packets/s"></svg>
      <svg id="chart-tx" class="chart" viewBox="0 0 360 130" role="img" aria-label="tx bits/s"></svg>
      <svg id="chart-flows" class="chart" viewBox="0 0 360 130" role="img" aria-label="flows"></svg>
      <svg id="chart-lag" class="chart" viewBox="0 0 360 130" role="img" aria-label="mirror lag"></svg>
      <svg id="chart-rtt" class="chart" viewBox="0 0 360 130" role="img" aria-label="heartbeat RTT"></svg>
    </div>
    <div class="dim gap">Shaded: this unit was the receiver. Dashed lines: role changes,
      peer loss and takeovers from the timeline.</div>
  </section>
  <section class="panel">
    <h2>Services</h2>
    <div id="services"><div class="empty">…</div></div>
  </section>
  <section class="cols">
    <div class="panel">
      <h2>Failover timeline</h2>
      <ol id="events"></ol>
    </div>
    <div class="panel">
      <h2>Drops</h2>
      <table><tbody id="drops"></tbody></table>
    </div>
  </section>
  <section class="panel">
    <h2>Busiest flows</h2>
    <table>
      <thead><tr>
        <th>proto</th><th>client</th><th>vip</th><th>backend</th><th>state</th>
        <th class="n">packets</th><th class="n">bytes</th><th class="n">age</th>
      </tr></thead>
      <tbody id="flows"></tbody>
    </table>
  </section>
</main>
`;

function cspHash(text: string): string {
  return `'sha256-${createHash("sha256").update(text, "utf8").digest("base64")}'`;
}

/** The whole page. */
export const DASHBOARD_HTML: string = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tandem</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body>${BODY}<script>${SCRIPT}</script>
</body>
</html>
`;

/**
 * Content-Security-Policy for the page: only its own inline style and script
 * (pinned by hash) and same-origin fetches; nothing else loads or runs.
 */
export const DASHBOARD_CSP: string = [
  "default-src 'none'",
  `script-src ${cspHash(SCRIPT)}`,
  `style-src ${cspHash(STYLE)}`,
  "connect-src 'self'",
  "img-src data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");
