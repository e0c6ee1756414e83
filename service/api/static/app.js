// order-engine blotter: an order ticket (POST /orders), a live table of one client's orders
// (GET /orders, then the relay's /ws?clientId= stream) and each venue's price (GET /markets
// every second, drawn on a <canvas>). Plain JS, no framework, no network but this origin
// and the relay.
"use strict";

const FINAL = new Set(["filled", "canceled", "expired", "rejected", "failed"]);
const COLORS = ["#4f8cff", "#f5a524", "#17c964", "#f31260", "#9353d3", "#06b7db"];
const HISTORY = 180; // chart points kept per venue (3 minutes at one a second)

const $ = (sel) => document.querySelector(sel);

const state = {
  clientId: "",
  apiKey: "",
  wsOverride: "",
  config: null, // GET /config.json
  markets: [], // last GET /markets
  orders: new Map(), // id -> order object (contract shape), kept at its highest seq
  socket: null,
  socketGen: 0,
  lastEventId: null,
  retry: 0,
  series: new Map(), // symbol -> Map(venue -> [{t, p}])
  chartSymbol: "",
};

// ------------------------------------------------------------------ settings

function loadSettings() {
  const q = new URLSearchParams(location.search);
  const stored = (k) => localStorage.getItem("oe." + k) || "";
  // ?clientId= (e.g. /?clientId=user123) opens that client's orders; it is remembered in
  // localStorage, and the address bar keeps it so a reload or a bookmark shows the same.
  state.clientId = q.get("clientId") || stored("clientId") || "user-" + Math.random().toString(36).slice(2, 8);
  localStorage.setItem("oe.clientId", state.clientId);
  showClientInUrl();
  state.apiKey = q.get("apiKey") || stored("apiKey");
  state.wsOverride = q.get("ws") || stored("wsUrl");
  $("#client-id").value = state.clientId;
  $("#api-key").value = state.apiKey;
  $("#ws-url").value = state.wsOverride;
}

function showClientInUrl() {
  const q = new URLSearchParams(location.search);
  if (q.get("clientId") === state.clientId) return;
  q.set("clientId", state.clientId);
  history.replaceState(null, "", `${location.pathname}?${q}`);
}

// Prices to as many significant digits as the market's quote token has decimals (USDC: 6,
// so 150.441), as the CLI prints them (service/client/render.py round_price).
function priceDigits(symbol) {
  const m = state.markets.find((x) => x.symbol === symbol);
  return m ? m.quote.decimals : 0;
}

function roundPrice(value, digits) {
  if (value === null || value === undefined || value === "") return "";
  const v = Number(value);
  if (!digits || !isFinite(v) || v === 0) return String(value);
  const decimals = Math.max(0, digits - 1 - Math.floor(Math.log10(Math.abs(v))));
  return v.toFixed(Math.min(decimals, 20));
}

const price = (symbol, value) => roundPrice(value, priceDigits(symbol));

function saveSettings() {
  localStorage.setItem("oe.clientId", state.clientId);
  showClientInUrl();
  localStorage.setItem("oe.apiKey", state.apiKey);
  localStorage.setItem("oe.wsUrl", state.wsOverride);
}

// ------------------------------------------------------------------ HTTP

class ApiError extends Error {
  constructor(status, body) {
    const err = body && body.error;
    super(err ? `${err.message} (${err.code})` : `HTTP ${status}`);
    this.status = status;
    this.field = err ? err.field : undefined;
  }
}

async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (state.apiKey) headers["X-API-Key"] = state.apiKey;
  const resp = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await resp.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch (_) {
    data = text;
  }
  if (!resp.ok) throw new ApiError(resp.status, data);
  return data;
}

// ------------------------------------------------------------------ WebSocket

function wsBase() {
  if (state.wsOverride) return state.wsOverride.replace(/\/+$/, "");
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const cfg = state.config || {};
  if (cfg.sameOrigin) return `${scheme}//${location.host}`;
  return `${scheme}//${location.hostname}:${cfg.wsPort || 3001}`;
}

function setWsState(name, detail) {
  const el = $("#ws-state");
  el.dataset.state = name;
  el.textContent = "● " + name;
  el.title = detail || "";
}

// Opens the client's stream; resolves once it is open (or has failed), so that a list read
// after it misses nothing: what happened before is in the list, what happens after comes here.
function connect() {
  return new Promise((resolve) => openSocket(resolve));
}

