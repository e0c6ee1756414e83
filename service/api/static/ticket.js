// order-engine blotter: the order ticket (POST /orders) and its quote / limit preview.
// One of the page's classic scripts (index.html loads them in order, app.js last, which starts
// the page); they share one global scope.
"use strict";

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

