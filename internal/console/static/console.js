// The operations console: plain DOM and fetch, no framework, nothing from a
// CDN. Every number on the page comes from the console's JSON endpoints;
// text from the database is set with textContent, never as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
let selectedRun = 0;
let selectedItem = null;
const drawn = {};

// changed reports whether what a part of the page shows differs from what
// it last drew, so the refresh loop leaves unchanged parts (and the row an
// operator is about to click) alone.
function changed(part, data) {
  const sig = JSON.stringify(data);
  if (drawn[part] === sig) return false;
  drawn[part] = sig;
  return true;
}

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const k of kids) e.append(k instanceof Node ? k : document.createTextNode(k == null ? "" : String(k)));
  return e;
}

async function getJSON(url) {
  const resp = await fetch(url, { cache: "no-store" });
  if (!resp.ok) throw new Error(await problemText(resp));
  return resp.json();
}

async function postJSON(url, body) {
  const resp = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body || {}) });
  if (!resp.ok) throw new Error(await problemText(resp));
  return resp.status === 202 || resp.status === 204 ? {} : resp.json();
}

async function problemText(resp) {
  try { const p = await resp.json(); return p.detail || p.title || resp.statusText; } catch { return resp.status + " " + resp.statusText; }
}

function say(node, text, bad) { node.textContent = text; node.classList.toggle("bad", !!bad); }
function pct(done, total) { return total > 0 ? Math.floor((100 * done) / total) : 100; }
function when(t) { return t ? new Date(t).toLocaleString() : "–"; }
function secs(s) { return s < 60 ? s.toFixed(1) + " s" : (s / 60).toFixed(1) + " min"; }

// --- runs per workflow -------------------------------------------------------

async function refreshWorkflows() {
  let wfs;
  try { wfs = await getJSON("/api/workflows"); } catch (e) { say($("workflows"), e.message, true); return; }
  if (!changed("workflows", [wfs, selectedRun])) return;
  const box = $("workflows");
  box.replaceChildren();
  if (wfs.length === 0) box.append(el("p", { class: "muted" }, "No workflow runs here yet."));
  for (const wf of wfs) {
    const start = el("button", { type: "button", class: "start", "data-workflow": wf.workflow }, "Start run");
    start.disabled = !wf.startable || wf.runs.some((r) => r.state === "running" || r.state === "planning");
    start.addEventListener("click", () => startRun(wf.workflow, start));
    const rows = wf.runs.map((r) => {
      const tr = el("tr", { class: "pick run-row" + (r.run === selectedRun ? " selected" : ""), "data-run": r.run, "data-state": r.state },
        el("td", {}, "#" + r.run),
        el("td", { class: "state-" + r.state, title: r.plan_failures ? `plan failed ${r.plan_failures} times in a row: ${r.plan_error}` : "" },
          r.plan_failures ? `${r.state} (plan failed ×${r.plan_failures})` : r.state),
        el("td", {}, el("progress", { max: Math.max(r.total, 1), value: r.total ? r.done : 1 }), " ",
          el("span", { class: "pct" }, `${r.done}/${r.total} (${pct(r.done, r.total)}%)`)),
        el("td", { class: "num" }, r.succeeded), el("td", { class: "num" }, r.skipped),
        el("td", { class: "num" }, r.failed), el("td", { class: "num" }, r.dead),
        el("td", { class: "num" }, secs(r.duration_seconds)), el("td", { class: "num" }, r.items_per_second.toFixed(1)),
        el("td", {}, when(r.started)));
      tr.addEventListener("click", () => selectRun(r.run));
      return tr;
    });
    const table = el("table", {}, el("thead", {}, el("tr", {}, ...["run", "state", "progress", "succeeded", "skipped", "failed", "dead", "duration", "items/s", "started"].map((h) => el("th", {}, h)))),
      el("tbody", {}, ...rows));
    box.append(el("div", { class: "workflow", "data-workflow": wf.workflow }, el("h3", {}, wf.workflow, start), rows.length ? table : el("p", { class: "muted" }, "no runs yet")));
  }
}

async function startRun(name, button) {
  button.disabled = true;
  try {
    const r = await postJSON("/api/workflows/" + encodeURIComponent(name) + "/runs");
    await selectRun(r.run);
  } catch (e) { alert("starting " + name + ": " + e.message); }
  refreshWorkflows();
}

