// mqlite console: each page drawn from the admin API (/_mqlite/api), refreshed by
// polling once a second. Hand-written, no dependencies, no build step. Data only ever
// reaches the page as text (textContent, text nodes, setAttribute of fixed names):
// never innerHTML, so names, bodies and attributes cannot become markup.
"use strict";

const API = "/_mqlite/api";
const BASE = "/_mqlite";
const POLL_MS = 1000;
const HISTORY = 120;
const KIND_PATHS = { queue: "queues", stream: "streams", router: "routers", group: "groups" };

// -- small helpers ----------------------------------------------------------------------
function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null) continue;
    if (k === "text") node.textContent = String(v);
    else if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "value") node.value = v;
    else node.setAttribute(k, String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    node.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
  }
  return node;
}

async function api(method, path, body) {
  const init = { method, headers: {} };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  const resp = await fetch(API + path, init);
  const text = await resp.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (e) { data = { detail: text }; }
  if (!resp.ok) {
    const err = new Error((data && (data.detail || data.title)) || `HTTP ${resp.status}`);
    err.status = resp.status;
    throw err;
  }
  return data;
}

function entityHref(kind, name) {
  const plural = KIND_PATHS[kind] || (Object.values(KIND_PATHS).includes(kind) ? kind : null);
  return plural ? `${BASE}/entity/${plural}/${encodeURIComponent(name)}` : null;
}

function entityPath(kind, name) { return `/${kind}/${encodeURIComponent(name)}`; }

function setStatus(text, bad) {
  const s = document.getElementById("status");
  s.textContent = text;
  s.className = bad ? "status error" : "status";
}

function card(label, value, id) {
  const text = String(value);
  return el("div", { class: "card" }, el("div", { class: "label", text: label }),
            el("div", { class: text.length > 14 ? "value small" : "value", text, id }));
}

function fmt(v) { return formatNumber(v); }

function duration(seconds) {
  const s = Math.floor(seconds), d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600);
  const m = Math.floor(s % 3600 / 60);
  return d ? `${d}d ${h}h` : h ? `${h}h ${m}m` : m ? `${m}m ${s % 60}s` : `${s}s`;
}

function bytes(n) {
  if (n >= 1 << 30) return (n / (1 << 30)).toFixed(1) + " GiB";
  if (n >= 1 << 20) return (n / (1 << 20)).toFixed(1) + " MiB";
  if (n >= 1 << 10) return (n / (1 << 10)).toFixed(1) + " KiB";
  return n + " B";
}

// Rates from successive counter samples: key -> {t, values}.
class Rates {
  constructor() { this.last = new Map(); }
  update(key, t, values) {
    const prev = this.last.get(key);
    this.last.set(key, { t, values });
    if (!prev || t <= prev.t) return values.map(() => 0);
    return values.map((v, i) => Math.max(0, (v - prev.values[i]) / ((t - prev.t) / 1000)));
  }
}

function poll(fn) {
  let stopped = false;
  const tick = async () => {
    if (stopped) return;
    try {
      await fn();
      setStatus("live · " + new Date().toLocaleTimeString());
    } catch (e) {
      setStatus("update failed: " + e.message, true);
      if (e.status === 404) { stopped = true; return; }
    }
    setTimeout(tick, POLL_MS);
  };
  tick();
  return () => { stopped = true; };
}

function table(headers, rows, id) {
  return el("table", { id },
    el("thead", {}, el("tr", {}, headers.map(h => el("th", { class: h.num ? "num" : "", text: h.label || h })))),
    el("tbody", {}, rows));
}

