// The dashboard's cards. A card (<section class="card dash" data-src data-render>) loads its own JSON API route,
// shows a skeleton meanwhile, then its values, or its own error with a Retry while the other cards work. Cards
// with the same route share one request. Changes are pushed by the server (Server-Sent Events, /api/events):
// the page never polls; a change reloads the live cards (data-live), keeping what they show until new values
// arrive. Everything from the API goes into the page as text (textContent), never as HTML.

import { api, ApiError, explain, whenLoggedOut } from "/static/onyx.js";

const $ = (id) => document.getElementById(id);

// ---------------------------------------------------------------- formatting

const numberFormat = new Intl.NumberFormat(undefined);

export function money(value) {
  if (!value) return null;
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency: value.currency }).format(value.cents / 100);
  } catch {
    return `${(value.cents / 100).toFixed(2)} ${value.currency}`;
  }
}

// A ratio of cents per something (ARPU, LTV, average tip), in the currency of the period's revenue.
export function centsRatio(ratio, currency) {
  if (!ratio) return null;
  return money({ cents: Number(ratio.value), currency: currency || "USD" });
}

export function percent(ratio, signed = false) {
  if (!ratio) return null;
  const value = Number(ratio.value) * 100;
  const text = `${value.toFixed(Math.abs(value) < 10 ? 1 : 0)}%`;
  return signed && value > 0 ? `+${text}` : text;
}

export function times(ratio) {
  return ratio ? `×${Number(ratio.value).toFixed(2)}` : null;
}

export function count(value) {
  return value === null || value === undefined ? null : numberFormat.format(value);
}

