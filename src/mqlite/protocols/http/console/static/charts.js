// mqlite console: a line chart and a flow graph drawn as SVG. Hand-written, no
// dependencies. Every label is set with textContent: names never become markup.
"use strict";

const SVG_NS = "http://www.w3.org/2000/svg";

function svgEl(tag, attrs) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
  return node;
}

function svgText(x, y, text, cls, anchor) {
  const t = svgEl("text", { x, y, class: cls || "", "text-anchor": anchor || "start" });
  t.textContent = text;
  return t;
}

// A line chart of up to 3 series: series = [{name, values: [numbers]}].
function lineChart(container, series, unit) {
  const W = 1000, H = 170, L = 48, R = 8, T = 8, B = 18;
  const svg = svgEl("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img" });
  let max = 0, n = 0;
  for (const s of series) { for (const v of s.values) max = Math.max(max, v); n = Math.max(n, s.values.length, 2); }
  max = max <= 0 ? 1 : max * 1.1;
  for (let i = 0; i <= 4; i++) {
    const y = T + (H - T - B) * i / 4;
    svg.appendChild(svgEl("line", { x1: L, x2: W - R, y1: y, y2: y, class: "grid" }));
    svg.appendChild(svgText(L - 4, y + 3, formatNumber(max * (1 - i / 4)), "", "end"));
  }
  svg.appendChild(svgText(W - R, H - 4, unit || "", "", "end"));
  series.forEach((s, idx) => {
    if (!s.values.length) return;
    const values = s.values.length === 1 ? [s.values[0], s.values[0]] : s.values;  // one sample: a short flat line
    const step = (W - L - R) / Math.max(1, n - 1);
    const offset = Math.max(0, n - values.length);
    const points = values.map((v, i) =>
      `${(L + (i + offset) * step).toFixed(1)},${(T + (H - T - B) * (1 - v / max)).toFixed(1)}`);
    svg.appendChild(svgEl("polyline", { points: points.join(" "), class: `series-${idx}` }));
  });
  const legend = document.createElement("div");
  legend.className = "legend";
  series.forEach((s, idx) => {
    const item = document.createElement("span");
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.background = ["#2f6fde", "#2e8b57", "#b7791f"][idx];
    item.appendChild(swatch);
    item.appendChild(document.createTextNode(`${s.name}: ${formatNumber(s.values[s.values.length - 1] || 0)}`));
    legend.appendChild(item);
  });
  container.replaceChildren(svg, legend);
}

function formatNumber(v) {
  if (!isFinite(v)) return "–";
  const a = Math.abs(v);
  if (a >= 1e9) return (v / 1e9).toFixed(1) + "G";
  if (a >= 1e6) return (v / 1e6).toFixed(1) + "M";
  if (a >= 1e4) return (v / 1e3).toFixed(1) + "k";
  if (Number.isInteger(v)) return String(v);
  return v.toFixed(a < 10 ? 2 : 1);
}

// Where messages flow around one entity: sources on the left, the entity in the
// middle, destinations on the right. nodes link to their own pages (hrefFor).
function flowGraph(container, self, edges, hrefFor) {
  const key = (kind, name) => `${kind}\u0000${name}`;
  const selfKey = key(self.kind, self.name);
  const left = [], right = [], seen = new Set();
  for (const e of edges) {
    const src = key(e.source_kind, e.source), dst = key(e.destination_kind, e.destination);
    if (dst === selfKey && !seen.has("L" + src)) { seen.add("L" + src); left.push({ kind: e.source_kind, name: e.source, label: e.label }); }
    if (src === selfKey && !seen.has("R" + dst)) { seen.add("R" + dst); right.push({ kind: e.destination_kind, name: e.destination, label: e.label }); }
  }
  if (!left.length && !right.length) {
    const p = document.createElement("p");
    p.className = "muted";
    p.textContent = "No bindings, subscriptions, rules or dead-letter routes touch this entity.";
    container.replaceChildren(p);
    return;
  }
  const rowH = 34, W = 1000, boxW = 230, boxH = 24;
  const rows = Math.max(left.length, right.length, 1);
  const H = rows * rowH + 16;
  const svg = svgEl("svg", { viewBox: `0 0 ${W} ${H}`, class: "graph", role: "img" });
  const cx = (W - boxW) / 2, cy = H / 2 - boxH / 2;
  const node = (x, y, n, isSelf) => {
    const g = svgEl("g", { class: "node" + (isSelf ? " self" : "") });
    g.appendChild(svgEl("rect", { x, y, width: boxW, height: boxH }));
    const label = svgText(x + 8, y + 16, shorten(`${n.kind} ${n.name}`, 30));
    const title = svgEl("title");
    title.textContent = `${n.kind} ${n.name}`;
    g.appendChild(title);
    const href = isSelf ? null : hrefFor(n.kind, n.name);
    if (href) {
      const a = svgEl("a", { href });
      a.appendChild(label);
      g.appendChild(a);
    } else {
      g.appendChild(label);
    }
    svg.appendChild(g);
  };
  const place = (list, x, toSelf) => list.forEach((n, i) => {
    const y = 8 + i * rowH + (rows - list.length) * rowH / 2;
    const x1 = toSelf ? x + boxW : cx + boxW, y1 = toSelf ? y + boxH / 2 : cy + boxH / 2;
    const x2 = toSelf ? cx : x, y2 = toSelf ? cy + boxH / 2 : y + boxH / 2;
    svg.appendChild(svgEl("path", { d: `M${x1},${y1} C${(x1 + x2) / 2},${y1} ${(x1 + x2) / 2},${y2} ${x2},${y2}`, class: "edge" }));
    svg.appendChild(svgText((x1 + x2) / 2, (y1 + y2) / 2 - 3, shorten(n.label, 24), "edge-label", "middle"));
    node(x, y, n, false);
  });
  place(left, 8, true);
  place(right, W - boxW - 8, false);
  node(cx, cy, self, true);
  container.replaceChildren(svg);
}

function shorten(text, max) {
  text = String(text);
  return text.length > max ? text.slice(0, max - 1) + "…" : text;
}