// -- overview -----------------------------------------------------------------------------
function overviewPage(main) {
  const rates = new Rates(), history = { in: [], out: [] };
  const cards = el("div", { class: "cards" });
  const listeners = el("div");
  const alarms = el("div");
  const chart = el("div", { class: "panel" });
  main.replaceChildren(el("h1", { text: "Overview" }), cards, el("h2", { text: "Message rates" }), chart,
                       el("div", { class: "row" },
                          el("div", {}, el("h2", { text: "Listeners and connections" }), listeners),
                          el("div", {}, el("h2", { text: "Alarms" }), alarms)));
  poll(async () => {
    const o = await api("GET", "/overview");
    const [rin, rout, bin, bout] = rates.update("all", o.time_ms, [o.messages_in, o.messages_out, o.bytes_in, o.bytes_out]);
    history.in.push(rin); history.out.push(rout);
    if (history.in.length > HISTORY) { history.in.shift(); history.out.shift(); }
    const ents = o.entities || {};
    cards.replaceChildren(
      card("Version", o.version), card("Uptime", duration(o.uptime_s)),
      card("Data directory", o.data_dir === null ? "memory (no data directory)" : o.data_dir, "data-dir"),
      card("fsync", o.fsync === "always" || o.fsync === "never" ? o.fsync : `every ${o.fsync} ms`),
      card("Messages in /s", fmt(rin), "rate-in"), card("Messages out /s", fmt(rout), "rate-out"),
      card("Bytes in /s", bytes(Math.round(bin))), card("Bytes out /s", bytes(Math.round(bout))),
      card("Messages in (total)", fmt(o.messages_in), "total-in"),
      card("Entities", `${ents.queues || 0} queues · ${ents.streams || 0} streams · ${ents.routers || 0} routers · ${ents.groups || 0} groups`));
    lineChart(chart, [{ name: "in /s", values: history.in }, { name: "out /s", values: history.out }], "msg/s");
    const rows = Object.entries(o.listeners).map(([proto, port]) =>
      el("tr", {}, el("td", { text: proto }), el("td", { class: "num", text: port }),
         el("td", { class: "num", text: proto in o.connections ? o.connections[proto] : "–" })));
    listeners.replaceChildren(table(["Protocol", { label: "Port", num: true }, { label: "Open connections", num: true }], rows, "listeners"));
    alarms.replaceChildren(o.alarms.length
      ? el("ul", {}, o.alarms.map(a => el("li", { class: "alarm", text: a })))
      : el("p", { class: "muted", text: "None: publishers are not blocked." }));
  });
}

// -- entity list --------------------------------------------------------------------------
function entitiesPage(main) {
  const rates = new Rates();
  const params = new URLSearchParams(location.search);
  const filter = el("input", { type: "search", id: "filter", placeholder: "filter by name", value: params.get("q") || "" });
  const kind = el("select", { id: "kind-filter" }, el("option", { value: "", text: "every kind" }),
                  ["queue", "stream", "router", "group"].map(k => el("option", { value: k, text: k })));
  const proto = el("select", { id: "protocol-filter" }, el("option", { value: "", text: "every protocol" }),
                   ["sqs", "amqp", "sns", "events", "kinesis", "firehose", "kafka"].map(p => el("option", { value: p, text: p })));
  const holder = el("div");
  const count = el("span", { class: "muted" });
  let items = [], latest = new Map();
  const render = () => {
    const q = filter.value.toLowerCase();
    const shown = items.filter(e => (!q || e.name.toLowerCase().includes(q)) && (!kind.value || e.kind === kind.value)
                                    && (!proto.value || e.origin === proto.value));
    count.textContent = `${shown.length} of ${items.length}`;
    const rows = shown.map(e => {
      const [rin, rout] = latest.get(e.kind + "\u0000" + e.name) || [0, 0];
      const href = e.name ? entityHref(e.kind, e.name) : null;  // AMQP's default exchange has no name
      return el("tr", {}, el("td", {}, el("span", { class: "badge", text: e.kind })),
                el("td", { class: "name" }, href ? el("a", { href, text: e.name }) : el("span", { class: "muted", text: "(default exchange)" })),
                el("td", { text: e.origin }), el("td", { class: "num", text: fmt(e.depth) }),
                el("td", { class: "num", text: e.kind === "queue" || e.kind === "stream" ? fmt(rin) : "–" }),
                el("td", { class: "num", text: e.kind === "queue" || e.kind === "stream" ? fmt(rout) : "–" }));
    });
    holder.replaceChildren(table(["Kind", "Name", "Protocol", { label: "Depth / lag / bindings", num: true },
                                  { label: "In /s", num: true }, { label: "Out /s", num: true }], rows, "entities"));
  };
  for (const input of [filter, kind, proto]) input.addEventListener("input", render);
  main.replaceChildren(el("h1", { text: "Entities" }),
                       el("div", { class: "filters" }, filter, kind, proto, count), holder);
  poll(async () => {
    const data = await api("GET", "/entities");
    const now = Date.now();
    items = data.items;
    latest = new Map(items.map(e => [e.kind + "\u0000" + e.name,
                                     rates.update(e.kind + "\u0000" + e.name, now, [e.messages_in, e.messages_out])]));
    render();
  });
}