function openSocket(opened) {
  const done = opened || (() => {});
  const gen = ++state.socketGen;
  if (state.socket) state.socket.close();
  const q = new URLSearchParams({ clientId: state.clientId });
  if (state.lastEventId !== null) q.set("afterEventId", String(state.lastEventId));
  if (state.apiKey) q.set("apiKey", state.apiKey);
  const url = `${wsBase()}/ws?${q}`;
  setWsState("connecting", url.replace(/apiKey=[^&]*/, "apiKey=…"));
  let ws;
  try {
    ws = new WebSocket(url);
  } catch (e) {
    setWsState("error", String(e));
    done();
    return;
  }
  state.socket = ws;
  const resumed = state.lastEventId !== null;
  ws.onopen = () => {
    done();
    if (gen !== state.socketGen) return;
    state.retry = 0;
    setWsState("live", url.replace(/apiKey=[^&]*/, "apiKey=…"));
    // A reconnect with no event seen yet cannot replay: read the list again instead.
    if (!opened && !resumed) loadOrders();
  };
  ws.onmessage = (ev) => {
    if (gen !== state.socketGen) return;
    let msg;
    try {
      msg = JSON.parse(ev.data);
    } catch (_) {
      return;
    }
    if (msg && msg.event === "order:update" && msg.payload) onEvent(msg.payload);
  };
  ws.onclose = () => {
    done();
    if (gen !== state.socketGen) return;
    setWsState("reconnecting", "lost the relay; retrying");
    const delay = Math.min(500 * 2 ** state.retry++, 10000);
    setTimeout(() => gen === state.socketGen && openSocket(null), delay);
  };
}

// ------------------------------------------------------------------ orders

// Keeps what is newest by seq, and fills in what an event does not carry (symbol, side…).
function merge(order) {
  const old = state.orders.get(order.id);
  const merged = old && (old.seq || 0) > (order.seq || 0)
    ? Object.assign({}, order, old)
    : Object.assign({}, old || {}, order);
  state.orders.set(order.id, merged);
  return merged;
}

function onEvent(p) {
  if (p.eventId !== undefined && p.eventId !== null) {
    state.lastEventId = Math.max(state.lastEventId || 0, p.eventId);
  }
  const old = state.orders.get(p.id);
  if (old && (old.seq || 0) >= p.seq) return;
  const patch = {
    id: p.id,
    status: p.status,
    seq: p.seq,
    filled: p.filled,
    remaining: p.remaining,
    avgPrice: p.avgPrice,
    txHash: p.txHash,
    failureReason: p.failureReason,
    attempts: p.attempts,
    updatedAt: p.ts,
  };
  merge(patch);
  if (!old || !old.symbol) {
    // An order placed elsewhere (CLI, another tab): fetch what the event does not carry.
    api("GET", `/orders/${p.id}`).then((o) => { merge(o); render(); }).catch(() => {});
  }
  render();
}

async function loadOrders() {
  try {
    const page = await api("GET", `/orders?${new URLSearchParams({ clientId: state.clientId, limit: "50" })}`);
    for (const o of page.orders) merge(o);
  } catch (e) {
    showMessage(`Could not load orders: ${e.message}`, "error");
  }
  render();
}

function cell(tr, text, cls, title) {
  const td = document.createElement("td");
  td.textContent = text === null || text === undefined ? "" : String(text);
  if (cls) td.className = cls;
  if (title) td.title = title;
  tr.appendChild(td);
  return td;
}

function clock(ts) {
  if (!ts) return "";
  const d = new Date(ts);
  return isNaN(d) ? ts : d.toLocaleTimeString([], { hour12: false });
}

