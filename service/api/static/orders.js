// order-engine blotter: the live table of the client's orders, merged by seq, with Cancel.
// One of the page's classic scripts (index.html loads them in order, app.js last, which starts
// the page); they share one global scope.
"use strict";

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
  // The last message's cursor is the exact resume point (every message carries one).
  if (typeof p.cursor === "string") state.lastCursor = p.cursor;
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