// --- one run -----------------------------------------------------------------

async function selectRun(id) {
  selectedRun = id;
  selectedItem = null;
  $("item").hidden = true;
  $("run").hidden = false;
  await refreshRun();
  $("run").scrollIntoView({ block: "start" });
}

async function refreshRun() {
  if (!selectedRun) return;
  let r, tp;
  try { [r, tp] = await Promise.all([getJSON("/api/runs/" + selectedRun), getJSON("/api/runs/" + selectedRun + "/throughput")]); }
  catch (e) { say($("run-summary"), e.message, true); return; }
  $("run-title").textContent = `Run #${r.run} · ${r.workflow}`;
  $("run").dataset.state = r.state;
  $("run-summary").textContent = `${r.state}: ${r.total} items, ${r.succeeded} succeeded, ${r.skipped} skipped, ${r.failed} failed, ${r.dead} dead, ${r.pending} pending; ${secs(r.duration_seconds)}, ${r.items_per_second.toFixed(1)} items/s` +
    (r.plan_failures ? `; plan failed ${r.plan_failures} times in a row, last at ${when(r.plan_error_at)}: ${r.plan_error}` : "");
  $("run-progress").max = Math.max(r.total, 1);
  $("run-progress").value = r.total ? r.done : 1;
  $("run-pct").textContent = pct(r.done, r.total) + "%";
  $("replay-run").disabled = r.failed + r.dead === 0;
  drawChart($("throughput"), tp.points.map((p) => ({ x: new Date(p.at).getTime(), y: p.items / tp.step_seconds })), "items/s");
  if (changed("problems", r.failed_and_dead)) $("problems").tBodies[0].replaceChildren(...r.failed_and_dead.map((it) => {
    const open = el("button", { type: "button", class: "small open-item" }, "Open");
    const tr = el("tr", { class: "pick problem" + (selectedItem && selectedItem.id === it.id ? " selected" : ""), "data-item": it.id },
      el("td", {}, it.id), el("td", {}, it.source_key), el("td", { class: "state-" + it.state }, it.state),
      el("td", { class: "num" }, it.attempts), el("td", {}, it.error), el("td", {}, open));
    tr.addEventListener("click", () => openItem(it));
    return tr;
  }));
  if (changed("batches", r.batches)) $("batches").tBodies[0].replaceChildren(...r.batches.map((b) => el("tr", {},
    el("td", {}, b.seq), el("td", {}, b.state), el("td", { class: "num" }, b.items), el("td", { class: "num" }, b.attempt),
    el("td", {}, b.chain ?? "–"), el("td", {}, when(b.finished)))));
}