function render() {
  const tbody = $("#orders tbody");
  const rows = [...state.orders.values()].sort((a, b) =>
    String(b.createdAt || "9").localeCompare(String(a.createdAt || "9")));
  const frag = document.createDocumentFragment();
  for (const o of rows) {
    const tr = document.createElement("tr");
    tr.dataset.orderId = o.id;
    tr.dataset.status = o.status || "";
    cell(tr, clock(o.createdAt), "muted");
    cell(tr, o.id.slice(0, 8), "mono", o.id);
    cell(tr, o.symbol || "…");
    cell(tr, o.side || "", o.side);
    const limit = o.limitPrice ? price(o.symbol, o.limitPrice) : "";
    const tif = o.type === "limit" && o.timeInForce ? ` ${o.timeInForce}` : "";
    cell(tr, o.type ? (o.type === "market" ? "market" : `${o.type} ${limit}${tif}`.trim()) : "");
    cell(tr, o.amount, "num");
    cell(tr, o.filled, "num");
    cell(tr, price(o.symbol, o.avgPrice), "num", o.avgPrice || "");
    const st = cell(tr, o.status, "status");
    st.dataset.status = o.status || "";
    cell(tr, o.attempts, "num");
    if (o.failureReason) cell(tr, o.failureReason, "reason");
    else cell(tr, o.txHash ? o.txHash.slice(0, 10) + "…" : "", "mono muted", o.txHash || "");
    const act = cell(tr, "");
    if (o.status && !FINAL.has(o.status)) {
      const b = document.createElement("button");
      b.className = "cancel";
      b.textContent = "Cancel";
      b.onclick = () => cancelOrder(o.id, b);
      act.appendChild(b);
    }
    frag.appendChild(tr);
  }
  tbody.replaceChildren(frag);
  $("#o-empty").hidden = rows.length > 0;
  $("#o-client").textContent = `of ${state.clientId}`;
  const live = rows.filter((o) => o.status && !FINAL.has(o.status)).length;
  $("#o-count").textContent = `${rows.length} shown · ${live} live`;
}

async function cancelOrder(id, button) {
  button.disabled = true;
  try {
    merge(await api("DELETE", `/orders/${id}`));
    showMessage(`Canceled ${id.slice(0, 8)}`, "ok");
  } catch (e) {
    showMessage(`Cancel ${id.slice(0, 8)}: ${e.message}`, "error");
    button.disabled = false;
  }
  render();
}

// ------------------------------------------------------------------ ticket

function showMessage(text, kind) {
  const el = $("#t-message");
  el.textContent = text;
  el.dataset.kind = kind || "";
}

function ticketBody() {
  const f = $("#ticket");
  const type = f.type.value;
  const body = {
    clientId: state.clientId,
    symbol: f.symbol.value,
    side: f.querySelector("input[name=side]:checked").value,
    amount: f.amount.value.trim(),
    type,
  };
  if (type !== "market") {
    if (f.limitPrice.value.trim()) body.limitPrice = f.limitPrice.value.trim();
    body.timeInForce = f.timeInForce.value;
    if (body.timeInForce === "GTD") body.expiresAt = f.expiresAt.value.trim();
  }
  if (f.slippageBps.value !== "") body.slippageBps = Number(f.slippageBps.value);
  if (f.clientOrderId.value.trim()) body.clientOrderId = f.clientOrderId.value.trim();
  return body;
}

function syncTicket() {
  const f = $("#ticket");
  const type = f.type.value;
  f.dataset.type = type;
  f.dataset.tif = f.timeInForce.value;
  const m = state.markets.find((x) => x.symbol === f.symbol.value);
  $("#t-base").textContent = m ? `(${m.base.symbol})` : "";
  $("#t-quote").textContent = m ? `(${m.quote.symbol} per ${m.base.symbol})` : "";
  schedulePreview();
}

let previewTimer = null;
function schedulePreview() {
  clearTimeout(previewTimer);
  previewTimer = setTimeout(preview, 300);
}

const quoteOf = (symbol, side, amount) =>
  api("GET", `/quote?${new URLSearchParams({ symbol, side, amount: String(amount) })}`);

// Whether an average price respects the limit: a buy pays at most, a sell gets at least.
const within = (side, avg, limit) => (side === "buy" ? avg <= limit : avg >= limit);

async function preview() {
  const f = $("#ticket");
  const amount = f.amount.value.trim();
  const el = $("#t-preview");
  if (!amount || !f.symbol.value) { el.textContent = ""; return; }
  const side = f.querySelector("input[name=side]:checked").value;
  const symbol = f.symbol.value;
  const quoteSym = symbol.split("/")[1];
  const limitText = f.limitPrice.value.trim();
  try {
    if (f.type.value !== "market" && limitText) {
      el.textContent = await limitPreview(symbol, side, Number(amount), Number(limitText), f);
      return;
    }
    const q = await quoteOf(symbol, side, amount);
    const venues = q.legs.map((l) => l.venue).join(" + ");
    el.textContent = `≈ ${price(symbol, q.expectedPrice)} · ${q.quoteAmount} ${quoteSym} via ${venues} · impact ${q.priceImpactBps} bps`;
  } catch (e) {
    el.textContent = `quote: ${e.message}`;
  }
}

