// order-engine blotter: the engine's HTTP API (fetch, with the API key; errors as ApiError).
// One of the page's classic scripts (index.html loads them in order, app.js last, which starts
// the page); they share one global scope.
"use strict";

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

