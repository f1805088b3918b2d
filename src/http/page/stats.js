/* stats.js - fills the stats page from GET /api/stats every 5 s and draws the
 * deletions per reason as stacked SVG bars.  No library.  With http_token set
 * the operator opens the page as /#token=... ; the token stays in the URL
 * fragment (never sent to the server in the URL) and goes out as a Bearer
 * header on the page's fetches only. */
"use strict";
(function () {
  const SVGNS = "http://www.w3.org/2000/svg";
  const REFRESH_MS = 5000;
  const token = (function () {
    const m = /(?:^#|&)token=([^&]*)/.exec(location.hash);
    return m ? decodeURIComponent(m[1]) : "";
  })();

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function svg(tag, attrs) {
    const e = document.createElementNS(SVGNS, tag);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    return e;
  }
  function when(iso) {
    if (!iso) return "\u2014";
    const d = new Date(iso);
    return isNaN(d) ? iso : d.toLocaleString();
  }
  function dur(ms) {
    if (ms === null || ms === undefined) return "\u2014";
    return ms < 1000 ? ms + " ms" : (ms / 1000).toFixed(1) + " s";
  }
  function row(tbody, cells, attrs) {
    const tr = el("tr");
    for (const k in attrs || {}) tr.dataset[k] = attrs[k];
    for (const c of cells) {
      const td = el("td", c.t, c.num ? "num" : c.cls);
      if (c.key) td.dataset.field = c.key;
      tr.appendChild(td);
    }
    tbody.appendChild(tr);
  }
  function fill(id, items, cellsOf, attrsOf) {
    const tbody = document.querySelector("#" + id + " tbody");
    tbody.replaceChildren();
    for (const it of items || []) row(tbody, cellsOf(it), attrsOf ? attrsOf(it) : {});
  }

  function renderShards(shards) {
    fill("shards", shards, s => [
      { t: s.id }, { t: s.state, cls: s.connected ? "" : "bad", key: "state" },
      { t: s.heartbeat_rtt_ms === null ? "\u2014" : s.heartbeat_rtt_ms + " ms", num: 1, key: "rtt" },
      { t: dur(s.last_ack_age_ms) + (s.last_ack_age_ms === null ? "" : " ago"), num: 1 },
      { t: s.guilds, num: 1 }], s => ({ shard: s.id, state: s.state }));
  }
  function sweepCells(sw) {
    return sw ? [{ t: when(sw.at) }, { t: sw.removed, num: 1, key: "removed" }, { t: dur(sw.duration_ms), num: 1 },
      { t: sw.result, cls: sw.result === "ok" ? "" : "bad", key: "result" }]
      : [{ t: "never" }, { t: "\u2014", num: 1 }, { t: "\u2014", num: 1 }, { t: "\u2014" }];
  }
  function renderGuilds(guilds) {
    fill("guilds", guilds, g => [{ t: g.name || g.id, key: "name" }, { t: g.shard, num: 1 },
      { t: g.rows === null ? "\u2014" : g.rows, num: 1, key: "rows" }]
      .concat(sweepCells(g.last_sweep), [{ t: when(g.next_sweep) }]), g => ({ guild: g.id }));
  }
  function renderSweeps(sweeps) {
    fill("sweeps", sweeps, s => [{ t: when(s.at) }, { t: s.guild_name || s.guild, key: "name" },
      { t: s.removed, num: 1, key: "removed" }, { t: dur(s.duration_ms), num: 1 },
      { t: s.result + (s.dry_run ? " (dry run)" : ""), cls: s.result === "ok" ? "" : "bad", key: "result" }],
      s => ({ guild: s.guild }));
  }

  function bucketLabel(start, i, secs) {
    const d = new Date(new Date(start).getTime() + i * secs * 1000);
    return secs < 86400 ? String(d.getHours()).padStart(2, "0") + "h"
      : (d.getMonth() + 1) + "/" + d.getDate();
  }
  function chart(id, reasons, win) {
    const box = document.getElementById(id);
    const n = Math.max(0, ...reasons.map(r => (win.series[r] || []).length));
    const W = 720, H = 200, L = 40, B = 24, T = 8, bw = (W - L) / Math.max(n, 1);
    const totals = [];
    for (let i = 0; i < n; i++) totals.push(reasons.reduce((a, r) => a + ((win.series[r] || [])[i] || 0), 0));
    const max = Math.max(1, ...totals);
    const s = svg("svg", { viewBox: "0 0 " + W + " " + H, role: "img",
      "aria-label": "rows deleted per reason, " + totals.reduce((a, b) => a + b, 0) + " in all" });
    const axisY = H - B;
    s.appendChild(svg("line", { x1: L, y1: axisY, x2: W, y2: axisY }));
    s.appendChild(svg("line", { x1: L, y1: T, x2: L, y2: axisY }));
    for (const v of [0, max]) {
      const t = svg("text", { x: L - 4, y: axisY - (v / max) * (axisY - T) + 4, "text-anchor": "end" });
      t.textContent = v; s.appendChild(t);
    }
    const every = Math.ceil(n / 12);
    for (let i = 0; i < n; i++) {
      let y = axisY;
      reasons.forEach((r, ri) => {
        const v = (win.series[r] || [])[i] || 0;
        if (!v) return;
        const h = (v / max) * (axisY - T);
        y -= h;
        const rect = svg("rect", { x: L + i * bw + 1, y: y, width: Math.max(bw - 2, 1), height: h,
          class: "r" + (ri % 5) });
        rect.dataset.reason = r; rect.dataset.value = v;
        const tip = svg("title", {}); tip.textContent = r + ": " + v; rect.appendChild(tip);
        s.appendChild(rect);
      });
      if (i % every === 0) {
        const t = svg("text", { x: L + i * bw + bw / 2, y: H - 8, "text-anchor": "middle" });
        t.textContent = bucketLabel(win.start, i, win.bucket_seconds); s.appendChild(t);
      }
    }
    box.replaceChildren(s);
    box.dataset.total = totals.reduce((a, b) => a + b, 0);
  }
  function renderDeleted(del) {
    const reasons = del.reasons || [];
    chart("chart-day", reasons, del.day);
    chart("chart-month", reasons, del.month);
    const legend = document.getElementById("legend");
    legend.replaceChildren();
    reasons.forEach((r, ri) => {
      const li = el("li");
      li.dataset.reason = r;
      li.dataset.day = (del.totals_day || {})[r] || 0;
      li.dataset.month = (del.totals_month || {})[r] || 0;
      li.appendChild(el("span", null, "r" + (ri % 5)));
      li.appendChild(document.createTextNode(r + ": " + li.dataset.day + " (24 h), " + li.dataset.month + " (30 d)"));
      legend.appendChild(li);
    });
    const sum = o => Object.values(o || {}).reduce((a, b) => a + b, 0);
    document.getElementById("total-day").textContent = "(" + sum(del.totals_day) + ")";
    document.getElementById("total-month").textContent = "(" + sum(del.totals_month) + ")";
  }

  function render(d) {
    document.getElementById("version").textContent = d.version + (d.dry_run ? " (dry run)" : "");
    renderShards(d.shards);
    renderDeleted(d.deleted);
    renderGuilds(d.guilds);
    renderSweeps(d.sweeps);
  }
  function showError(msg) {
    const e = document.getElementById("error");
    e.textContent = msg;
    e.hidden = !msg;
  }
  async function refresh() {
    try {
      const opts = { cache: "no-store", headers: {} };
      if (token) opts.headers.Authorization = "Bearer " + token;
      const r = await fetch("/api/stats", opts);
      if (!r.ok) throw new Error("HTTP " + r.status + (r.status === 401 ? " (open the page as /#token=...)" : ""));
      render(await r.json());
      showError("");
      document.getElementById("status").textContent = "Updated " + new Date().toLocaleTimeString();
      document.body.dataset.loaded = "1";
      document.body.dataset.refreshes = String(Number(document.body.dataset.refreshes || 0) + 1);
    } catch (err) {
      showError("Refresh failed at " + new Date().toLocaleTimeString() + ": " + err.message);
    }
  }
  refresh();
  setInterval(refresh, REFRESH_MS);
})();