// A limit order: what fills now at the venues within the limit (the largest amount whose
// average price respects it, found by bisection over /quote as the engine does on the pool
// curves; crossing resting orders of other clients may fill more) and what rests at the
// limit (GTC/GTD), expires (IOC) or makes a FOK fill nothing.
async function limitPreview(symbol, side, amount, limit, f) {
  const m = state.markets.find((x) => x.symbol === symbol);
  const lim = price(symbol, limit);
  if (f.type.value === "sniper" && m && !m.launched) {
    return `waits for ${symbol} to launch; then fires within ${lim}`;
  }
  const full = await quoteOf(symbol, side, amount);
  let now = 0;
  let avg = Number(full.expectedPrice);
  if (within(side, avg, limit)) {
    now = amount;
  } else {
    let lo = 0, hi = amount;
    const decimals = m ? m.base.decimals : 9;
    for (let i = 0; i < 10 && hi - lo > Math.pow(10, -decimals); i++) {
      const mid = Number(((lo + hi) / 2).toFixed(decimals));
      if (mid <= lo) break;
      const q = await quoteOf(symbol, side, mid);
      if (within(side, Number(q.expectedPrice), limit)) { lo = mid; avg = Number(q.expectedPrice); } else { hi = mid; }
    }
    now = lo;
  }
  const rest = Number((amount - now).toFixed(m ? m.base.decimals : 9));
  const base = symbol.split("/")[0];
  const tif = f.type.value === "limit" ? f.timeInForce.value : "GTC";
  const fills = now > 0 ? `fills now: ${now} ${base} at ≈ ${price(symbol, avg)}` : `nothing fills now (best ≈ ${price(symbol, full.legs.length ? full.expectedPrice : "")} for ${amount})`;
  if (rest <= 0) return `${fills} (within ${lim})`;
  if (tif === "FOK") return now > 0 ? `FOK: only ${now} of ${amount} ${base} within ${lim}: nothing fills` : `FOK: ${fills}: the order expires`;
  if (tif === "IOC") return `${fills}; ${rest} ${base} expires (IOC)`;
  return `${fills}; rests: ${rest} ${base} at ${lim} until the price comes`;
}

async function submitTicket(ev) {
  ev.preventDefault();
  const f = $("#ticket");
  f.querySelectorAll(".invalid").forEach((x) => x.classList.remove("invalid"));
  const button = $("#t-submit");
  button.disabled = true;
  button.textContent = "Submitting…";
  try {
    const order = await api("POST", "/orders", ticketBody());
    merge(order);
    render();
    showMessage(`Accepted ${order.id.slice(0, 8)}: its status is in the table below`, "ok");
  } catch (e) {
    showMessage(e.message, "error");
    if (e.field) {
      const input = f.querySelector(`[data-field="${CSS.escape(e.field)}"]`);
      if (input) { input.classList.add("invalid"); input.focus && input.focus(); }
    }
  } finally {
    button.disabled = false;
    button.textContent = "Submit order";
  }
}

// ------------------------------------------------------------------ markets and chart

function fillSelect(select, symbols, keep) {
  if ([...select.options].map((o) => o.value).join() === symbols.join()) return;
  select.replaceChildren(...symbols.map((s) => new Option(s, s)));
  if (symbols.includes(keep)) select.value = keep;
}

async function pollMarkets() {
  try {
    const data = await api("GET", "/markets");
    state.markets = data.markets;
    const symbols = data.markets.map((m) => m.symbol);
    fillSelect($("#t-symbol"), symbols, $("#t-symbol").value);
    fillSelect($("#c-symbol"), symbols, state.chartSymbol);
    state.chartSymbol = $("#c-symbol").value;
    const now = Date.now();
    for (const m of data.markets) {
      let bySymbol = state.series.get(m.symbol);
      if (!bySymbol) state.series.set(m.symbol, (bySymbol = new Map()));
      const points = [["reference", m.referencePrice], ...m.venues.map((v) => [v.venue, v.price])];
      for (const [venue, price] of points) {
        const p = Number(price);
        if (!isFinite(p)) continue;
        let s = bySymbol.get(venue);
        if (!s) bySymbol.set(venue, (s = []));
        s.push({ t: now, p });
        if (s.length > HISTORY) s.shift();
      }
    }
    if (!$("#t-base").textContent) syncTicket();
    drawChart();
  } catch (e) {
    $("#legend").textContent = `markets: ${e.message}`;
  }
}

function niceTicks(lo, hi, n) {
  const span = hi - lo || Math.abs(hi) || 1;
  const step0 = span / n;
  const mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 2.5, 5, 10].map((k) => k * mag).find((s) => s >= step0);
  const ticks = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(v);
  return { ticks, step };
}

