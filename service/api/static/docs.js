// Renders /openapi.json as a readable page: every path and method with its parameters,
// request body, responses and schemas. Plain JS, nothing loaded from elsewhere; the text
// of the document is only ever set as text (never as HTML).
"use strict";

const METHODS = ["get", "post", "put", "patch", "delete", "head", "options"];
let DOC = null;

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "dataset") Object.assign(node.dataset, v);
    else node.setAttribute(k, v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : String(c));
  }
  return node;
}

// `code` spans of the descriptions as <code>, the rest as text.
function prose(text, tag = "p", cls = "desc") {
  if (!text) return null;
  const node = el(tag, { class: cls });
  String(text).split(/(`[^`]*`)/).forEach((part) => {
    if (part.startsWith("`") && part.endsWith("`") && part.length > 1) node.append(el("code", {}, part.slice(1, -1)));
    else if (part) node.append(part);
  });
  return node;
}

function resolve(obj) {
  let seen = 0;
  while (obj && obj.$ref && seen++ < 20) {
    const parts = obj.$ref.replace(/^#\//, "").split("/").map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"));
    let target = DOC;
    for (const p of parts) target = target ? target[p] : undefined;
    if (!target) return obj;
    obj = Object.assign({}, target, obj.description ? { description: obj.description } : {});
    delete obj.$ref;
  }
  return obj;
}

function refName(schema) {
  return schema && schema.$ref ? schema.$ref.split("/").pop() : null;
}

function anchor(kind, name) {
  return `${kind}-${name}`.replace(/[^A-Za-z0-9_-]+/g, "_");
}

function typeLabel(s) {
  if (!s) return "any";
  const name = refName(s);
  if (name) return name;
  if (s.oneOf || s.anyOf) return (s.oneOf || s.anyOf).map(typeLabel).join(" | ");
  if (s.allOf) return s.allOf.map(typeLabel).join(" & ");
  let t = Array.isArray(s.type) ? s.type.join(" | ") : s.type || (s.properties ? "object" : "any");
  if (t === "array" || (Array.isArray(s.type) && s.type.includes("array"))) t = t.replace("array", `array of ${typeLabel(s.items)}`);
  if (s.format) t += ` (${s.format})`;
  return t;
}

function constraints(s) {
  const out = [];
  if (s.enum) out.push("one of: " + s.enum.map((v) => JSON.stringify(v)).join(", "));
  if (s.const !== undefined) out.push(`= ${JSON.stringify(s.const)}`);
  if (s.default !== undefined) out.push(`default ${JSON.stringify(s.default)}`);
  if (s.minimum !== undefined) out.push(`≥ ${s.minimum}`);
  if (s.exclusiveMinimum !== undefined) out.push(`> ${s.exclusiveMinimum}`);
  if (s.maximum !== undefined) out.push(`≤ ${s.maximum}`);
  if (s.minLength !== undefined) out.push(`min length ${s.minLength}`);
  if (s.maxLength !== undefined) out.push(`max length ${s.maxLength}`);
  if (s.minItems !== undefined) out.push(`min items ${s.minItems}`);
  if (s.maxItems !== undefined) out.push(`max items ${s.maxItems}`);
  if (s.pattern) out.push(`pattern ${s.pattern}`);
  if (s.additionalProperties === false) out.push("no other fields");
  return out.join(" · ");
}

function structured(r) {
  return Boolean(r.properties || (r.items && (resolve(r.items) || {}).properties));
}

// JSON Schema's if/then/else as a sentence: "when type = "limit": limitPrice required".
function ruleText(part) {
  const cond = Object.entries(part.if.properties || {}).map(([k, v]) =>
    v.const !== undefined ? `${k} = ${JSON.stringify(v.const)}`
      : v.enum ? `${k} is ${v.enum.map((x) => JSON.stringify(x)).join(" or ")}` : k);
  const effect = (branch) => {
    if (!branch) return "";
    const out = (branch.required || []).map((k) => `${k} required`);
    for (const [k, v] of Object.entries(branch.properties || {})) {
      if (v.type === "null") out.push(`${k} must be absent or null`);
      else if (!(branch.required || []).includes(k)) out.push(`${k}: ${typeLabel(v)}`);
    }
    return out.join(", ");
  };
  let text = `when ${cond.join(" and ") || "…"}: ${effect(part.then) || "—"}`;
  if (part.else) text += `; otherwise ${effect(part.else)}`;
  return text;
}

// A schema as a nested list: name, type, required, constraints, description, children.
function schemaTree(schema, depth = 0, trail = []) {
  const name = refName(schema);
  const s = resolve(schema) || {};
  const list = el("ul", { class: "schema" });
  if (depth > 6 || (name && trail.includes(name))) {
    list.append(el("li", {}, el("a", { href: `#${anchor("schema", name)}` }, name || "…")));
    return list;
  }
  const next = name ? [...trail, name] : trail;
  const variants = s.oneOf || s.anyOf;
  if (variants) {
    variants.forEach((v, i) => {
      const r = resolve(v) || {};
      const simple = !r.properties && !r.items && !r.oneOf && !r.anyOf && !r.allOf;
      list.append(el("li", {}, el("span", { class: "muted" }, i ? "or " : "one of: "),
        el("span", { class: "type" }, typeLabel(v)), simple ? ` ${constraints(r)}` : schemaTree(v, depth + 1, next)));
    });
  }
  const rules = [];
  for (const part of s.allOf || []) {
    if (part.if) rules.push(el("li", { class: "muted" }, "rule: ", ruleText(part)));
    else list.append(el("li", {}, schemaTree(part, depth + 1, next)));
  }
  const required = new Set(s.required || []);
  for (const [prop, sub] of Object.entries(s.properties || {})) {
    const r = resolve(sub) || {};
    const nested = structured(r) || (r.oneOf || r.anyOf || []).some((v) => structured(resolve(v) || {}));
    const row = el("li", {},
      el("span", { class: "name" }, prop), " ",
      el("span", { class: "type" }, typeLabel(sub)), " ",
      required.has(prop) ? el("span", { class: "req" }, "required") : null, " ",
      constraints(r) ? el("span", { class: "muted" }, constraints(r)) : null,
      prose(r.description || sub.description, "div"));
    if (nested) {
      const inner = r.items && !r.properties ? r.items : sub;
      const det = el("details", { open: depth < 1 ? "" : null }, el("summary", {}, "fields"), schemaTree(inner, depth + 1, next));
      row.append(det);
    }
    list.append(row);
  }
  list.append(...rules);
  if (s.items && !s.properties && depth === 0 && !variants) {
    list.append(el("li", {}, el("span", { class: "muted" }, "items: "), el("span", { class: "type" }, typeLabel(s.items)), schemaTree(s.items, depth + 1, next)));
  }
  if (s.additionalProperties && typeof s.additionalProperties === "object") {
    list.append(el("li", {}, el("span", { class: "name" }, "{any key}"), " ", el("span", { class: "type" }, typeLabel(s.additionalProperties))));
  }
  if (!list.childNodes.length) {
    list.append(el("li", {}, el("span", { class: "type" }, typeLabel(schema)), " ", el("span", { class: "muted" }, constraints(s)), prose(s.description, "div")));
  }
  return list;
}

