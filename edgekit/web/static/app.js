// edgekit dashboard: plain JavaScript, no libraries, no network beyond this server.
"use strict";
const TOKEN = new URLSearchParams(location.search).get("token");
function url(path, params) {
  const q = new URLSearchParams(params || {});
  if (TOKEN) q.set("token", TOKEN);
  const s = q.toString();
  return path + (s ? "?" + s : "");
}
async function getJSON(path, params) {
  const r = await fetch(url(path, params));
  const body = await r.json();
  if (!r.ok) throw new Error(body.error || r.statusText);
  return body;
}
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v; else if (k.startsWith("on")) e.addEventListener(k.slice(2), v); else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(c == null ? "" : String(c)));
  return e;
}
const fmtTime = (ts) => new Date(ts * 1000).toLocaleString();

// ---- tabs -----------------------------------------------------------------------------------------------------
document.querySelectorAll("nav button").forEach((b) => b.addEventListener("click", () => showTab(b.dataset.tab)));
function showTab(name) {
  document.querySelectorAll("nav button").forEach((b) => b.classList.toggle("active", b.dataset.tab === name));
  document.querySelectorAll(".tab").forEach((t) => t.classList.toggle("active", t.id === "tab-" + name));
  // Streams cost CPU on the board: watch them only while the Live tab is open.
  document.querySelectorAll("#cameras img").forEach((img) => {
    img.src = name === "live" ? img.dataset.src : "";
  });
}

// ---- cameras: a grid of tiles, each with its stream, status, FPS and last event ----------------------------------
let CAMERAS = [];
function lastEventText(e) {
  return e ? `last event: ${e.rule} · ${e.label} · ${fmtTime(e.start_ts)}` : "no event yet";
}
async function loadCameras() {
  const data = await getJSON("api/cameras");
  CAMERAS = data.cameras;
  document.getElementById("device").textContent = data.device;
  const box = document.getElementById("cameras");
  const select = document.querySelector("#filters select[name=camera]");
  for (const c of CAMERAS) {
    const src = url(`api/cameras/${encodeURIComponent(c.id)}/stream.mjpg`);
    const btn = c.explain ? el("button", { class: "explain-live", onclick: (ev) => explainLive(c.id, ev.target) },
      "explain this frame (EigenCAM)") : "";
    box.append(el("div", { class: "camera", "data-cam": c.id },
      el("h3", {}, c.id, " ", el("small", { class: "hint" }, c.model || ""), " ", btn),
      el("p", { class: "tile-state" }, el("span", { class: "status" }, c.status || "–"), " ",
        el("span", { class: "fps" }, c.process_fps != null ? `${c.process_fps} fps` : "– fps"), " ",
        el("span", { class: "last-event" }, lastEventText(c.last_event))),
      el("img", { id: "stream-" + c.id, "data-src": src, src: src, alt: "live view of " + c.id })));
    select.append(el("option", { value: c.id }, c.id));
  }
}
function tile(cam) {
  return [...document.querySelectorAll("#cameras .camera")].find((t) => t.dataset.cam === cam);
}
function updateTiles(stats) {
  for (const [cam, c] of Object.entries(stats.cameras || {})) {
    const t = tile(cam);
    if (!t) continue;
    const status = t.querySelector(".status");
    status.textContent = c.status || "–";
    status.className = "status " + (c.status === "ok" ? "ok" : "bad");
    t.querySelector(".fps").textContent = c.process_fps != null ? `${c.process_fps} fps` : "– fps";
  }
}