// -- one entity ---------------------------------------------------------------------------
function entityRoute() {
  const rest = location.pathname.slice((BASE + "/entity/").length);
  const slash = rest.indexOf("/");
  return { kind: rest.slice(0, slash), name: decodeURIComponent(rest.slice(slash + 1)) };
}

function notFoundPage(main) {
  const path = location.pathname;
  let what = "This page does not exist.";
  if (path.startsWith(BASE + "/entity/")) {
    const { kind, name } = entityRoute();
    what = `There is no ${kind.replace(/s$/, "")} named “${name}”.`;
  }
  setStatus("not found", true);
  main.replaceChildren(el("div", { class: "notfound" }, el("h1", { text: "404: not found" }),
                          el("p", { text: what, id: "notfound-text" }),
                          el("p", {}, el("a", { href: BASE + "/entities", text: "Every entity" }))));
}

function renderBody(m) {
  if (m.body_encoding === "base64") {
    const raw = atob(m.body);
    const hex = [];
    for (let i = 0; i < raw.length; i += 16) {
      const chunk = raw.slice(i, i + 16);
      const h = Array.from(chunk, c => c.charCodeAt(0).toString(16).padStart(2, "0")).join(" ");
      const text = Array.from(chunk, c => (c.charCodeAt(0) >= 32 && c.charCodeAt(0) < 127 ? c : ".")).join("");
      hex.push(`${i.toString(16).padStart(8, "0")}  ${h.padEnd(47)}  ${text}`);
    }
    return { text: hex.join("\n"), kind: "binary (hex)" };
  }
  const t = m.body.trim();
  if (t.startsWith("{") || t.startsWith("[")) {
    try { return { text: JSON.stringify(JSON.parse(t), null, 2), kind: "JSON" }; } catch (e) { /* text */ }
  }
  return { text: m.body, kind: "text" };
}

function messageView(m) {
  const body = renderBody(m);
  const pairs = [...Object.entries(m.attributes || {}).map(([k, v]) => ["attribute " + k, v]),
                 ...Object.entries(m.headers || {}).map(([k, v]) => ["header " + k, v])];
  return el("div", { class: "message" },
    el("div", { class: "meta" },
       el("span", { text: `offset ${m.offset}` }), m.partition ? el("span", { text: `partition ${m.partition}` }) : null,
       el("span", { text: new Date(m.timestamp).toISOString() }), m.id ? el("span", { text: `id ${m.id}` }) : null,
       m.state ? el("span", { class: "badge", text: m.state }) : null,
       m.key !== null && m.key !== undefined ? el("span", { text: `key ${m.key}` }) : null,
       el("span", { text: body.kind })),
    el("pre", { class: "body", text: body.text }),
    pairs.length ? el("dl", {}, pairs.map(([k, v]) => [el("dt", { text: k }), el("dd", { text: v })])) : null);
}