function openItem(it) {
  selectedItem = it;
  for (const tr of $("problems").tBodies[0].rows) tr.classList.toggle("selected", tr.dataset.item === String(it.id));
  $("item").hidden = false;
  $("item-title").textContent = `Item #${it.id} · ${it.source_key}`;
  const facts = [["workflow", it.workflow], ["run", "#" + it.run], ["state", it.state], ["attempts", it.attempts], ["error", it.error || "–"], ["finished", when(it.finished)]];
  $("item-facts").replaceChildren(...facts.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
  $("item-payload").textContent = JSON.stringify(it.payload, null, 2);
  $("replay-item").disabled = !!it.carried_into;
}

async function replay(url, body) {
  say($("replay-status"), "replaying…");
  try {
    const r = await postJSON(url, body);
    say($("replay-status"), `queued ${r.queued_items.length} items` + (r.run ? `; run #${r.run} carries them` : "; " + r.note));
    if (r.run) await selectRun(r.run);
  } catch (e) { say($("replay-status"), e.message, true); }
  refreshWorkflows();
}

$("replay-run").addEventListener("click", () => replay("/api/runs/" + selectedRun + "/replay", { failed: true, dead: true }));
$("replay-item").addEventListener("click", () => selectedItem && replay("/api/items/" + selectedItem.id + "/replay", {}));

// --- charts ------------------------------------------------------------------

// drawChart draws points {x: ms, y} as a line with its extremes labelled.
function drawChart(svg, points, unit) {
  const W = 640, H = 180, L = 48, R = 10, T = 10, B = 24;
  const ns = "http://www.w3.org/2000/svg";
  const mk = (tag, attrs, text) => { const e = document.createElementNS(ns, tag); for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v); if (text != null) e.textContent = text; return e; };
  svg.replaceChildren();
  svg.dataset.points = points.length;
  svg.append(mk("line", { class: "axis", x1: L, y1: H - B, x2: W - R, y2: H - B }), mk("line", { class: "axis", x1: L, y1: T, x2: L, y2: H - B }));
  if (points.length === 0) { svg.append(mk("text", { x: W / 2, y: H / 2, "text-anchor": "middle" }, "no data yet")); return; }
  const xs = points.map((p) => p.x), ys = points.map((p) => p.y);
  let x0 = Math.min(...xs), x1 = Math.max(...xs), y0 = Math.min(0, ...ys), y1 = Math.max(...ys);
  if (x1 === x0) { x0 -= 1000; x1 += 1000; }
  if (y1 === y0) y1 = y0 + 1;
  const px = (x) => L + ((x - x0) / (x1 - x0)) * (W - L - R), py = (y) => H - B - ((y - y0) / (y1 - y0)) * (H - T - B);
  svg.append(mk("polyline", { class: "line", points: points.map((p) => px(p.x).toFixed(1) + "," + py(p.y).toFixed(1)).join(" ") }));
  if (points.length <= 120) for (const p of points) svg.append(mk("circle", { class: "dot", cx: px(p.x).toFixed(1), cy: py(p.y).toFixed(1), r: 2.5 }));
  const t = (ms) => new Date(ms).toLocaleTimeString();
  svg.append(mk("text", { x: L - 4, y: T + 8, "text-anchor": "end" }, y1.toFixed(1)), mk("text", { x: L - 4, y: H - B, "text-anchor": "end" }, y0.toFixed(1)),
    mk("text", { x: L, y: H - 6 }, t(x0)), mk("text", { x: W - R, y: H - 6, "text-anchor": "end" }, t(x1)), mk("text", { x: L + 4, y: T + 20 }, unit));
}

async function readings(sensor, metric, rangeSeconds) {
  const from = new Date(Date.now() - rangeSeconds * 1000).toISOString();
  const page = await getJSON("/telemetry/sensors/" + encodeURIComponent(sensor) + "/readings?" + new URLSearchParams({ from, limit: "1000", order: "asc" }));
  return page.readings.filter((r) => !metric || (r.metric || "") === metric);
}

// --- asset search --------------------------------------------------------------

$("asset-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const id = $("asset-id").value.trim();
  let a;
  try { a = await getJSON("/api/assets/" + encodeURIComponent(id)); } catch (e) { alert(e.message); return; }
  $("asset-out").hidden = false;
  $("asset-311").tBodies[0].replaceChildren(...(a.open_311.length ? a.open_311.map((e) => el("tr", {},
    el("td", {}, e.alarm_type), el("td", {}, e.state), el("td", {}, e.service_code), el("td", {}, e.request_id || "–"), el("td", {}, when(e.opened)), el("td", {}, e.reason)))
    : [el("tr", {}, el("td", { colspan: 6, class: "muted" }, "no open 311 episode"))]));
  $("asset-history").tBodies[0].replaceChildren(...(a.items.length ? a.items.map((it) => el("tr", { class: "history-row" },
    el("td", {}, "#" + it.run), el("td", {}, it.workflow), el("td", {}, it.id), el("td", {}, it.source_key), el("td", { class: "state-" + it.state }, it.state),
    el("td", { class: "num" }, it.attempts), el("td", {}, when(it.finished)), el("td", {}, it.error || it.skip_reason || it.target_ref || "")))
    : [el("tr", {}, el("td", { colspan: 8, class: "muted" }, "no workflow has an item of " + id))]));
  try {
    const rs = await readings(id, "", 604800);
    drawChart($("asset-chart"), rs.map((r) => ({ x: Date.parse(r.timestamp), y: r.value })), rs.length ? (rs[0].unit || "") : "");
    $("asset-chart-note").textContent = rs.length + " readings in the last week";
  } catch (e) { $("asset-chart-note").textContent = e.message; }
});