// ---- events ---------------------------------------------------------------------------------------------------
let FILTER = {};
function readFilter() {
  const f = new FormData(document.getElementById("filters"));
  const out = {};
  for (const [k, v] of f.entries()) {
    if (!v) continue;
    out[k] = (k === "since" || k === "until") ? String(new Date(v).getTime() / 1000) : v;
  }
  return out;
}
function matches(e) {
  return (!FILTER.camera || e.source === FILTER.camera) && (!FILTER.label || e.label === FILTER.label) &&
    (!FILTER.rule || e.rule === FILTER.rule) && (!FILTER.since || e.start_ts >= +FILTER.since) &&
    (!FILTER.until || e.start_ts < +FILTER.until);
}
const EVENTS = new Map();  // id → event, for the rows on the page
let SELECTED = null;  // the id of the selected row (kept across new rows arriving at the top)
function eventRow(e, fresh) {
  EVENTS.set(e.id, e);
  const snap = e.snapshot_url ? el("img", { src: url(e.snapshot_url), alt: "snapshot", loading: "lazy" }) : "";
  const clip = e.clip_url ? el("span", { class: "clip-actions" },
    el("button", { class: "play", onclick: () => { select(e.id); play(e); } }, "play"), " ",
    el("a", { class: "download", href: url(e.clip_url, { download: "1" }), onclick: (ev) => download(ev, e) },
      "download")) : el("span", { class: "hint" }, "no clip");
  return el("tr", { class: fresh ? "event new" : "event", "data-id": e.id, tabindex: "-1", onclick: () => select(e.id) },
    el("td", {}, fmtTime(e.start_ts)), el("td", {}, e.source), el("td", {}, e.rule), el("td", {}, e.label),
    el("td", {}, e.score.toFixed(2)), el("td", {}, e.track_id ?? ""), el("td", {}, snap), el("td", {}, clip),
    el("td", {}, e.snapshot_url ? el("button", { class: "explain", onclick: () => explain(e) }, "explain") : ""));
}
async function loadEvents() {
  const err = document.getElementById("filter-error");
  err.textContent = "";
  try {
    const data = await getJSON("api/events", { ...FILTER, limit: "200" });
    const body = document.querySelector("#events tbody");
    EVENTS.clear();
    body.replaceChildren(...data.events.map((e) => eventRow(e, false)));
    select(SELECTED);
  } catch (e) { err.textContent = e.message; }
}
document.getElementById("filters").addEventListener("submit", (ev) => {
  ev.preventDefault();
  FILTER = readFilter();
  loadEvents();
});

// ---- playing a clip -------------------------------------------------------------------------------------------
const eventRows = () => [...document.querySelectorAll("#events tbody tr")];
function select(id) {
  SELECTED = id;
  for (const tr of eventRows()) {
    const on = tr.dataset.id === id;
    tr.classList.toggle("selected", on);
    if (on) { tr.scrollIntoView({ block: "nearest" }); if (!tr.contains(document.activeElement)) tr.focus({ preventScroll: true }); }
  }
}
function move(step) {
  const rows = eventRows();
  if (!rows.length) return;
  const at = rows.findIndex((tr) => tr.dataset.id === SELECTED);
  const next = at < 0 ? 0 : Math.max(0, Math.min(rows.length - 1, at + step));
  select(rows[next].dataset.id);
}
async function clipProblem(src) {
  // One byte is enough to know the clip is there; when it is not, the server says why in one JSON line.
  const r = await fetch(src, { headers: { Range: "bytes=0-0" } });
  if (r.ok) return null;
  try { return (await r.json()).error; } catch (_) { return r.statusText; }
}
async function play(e) {
  const msg = document.getElementById("clip-error");
  msg.textContent = "";
  if (!e.clip_url) { msg.textContent = `event ${e.id} has no clip`; return; }
  const src = url(e.clip_url);
  // Asked first, so that a missing clip leaves the player as it was and only the message changes.
  const problem = await clipProblem(src);
  if (problem) { msg.textContent = "cannot play this clip: " + problem; return; }
  const video = document.getElementById("clip");
  document.getElementById("player").hidden = false;
  document.getElementById("clip-caption").textContent =
    `${e.rule} · ${e.source} · ${e.label} ${e.score.toFixed(2)} at ${fmtTime(e.start_ts)}`;
  video.dataset.event = e.id;
  video.src = src;
  video.play().catch(() => { /* paused by the user or replaced by the next clip before it started */ });
}
async function download(ev, e) {
  ev.preventDefault();
  const href = ev.currentTarget.href;  // read now: currentTarget is gone once the handler awaits
  const msg = document.getElementById("clip-error");
  msg.textContent = "";
  const problem = await clipProblem(url(e.clip_url));
  if (problem) { msg.textContent = "cannot download this clip: " + problem; return; }
  location.href = href;  // an attachment: the browser saves it and the page stays
}
document.getElementById("clip").addEventListener("error", () => {
  const v = document.getElementById("clip");
  if (v.getAttribute("src")) document.getElementById("clip-error").textContent =
    `the browser could not play the clip of event ${v.dataset.event} (${v.error ? v.error.message || v.error.code : "error"})`;
});
document.addEventListener("keydown", (ev) => {
  if (!document.getElementById("tab-events").classList.contains("active")) return;
  if (ev.ctrlKey || ev.metaKey || ev.altKey || ev.target.closest("input, select, textarea, video")) return;
  if (ev.key === "j" || ev.key === "ArrowDown") { move(1); ev.preventDefault(); }
  else if (ev.key === "k" || ev.key === "ArrowUp") { move(-1); ev.preventDefault(); }
  else if (ev.key === "Enter" && SELECTED && EVENTS.has(SELECTED) && !ev.target.closest("button, a")) {
    play(EVENTS.get(SELECTED)); ev.preventDefault();
  }
});
function listen() {
  const state = document.getElementById("sse-state");
  const src = new EventSource(url("api/events/stream"));
  src.onopen = () => { state.textContent = "live"; };
  src.onerror = () => { state.textContent = "reconnecting"; };
  src.addEventListener("event", (m) => {
    const e = JSON.parse(m.data);
    e.snapshot_url = e.snapshot ? `api/events/${e.id}/snapshot.jpg` : null;
    e.clip_url = e.clip ? `api/events/${e.id}/clip.mp4` : null;  // recorded once its post-roll has passed
    const t = tile(e.source);
    if (t) t.querySelector(".last-event").textContent = lastEventText(e);
    if (!matches(e)) return;
    const body = document.querySelector("#events tbody");
    body.prepend(eventRow(e, true));
    while (body.children.length > 200) { EVENTS.delete(body.lastChild.dataset.id); body.lastChild.remove(); }
  });
}

