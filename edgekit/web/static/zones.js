// edgekit dashboard: the zone editor. Zones, lines and the motion mask drawn over the camera's latest frame, in the
// frame's pixels; the server checks them with the daemon config's own models and writes them back when allowed.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const canvas = $("zone-canvas"), ctx = canvas.getContext("2d");
  const COLORS = { zone: "#fdd663", line: "#f28bf2", mask: "#bbbbbb" };
  const HIT_PX = 12; // how near (screen pixels) a click must be to grab a point
  let cam = null, image = null, shapes = [], selected = -1, drag = null;

  function say(message, error) {
    $("zone-message").textContent = error ? "" : message || "";
    $("zone-error").textContent = error ? message : "";
  }
  const scale = () => canvas.width / canvas.getBoundingClientRect().width;
  function framePoint(ev) {
    const r = canvas.getBoundingClientRect(), s = scale();
    return [Math.round((ev.clientX - r.left) * s), Math.round((ev.clientY - r.top) * s)];
  }

  // ---- drawing ------------------------------------------------------------------------------------------------
  function arrow(a, b, w) {
    const ang = Math.atan2(b[1] - a[1], b[0] - a[0]), h = 8 * w;
    ctx.beginPath();
    ctx.moveTo(b[0], b[1]);
    ctx.lineTo(b[0] - h * Math.cos(ang - 0.4), b[1] - h * Math.sin(ang - 0.4));
    ctx.moveTo(b[0], b[1]);
    ctx.lineTo(b[0] - h * Math.cos(ang + 0.4), b[1] - h * Math.sin(ang + 0.4));
    ctx.stroke();
  }
  function drawShape(s, i) {
    const w = scale() * (i === selected ? 3 : 2), pts = s.points;
    ctx.strokeStyle = ctx.fillStyle = COLORS[s.kind];
    ctx.lineWidth = w;
    if (pts.length) {
      ctx.beginPath();
      pts.forEach((p, k) => (k ? ctx.lineTo(p[0], p[1]) : ctx.moveTo(p[0], p[1])));
      if (s.kind !== "line") ctx.closePath();
      if (s.kind === "mask") { ctx.globalAlpha = 0.35; ctx.fill(); ctx.globalAlpha = 1; }
      ctx.stroke();
      if (s.kind === "line" && pts.length === 2) arrow(pts[0], pts[1], scale());
      ctx.font = `${Math.round(16 * scale())}px sans-serif`;
      ctx.fillText(label(s), pts[0][0] + 6 * scale(), Math.max(pts[0][1] - 6 * scale(), 20 * scale()));
    }
    for (const p of pts) ctx.fillRect(p[0] - 2.5 * w, p[1] - 2.5 * w, 5 * w, 5 * w);
  }
  function label(s) { return s.kind === "mask" ? `mask ${shapes.filter((x) => x.kind === "mask").indexOf(s)}` : s.name; }
  function redraw() {
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    if (image) ctx.drawImage(image, 0, 0);
    shapes.forEach(drawShape);
  }

  // ---- the shape list -----------------------------------------------------------------------------------------
  function renderList() {
    const ul = $("zone-shapes");
    ul.replaceChildren(...shapes.map((s, i) => {
      const name = s.kind === "mask" ? el("span", {}, label(s))
        : el("input", { value: s.name, "aria-label": `${s.kind} name`, class: "shape-name" });
      if (s.kind !== "mask") {
        name.addEventListener("input", () => { s.name = name.value.trim(); redraw(); });
        name.addEventListener("focus", () => pick(i));
        name.addEventListener("click", (ev) => ev.stopPropagation()); // typing in it must not rebuild the list
      }
      return el("li", { class: i === selected ? "selected" : "", "data-index": String(i), onclick: () => pick(i) },
        el("b", { class: "kind-" + s.kind }, s.kind), name, el("small", { class: "hint" }, `${s.points.length} pt`),
        el("button", { type: "button", class: "shape-clear", onclick: (ev) => { ev.stopPropagation(); s.points = []; selected = i; renderList(); redraw(); } }, "clear points"),
        el("button", { type: "button", class: "shape-delete", onclick: (ev) => { ev.stopPropagation(); remove(i); } }, "delete"));
    }));
  }
  function pick(i) {
    selected = i;
    document.querySelectorAll("#zone-shapes li").forEach((li) => li.classList.toggle("selected", Number(li.dataset.index) === i));
    redraw();
  }
  function remove(i) { shapes.splice(i, 1); selected = Math.min(selected, shapes.length - 1); renderList(); redraw(); }
  function add(kind) {
    const taken = new Set(shapes.map((s) => s.name));
    let n = 1;
    while (taken.has(`${kind}${n}`)) n++;
    shapes.push({ kind, name: kind === "mask" ? "" : `${kind}${n}`, points: [] });
    selected = shapes.length - 1;
    renderList();
    redraw();
    say(`click on the picture to place the new ${kind}'s points`);
  }

  // ---- mouse --------------------------------------------------------------------------------------------------
  function nearest(p) {
    const r = HIT_PX * scale();
    let best = null;
    shapes.forEach((s, i) => s.points.forEach((q, k) => {
      const d = Math.hypot(q[0] - p[0], q[1] - p[1]);
      if (d <= r && (!best || d < best.d || (i === selected && best.i !== selected))) best = { i, k, d };
    }));
    return best;
  }
  canvas.addEventListener("pointerdown", (ev) => {
    if (ev.button !== 0 || !image) return;
    const p = framePoint(ev), hit = nearest(p);
    if (hit) { drag = hit; if (hit.i !== selected) pick(hit.i); canvas.setPointerCapture(ev.pointerId); return; }
    const s = shapes[selected];
    if (!s) { say("add a zone, a line or a mask first, then click to place its points", true); return; }
    if (s.kind === "line" && s.points.length >= 2) { say("a line has two points: drag them to move it", true); return; }
    s.points.push(p);
    renderList(); redraw();
  });
  canvas.addEventListener("pointermove", (ev) => {
    if (!drag) return;
    shapes[drag.i].points[drag.k] = framePoint(ev);
    redraw();
  });
  canvas.addEventListener("pointerup", () => { if (drag) { drag = null; renderList(); } });
  canvas.addEventListener("contextmenu", (ev) => {
    ev.preventDefault();
    const hit = nearest(framePoint(ev));
    if (hit) { shapes[hit.i].points.splice(hit.k, 1); selected = hit.i; renderList(); redraw(); }
  });

  // ---- the server ---------------------------------------------------------------------------------------------
  function proposal() {
    const body = { zones: {}, lines: {}, motion_mask: [] };
    for (const s of shapes) {
      if (s.kind === "mask") { body.motion_mask.push(s.points); continue; }
      const group = s.kind === "zone" ? body.zones : body.lines;
      if (Object.prototype.hasOwnProperty.call(body.zones, s.name) || Object.prototype.hasOwnProperty.call(body.lines, s.name))
        throw new Error(`two shapes are named ${JSON.stringify(s.name)}: give each its own name`);
      if (s.kind === "line" && s.points.length !== 2)
        throw new Error(`line ${JSON.stringify(s.name)} needs 2 points (start, end); it has ${s.points.length}`);
      group[s.name] = s.kind === "zone" ? { polygon: s.points } : { start: s.points[0], end: s.points[1] };
    }
    return body;
  }
  async function send(save) {
    let body;
    try { body = proposal(); } catch (e) { say(e.message, true); return; }
    body.save = save;
    const r = await fetch(url(`api/cameras/${encodeURIComponent(cam)}/zones`),
      { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    const answer = await r.json();
    if (answer.yaml) $("zone-yaml").textContent = answer.yaml;
    if (!r.ok) { say(answer.error || r.statusText, true); return; }
    say(answer.message);
  }
  async function loadFrame() {
    const img = new Image();
    img.src = url(`api/cameras/${encodeURIComponent(cam)}/frame.jpg`);
    try { await img.decode(); } catch (e) {
      const r = await fetch(img.src);
      say((r.headers.get("content-type") || "").includes("json") ? (await r.json()).error : "no frame from this camera", true);
      return;
    }
    image = img;
    canvas.width = img.naturalWidth;
    canvas.height = img.naturalHeight;
    redraw();
    canvas.dataset.frames = String(Number(canvas.dataset.frames || 0) + 1); // frames shown (tests wait on it)
  }
  async function load(id) {
    cam = id;
    const st = await getJSON(`api/cameras/${encodeURIComponent(cam)}/zones`);
    const g = st.geometry;
    shapes = [
      ...Object.entries(g.zones).map(([name, z]) => ({ kind: "zone", name, points: z.polygon.map((p) => [...p]) })),
      ...Object.entries(g.lines).map(([name, l]) => ({ kind: "line", name, points: [[...l.start], [...l.end]] })),
      ...g.motion_mask.map((poly) => ({ kind: "mask", name: "", points: poly.map((p) => [...p]) })),
    ];
    selected = shapes.length ? 0 : -1;
    $("zone-writes").textContent = st.writes.enabled ? "Save writes the config file and reloads the zones."
      : `Save only checks and shows the YAML: ${st.writes.why_not}.`;
    say("");
    $("zone-yaml").textContent = "";
    renderList();
    await loadFrame();
    canvas.dataset.ready = "1"; // for tests and scripts: the frame and the shapes are on the canvas
  }

  // ---- start --------------------------------------------------------------------------------------------------
  document.querySelectorAll(".zone-add").forEach((b) => b.addEventListener("click", () => add(b.dataset.kind)));
  $("zone-check").addEventListener("click", () => send(false));
  $("zone-save").addEventListener("click", () => send(true));
  $("zone-reload").addEventListener("click", loadFrame);
  $("zone-camera").addEventListener("change", (ev) => load(ev.target.value));
  $("zones-tab").addEventListener("click", () => { if (cam === null && $("zone-camera").value) load($("zone-camera").value); });
  getJSON("api/cameras").then((data) => {
    const ids = data.cameras.filter((c) => c.zones).map((c) => c.id);
    $("zones-tab").hidden = ids.length === 0;
    $("zone-camera").replaceChildren(...ids.map((id) => el("option", { value: id }, id)));
  });
})();