function publishForm(kind, name, onDone) {
  const body = el("textarea", { id: "publish-body", placeholder: "message body (text or JSON)" });
  const extra = el("textarea", { id: "publish-attributes", placeholder: '{"name": "value"}' });
  const key = el("input", { type: "text", id: "publish-key", placeholder: kind === "routers" ? "routing key" : "key" });
  const out = el("div");
  const form = el("form", { class: "publish panel", id: "publish-form" },
    el("label", { text: "Body", for: "publish-body" }), body,
    kind !== "queues" ? [el("label", { text: kind === "routers" ? "Routing key" : "Key", for: "publish-key" }), key] : null,
    el("label", { text: kind === "streams" ? "Headers (JSON object)" : "Attributes (JSON object)", for: "publish-attributes" }), extra,
    el("p", {}, el("button", { type: "submit", class: "primary", id: "publish-button", text: "Publish" })), out);
  form.addEventListener("submit", async ev => {
    ev.preventDefault();
    let fields = {};
    try { fields = extra.value.trim() ? JSON.parse(extra.value) : {}; } catch (e) {
      out.replaceChildren(el("div", { class: "notice error", text: "Attributes must be a JSON object: " + e.message }));
      return;
    }
    const req = { body: body.value };
    if (kind === "streams") { req.headers = fields; if (key.value) req.key = key.value; }
    else { req.attributes = fields; if (kind === "routers") req.routing_key = key.value; }
    try {
      const r = await api("POST", entityPath(kind, name) + "/messages", req);
      const where = r.offset !== null && r.offset !== undefined ? `offset ${r.offset}` : r.routed !== null && r.routed !== undefined ? `routed to ${r.routed}` : "sent";
      out.replaceChildren(el("div", { class: "notice", id: "publish-result", text: `Published (${where}).` }));
      body.value = "";
      onDone();
    } catch (e) {
      out.replaceChildren(el("div", { class: "notice error", id: "publish-result", text: e.message }));
    }
  });
  return form;
}

function confirmAction(holder, label, question, run) {
  return el("button", { class: "danger", id: label.toLowerCase() + "-button", text: label, onclick: () => {
    const yes = el("button", { class: "danger", id: "confirm-yes", text: `Yes, ${label.toLowerCase()}` });
    const no = el("button", { id: "confirm-no", text: "Cancel", onclick: () => holder.replaceChildren() });
    yes.addEventListener("click", async () => {
      try { await run(); holder.replaceChildren(el("div", { class: "notice", id: "action-result", text: `${label}: done.` })); }
      catch (e) { holder.replaceChildren(el("div", { class: "notice error", id: "action-result", text: e.message })); }
    });
    holder.replaceChildren(el("div", { class: "confirm", id: "confirm" }, el("p", { text: question }), yes, " ", no));
  } });
}