// ---- explain --------------------------------------------------------------------------------------------------
function explain(e) {
  showTab("explain");
  document.getElementById("explain-pick").textContent =
    `Event ${e.rule} · ${e.source} · ${e.label} ${e.score.toFixed(2)} at ${fmtTime(e.start_ts)} (computing…)`;
  document.getElementById("explain-snapshot").src = url(`api/events/${e.id}/snapshot.jpg`);
  const heat = document.getElementById("explain-heat");
  heat.onload = () => { document.getElementById("explain-pick").textContent =
    `Event ${e.rule} · ${e.source} · ${e.label} ${e.score.toFixed(2)} at ${fmtTime(e.start_ts)}`; };
  heat.onerror = async () => {
    const r = await fetch(heat.src);
    let msg = r.statusText;
    try { msg = (await r.json()).error; } catch (_) { /* not JSON */ }
    document.getElementById("explain-pick").textContent = "explain failed: " + msg;
  };
  heat.src = url(`api/events/${e.id}/explain.jpg`);
}

async function explainLive(cam, button) {
  // Asked while the stream is still open: the server explains the frame the stream shows now.
  button.disabled = true; button.textContent = "computing…";
  const r = await fetch(url(`api/cameras/${encodeURIComponent(cam)}/explain.jpg`, { t: String(Date.now()) }));
  button.disabled = false; button.textContent = "explain this frame (EigenCAM)";
  const pick = document.getElementById("explain-pick"), heat = document.getElementById("explain-heat");
  showTab("explain");
  document.getElementById("explain-snapshot").removeAttribute("src");
  heat.onload = null; heat.onerror = null;
  if (!r.ok) { pick.textContent = "explain failed: " + (await r.json()).error; return; }
  heat.src = URL.createObjectURL(await r.blob());
  pick.textContent = `Live frame of ${cam} at ${new Date().toLocaleString()} (its detections outlined)`;
}

