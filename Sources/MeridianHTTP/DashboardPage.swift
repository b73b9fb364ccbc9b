/// The dashboard page: one self-contained HTML document (markup, an SVG world map, a
/// style sheet and a script), with nothing loaded from anywhere but the node serving it.
///
/// The script reads the token from the page's fragment (`/dashboard#token=...`, never
/// sent to a server) or asks for it, polls `GET /v1/dashboard/state` once a second, and
/// reads a table's conflict ledger from `GET /v1/tables/{table}/conflicts` when the table
/// is selected. Regions sit at fixed approximate coordinates when their name is known;
/// others are laid out in a row along the bottom of the map.
enum DashboardPage {
    static let html = #"""
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Meridian dashboard</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 0; background: #0f1722; color: #e6edf3; }
  header { padding: 10px 18px; background: #16202e; display: flex; gap: 18px; align-items: baseline; }
  header h1 { font-size: 20px; margin: 0; }
  #status { color: #9fb1c5; font-size: 13px; }
  main { display: grid; grid-template-columns: 1000px 1fr; gap: 14px; padding: 12px 18px; }
  svg { background: #13263b; border-radius: 8px; }
  .land { fill: #2b4762; stroke: #3b5f80; stroke-width: 1; }
  .link { stroke: #4cc38a; stroke-width: 2.5; }
  .link.down { stroke: #e5534b; stroke-dasharray: 6 5; }
  .link-lag { fill: #f0f6fc; font-size: 12px; paint-order: stroke; stroke: #13263b; stroke-width: 3px; }
  .region circle { fill: #4cc38a; stroke: #e6edf3; stroke-width: 2; }
  .region.down circle { fill: #e5534b; }
  .region.self circle { stroke: #f2cc60; stroke-width: 3; }
  .region text { fill: #ffffff; font-size: 14px; font-weight: 600; paint-order: stroke; stroke: #13263b; stroke-width: 3px; }
  .region .detail { font-size: 11px; font-weight: 400; fill: #c9d6e3; }
  section { background: #16202e; border-radius: 8px; padding: 10px 12px; margin-bottom: 12px; }
  section h2 { font-size: 15px; margin: 0 0 8px 0; color: #9fb1c5; }
  table { border-collapse: collapse; width: 100%; font-size: 13px; }
  th, td { text-align: left; padding: 4px 6px; border-bottom: 1px solid #26364a; }
  tr.table-row { cursor: pointer; }
  tr.table-row.selected { background: #23364d; }
  button { background: #26364a; color: #e6edf3; border: 1px solid #3b5f80; border-radius: 4px; padding: 2px 8px; cursor: pointer; margin: 2px; }
  .ok { color: #4cc38a; } .bad { color: #e5534b; }
  #token-form { display: none; padding: 12px 18px; }
</style>
</head>
<body>
<header><h1>Meridian</h1><span id="status">loading…</span></header>
<div id="token-form">
  <label>Bearer token (meridian dev prints it and writes it to &lt;data&gt;/token):
    <input id="token-input" size="70"></label> <button id="token-save">Use token</button>
</div>
<main>
  <div>
    <svg id="map" width="1000" height="500" viewBox="0 0 1000 500" role="img" aria-label="regions on a world map">
      <g id="land"></g><g id="links"></g><g id="regions"></g>
    </svg>
    <section id="controls-section" style="display:none"><h2>Controls (meridian dev)</h2><div id="controls"></div></section>
  </div>
  <div>
    <section><h2>Regions</h2><table><thead><tr><th>region</th><th>health</th><th>conflicts</th><th>clock skew</th><th>residency</th></tr></thead><tbody id="region-rows"></tbody></table></section>
    <section><h2>Links (lag measured by the receiver: age of writes when applied)</h2><table><thead><tr><th>link</th><th>lag</th><th>injected one-way</th><th>state</th></tr></thead><tbody id="link-rows"></tbody></table></section>
    <section><h2>Tables</h2><table><thead><tr><th>table</th><th>mode</th><th>regions</th><th>leader</th><th>items</th></tr></thead><tbody id="table-rows"></tbody></table></section>
    <section><h2 id="conflicts-title">Conflict ledger (select a table)</h2><table><thead><tr><th>key</th><th>lost value</th><th>origin</th><th>winner</th><th>seen by</th></tr></thead><tbody id="conflict-rows"></tbody></table></section>
  </div>
</main>
<script>
"use strict";
const SVG = "http://www.w3.org/2000/svg";
const POLL_MILLISECONDS = 1000;
// Approximate [longitude, latitude] of well-known cloud regions.
const KNOWN = {
  "us-east": [-77.5, 39.0], "us-east-2": [-83.0, 40.0], "us-west": [-121.7, 45.6], "us-west-2": [-121.7, 45.6], "us-central": [-95.9, 41.3],
  "ca-central": [-73.6, 45.5], "sa-east": [-46.6, -23.5], "eu-west": [-6.3, 53.3], "eu-west-2": [-0.1, 51.5], "eu-central": [8.7, 50.1],
  "eu-north": [18.1, 59.3], "eu-south": [9.2, 45.5], "me-central": [55.3, 25.3], "af-south": [18.4, -33.9], "ap-south": [72.9, 19.1],
  "ap-southeast": [103.8, 1.35], "ap-east": [114.2, 22.3], "ap-northeast": [139.7, 35.7], "au-southeast": [151.2, -33.9]
};
// Rough coastlines, [longitude, latitude].
const LAND = [
  [[-168,66],[-140,70],[-95,72],[-80,63],[-60,55],[-52,47],[-70,43],[-76,35],[-81,25],[-97,26],[-105,20],[-95,16],[-83,9],[-78,8],[-88,14],[-105,22],[-115,30],[-124,40],[-125,49],[-135,58],[-150,60],[-165,60]],
  [[-78,8],[-60,10],[-50,0],[-35,-6],[-40,-22],[-48,-28],[-58,-38],[-65,-55],[-72,-50],[-72,-30],[-80,-5]],
  [[-10,36],[-9,43],[-2,48],[2,51],[5,58],[5,62],[15,69],[28,71],[40,67],[50,60],[40,46],[28,41],[20,40],[12,44],[3,43]],
  [[-17,15],[-17,21],[-10,30],[-6,36],[10,37],[20,32],[32,31],[35,28],[43,12],[51,12],[40,-5],[40,-15],[35,-25],[20,-35],[15,-28],[12,-5],[9,4],[-8,5]],
  [[28,41],[40,46],[50,60],[40,67],[60,70],[80,73],[105,78],[140,72],[180,68],[170,60],[160,55],[140,50],[135,35],[122,30],[120,22],[108,18],[105,9],[100,13],[98,8],[92,22],[80,15],[77,8],[72,20],[66,25],[58,25],[52,28],[48,30],[44,13],[35,28],[35,36]],
  [[114,-22],[122,-18],[130,-12],[137,-12],[142,-11],[146,-18],[153,-26],[150,-37],[140,-38],[130,-32],[115,-34]],
  [[-5,50],[1,51],[-2,56],[-5,58],[-6,55]], [[-10,52],[-6,52],[-6,55],[-8,55]],
  [[130,31],[135,34],[140,36],[142,40],[140,41],[137,37],[132,34]], [[95,5],[105,-6],[115,-8],[120,-5],[110,2],[100,4]]
];
function project(point) { return [(point[0] + 180) / 360 * 1000, (90 - point[1]) / 180 * 500]; }
function element(name, attributes, text) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  if (text !== undefined) node.textContent = text;
  return node;
}
function drawLand() {
  const land = document.getElementById("land");
  for (const shape of LAND) land.appendChild(element("polygon", { class: "land", points: shape.map(p => project(p).join(",")).join(" ") }));
}
function positions(names) {
  const placed = {}; const unknown = names.filter(n => !KNOWN[n]);
  for (const name of names) if (KNOWN[name]) placed[name] = project(KNOWN[name]);
  unknown.forEach((name, index) => { placed[name] = [1000 * (index + 1) / (unknown.length + 1), 470]; });
  return placed;
}

let token = null;
const fragment = new URLSearchParams(location.hash.slice(1));
if (fragment.get("token")) { token = fragment.get("token"); sessionStorage.setItem("meridian-token", token); history.replaceState(null, "", location.pathname); }
else { token = sessionStorage.getItem("meridian-token"); }
document.getElementById("token-save").onclick = () => {
  token = document.getElementById("token-input").value.trim(); sessionStorage.setItem("meridian-token", token);
  document.getElementById("token-form").style.display = "none"; poll();
};
function headers() { return token ? { "Authorization": "Bearer " + token } : {}; }
async function api(method, path, body) {
  const response = await fetch(path, { method, headers: Object.assign({ "Content-Type": "application/json" }, headers()), body: body === undefined ? undefined : JSON.stringify(body) });
  if (response.status === 401) { document.getElementById("token-form").style.display = "block"; throw new Error("a token is needed"); }
  const text = await response.text();
  const parsed = text ? JSON.parse(text) : {};
  if (!response.ok) throw new Error(parsed.error ? parsed.error.code + ": " + parsed.error.message : "HTTP " + response.status);
  return parsed;
}

let selectedTable = null;
function lagBetween(state, from, to) {
  // What region `to` measured of writes from `from`: the recent median apply delay, or the unapplied lag.
  const receiver = state.regions.find(r => r.name === to);
  if (!receiver || !receiver.view) return null;
  const row = receiver.view.regions.find(r => r.name === from);
  if (!row) return null;
  const delay = row.apply_delay_ms ? row.apply_delay_ms.p50 : 0;
  return { ms: Math.max(row.lag_ms || 0, delay), reachable: row.reachable, measured: !!row.apply_delay_ms };
}
function injected(state, from, to) {
  const view = state.regions.map(r => r.view).find(v => v && v.latency_ms);
  const row = view ? (view.latency_ms[from] || {}) : {};
  return row[to] === undefined ? "–" : row[to] + " ms";
}
function render(state) {
  const names = state.regions.map(r => r.name);
  const at = positions(names);
  const links = document.getElementById("links"); links.replaceChildren();
  const regions = document.getElementById("regions"); regions.replaceChildren();
  const controls = [], linkRows = [];
  for (let i = 0; i < names.length; i++) for (let j = i + 1; j < names.length; j++) {
    const a = names[i], b = names[j];
    const ab = lagBetween(state, a, b), ba = lagBetween(state, b, a);
    const up = ab && ba && ab.reachable && ba.reachable;
    const [x1, y1] = at[a], [x2, y2] = at[b];
    links.appendChild(element("line", { class: "link" + (up ? "" : " down"), "data-from": a, "data-to": b, x1, y1, x2, y2 }));
    const format = lag => lag ? (lag.measured || lag.ms ? lag.ms + " ms" : "–") : "?";
    // One label per link, beside its middle: the lag each way.
    const length = Math.hypot(x2 - x1, y2 - y1) || 1;
    const [nx, ny] = [-(y2 - y1) / length, (x2 - x1) / length];
    links.appendChild(element("text", { class: "link-lag", "data-from": a, "data-to": b, "text-anchor": "middle",
      x: (x1 + x2) / 2 + nx * 22, y: (y1 + y2) / 2 + ny * 22 + 4 }, `${format(ab)} ⇄ ${format(ba)}`));
    linkRows.push(`<tr class="link-row" data-from="${a}" data-to="${b}"><td>${a} → ${b}</td><td>${format(ab)}</td><td>${injected(state, a, b)}</td><td class="${up ? "ok" : "bad"}">${up ? "up" : "cut or down"}</td></tr>`);
    linkRows.push(`<tr class="link-row" data-from="${b}" data-to="${a}"><td>${b} → ${a}</td><td>${format(ba)}</td><td>${injected(state, b, a)}</td><td class="${up ? "ok" : "bad"}">${up ? "up" : "cut or down"}</td></tr>`);
    if (state.fault_injection) controls.push(`<div>link ${a} ↔ ${b}: <button data-cut="1" data-a="${a}" data-b="${b}">cut</button><button data-cut="0" data-a="${a}" data-b="${b}">heal</button></div>`);
  }
  const rows = [];
  for (const region of state.regions) {
    const [x, y] = at[region.name];
    const up = !!region.view;
    const group = element("g", { class: "region" + (up ? "" : " down") + (region.self ? " self" : ""), "data-region": region.name });
    group.appendChild(element("circle", { cx: x, cy: y, r: 11 }));
    group.appendChild(element("text", { x: x + 15, y: y - 4 }, region.name));
    const counters = up ? region.view.counters : null;
    group.appendChild(element("text", { class: "detail", x: x + 15, y: y + 11 }, up ? `up · ${counters.conflicts_recorded} conflicts` : "down"));
    regions.appendChild(group);
    rows.push(`<tr class="region-row" data-region="${region.name}"><td>${region.name}${region.self ? " (this node)" : ""}</td><td class="${up ? "ok" : "bad"}">${up ? "up" : "down"}</td><td>${up ? counters.conflicts_recorded : "–"}</td><td>${up ? counters.clock_skew_rejections : "–"}</td><td>${up ? counters.residency_refusals : "–"}</td></tr>`);
    if (state.dev_controls) controls.push(`<div>region ${region.name}: <button data-run="0" data-region="${region.name}">stop</button><button data-run="1" data-region="${region.name}">start</button></div>`);
  }
  document.getElementById("region-rows").innerHTML = rows.join("");
  document.getElementById("link-rows").innerHTML = linkRows.join("");
  document.getElementById("table-rows").innerHTML = state.tables.map(t => {
    const items = Object.entries(t.items).map(([r, n]) => `${r}: ${n === null ? "?" : n}`).join(", ");
    const leader = t.leader || t.primary || (t.mode === "multi-primary" ? "every listed region" : "–");
    return `<tr class="table-row${t.name === selectedTable ? " selected" : ""}" data-table="${t.name}"><td>${t.name}</td><td>${t.mode}${t.conflict ? " (" + t.conflict + ")" : ""}</td><td>${t.regions.join(", ")}</td><td>${leader}</td><td>${items}</td></tr>`;
  }).join("");
  for (const row of document.querySelectorAll("tr.table-row")) row.onclick = () => { selectedTable = row.dataset.table; loadConflicts(); render(state); };
  const section = document.getElementById("controls-section");
  section.style.display = controls.length ? "block" : "none";
  document.getElementById("controls").innerHTML = controls.join("");
  for (const button of document.querySelectorAll("button[data-cut]")) button.onclick = () =>
    act(api("PUT", `/v1/dashboard/links/${button.dataset.a}/${button.dataset.b}`, { cut: button.dataset.cut === "1" }));
  for (const button of document.querySelectorAll("button[data-run]")) button.onclick = () =>
    act(api("PUT", `/v1/debug/regions/${button.dataset.region}`, { running: button.dataset.run === "1" }));
  if (!selectedTable && state.tables.length) { selectedTable = state.tables[0].name; loadConflicts(); }
}
function escapeHTML(text) { return String(text).replace(/[&<>"]/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]); }
async function loadConflicts() {
  if (!selectedTable) return;
  try {
    const page = await api("GET", `/v1/tables/${encodeURIComponent(selectedTable)}/conflicts?limit=20`);
    document.getElementById("conflicts-title").textContent = `Conflict ledger of ${selectedTable} (newest 20 as this node recorded them)`;
    document.getElementById("conflict-rows").innerHTML = page.conflicts.map(c =>
      `<tr class="conflict-row"><td>${escapeHTML(c.key)}${c.field ? "." + escapeHTML(c.field) : ""}</td><td>${escapeHTML(JSON.stringify(c.value === undefined ? null : c.value)).slice(0, 80)}</td><td>${escapeHTML(c.origin)}</td><td>${escapeHTML(c.winner)}</td><td>${escapeHTML(c.detected_by)}</td></tr>`).join("");
  } catch (error) { document.getElementById("conflict-rows").innerHTML = `<tr><td colspan="5">${escapeHTML(error.message)}</td></tr>`; }
}
async function act(promise) {
  try { await promise; } catch (error) { document.getElementById("status").textContent = "control failed: " + error.message; }
  poll();
}
let polling = false;
async function poll() {
  if (polling) return;
  polling = true;
  try {
    const state = await api("GET", "/v1/dashboard/state");
    render(state);
    if (selectedTable) loadConflicts();
    document.getElementById("status").textContent = `served by ${state.region} · updated ${new Date().toLocaleTimeString()} · polling every second`;
  } catch (error) {
    document.getElementById("status").textContent = "cannot read the cluster: " + error.message;
  } finally { polling = false; }
}
drawLand();
poll();
setInterval(poll, POLL_MILLISECONDS);
</script>
</body>
</html>
"""#
}
