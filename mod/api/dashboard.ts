/**
 * `GET /`: a one-page live dashboard. One self-contained HTML string (inline
 * CSS and JS, no external resources) so it works on an air-gapped appliance.
 *
 * Live updates come from `GET /events` (server-sent events, one snapshot per
 * 500 ms). If no event arrives for 2.5 s (a buffering proxy, a browser without
 * EventSource) the page polls `GET /status` instead. The busiest flows come
 * from `GET /flows?limit=10`, refreshed every 2 s. All data is inserted with
 * `textContent`, never as HTML, so event details cannot inject markup.
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