// ---- charts ---------------------------------------------------------------------------------------------------
const COLORS = ["#8ab4f8", "#f28b82", "#fdd663", "#81c995", "#c58af9", "#78d9ec", "#fcad70"];
function lineChart(canvas, series, unit) {
  const ctx = canvas.getContext("2d");
  const W = canvas.width, H = canvas.height, L = 40, B = 18;
  ctx.clearRect(0, 0, W, H);
  const all = Object.values(series).flat().filter((p) => p[1] != null);
  if (!all.length) { ctx.fillStyle = "#888"; ctx.fillText("no data yet", L, H / 2); return; }
  const x0 = Math.min(...all.map((p) => p[0])), x1 = Math.max(...all.map((p) => p[0]));
  const ymax = Math.max(1e-9, ...all.map((p) => p[1])) * 1.1;
  const X = (x) => L + (W - L - 5) * (x1 > x0 ? (x - x0) / (x1 - x0) : 1);
  const Y = (y) => H - B - (H - B - 5) * (y / ymax);
  ctx.strokeStyle = "#444"; ctx.fillStyle = "#888"; ctx.font = "10px sans-serif";
  for (const f of [0, 0.5, 1]) {
    ctx.beginPath(); ctx.moveTo(L, Y(ymax / 1.1 * f)); ctx.lineTo(W, Y(ymax / 1.1 * f)); ctx.stroke();
    ctx.fillText((ymax / 1.1 * f).toFixed(1), 2, Y(ymax / 1.1 * f) + 3);
  }
  ctx.fillText(unit || "", 2, 10);
  let i = 0, lx = L;
  for (const [name, pts] of Object.entries(series)) {
    const c = COLORS[i++ % COLORS.length];
    ctx.strokeStyle = c; ctx.beginPath();
    pts.filter((p) => p[1] != null).forEach((p, j) => (j ? ctx.lineTo(X(p[0]), Y(p[1])) : ctx.moveTo(X(p[0]), Y(p[1]))));
    ctx.stroke();
    ctx.fillStyle = c; ctx.fillText(name, lx, H - 4); lx += ctx.measureText(name).width + 12;
  }
}
function kvRows(tbody, obj) {
  tbody.replaceChildren(...Object.entries(obj).map(([k, v]) => el("tr", {}, el("th", {}, k), el("td", {}, v))));
}
const mb = (b) => (b / 1048576).toFixed(0) + " MB";
async function loadStats() {
  let data;
  try { data = await getJSON("api/stats"); } catch (_) { return; }
  const hist = data.history, s = data.latest || {};
  updateTiles(s);
  // Rules switched off over MQTT (a safety rule too, when a live command did it): said on every tab.
  const off = Object.entries(s.cameras || {}).flatMap(([cam, c]) => (c.rules_off || []).map((r) => `${cam}: ${r}`));
  const banner = document.getElementById("rules-off");
  banner.hidden = off.length === 0;
  banner.textContent = off.length ? "Rules switched off over MQTT: " + off.join("; ") : "";
  const fps = {}, stages = {};
  for (const h of hist) {
    for (const [cam, c] of Object.entries(h.cameras || {})) {
      (fps[cam] = fps[cam] || []).push([h.ts, c.process_fps]);
      for (const [st, ms] of Object.entries(c.stage_ms || {})) {
        const k = Object.keys(h.cameras).length > 1 ? `${cam}.${st}` : st;
        (stages[k] = stages[k] || []).push([h.ts, ms]);
      }
    }
  }
  lineChart(document.getElementById("chart-fps"), fps, "fps");
  lineChart(document.getElementById("chart-stages"), stages, "ms");
  const m = s.mqtt || null, ds = s.device_state || {};
  kvRows(document.querySelector("#device-state tbody"), {
    "CPU temperature": s.cpu_temp_c != null ? s.cpu_temp_c + " °C" : "not exposed",
    "throttling": ds.throttled ? JSON.stringify(ds.throttled) : "not reported by this board (Raspberry Pi only)",
    "CPU clock": ds.cur_mhz && ds.cur_mhz.length ? `${Math.max(...ds.cur_mhz)} / ${Math.max(...(ds.max_mhz || [0]))} MHz` +
      (ds.governor ? ` (${ds.governor})` : "") : "not exposed",
    "RSS": s.rss != null ? mb(s.rss) : "",
    "MQTT": m ? (m.connected ? "connected" : "disconnected") : "off",
    "outbox backlog": m ? m.pending : "",
    "stats at": s.ts ? fmtTime(s.ts) : "",
  });
  document.querySelector("#camera-state tbody").replaceChildren(...CAMERAS.map((c) => {
    const live = (s.cameras || {})[c.id] || {};
    return el("tr", {}, el("td", {}, c.id), el("td", {}, live.status || c.status || ""), el("td", {}, c.model || ""),
      el("td", {}, c.imgsz || ""), el("td", {}, c.precision || ""), el("td", {}, c.backend || ""),
      el("td", {}, live.capture_fps ?? ""), el("td", {}, live.process_fps ?? ""), el("td", {}, live.dropped ?? ""));
  }));
  // LLM analytics: the assistant's figures in the daemon's stats, plus this page's own questions.
  const tokens = {}, times = {}, rate = {};
  const push = (o, k, ts, v) => { if (typeof v === "number") (o[k] = o[k] || []).push([ts, v]); };
  for (const h of hist) {
    const a = h.assistant || h.llm;
    if (!a) continue;
    push(tokens, "requests", h.ts, a.requests); push(tokens, "tokens in", h.ts, a.tokens_in);
    push(tokens, "tokens out", h.ts, a.tokens_out);
    push(times, "TTFT p50", h.ts, a.ttft_p50_s); push(times, "answer p50", h.ts, a.latency_p50_s);
    push(rate, "tokens/s (last)", h.ts, (a.last || {}).tokens_per_s);
  }
  for (const q of data.asks) { push(times, "page: TTFT", q.ts, q.ttft_s); push(times, "page: answer", q.ts, q.total_s); }
  lineChart(document.getElementById("chart-llm-tokens"), tokens, "");
  lineChart(document.getElementById("chart-llm-time"), times, "s");
  lineChart(document.getElementById("chart-llm-rate"), rate, "tok/s");
  const a = s.assistant || s.llm;
  kvRows(document.querySelector("#llm-state tbody"), a ? {
    "requests": a.requests, "outcomes": JSON.stringify(a.outcomes || {}), "tool calls": JSON.stringify(a.tool_calls || {}),
    "tokens in / out": `${a.tokens_in} / ${a.tokens_out}`, "TTFT p50": a.ttft_p50_s != null ? a.ttft_p50_s + " s" : "–",
    "answer p50": a.latency_p50_s != null ? a.latency_p50_s + " s" : "–",
    "last tokens/s": (a.last || {}).tokens_per_s ?? "–", "questions asked here": data.asks.length,
  } : { "assistant": "off (assistant.enabled in the daemon config)", "questions asked here": data.asks.length });
}

