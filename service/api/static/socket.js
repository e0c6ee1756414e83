// order-engine blotter: the relay's /ws?clientId= stream, reconnecting from the last cursor.
// One of the page's classic scripts (index.html loads them in order, app.js last, which starts
// the page); they share one global scope.
"use strict";

// ------------------------------------------------------------------ WebSocket

function wsBase() {
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
  if (state.lastCursor !== null) q.set("cursor", state.lastCursor);
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
  const resumed = state.lastCursor !== null;
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

