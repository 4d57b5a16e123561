// faultline report: draws the timeline, latency, throughput and availability
// plots from the JSON data island on canvases. Every history value is drawn
// with fillText or set with textContent, never parsed as HTML. Drawing is
// virtualised: only ops intersecting the visible time window are visited.
(function () {
  "use strict";
  var errorCount = 0;
  function reportError(msg) {
    errorCount += 1;
    document.body.setAttribute("data-errors", String(errorCount));
    var pre = document.getElementById("js-errors");
    if (pre) { pre.hidden = false; pre.textContent += msg + "\n"; }
  }
  window.addEventListener("error", function (e) { reportError(String(e.message)); });

  var COLORS = ["#66bb6a", "#ef5350", "#ffca28", "#bdbdbd"];
  var NEM = { partition: "rgba(244,67,54,0.13)", kill: "rgba(33,33,33,0.13)", pause: "rgba(63,81,181,0.13)",
              clock: "rgba(255,152,0,0.18)", drift: "rgba(156,39,176,0.14)" };
  var F_COLORS = ["#1e88e5", "#43a047", "#8e24aa", "#f4511e", "#00897b", "#6d4c41", "#3949ab", "#c0ca33"];
  var TYPE_NAMES = ["ok", "fail", "info", "pending"];
  var LEFT = 48, TOP = 18, AXIS = 22, ROW = 13;
  // Lost-write phases: before, during, after a failover window, outside any.
  var PHASE_COLORS = ["#ef6c00", "#d50000", "#6a1b9a", "#546e7a"];
  var PHASE_NAMES = ["before", "during", "after", "none"];
  var FAILOVER = "rgba(0,137,123,0.10)", FAILOVER_EDGE = "#00796b";

  function main() {
    var D = JSON.parse(document.getElementById("fl-data").textContent);
    var O = D.ops, n = O.t0.length, end = Math.max(D.end, 1);
    var order = new Uint32Array(n);
    for (var i = 0; i < n; i++) order[i] = i;
    var sorted = true;
    for (i = 1; i < n; i++) if (O.t0[i] < O.t0[i - 1]) { sorted = false; break; }
    if (!sorted) order.sort(function (a, b) { return O.t0[a] - O.t0[b]; });
    var t0s = new Float64Array(n), maxDur = 0;
    for (i = 0; i < n; i++) { t0s[i] = O.t0[order[i]]; maxDur = Math.max(maxDur, O.t1[i] - O.t0[i]); }
    var byHist = new Map();
    for (i = 0; i < n; i++) { byHist.set(O.inv[i], i); if (O.cmp[i] >= 0) byHist.set(O.cmp[i], i); }
    var witness = new Set(D.witness), wList = [];
    for (i = 0; i < n; i++) if (witness.has(O.inv[i]) || witness.has(O.cmp[i])) wList.push(i);
    var view = { a: 0, b: end }, selected = -1, focus = null;
    var lanes = Math.max(D.lanes.length, 1);
    var laneH = Math.max(2, Math.min(18, Math.floor(380 / lanes)));
    // One row per node for leader (▼) / step-down (▽) markers, one for lost writes, then the lanes.
    var nodes = [];
    D.markers.forEach(function (m) { if (nodes.indexOf(m.node) < 0) nodes.push(m.node); });
    nodes.sort();
    var lostRow = D.lost.length > 0 ? 1 : 0;
    // A strip for failover labels above the node rows (NT = top of the node rows).
    var NT = TOP + (D.failovers.length > 0 ? ROW + 2 : 0);
    var LT = NT + (nodes.length + lostRow) * ROW + (nodes.length + lostRow > 0 ? 4 : 0);

    var tl = document.getElementById("tl-canvas");
    var lat = document.getElementById("lat-canvas");
    var thr = document.getElementById("thr-canvas");
    var avail = document.getElementById("avail-canvas");
    tl.setAttribute("height", String(LT + lanes * laneH + AXIS));

    function setup(c) {
      var dpr = window.devicePixelRatio || 1, w = c.clientWidth || 1000, h = Number(c.getAttribute("height"));
      c.style.height = h + "px";
      if (c.width !== Math.round(w * dpr)) { c.width = Math.round(w * dpr); c.height = Math.round(h * dpr); }
      var g = c.getContext("2d");
      g.setTransform(dpr, 0, 0, dpr, 0, 0);
      g.clearRect(0, 0, w, h);
      return { g: g, w: w, h: h, sx: (w - LEFT) / (view.b - view.a) };
    }
    function X(p, t) { return LEFT + (t - view.a) * p.sx; }
    // First position in sorted order whose invocation could still be visible.
    function firstVisible() {
      var lo = 0, hi = n, target = view.a - maxDur;
      while (lo < hi) { var m = (lo + hi) >> 1; if (t0s[m] < target) lo = m + 1; else hi = m; }
      return lo;
    }
    function fmtT(us) {
      var s = us / 1e6;
      return (view.b - view.a) < 2e6 ? s.toFixed(3) + "s" : (view.b - view.a) < 2e7 ? s.toFixed(2) + "s" : s.toFixed(1) + "s";
    }
    function nemesis(p, top, bottom, labels) {
      D.nemesis.forEach(function (w) {
        if (w.end < view.a || w.start > view.b) return;
        var x0 = X(p, w.start), x1 = Math.max(X(p, w.end), x0 + 2);
        p.g.fillStyle = NEM[w.kind] || "rgba(156,39,176,0.15)";
        p.g.fillRect(Math.max(x0, LEFT), top, Math.min(x1, p.w) - Math.max(x0, LEFT), bottom - top);
        if (labels && x0 >= LEFT) { p.g.fillStyle = "#b71c1c"; p.g.font = "10px sans-serif"; p.g.fillText(w.kind, x0 + 2, top + 10); }
      });
    }
    // Failover windows: shaded band, edges, and (on the timeline) the label.
    // Diagonal teal hatching, so a failover reads apart from a nemesis band it overlaps.
    var hatch = null;
    function hatchPattern(g) {
      if (hatch) return hatch;
      var c = document.createElement("canvas"); c.width = 8; c.height = 8;
      var h = c.getContext("2d");
      h.fillStyle = FAILOVER; h.fillRect(0, 0, 8, 8);
      h.strokeStyle = "rgba(0,121,107,0.45)"; h.lineWidth = 1.5;
      h.beginPath(); h.moveTo(-2, 10); h.lineTo(10, -2); h.moveTo(6, 10); h.lineTo(10, 6); h.moveTo(-2, 2); h.lineTo(2, -2); h.stroke();
      hatch = g.createPattern(c, "repeat");
      return hatch;
    }
    function failovers(p, top, bottom, labels) {
      var g = p.g;
      D.failovers.forEach(function (w) {
        if (w.end < view.a || w.start > view.b) return;
        var x0 = X(p, w.start), x1 = Math.max(X(p, w.end), x0 + 2), l = Math.max(x0, LEFT), r = Math.min(x1, p.w);
        g.fillStyle = hatchPattern(g); g.fillRect(l, top, r - l, bottom - top);
        g.fillStyle = FAILOVER_EDGE;
        if (x0 >= LEFT) g.fillRect(x0, top, 1.5, bottom - top);
        if (x1 <= p.w) g.fillRect(x1 - 1.5, top, 1.5, bottom - top);
        if (labels) {
          g.font = "bold 11px sans-serif";
          var tw = g.measureText(w.label).width, lx = Math.max(LEFT, Math.min(l + 3, p.w - tw - 3));
          g.fillStyle = "rgba(255,255,255,0.9)"; g.fillRect(lx - 2, TOP, tw + 4, ROW);
          g.fillStyle = FAILOVER_EDGE; g.fillText(w.label, lx, TOP + ROW - 3);
        }
      });
    }
    // Lines and points stay right of the y-axis labels (callers restore()).
    function clip(p) {
      p.g.save(); p.g.beginPath(); p.g.rect(LEFT, 0, p.w - LEFT, p.h); p.g.clip();
    }
    function axis(p, y) {
      var g = p.g, span = view.b - view.a, step = Math.pow(10, Math.floor(Math.log10(span / 8)));
      if (span / step > 16) step *= 5; else if (span / step > 8) step *= 2;
      g.fillStyle = "#555"; g.strokeStyle = "#ddd"; g.font = "11px sans-serif";
      for (var t = Math.ceil(view.a / step) * step; t <= view.b; t += step) {
        var x = X(p, t);
        g.beginPath(); g.moveTo(x, TOP); g.lineTo(x, y); g.stroke();
        g.fillText(fmtT(t), x + 2, y + 14);
      }
    }

    function drawTimeline() {
      var p = setup(tl), g = p.g, bottom = LT + lanes * laneH;
      nemesis(p, 0, bottom, true);
      axis(p, bottom);
      failovers(p, 0, bottom, true);
      // Per node: ▼ became leader (with its term), ▽ stepped down, | other events.
      g.font = "10px sans-serif";
      nodes.forEach(function (nd, r) {
        var y = NT + r * ROW + ROW - 3;
        g.fillStyle = "#333"; g.fillText(nd.length > 7 ? nd.slice(0, 6) + "…" : nd, 2, y);
      });
      D.markers.forEach(function (m) {
        if (m.t < view.a || m.t > view.b) return;
        var x = X(p, m.t), r = nodes.indexOf(m.node), y = NT + r * ROW + ROW - 3;
        if (m.event === "leader") {
          g.fillStyle = "#1565c0"; g.fillText("▼", x - 4, y);
          if (p.sx * 1e5 > 4) g.fillText("t" + m.term, x + 5, y);
        } else if (m.event === "step-down") {
          g.fillStyle = "#1565c0"; g.fillText("▽", x - 4, y);
        } else { g.fillStyle = "#777"; g.fillRect(x - 0.5, y - 8, 1, 9); }
      });
      if (lostRow) {
        var ly = NT + nodes.length * ROW + ROW - 3;
        g.fillStyle = "#333"; g.fillText("lost", 2, ly);
        D.lost.forEach(function (m) {
          if (m.t < view.a || m.t > view.b) return;
          var x = X(p, m.t);
          g.fillStyle = PHASE_COLORS[m.phase] || "#000"; g.fillText("◆", x - 4, ly);
        });
      }
      if (laneH >= 10) {
        g.fillStyle = "#555"; g.font = "10px sans-serif";
        for (var l = 0; l < D.lanes.length; l++) g.fillText("p" + D.lanes[l], 2, LT + l * laneH + laneH - 3);
      }
      var paths = [new Path2D(), new Path2D(), new Path2D(), new Path2D()];
      var lastPx = new Float64Array(lanes).fill(-1), h = Math.max(1, laneH - 2);
      for (var k = firstVisible(); k < n; k++) {
        var e = order[k];
        if (O.t0[e] > view.b) break;
        if (O.t1[e] < view.a) continue;
        var x0 = Math.max(X(p, O.t0[e]), LEFT), x1 = Math.min(X(p, O.t1[e]), p.w), ln = O.lane[e];
        // Zoomed out, many ops share a pixel: draw one per lane and pixel column.
        if (x1 - x0 < 1 && Math.floor(x0) === lastPx[ln]) continue;
        lastPx[ln] = Math.floor(x0);
        paths[O.ty[e]].rect(x0, LT + ln * laneH + 1, Math.max(1, x1 - x0), h);
      }
      for (var t = 0; t < 4; t++) { g.fillStyle = COLORS[t]; g.fill(paths[t]); }
      var special = function (list, fill, stroke) {
        list.forEach(function (e) {
          if (O.t1[e] < view.a || O.t0[e] > view.b) return;
          var x0 = Math.max(X(p, O.t0[e]), LEFT), x1 = Math.min(X(p, O.t1[e]), p.w);
          var y = LT + O.lane[e] * laneH + 1, w = Math.max(3, x1 - x0);
          if (fill) { g.fillStyle = fill; g.fillRect(x0, y, w, h); }
          g.strokeStyle = stroke; g.lineWidth = 2; g.strokeRect(x0 - 1, y - 1, w + 2, h + 2); g.lineWidth = 1;
        });
      };
      special(wList, "#d500f9", "#4a0072");
      if (focus) special(focus, null, "#000");
      if (selected >= 0) special([selected], null, "#0d47a1");
      // Lost writes: a phase-coloured diamond on the acknowledging op's lane.
      D.lost.forEach(function (m) {
        var e = byHist.get(m.op);
        if (e === undefined || m.t < view.a || m.t > view.b) return;
        var x = X(p, m.t), y = LT + O.lane[e] * laneH + laneH / 2;
        g.fillStyle = PHASE_COLORS[m.phase] || "#000";
        g.beginPath(); g.moveTo(x, y - 5); g.lineTo(x + 4, y); g.lineTo(x, y + 5); g.lineTo(x - 4, y); g.closePath(); g.fill();
      });
      document.getElementById("view-link").setAttribute("href", "#t=" + (view.a / 1e6).toFixed(3) + "," + (view.b / 1e6).toFixed(3));
      document.getElementById("range").textContent = "showing " + fmtT(view.a) + " – " + fmtT(view.b) + " of " + (end / 1e6).toFixed(1) + "s, " + n + " ops";
    }

    function drawLatency() {
      var p = setup(lat), g = p.g, bottom = p.h - AXIS;
      var maxL = 1, minL = 1e9, k, e, d;
      for (k = 0; k < n; k++) { if (O.ty[k] < 3) { d = O.t1[k] - O.t0[k]; if (d > maxL) maxL = d; if (d < minL) minL = d; } }
      var lo = Math.log10(Math.max(minL, 10) / 1000), hi = Math.log10(maxL / 1000) + 0.1;
      if (hi - lo < 1) lo = hi - 1;
      var Y = function (ms) { return bottom - (Math.log10(Math.max(ms, 1e-3)) - lo) / (hi - lo) * (bottom - TOP); };
      nemesis(p, TOP, bottom, false);
      failovers(p, TOP, bottom, false);
      axis(p, bottom);
      g.fillStyle = "#555"; g.font = "10px sans-serif";
      for (var dec = Math.ceil(lo); dec <= hi; dec++) { var yy = Y(Math.pow(10, dec)); g.fillText(Math.pow(10, dec) + "ms", 2, yy + 3); g.fillStyle = "#eee"; g.fillRect(LEFT, yy, p.w - LEFT, 1); g.fillStyle = "#555"; }
      clip(p);
      for (k = firstVisible(); k < n; k++) {
        e = order[k];
        if (O.t0[e] > view.b) break;
        if (O.ty[e] === 3 || O.t0[e] < view.a) continue;
        g.fillStyle = O.ty[e] === 0 ? F_COLORS[O.f[e] % F_COLORS.length] : O.ty[e] === 1 ? "#e57373" : "#9e9e9e";
        g.fillRect(X(p, O.t0[e]) - 1, Y((O.t1[e] - O.t0[e]) / 1000) - 1, 2, 2);
      }
      var B = D.buckets;
      [["p50", "#000", B.p50], ["p95", "#555", B.p95], ["p99", "#999", B.p99]].forEach(function (q) {
        g.strokeStyle = q[1]; g.lineWidth = 1.5; g.beginPath();
        var started = false;
        for (var b = 0; b < q[2].length; b++) {
          if (q[2][b] < 0) { started = false; continue; }
          var x = X(p, (b + 0.5) * B.width), y = Y(q[2][b]);
          if (!started) { g.moveTo(x, y); started = true; } else g.lineTo(x, y);
        }
        g.stroke(); g.lineWidth = 1;
      });
      g.restore();
    }

    function drawSeries(c, series, maxV, fmt) {
      var p = setup(c), g = p.g, bottom = p.h - AXIS, B = D.buckets;
      nemesis(p, TOP, bottom, false);
      failovers(p, TOP, bottom, false);
      axis(p, bottom);
      var Y = function (v) { return bottom - v / maxV * (bottom - TOP); };
      g.fillStyle = "#555"; g.font = "10px sans-serif";
      g.fillText(fmt(maxV), 2, TOP + 8); g.fillText(fmt(0), 2, bottom);
      clip(p);
      series.forEach(function (s) {
        g.strokeStyle = s.color; g.lineWidth = 1.5; g.beginPath();
        var started = false;
        for (var b = 0; b < s.v.length; b++) {
          if (s.v[b] === null) { started = false; continue; }
          var x = X(p, (b + 0.5) * B.width), y = Y(s.v[b]);
          if (!started) { g.moveTo(x, y); started = true; } else g.lineTo(x, y);
        }
        g.stroke(); g.lineWidth = 1;
      });
      g.restore();
    }
    var B = D.buckets, perSec = 1e6 / B.width;
    var rate = function (a) { return a.map(function (v) { return v * perSec; }); };
    var thrSeries = [{ color: "#43a047", v: rate(B.ok) }, { color: "#e53935", v: rate(B.fail) }, { color: "#fbc02d", v: rate(B.info) }];
    var thrMax = 1;
    thrSeries.forEach(function (s) { s.v.forEach(function (v) { if (v > thrMax) thrMax = v; }); });
    var availSeries = [{ color: "#1565c0", v: B.ok.map(function (ok, b) { var t = ok + B.fail[b] + B.info[b]; return t ? ok / t : null; }) }];

    var legend = document.getElementById("lat-legend");
    D.fs.forEach(function (f, k) {
      var sw = document.createElement("span"); sw.className = "sw"; sw.style.background = F_COLORS[k % F_COLORS.length];
      legend.appendChild(sw); legend.appendChild(document.createTextNode(f + " ok"));
    });
    legend.appendChild(document.createTextNode("  · red: fail, grey: info · lines: p50 (black), p95, p99 (light)"));

    var pending = false;
    function redraw() {
      if (pending) return;
      pending = true;
      requestAnimationFrame(function () { pending = false; drawAll(); });
    }
    function drawAll() {
      drawTimeline(); drawLatency();
      drawSeries(thr, thrSeries, thrMax, function (v) { return v.toFixed(0) + "/s"; });
      drawSeries(avail, availSeries, 1, function (v) { return (v * 100).toFixed(0) + "%"; });
    }
    function zoomTo(a, b) {
      var minSpan = 50;
      if (b - a < minSpan) { var m = (a + b) / 2; a = m - minSpan / 2; b = m + minSpan / 2; }
      view.a = Math.max(0, a); view.b = Math.min(end, b);
      if (view.b <= view.a) { view.a = 0; view.b = end; }
      redraw();
    }
    function zoomBy(f, at) {
      var a = view.a, b = view.b, c = at === undefined ? (a + b) / 2 : at;
      zoomTo(c - (c - a) * f, c + (b - c) * f);
    }
    function describe(e) {
      var s = "op #" + O.inv[e] + (O.cmp[e] >= 0 ? " → #" + O.cmp[e] : "") + "  p" + D.lanes[O.lane[e]] + " " + D.fs[O.f[e]];
      if (O.key[e]) s += " key " + O.key[e];
      if (O.val[e]) s += " value " + O.val[e];
      s += "\n" + TYPE_NAMES[O.ty[e]] + ", " + (O.t0[e] / 1e6).toFixed(6) + "s – " + (O.t1[e] / 1e6).toFixed(6) + "s (" + ((O.t1[e] - O.t0[e]) / 1000).toFixed(3) + " ms)";
      if (witness.has(O.inv[e]) || witness.has(O.cmp[e])) s += "\nnamed by an anomaly";
      return s;
    }
    function hit(ev) {
      var r = tl.getBoundingClientRect(), x = ev.clientX - r.left, y = ev.clientY - r.top;
      var ln = Math.floor((y - LT) / laneH);
      if (ln < 0 || ln >= lanes || x < LEFT) return -1;
      var p = { sx: (r.width - LEFT) / (view.b - view.a) }, t = view.a + (x - LEFT) / p.sx, tol = 3 / p.sx, best = -1;
      for (var k = firstVisible(); k < n; k++) {
        var e = order[k];
        if (O.t0[e] > t + tol) break;
        if (O.lane[e] === ln && O.t1[e] >= t - tol) best = e;
      }
      return best;
    }
    // Zoom and pan on any plot move all of them: they share one view.
    var drag = null, tip = document.getElementById("tooltip");
    [tl, lat, thr, avail].forEach(function (c) {
      c.addEventListener("wheel", function (ev) {
        ev.preventDefault();
        var r = c.getBoundingClientRect();
        zoomBy(ev.deltaY > 0 ? 1.25 : 0.8, view.a + (ev.clientX - r.left - LEFT) / ((r.width - LEFT) / (view.b - view.a)));
      }, { passive: false });
      c.addEventListener("mousedown", function (ev) { drag = { c: c, x: ev.clientX, a: view.a, b: view.b, moved: false }; });
    });
    window.addEventListener("mouseup", function (ev) {
      if (drag && !drag.moved && drag.c === tl) {
        var e = hit(ev);
        if (e >= 0) { selected = e; document.getElementById("op-detail").textContent = describe(e); redraw(); }
      }
      drag = null;
    });
    window.addEventListener("mousemove", function (ev) {
      if (!drag) return;
      var dx = ev.clientX - drag.x;
      if (Math.abs(dx) > 2) drag.moved = true;
      var r = drag.c.getBoundingClientRect(), dt = dx / ((r.width - LEFT) / (drag.b - drag.a));
      dt = Math.max(-drag.a, Math.min(end - drag.b, -dt));
      view.a = drag.a + dt; view.b = drag.b + dt; redraw();
    });
    // The lost-writes row: tooltip for the nearest mark.
    function lostAt(ev) {
      var r = tl.getBoundingClientRect(), x = ev.clientX - r.left, y = ev.clientY - r.top, row = NT + nodes.length * ROW;
      if (!lostRow || y < row || y > row + ROW) return null;
      var best = null, bd = 6;
      D.lost.forEach(function (m) {
        var d = Math.abs(LEFT + (m.t - view.a) * (r.width - LEFT) / (view.b - view.a) - x);
        if (d < bd) { bd = d; best = m; }
      });
      return best;
    }
    tl.addEventListener("mousemove", function (ev) {
      if (drag) return;
      var r2 = tl.getBoundingClientRect(), m = lostAt(ev), e = m ? -1 : hit(ev);
      if (!m && e < 0) { tip.hidden = true; return; }
      tip.textContent = m ? m.text + " · " + PHASE_NAMES[m.phase] + " · op #" + m.op : describe(e); tip.hidden = false;
      tip.style.left = Math.min(ev.clientX - r2.left + 12, r2.width - 300) + "px"; tip.style.top = (ev.clientY - r2.top + 12) + "px";
    });
    tl.addEventListener("mouseleave", function () { tip.hidden = true; });
    document.getElementById("zoom-in").addEventListener("click", function () { zoomBy(0.5); });
    document.getElementById("zoom-out").addEventListener("click", function () { zoomBy(2); });
    document.getElementById("zoom-reset").addEventListener("click", function () { focus = null; zoomTo(0, end); });

    // Links from anomalies to the timeline.
    function showOps(ids) {
      var list = [], a = Infinity, b = -Infinity;
      ids.forEach(function (id) {
        var e = byHist.get(id);
        if (e !== undefined) { list.push(e); a = Math.min(a, O.t0[e]); b = Math.max(b, O.t1[e]); }
        D.nemesis.forEach(function (w) { if (w.ops.indexOf(id) >= 0) { a = Math.min(a, w.start); b = Math.max(b, w.start + 1); } });
      });
      if (a > b) return false;
      focus = list; selected = list.length === 1 ? list[0] : -1;
      if (selected >= 0) document.getElementById("op-detail").textContent = describe(selected);
      var pad = Math.max((b - a) * 0.5, 2000);
      zoomTo(a - pad, b + pad);
      return true;
    }
    document.addEventListener("click", function (ev) {
      var el = ev.target.closest ? ev.target.closest("[data-op],[data-ops]") : null;
      if (!el) return;
      var ids = (el.getAttribute("data-ops") || el.getAttribute("data-op") || "").split(",").map(Number);
      if (showOps(ids)) { ev.preventDefault(); document.getElementById("timeline").scrollIntoView(); }
    });
    // `#t=START,END` (seconds) selects a time range, e.g. a failover window's link.
    function fromHash(hash) {
      var m = /^#t=([0-9.eE+-]+),([0-9.eE+-]+)$/.exec(hash === undefined ? window.location.hash : hash);
      if (!m) return false;
      var a = parseFloat(m[1]) * 1e6, b = parseFloat(m[2]) * 1e6;
      if (!isFinite(a) || !isFinite(b) || b <= a) return false;
      focus = null; zoomTo(a, b);
      return true;
    }
    // A range link whose fragment is already the URL's fires no hashchange: apply it on click too.
    document.addEventListener("click", function (ev) {
      var a = ev.target.closest ? ev.target.closest('a[href^="#t="]') : null;
      if (a && a.getAttribute("href") === window.location.hash && fromHash(a.getAttribute("href"))) {
        ev.preventDefault(); document.getElementById("timeline").scrollIntoView();
      }
    });
    window.addEventListener("hashchange", function () {
      if (fromHash()) document.getElementById("timeline").scrollIntoView();
    });
    window.addEventListener("resize", redraw);
    var hashed = fromHash();
    drawAll();
    if (hashed) document.getElementById("timeline").scrollIntoView();
  }

  function start() {
    try {
      main();
      document.body.setAttribute("data-rendered", "1");
      document.body.setAttribute("data-render-ms", performance.now().toFixed(1));
      if (!document.body.hasAttribute("data-errors")) document.body.setAttribute("data-errors", "0");
    } catch (e) {
      reportError("report script failed: " + (e && e.stack ? e.stack : e));
      document.body.setAttribute("data-rendered", "error");
    }
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
