// order-engine blotter: each venue's price (GET /markets every second), drawn on a <canvas>.
// One of the page's classic scripts (index.html loads them in order, app.js last, which starts
// the page); they share one global scope.
"use strict";

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