function contentBlock(content) {
  const out = [];
  for (const [ctype, media] of Object.entries(content || {})) {
    out.push(el("div", { class: "muted" }, el("code", {}, ctype), media.schema ? ` · ${typeLabel(media.schema)}` : ""));
    if (media.schema) {
      const r = resolve(media.schema) || {};
      if (r.properties || r.oneOf || r.anyOf || r.allOf || r.items) out.push(schemaTree(media.schema));
      else if (r.description) out.push(prose(r.description));
    }
    const examples = media.examples ? Object.entries(media.examples).map(([k, v]) => [k, resolve(v).value]) :
      media.example !== undefined ? [["example", media.example]] : [];
    for (const [label, value] of examples) {
      out.push(el("details", {}, el("summary", {}, label),
        el("pre", { class: "example" }, typeof value === "string" ? value : JSON.stringify(value, null, 2))));
    }
  }
  return out;
}

function parametersTable(params) {
  if (!params.length) return null;
  const rows = params.map((p0) => {
    const p = resolve(p0);
    const s = resolve(p.schema) || {};
    return el("tr", {},
      el("td", {}, el("code", {}, p.name), p.required ? el("span", { class: "req" }, " required") : null),
      el("td", {}, p.in),
      el("td", {}, el("span", { class: "type" }, typeLabel(p.schema))),
      el("td", {}, prose(p.description, "div"), constraints(s) ? el("div", { class: "muted" }, constraints(s)) : null));
  });
  return el("table", {}, el("thead", {}, el("tr", {}, ["name", "in", "type", "description"].map((h) => el("th", {}, h)))), el("tbody", {}, rows));
}

