// order-engine blotter: an order ticket (POST /orders), a live table of one client's orders
// (GET /orders, then the relay's /ws?clientId= stream) and each venue's price (GET /markets
// every second, drawn on a <canvas>). Plain JS, no framework, no network but this origin
// and the relay. Classic scripts sharing one global scope, loaded in order by index.html:
// http.js, socket.js, orders.js, ticket.js, chart.js, then this one (the state, the
// settings, and the start).
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
  lastCursor: null,
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
  state.wsOverride = ""; // the relay's address comes from /config.json only, never the URL
  localStorage.removeItem("oe.wsUrl"); // nor from an address remembered by an older page
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
}

// ------------------------------------------------------------------ start

async function applySession(ev) {
  if (ev) ev.preventDefault();
  state.clientId = $("#client-id").value.trim() || state.clientId;
  state.apiKey = $("#api-key").value.trim();
  $("#ws-url").value = ""; // ignored: see loadSettings
  saveSettings();
  state.orders.clear();
  state.lastCursor = null;
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