function entityPage(main) {
  const { kind, name } = entityRoute();
  const singular = kind.replace(/s$/, "");
  const rates = new Rates(), history = { depth: [], in: [], out: [] };
  const cards = el("div", { class: "cards", id: "cards" });
  const chart = el("div", { class: "panel", id: "chart" });
  const graph = el("div", { class: "panel", id: "graph" });
  const details = el("div", { id: "details" });
  const messages = el("div", { id: "messages" });
  const confirmHolder = el("div");
  const actions = el("p", {});
  let refreshMessages = () => {};
  if (kind === "queues" || kind === "streams") {
    actions.appendChild(confirmAction(confirmHolder, "Purge",
      `Delete every message of ${singular} “${name}”? This cannot be undone.`,
      async () => { await api("POST", entityPath(kind, name) + "/purge"); refreshMessages(); }));
    actions.appendChild(document.createTextNode(" "));
  }
  {
    actions.appendChild(confirmAction(confirmHolder, "Delete",
      `Delete ${singular} “${name}” and all its data? This cannot be undone.`,
      async () => { await api("DELETE", entityPath(kind, name)); location.assign(BASE + "/entities"); }));
  }
  const sections = [el("h1", {}, el("span", { class: "badge", text: singular }), " ", el("span", { id: "entity-name", text: name })),
                    actions, confirmHolder, cards];
  if (kind !== "routers") sections.push(el("h2", { text: kind === "groups" ? "Lag" : "Depth and rates" }), chart);
  sections.push(el("h2", { text: "Where messages flow" }), graph, details);
  if (kind === "queues" || kind === "streams") {
    const auto = el("input", { type: "checkbox", id: "auto-refresh", checked: "checked" });
    sections.push(el("div", { class: "row" },
      el("div", {}, el("h2", { text: "Messages (peek: nothing is consumed)" }),
         el("p", {}, el("label", {}, auto, " refresh every second"), " ",
            el("button", { id: "peek-button", text: "Peek now", onclick: () => refreshMessages() })), messages),
      el("div", {}, el("h2", { text: "Publish" }), publishForm(kind, name, () => refreshMessages()))));
    refreshMessages = async () => {
      const data = await api("GET", entityPath(kind, name) + "/messages?limit=20");
      messages.replaceChildren(data.messages.length
        ? el("div", {}, data.messages.map(messageView))
        : el("p", { class: "muted", id: "no-messages", text: "No messages." }));
    };
    const peekFailed = e => setStatus("peek failed: " + e.message, true);
    setInterval(() => { if (auto.checked) refreshMessages().catch(peekFailed); }, POLL_MS);
    refreshMessages().catch(peekFailed);
  } else if (kind === "routers") {
    sections.push(el("h2", { text: "Publish" }), publishForm(kind, name, () => {}));
  }
  const lagHolder = el("div", { id: "stream-groups" });
  if (kind === "streams") sections.splice(sections.indexOf(details) + 1, 0, lagHolder);
  main.replaceChildren(...sections);
  let tick = 0, groups = [];

  // Consumer groups reading this stream, with their lag per partition.
  async function groupLag() {
    const rows = [];
    for (const g of groups) {
      let info;
      try { info = await api("GET", entityPath("groups", g)); } catch (e) { continue; }  // deleted meanwhile
      for (const o of info.offsets.filter(o => o.stream === name)) {
        rows.push(el("tr", {}, el("td", { class: "name" }, el("a", { href: entityHref("group", g), text: g })),
                     el("td", { text: info.state }), el("td", { class: "num", text: o.partition }),
                     el("td", { class: "num", text: o.committed }), el("td", { class: "num", text: o.lag })));
      }
    }
    lagHolder.replaceChildren(el("h2", { text: "Consumer groups" }), rows.length
      ? table(["Group", "State", { label: "Partition", num: true }, { label: "Committed", num: true }, { label: "Lag", num: true }], rows, "stream-group-lag")
      : el("p", { class: "muted", text: "No consumer group has committed an offset here." }));
  }
  poll(async () => {
    const info = await api("GET", entityPath(kind, name));
    const now = Date.now();
    if (tick++ % 5 === 0) {
      api("GET", "/graph").then(g => {
        flowGraph(graph, { kind: singular, name }, g.edges, entityHref);
        groups = g.edges.filter(e => e.source_kind === "stream" && e.source === name && e.destination_kind === "group")
                        .map(e => e.destination);
      }).catch(e => setStatus("graph failed: " + e.message, true));
    }
    if (kind === "streams") await groupLag();
    if (kind === "queues") queueView(info, now);
    else if (kind === "streams") streamView(info, now);
    else if (kind === "routers") routerView(info);
    else groupView(info);
  });

  function series(depth, flow, now) {
    const [rin, rout] = rates.update("x", now, [flow.messages_in, flow.messages_out]);
    history.depth.push(depth); history.in.push(rin); history.out.push(rout);
    for (const k of Object.keys(history)) if (history[k].length > HISTORY) history[k].shift();
    lineChart(chart, [{ name: "depth", values: history.depth }, { name: "in /s", values: history.in },
                      { name: "out /s", values: history.out }], "");
    return [rin, rout];
  }
  function queueView(q, now) {
    const depth = q.visible + q.in_flight + q.delayed;
    const [rin, rout] = series(depth, q.flow, now);
    cards.replaceChildren(card("Origin", q.origin), card("Visible", fmt(q.visible), "visible"),
      card("In flight", fmt(q.in_flight), "in-flight"), card("Delayed", fmt(q.delayed), "delayed"),
      card("In /s", fmt(rin)), card("Out /s", fmt(rout)), card("Acked (total)", fmt(q.flow.acked)),
      card("Dead-lettered", fmt(q.flow.dead_lettered)),
      card("Oldest message", q.oldest_ms ? duration(Math.max(0, now - q.oldest_ms) / 1000) : "–"),
      card("Dead-letter queue", q.dead_letter_queue || "none"));
  }
  function streamView(s, now) {
    const [rin, rout] = series(s.messages, s.flow, now);
    cards.replaceChildren(card("Origin", s.origin), card("Messages", fmt(s.messages), "messages-count"),
      card("Size", bytes(s.bytes)), card("Partitions", s.partitions.length), card("In /s", fmt(rin)), card("Read /s", fmt(rout)),
      card("Retention", s.retention_ms === null || s.retention_ms < 0 ? "forever" : duration(s.retention_ms / 1000)));
    details.replaceChildren(el("h2", { text: "Partitions" }),
      table([{ label: "Partition", num: true }, { label: "Earliest", num: true }, { label: "Latest", num: true }, { label: "Bytes", num: true }],
            s.partitions.map(p => el("tr", {}, el("td", { class: "num", text: p.partition }), el("td", { class: "num", text: p.earliest }),
                                          el("td", { class: "num", text: p.latest }), el("td", { class: "num", text: bytes(p.bytes) }))), "partitions"));
  }
  function routerView(r) {
    cards.replaceChildren(card("Origin", r.origin), card("Type", r.kind), card("Bindings", r.bindings.length));
    details.replaceChildren(el("h2", { text: "Bindings, subscriptions and targets" }),
      table(["Destination", "Kind", "Matcher", "Spec"], r.bindings.map(b => {
        const href = entityHref(b.destination_kind, b.destination);
        return el("tr", {}, el("td", { class: "name" }, href ? el("a", { href, text: b.destination }) : b.destination),
                  el("td", { text: b.destination_kind }), el("td", { text: b.matcher }),
                  el("td", { class: "name", text: typeof b.spec === "string" ? b.spec : JSON.stringify(b.spec) }));
      }), "bindings"));
  }
  function groupView(g) {
    history.depth.push(g.lag);
    if (history.depth.length > HISTORY) history.depth.shift();
    lineChart(chart, [{ name: "lag", values: history.depth }], "messages");
    cards.replaceChildren(card("State", g.state), card("Members", g.members.length), card("Lag", fmt(g.lag), "lag"));
    details.replaceChildren(el("h2", { text: "Lag per partition" }),
      table(["Stream", { label: "Partition", num: true }, { label: "Committed", num: true }, { label: "Latest", num: true }, { label: "Lag", num: true }],
            g.offsets.map(o => el("tr", {}, el("td", { class: "name" }, el("a", { href: entityHref("stream", o.stream), text: o.stream })),
                                  el("td", { class: "num", text: o.partition }), el("td", { class: "num", text: o.committed }),
                                  el("td", { class: "num", text: o.latest }), el("td", { class: "num", text: o.lag }))), "offsets"),
      el("h2", { text: "Members" }),
      table(["Member", "Client", "Host"], g.members.map(m => el("tr", {}, el("td", { class: "name", text: m.id }),
                                                               el("td", { text: m.client_id }), el("td", { text: m.host }))), "members"));
  }
}

// -- start --------------------------------------------------------------------------------
document.addEventListener("DOMContentLoaded", () => {
  const page = document.body.dataset.page;
  const main = document.getElementById("main");
  const nav = document.getElementById("nav-" + page);
  if (nav) nav.classList.add("active");
  const pages = { overview: overviewPage, entities: entitiesPage, entity: entityPage, notfound: notFoundPage };
  (pages[page] || notFoundPage)(main);
});