function responsesBlock(responses) {
  const rows = Object.entries(responses || {}).map(([code, r0]) => {
    const r = resolve(r0);
    const headers = Object.entries(r.headers || {}).map(([h, v]) => el("div", { class: "muted" }, "header ", el("code", {}, h), " ", resolve(v).description || ""));
    return el("tr", { dataset: { code } },
      el("td", {}, el("strong", {}, code)),
      el("td", {}, prose(r.description, "div"), refName(r0) ? el("div", { class: "muted" }, refName(r0)) : null, headers,
        r.content ? el("details", { open: code.startsWith("2") ? "" : null }, el("summary", {}, "body"), contentBlock(r.content)) : null));
  });
  return el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, "status"), el("th", {}, "answer"))), el("tbody", {}, rows));
}

function operation(path, method, op, pathItem) {
  const id = anchor("op", `${method}-${path}`);
  const params = [...(pathItem.parameters || []), ...(op.parameters || [])];
  const body = op.requestBody ? resolve(op.requestBody) : null;
  const security = op.security || DOC.security;
  return el("section", { class: "op", id, dataset: { method, path } },
    el("h3", {}, el("span", { class: `method ${method}` }, method), el("code", {}, path),
      op.summary ? el("span", { class: "muted" }, op.summary) : null),
    op.deprecated ? el("p", { class: "req" }, "deprecated") : null,
    prose(op.description),
    op.operationId ? el("div", { class: "muted" }, "operationId ", el("code", {}, op.operationId)) : null,
    security && security.length ? el("div", { class: "muted" }, "auth: ", security.map((s) => Object.keys(s).join(" + ") || "none").join(" or ")) : null,
    params.length ? [el("h4", {}, "Parameters"), parametersTable(params)] : null,
    body ? [el("h4", {}, "Request body", body.required ? el("span", { class: "req" }, " required") : null), prose(body.description), contentBlock(body.content)] : null,
    el("h4", {}, "Responses"), responsesBlock(op.responses));
}

function render(doc) {
  DOC = doc;
  const info = doc.info || {};
  document.title = `${info.title || "API"} ${info.version || ""} · docs`;
  document.getElementById("version").textContent = info.version ? `v${info.version} · OpenAPI ${doc.openapi || ""}` : "";
  const article = document.getElementById("doc");
  const toc = document.getElementById("toc");
  article.replaceChildren(el("h2", {}, info.title || "API"), prose(info.description));
  toc.replaceChildren();

  const groups = new Map();
  for (const [path, item] of Object.entries(doc.paths || {})) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      const group = (op.tags && op.tags[0]) || "/" + (path.split("/")[1] || "");
      if (!groups.has(group)) groups.set(group, []);
      groups.get(group).push([path, method, op, item]);
    }
  }
  for (const [group, ops] of groups) {
    toc.append(el("h3", {}, group));
    article.append(el("h2", { id: anchor("group", group) }, group));
    for (const [path, method, op, item] of ops) {
      toc.append(el("a", { href: `#${anchor("op", `${method}-${path}`)}` }, el("span", { class: `method ${method}` }, method), " ", path));
      article.append(operation(path, method, op, item));
    }
  }
  const schemas = (doc.components && doc.components.schemas) || {};
  if (Object.keys(schemas).length) {
    toc.append(el("h3", {}, "schemas"));
    article.append(el("h2", { id: "schemas" }, "Schemas"));
    for (const [name, schema] of Object.entries(schemas)) {
      toc.append(el("a", { href: `#${anchor("schema", name)}` }, name));
      article.append(el("section", { class: "op", id: anchor("schema", name) },
        el("h3", {}, el("code", {}, name), el("span", { class: "type" }, typeLabel(schema))),
        prose(schema.description), schemaTree({ $ref: `#/components/schemas/${name}` }, 0, [])));
    }
  }
  const schemes = (doc.components && doc.components.securitySchemes) || {};
  if (Object.keys(schemes).length) {
    article.append(el("h2", { id: "security" }, "Authentication"));
    for (const [name, s] of Object.entries(schemes)) {
      article.append(el("p", {}, el("code", {}, name), ` ${s.type}${s.scheme ? " " + s.scheme : ""}${s.in ? ` in ${s.in}` : ""}${s.name ? ` "${s.name}"` : ""} `, prose(s.description, "span")));
    }
  }
  document.body.dataset.ready = "1";
  if (location.hash) {
    const target = document.getElementById(location.hash.slice(1));
    if (target) target.scrollIntoView();
  }
}

fetch("/openapi.json", { headers: { Accept: "application/json" } })
  .then((r) => (r.ok ? r.json() : Promise.reject(new Error(`HTTP ${r.status}`))))
  .then(render)
  .catch((e) => {
    document.getElementById("doc").replaceChildren(el("p", { class: "req" }, `Could not load /openapi.json: ${e.message}`));
  });