// --- telemetry -------------------------------------------------------------------

$("reading-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  const reading = { sensor_id: f.get("sensor_id"), timestamp: new Date().toISOString(), value: Number(f.get("value")), unit: f.get("unit") || undefined, metric: f.get("metric") };
  const resp = await fetch("/telemetry/readings", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify([reading]) });
  if (!resp.ok) { say($("reading-status"), await problemText(resp), true); return; }
  say($("reading-status"), "accepted; waiting for it to be stored…");
  $("chart-sensor").value = reading.sensor_id;
  $("chart-metric").value = reading.metric;
  // The stream delivers asynchronously: redraw until the reading is there.
  for (let i = 0; i < 60; i++) {
    const rs = await showChart();
    if (rs.some((r) => r.value === reading.value && Math.abs(Date.parse(r.timestamp) - Date.parse(reading.timestamp)) < 1000)) {
      say($("reading-status"), "stored: it is in the chart");
      return;
    }
    await new Promise((ok) => setTimeout(ok, 500));
  }
  say($("reading-status"), "accepted, but not stored yet", true);
});

async function showChart() {
  let rs = [];
  try { rs = await readings($("chart-sensor").value.trim(), $("chart-metric").value.trim(), Number($("chart-range").value)); }
  catch (e) { say($("chart-status"), e.message, true); return rs; }
  drawChart($("sensor-chart"), rs.map((r) => ({ x: Date.parse(r.timestamp), y: r.value })), rs.length ? (rs[0].unit || "") : "");
  say($("chart-status"), rs.length + " readings");
  return rs;
}

$("chart-form").addEventListener("submit", (ev) => { ev.preventDefault(); showChart(); });

// --- the simulated city -----------------------------------------------------------

async function refreshCity() {
  let systems;
  try { systems = await getJSON("/api/city"); } catch { return; }
  const body = $("systems").tBodies[0];
  for (const s of systems) {
    let tr = body.querySelector(`tr[data-system="${CSS.escape(s.name)}"]`);
    if (!tr) {
      const input = (k, v, step) => el("input", { type: "number", min: 0, step, name: k, value: v });
      const apply = el("button", { type: "button", class: "small apply" }, "Apply");
      tr = el("tr", { "data-system": s.name }, el("td", { title: s.url }, s.name),
        el("td", {}, input("error_rate", s.faults.error_rate, "0.05")), el("td", {}, input("throttle_rate", s.faults.throttle_rate, "0.05")),
        el("td", {}, input("hang_rate", s.faults.hang_rate, "0.01")), el("td", {}, input("latency_ms", s.faults.latency_ms, "50")),
        el("td", {}, apply), el("td", { class: "num rate-requests" }), el("td", { class: "num rate-errors" }), el("td", { class: "num rate-throttled" }));
      apply.addEventListener("click", () => setFaults(s.name, tr));
      body.append(tr);
    }
    tr.querySelector(".rate-requests").textContent = s.rates.requests_per_second.toFixed(1);
    tr.querySelector(".rate-errors").textContent = s.rates.errors_per_second.toFixed(1);
    tr.querySelector(".rate-throttled").textContent = s.rates.throttled_per_second.toFixed(1);
  }
}

async function setFaults(name, tr) {
  const v = (k) => Number(tr.querySelector(`input[name=${k}]`).value || 0);
  try {
    await postJSON("/api/city/" + encodeURIComponent(name) + "/faults", { error_rate: v("error_rate"), throttle_rate: v("throttle_rate"), hang_rate: v("hang_rate"), latency_ms: Math.round(v("latency_ms")) });
    tr.dataset.applied = String(Number(tr.dataset.applied || 0) + 1);
  } catch (e) { alert(name + ": " + e.message); }
}

// --- refresh loop ------------------------------------------------------------------

refreshWorkflows(); refreshCity();
setInterval(() => { refreshWorkflows(); refreshRun(); }, 1000);
setInterval(refreshCity, 1000);
const q = new URLSearchParams(location.search);
if (q.get("sensor")) { $("chart-sensor").value = q.get("sensor"); $("reading-sensor").value = q.get("sensor"); showChart(); }