export function when(value) {
  if (!value) return "never";
  const at = new Date(value);
  if (Number.isNaN(at.getTime())) return String(value);
  const seconds = Math.round((Date.now() - at.getTime()) / 1000);
  if (seconds < 60) return "just now";
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)} h ago`;
  return at.toLocaleString();
}

export const SOURCE_NAMES = {
  subscription: "Subscriptions",
  renewal: "Renewals",
  tip: "Tips",
  message: "Messages",
  post: "Posts",
  referral: "Referrals",
  affiliate: "Affiliates",
  appStore: "App store",
  checkoutLink: "Checkout links",
  mediaLink: "Media links",
  giveaway: "Giveaways",
  refund: "Refunds",
  chargeback: "Chargebacks",
  other: "Other",
};

export function sourceName(source) {
  return SOURCE_NAMES[source] || source;
}

// ---------------------------------------------------------------- small DOM helpers

export function el(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") element.className = value;
    else if (name === "text") element.textContent = value;
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) if (child !== null && child !== undefined) element.append(child);
  return element;
}

// A figure that may be unknown: its value, or "unknown" with the reason (never 0 for a value nobody gave).
// ``raw``: the exact value behind the text (cents, a count, a ratio's decimal), for tests and tools to read.
export function figure(label, text, { why = null, note = null, state = null, id = null, raw = null } = {}) {
  const known = text !== null && text !== undefined;
  const box = el("div", {
    class: `figure${known ? "" : " unknown"}${state ? ` ${state}` : ""}`,
    "data-figure": id,
    "data-raw": known && raw !== null && raw !== undefined ? String(raw) : null,
  });
  box.append(el("span", { class: "label", text: label }));
  box.append(el("strong", { class: "value", text: known ? text : "unknown" }));
  if (!known && why) box.append(el("small", { class: "why", text: why }));
  if (note) box.append(el("small", { class: "note", text: note }));
  return box;
}

// One metric of a creator's live stats (GET /api/creators..., MetricView): the value, since when it is stale
// and why, a held drop as pending, and unknown with its reason.
export function metric(label, view, { format = count, id = null } = {}) {
  if (!view || view.value === null || view.value === undefined) {
    return figure(label, null, { why: (view && view.missing_reason) || "Fanvue has not given this number yet", id });
  }
  const text = view.currency ? money({ cents: view.value, currency: view.currency }) : format(view.value);
  const notes = [];
  let state = null;
  if (view.stale) {
    state = "stale";
    notes.push(`stale since ${when(view.stale_since)}${view.stale_reason ? `: ${view.stale_reason}` : ""}`);
  } else if (view.observed_at) {
    notes.push(`updated ${when(view.observed_at)}`);
  }
  if (view.held) {
    state = state || "pending";
    const held = view.currency ? money({ cents: view.held.value, currency: view.currency }) : format(view.held.value);
    notes.push(`pending: Fanvue says ${held}, held until confirmed`);
  }
  return figure(label, text, { note: notes.join(" · ") || null, state, id, raw: view.value });
}

export function table(headers, rows, { caption = null, className = null } = {}) {
  const head = el("thead", {}, el("tr", {}, ...headers.map((h) => el("th", { scope: "col", text: h }))));
  const body = el("tbody");
  for (const row of rows) {
    const tr = el("tr");
    for (const value of row) {
      if (value instanceof Node) tr.append(el("td", {}, value));
      else tr.append(el("td", { text: value === null || value === undefined || value === "" ? "—" : String(value) }));
    }
    body.append(tr);
  }
  const wrap = el("div", { class: "table-wrap" });
  wrap.append(el("table", { class: className }, caption ? el("caption", { text: caption }) : null, head, body));
  return wrap;
}

export function empty(text) {
  return el("p", { class: "hint", text });
}

// One card per creator of a GET /api/creators page (her name linking to her page, her @handle unless ``handle`` is
// false), with the figures ``figuresOf(stats)`` makes of her live stats.
export function creatorGrid(data, figuresOf, { handle = true } = {}) {
  const creators = Array.isArray(data) ? data : [];
  if (!creators.length) return empty("No creators yet: connect Fanvue to import them.");
  const grid = el("div", { class: "creator-cards" });
  for (const creator of creators) {
    const card = el("article", { class: "creator-card", "data-creator-id": creator.id });
    const name = creator.display_name || creator.handle;
    card.append(el("h3", {}, el("a", { href: `/creators/${encodeURIComponent(creator.id)}`, text: name })));
    if (handle) card.append(el("p", { class: "hint", text: `@${creator.handle}` }));
    card.append(el("div", { class: "figures compact" }, ...figuresOf(creator.stats || {})));
    grid.append(card);
  }
  return grid;
}

// ---------------------------------------------------------------- charts (plotly.js, served by the app)

const CHART_CONFIG = { displayModeBar: false, responsive: true };

// A chart with its text alternative: a summary as the figure's label and the data as a table to open.
export function chart(traces, { title, summary, layout = {}, columns, rows }) {
  const box = el("figure", { class: "chart" });
  const plot = el("div", { class: "plot", role: "img", "aria-label": `${title}. ${summary}` });
  box.append(plot);
  box.append(el("figcaption", { class: "hint", text: summary }));
  const details = el("details", { class: "chart-data" }, el("summary", { text: `${title}: the data as a table` }));
  details.append(table(columns, rows, { caption: title }));
  box.append(details);
  const draw = () => {
    if (!window.Plotly) return;
    window.Plotly.react(plot, traces, {
      autosize: true,
      height: 300,
      margin: { t: 10, r: 10, b: 40, l: 60 },
      legend: { orientation: "h", y: -0.2 },
      paper_bgcolor: "rgba(0,0,0,0)",
      plot_bgcolor: "rgba(0,0,0,0)",
      font: { family: "system-ui, sans-serif", size: 12 },
      ...layout,
    }, CHART_CONFIG);
  };
  box.draw = draw;
  return box;
}

// ---------------------------------------------------------------- the period (range or custom) and zone

const RANGES = ["7d", "30d", "90d", "1y", "all"];

export function period() {
  const query = new URLSearchParams(window.location.search);
  const start = query.get("start");
  const end = query.get("end");
  if (start && end) return { start, end };
  const range = query.get("range");
  return { range: RANGES.includes(range) ? range : "30d" };
}

function withPeriod(src) {
  const url = new URL(src, window.location.origin);
  for (const [key, value] of Object.entries(period())) url.searchParams.set(key, value);
  return url.pathname + url.search;
}

function setUpPeriod(reloadAll) {
  const form = $("period");
  if (!form) return;
  const custom = form.querySelector(".custom");
  const chosen = period();
  const selected = chosen.range || "custom";
  for (const input of form.querySelectorAll('input[name="range"]')) {
    input.checked = input.value === selected;
  }
  custom.hidden = selected !== "custom";
  if (chosen.start) {
    form.elements.start.value = chosen.start;
    form.elements.end.value = chosen.end;
  }
  const go = (params) => {
    const url = new URL(window.location.href);
    url.search = new URLSearchParams(params).toString();
    window.history.replaceState(null, "", url);
    reloadAll(true);
  };
  form.addEventListener("change", (event) => {
    if (event.target.name !== "range") return;
    custom.hidden = event.target.value !== "custom";
    if (event.target.value !== "custom") go({ range: event.target.value });
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const start = form.elements.start.value;
    const end = form.elements.end.value;
    if (start && end) go({ start, end });
  });
}

export function showZone(data) {
  const zone = $("period-zone");
  if (zone && data && data.timezone) {
    zone.textContent = `Days in ${data.timezone}${data.granularity ? `, ${data.granularity} points` : ""}.`;
  }
}

// ---------------------------------------------------------------- cards

const renderers = {};
const cards = [];
let shared = new Map();

export function register(more) {
  Object.assign(renderers, more);
}

function load(src) {
  if (!shared.has(src)) shared.set(src, api("GET", src));
  return shared.get(src);
}

function cardFailed(card, error, keep) {
  const box = card.element.querySelector(".card-error");
  const text = error instanceof ApiError && error.status === 403
    ? "Your role cannot see this."
    : `${keep ? "Could not update: " : "Could not load: "}${explain(error)}`;
  box.querySelector("p").textContent = text;
  box.hidden = false;
  card.element.classList.add("failed");
  if (!keep) {
    const body = card.element.querySelector(".card-body");
    body.replaceChildren();
  }
}

async function loadCard(card, { live = false } = {}) {
  const { element } = card;
  const body = element.querySelector(".card-body");
  const src = element.hasAttribute("data-period") ? withPeriod(element.dataset.src) : element.dataset.src;
  element.setAttribute("aria-busy", "true");
  if (!live || !card.loaded) {
    body.replaceChildren(el("div", { class: "skeleton", "aria-hidden": "true" }, el("span"), el("span"), el("span")));
  }
  try {
    const data = await load(src);
    const render = renderers[element.dataset.render];
    const content = render(data, { card: element, src });
    element.querySelector(".card-error").hidden = true;
    element.classList.remove("failed");
    body.replaceChildren(...(Array.isArray(content) ? content : [content]).filter(Boolean));
    for (const drawn of body.querySelectorAll("figure.chart")) if (drawn.draw) drawn.draw();
    card.loaded = true;
    element.dataset.loadedAt = String(Date.now());
  } catch (error) {
    if (whenLoggedOut(error)) return;
    if (!(error instanceof ApiError)) console.warn("card", element.id, error);
    cardFailed(card, error, live && card.loaded);
  } finally {
    element.setAttribute("aria-busy", "false");
  }
}

function reloadAll(fresh = false, onlyLive = false) {
  shared = new Map();
  const loads = [];
  for (const card of cards) {
    if (onlyLive && !card.element.hasAttribute("data-live")) continue;
    loads.push(loadCard(card, { live: !fresh }));
  }
  return Promise.all(loads);
}

export function reloadCard(element) {
  const card = cards.find((c) => c.element === element);
  if (!card) return;
  shared.delete(element.hasAttribute("data-period") ? withPeriod(element.dataset.src) : element.dataset.src);
  loadCard(card, { live: true });
}

// ---------------------------------------------------------------- live updates (Server-Sent Events)

function listen() {
  if (!window.EventSource || !document.querySelector(".card[data-live]")) return;
  const watching = document.body.dataset.creator || null;
  let timer = null;
  const source = new EventSource("/api/events");
  source.addEventListener("change", (event) => {
    let change = {};
    try {
      change = JSON.parse(event.data);
    } catch {
      return;
    }
    if (watching && !change.agency && !(change.creator_ids || []).includes(watching)) return;
    clearTimeout(timer);
    // a burst of writes (a sync commits page by page) is one reload
    timer = setTimeout(() => {
      document.body.dataset.lastChange = String(Date.now());
      reloadAll(false, true);
    }, 300);
  });
  window.addEventListener("pagehide", () => source.close());
}

export async function start(pageModule) {
  if (pageModule && pageModule.renderers) register(pageModule.renderers);
  for (const element of document.querySelectorAll("section.card[data-src]")) {
    const card = { element, loaded: false };
    cards.push(card);
    element.querySelector(".retry").addEventListener("click", () => reloadCard(element));
  }
  setUpPeriod(reloadAll);
  if (pageModule && pageModule.setup) await pageModule.setup({ reloadAll, reloadCard });
  listen();
  await reloadAll(true);
  // when the page's first figures were all on screen (or failed): what the benchmarks measure a page load by
  performance.mark("onyx:cards-settled");
  document.body.dataset.settled = "true";
}