function fmt(v, step) {
  const digits = Math.max(0, Math.min(10, -Math.floor(Math.log10(step)) + 1));
  return v.toFixed(digits);
}

function drawChart() {
  const canvas = $("#chart");
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth, h = canvas.clientHeight;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  const bySymbol = state.series.get(state.chartSymbol);
  const legend = $("#legend");
  if (!bySymbol || bySymbol.size === 0) {
    legend.textContent = "no data yet";
    return;
  }
  const css = getComputedStyle(document.body);
  const fg = css.getPropertyValue("--muted").trim() || "#888";
  const grid = css.getPropertyValue("--grid").trim() || "#333";
  let lo = Infinity, hi = -Infinity, t0 = Infinity, t1 = -Infinity;
  for (const s of bySymbol.values()) for (const { t, p } of s) {
    lo = Math.min(lo, p); hi = Math.max(hi, p); t0 = Math.min(t0, t); t1 = Math.max(t1, t);
  }
  const pad = (hi - lo) * 0.1 || Math.abs(hi) * 0.001 || 1;
  lo -= pad; hi += pad;
  t0 = Math.min(t0, t1 - 60000);
  const left = 72, right = 12, top = 10, bottom = 24;
  const x = (t) => left + ((t - t0) / (t1 - t0 || 1)) * (w - left - right);
  const y = (p) => top + (1 - (p - lo) / (hi - lo)) * (h - top - bottom);

  ctx.font = "11px system-ui, sans-serif";
  ctx.fillStyle = fg;
  ctx.strokeStyle = grid;
  ctx.lineWidth = 1;
  const { ticks, step } = niceTicks(lo, hi, 5);
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (const v of ticks) {
    const yy = Math.round(y(v)) + 0.5;
    ctx.beginPath(); ctx.moveTo(left, yy); ctx.lineTo(w - right, yy); ctx.stroke();
    ctx.fillText(fmt(v, step), left - 6, yy);
  }
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  for (let s = 0; s <= (t1 - t0) / 1000; s += 30) {
    const xx = x(t1 - s * 1000);
    if (xx < left) break;
    ctx.fillText(s === 0 ? "now" : `-${s}s`, xx, h - bottom + 6);
  }

  legend.replaceChildren();
  let i = 0;
  for (const [venue, s] of bySymbol) {
    const color = venue === "reference" ? fg : COLORS[i++ % COLORS.length];
    ctx.strokeStyle = color;
    ctx.lineWidth = venue === "reference" ? 1 : 2;
    ctx.setLineDash(venue === "reference" ? [4, 4] : []);
    ctx.beginPath();
    s.forEach(({ t, p }, k) => (k ? ctx.lineTo(x(t), y(p)) : ctx.moveTo(x(t), y(p))));
    if (s.length === 1) ctx.arc(x(s[0].t), y(s[0].p), 2, 0, 2 * Math.PI);
    ctx.stroke();
    const item = document.createElement("span");
    item.className = "legend-item";
    item.dataset.venue = venue;
    const swatch = document.createElement("i");
    swatch.style.background = color;
    item.append(swatch, `${venue} ${price(state.chartSymbol, s[s.length - 1].p)}`);
    legend.appendChild(item);
  }
  ctx.setLineDash([]);
}

// ------------------------------------------------------------------ start

async function applySession(ev) {
  if (ev) ev.preventDefault();
  state.clientId = $("#client-id").value.trim() || state.clientId;
  state.apiKey = $("#api-key").value.trim();
  state.wsOverride = $("#ws-url").value.trim();
  saveSettings();
  state.orders.clear();
  state.lastEventId = null;
  render();
  await connect();
  await loadOrders();
}

async function main() {
  loadSettings();
  try {
    state.config = await api("GET", "/config.json");
  } catch (_) {
    state.config = null; // then the relay is assumed on port 3001 of this host
  }
  $("#session").addEventListener("submit", applySession);
  $("#ticket").addEventListener("submit", submitTicket);
  $("#ticket").addEventListener("input", syncTicket);
  $("#ticket").addEventListener("change", syncTicket);
  $("#c-symbol").addEventListener("change", (e) => { state.chartSymbol = e.target.value; drawChart(); });
  window.addEventListener("resize", drawChart);
  syncTicket();
  await pollMarkets();
  setInterval(pollMarkets, 1000);
  await applySession();
  document.body.dataset.ready = "1";
}

main();