// ---- assistant ------------------------------------------------------------------------------------------------
// One conversation per tab (sessionStorage is per tab), kept by the server under this id: a follow-up ("and
// yesterday?", "only the porch") carries the last question's filters. getRandomValues, not randomUUID: the page
// is often served over plain http from a board, which is not a secure context.
function newConversation() {
  const id = "tab-" + Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, "0")).join("");
  sessionStorage.setItem("edgekit-conversation", id);
  document.getElementById("conversation-log").textContent = "";
  return id;
}
let conversation = sessionStorage.getItem("edgekit-conversation") || newConversation();
document.getElementById("new-conversation").addEventListener("click", () => { conversation = newConversation(); });

document.getElementById("ask").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const q = document.getElementById("question").value;
  const box = document.getElementById("answer-box"), answer = document.getElementById("answer");
  box.hidden = false; answer.textContent = "thinking…"; answer.className = "";
  document.getElementById("timing").textContent = ""; document.getElementById("tool-calls").textContent = "";
  const r = await fetch(url("api/ask"), { method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ question: q, conversation }) });
  const t = await r.json();
  if (!r.ok) { answer.textContent = t.error; answer.className = "error"; return; }
  answer.textContent = t.answer;
  answer.className = "answered";
  const turn = document.createElement("li");  // textContent: the answer holds names the boards sent
  turn.textContent = `${q} → ${t.answer}`;
  document.getElementById("conversation-log").append(turn);
  // The model's share (it picks only what the question leaves open): its tokens and time to first token.
  const m = t.llm || {};
  const model = m.calls
    ? `model: ${m.tokens_in} tokens in, ${m.tokens_out} out, first token ${m.ttft_s != null ? m.ttft_s.toFixed(2) + " s" : "–"}` +
      (m.tokens_per_s != null ? `, ${m.tokens_per_s} tokens/s` : "")
    : "answered by code alone (no model call)";
  document.getElementById("timing").textContent = `outcome ${t.outcome} · ${model} · total ${t.total_s.toFixed(2)} s`;
  document.getElementById("tool-calls").textContent = t.tool_calls.map((c) =>
    `${c.tool || "?"}(${JSON.stringify(c.args || {})}) [chosen by: ${c.chosen_by || "?"}] → ` +
    `${c.error ? "error: " + c.error : JSON.stringify(c.result)}`).join("\n");
});

// ---- start ----------------------------------------------------------------------------------------------------
loadCameras().then(loadEvents).then(loadStats);
listen();
setInterval(loadStats, 2000);
