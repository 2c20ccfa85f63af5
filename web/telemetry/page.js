"use strict";
const $ = (id) => document.getElementById(id);
let cursor = "";
let shown = [];

function say(el, text, isError) {
  el.textContent = text;
  el.className = isError ? "error" : "";
}

async function problemText(resp) {
  try {
    const p = await resp.json();
    const params = (p.invalid_params || p.rejected || []).map((x) => (x.name || x.reason) + ": " + (x.reason && x.name ? x.reason : x.detail)).join("; ");
    return (p.detail || p.title || resp.statusText) + (params ? " (" + params + ")" : "");
  } catch (e) {
    return resp.status + " " + resp.statusText;
  }
}

$("submit").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  const reading = {
    sensor_id: f.get("sensor_id"),
    timestamp: new Date().toISOString(),
    value: Number(f.get("value")),
  };
  if (f.get("unit")) reading.unit = f.get("unit");
  if (f.get("metric")) reading.metric = f.get("metric");
  const resp = await fetch("readings", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(reading) });
  if (resp.ok) {
    const a = await resp.json();
    say($("status"), (a.new ? "New reading" : a.changed ? "Changed the stored reading" : "Duplicate of a stored reading, not stored again") + " at " + reading.timestamp + ".", false);
  }
  else say($("status"), "Rejected: " + await problemText(resp), true);
});

function queryURL(f, withCursor) {
  const q = new URLSearchParams();
  for (const k of ["from", "to"]) if (f.get(k)) q.set(k, new Date(f.get(k) + "Z").toISOString());
  if (f.get("metric")) q.set("metric", f.get("metric"));
  q.set("limit", f.get("limit") || "100");
  q.set("order", f.get("order"));
  if (withCursor && cursor) q.set("cursor", cursor);
  return "sensors/" + encodeURIComponent(f.get("id")) + "/readings?" + q;
}

async function runQuery(more) {
  const f = new FormData($("query"));
  const resp = await fetch(queryURL(f, more));
  if (!resp.ok) {
    say($("qstatus"), await problemText(resp), true);
    if (!more) render([]);
    return;
  }
  const page = await resp.json();
  cursor = page.next_cursor || "";
  $("more").disabled = !cursor;
  render(more ? shown.concat(page.readings) : page.readings);
  say($("qstatus"), shown.length + " readings" + (cursor ? ", more available" : ""), false);
}

$("query").addEventListener("submit", (ev) => { ev.preventDefault(); runQuery(false); });
$("more").addEventListener("click", () => runQuery(true));
$("latest").addEventListener("click", async () => {
  const id = new FormData($("query")).get("id");
  const resp = await fetch("sensors/" + encodeURIComponent(id) + "/latest");
  if (!resp.ok) { say($("qstatus"), await problemText(resp), true); render([]); return; }
  cursor = "";
  $("more").disabled = true;
  render([await resp.json()]);
  say($("qstatus"), "Latest reading", false);
});

function render(readings) {
  shown = readings;
  const rows = $("rows");
  rows.replaceChildren();
  for (const r of readings) {
    const tr = document.createElement("tr");
    for (const [v, cls] of [[r.timestamp, ""], [String(r.value), "num"], [r.unit || "", ""], [r.metric || "", ""]]) {
      const td = document.createElement("td");
      td.textContent = v;
      if (cls) td.className = cls;
      tr.appendChild(td);
    }
    rows.appendChild(tr);
  }
  drawChart(readings);
}

// A link such as ?sensor=SL-0000001&limit=500 (from the operations console)
// opens the page on that sensor's history.
const params = new URLSearchParams(location.search);
const linked = params.get("sensor");
if (linked) {
  $("query").elements.id.value = linked;
  if (params.get("limit")) $("query").elements.limit.value = params.get("limit");
  if (params.get("order") === "asc") $("query").elements.order.value = "asc";
  $("submit").elements.sensor_id.value = linked;
  runQuery(false);
}

function drawChart(readings) {
  const svg = $("chart");
  svg.replaceChildren();
  if (readings.length === 0) return;
  const pts = readings.map((r) => [Date.parse(r.timestamp), r.value]).sort((a, b) => a[0] - b[0]);
  const [t0, t1] = [pts[0][0], pts[pts.length - 1][0]];
  const vs = pts.map((p) => p[1]);
  let [v0, v1] = [Math.min(...vs), Math.max(...vs)];
  if (v0 === v1) { v0 -= 1; v1 += 1; }
  const x = (t) => t1 === t0 ? 300 : 10 + (t - t0) / (t1 - t0) * 580;
  const y = (v) => 210 - (v - v0) / (v1 - v0) * 200;
  const line = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
  line.setAttribute("points", pts.map((p) => x(p[0]).toFixed(1) + "," + y(p[1]).toFixed(1)).join(" "));
  line.setAttribute("fill", "none");
  line.setAttribute("stroke", "#1f6f8b");
  line.setAttribute("stroke-width", "2");
  line.setAttribute("vector-effect", "non-scaling-stroke");
  svg.appendChild(line);
  const label = (text, lx, ly, anchor) => {
    const t = document.createElementNS("http://www.w3.org/2000/svg", "text");
    t.setAttribute("x", lx); t.setAttribute("y", ly); t.setAttribute("text-anchor", anchor);
    t.setAttribute("font-size", "10"); t.setAttribute("fill", "#555");
    t.textContent = text;
    svg.appendChild(t);
  };
  const unit = readings[0].unit ? " " + readings[0].unit : "";
  label(v1 + unit, 12, 14, "start");
  label(v0 + unit, 12, 206, "start");
  label(new Date(t0).toISOString().slice(0, 16).replace("T", " "), 12, 218, "start");
  label(new Date(t1).toISOString().slice(0, 16).replace("T", " ") + " UTC", 588, 218, "end");
  for (const p of pts.length <= 60 ? pts : []) {
    const c = document.createElementNS("http://www.w3.org/2000/svg", "circle");
    c.setAttribute("cx", x(p[0])); c.setAttribute("cy", y(p[1])); c.setAttribute("r", "3"); c.setAttribute("fill", "#1f6f8b");
    svg.appendChild(c);
  }
}
