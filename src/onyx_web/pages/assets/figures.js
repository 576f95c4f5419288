// Renderers shared by Fanvue & Finance, Social and the creator page. Each takes an answer of the JSON API
// (GET /api/analytics or /api/creators/{id}/analytics: ``agency`` holds the figures asked for) and only formats
// it: every number on screen is one the API gave.

import { api, explain } from "/static/onyx.js";
import {
  centsRatio, chart, count, el, empty, figure, money, percent, reloadCard, showZone, sourceName, table, times,
} from "/static/dashboard.js";

const unknown = (why) => `unknown${why ? ` (${why})` : ""}`;

function dollars(amount) {
  return amount.cents / 100;
}

// enough distinct colours for every source Fanvue names (plotly's default has 10)
const COLOURS = [
  "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
  "#393b79", "#e7ba52", "#ad494a", "#5254a3",
];

function byGross(a, b) {
  return b.gross.cents - a.gross.cents || a.source.localeCompare(b.source);
}

// ---------------------------------------------------------------- revenue by source over time

export function revenueBySource(data) {
  showZone(data);
  const f = data.agency;
  const series = f.series;
  const currency = f.revenue.gross.currency;
  const labels = series.map((bucket) => bucket.label);
  const sources = [...f.by_source].sort(byGross).map((s) => s.source);
  for (const bucket of series) {
    for (const source of Object.keys(bucket.by_source)) if (!sources.includes(source)) sources.push(source);
  }
  // one bar per bucket in every trace: a source that earned nothing in a bucket earned 0 there (no entries)
  const amount = (bucket, source) => (bucket.by_source[source] ? bucket.by_source[source].gross : null);
  const traces = sources.length
    ? sources.map((source) => ({
      type: "bar",
      name: sourceName(source),
      x: labels,
      y: series.map((bucket) => (amount(bucket, source) ? dollars(amount(bucket, source)) : 0)),
    }))
    : [{ type: "bar", name: "Revenue", x: labels, y: series.map((bucket) => dollars(bucket.gross)) }];
  const top = sources.length ? f.by_source.find((s) => s.source === sources[0]) : null;
  const summary = `${money(f.revenue.gross)} gross in ${series.length} ${data.granularity}s`
    + (top ? `; the biggest source is ${sourceName(top.source)} (${percent(top.gross_share) || "share unknown"}).`
      : "; no revenue in the period.");
  const zero = { cents: 0, currency };
  return chart(traces, {
    title: "Revenue by source",
    summary,
    // relative: refunds and chargebacks (negative) stack below 0, payments above
    layout: { barmode: "relative", colorway: COLOURS, yaxis: { title: { text: `Gross (${currency})` } } },
    columns: ["Period starting", ...sources.map(sourceName), "Total"],
    rows: series.map((bucket) => [
      bucket.label,
      ...sources.map((source) => money(amount(bucket, source) || zero)),
      money(bucket.gross),
    ]),
  });
}

// ---------------------------------------------------------------- category shares

export function categoryShares(data) {
  showZone(data);
  const f = data.agency;
  if (!f.by_source.length) return empty("No revenue in the period.");
  const sources = [...f.by_source].sort(byGross);
  return table(
    ["Source", "Gross", "Share", "Net"],
    sources.map((s) => [
      sourceName(s.source),
      money(s.gross),
      percent(s.gross_share) || unknown(s.gross_share_undefined),
      money(s.net),
    ]),
    { caption: `Of ${money(f.revenue.gross)} gross in the period`, className: "shares" },
  );
}

// ---------------------------------------------------------------- top spenders

export function topSpenders(data) {
  showZone(data);
  const spenders = data.agency.top_spenders;
  if (!spenders.length) return empty("No fan paid anything in the period.");
  return table(
    ["Fan", "Gross", "Net", "Payments", "Last paid"],
    spenders.map((s) => [
      el("span", { class: "fan", title: s.fan_id, text: s.fan_id.slice(0, 8) }),
      money(s.gross),
      money(s.net),
      count(s.transactions),
      s.last_paid_at ? new Date(s.last_paid_at).toLocaleDateString() : "never",
    ]),
    { caption: "Fans by what they paid in the period", className: "spenders" },
  );
}

// ---------------------------------------------------------------- tracking links, ROI and their cost

function costForm(link, card) {
  const form = el("form", { class: "cost", "data-link": link.id });
  const input = el("input", {
    type: "number",
    name: "cost",
    min: "0",
    step: "0.01",
    inputmode: "decimal",
    value: link.cost ? (link.cost.cents / 100).toFixed(2) : "",
    "aria-label": `Cost of ${link.name}, in ${link.revenue_net.currency}`,
  });
  const status = el("small", { class: "cost-status", role: "status" });
  form.append(input, el("button", { type: "submit", text: "Save" }), status);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const value = input.value.trim();
    const cents = Math.round(Number(value) * 100);
    if (value === "" || !Number.isFinite(cents)) {
      status.textContent = "Enter the cost in dollars, e.g. 25.00.";
      return;
    }
    status.textContent = "Saving…";
    try {
      await api("PUT", `/api/tracking-links/${encodeURIComponent(link.id)}/cost`, {
        cents, currency: link.revenue_net.currency,
      });
      reloadCard(card);
    } catch (error) {
      status.textContent = `Not saved: ${explain(error)}`;
    }
  });
  return form;
}

export function trackingLinks(data, { card }) {
  const links = data.agency.tracking_links;
  if (!links.length) return empty("No tracking links yet.");
  const names = new Map(data.creators.map((c) => [c.id, c.display_name || c.handle]));
  const mayEnter = Boolean(card.closest("[data-may-enter-link-costs]"));
  return table(
    ["Link", "Creator", "Clicks", "Subscribers", "Followers", "Revenue", "Net", "Cost", "ROI"],
    links.map((link) => [
      el("span", { class: "link-name", text: `${link.name} (${link.platform})` }),
      names.get(link.creator_id) || link.creator_id,
      count(link.clicks),
      count(link.acquired_subscribers),
      count(link.acquired_followers),
      money(link.revenue_gross),
      money(link.revenue_net),
      mayEnter ? costForm(link, card) : (link.cost ? money(link.cost) : "not entered"),
      link.roi ? percent(link.roi, true) : unknown(link.roi_undefined),
    ]),
    { caption: "Links ranked by net revenue; ROI = (net revenue − cost) / cost", className: "links" },
  );
}

// ---------------------------------------------------------------- the audience

export function audienceGrowth(data) {
  showZone(data);
  const points = data.agency.audience;
  const labels = points.map((p) => p.label);
  const latest = [...points].reverse().find((p) => p.subscribers !== null || p.followers !== null);
  const summary = latest
    ? `At ${latest.label}: ${latest.subscribers === null ? "subscribers unknown" : `${count(latest.subscribers)} subscribers`}, `
      + `${latest.followers === null ? "followers unknown" : `${count(latest.followers)} followers`}.`
    : "No subscriber or follower count recorded in the period.";
  const line = (name, key, axis) => ({
    type: "scatter",
    mode: "lines+markers",
    name,
    x: labels,
    y: points.map((p) => p[key]),
    yaxis: axis,
    connectgaps: false,
  });
  return chart([line("Subscribers", "subscribers", "y"), line("Followers", "followers", "y2")], {
    title: "Audience growth",
    summary,
    layout: {
      yaxis: { title: { text: "Subscribers" }, rangemode: "tozero" },
      yaxis2: { title: { text: "Followers" }, overlaying: "y", side: "right", rangemode: "tozero" },
      margin: { t: 10, r: 60, b: 40, l: 60 },
    },
    columns: ["At the end of", "Subscribers", "Followers"],
    rows: points.map((p) => [
      p.label,
      p.subscribers === null ? "unknown" : count(p.subscribers),
      p.followers === null ? "unknown" : count(p.followers),
    ]),
  });
}

export function subscriberHistory(data) {
  showZone(data);
  const days = data.agency.subscriber_history;
  if (!days.length) return empty("No subscriber history in the period.");
  const labels = days.map((d) => d.day);
  const observed = days.filter((d) => d.observed);
  const last = observed.length ? observed[observed.length - 1] : null;
  const summary = last
    ? `Net change over the period: ${last.running_net > 0 ? "+" : ""}${count(last.running_net)} subscribers`
      + ` (${observed.length} of ${days.length} days recorded).`
    : "Fanvue gave no subscriber trend for these days.";
  const bars = (name, key) => ({ type: "bar", name, x: labels, y: days.map((d) => d[key]) });
  return chart([bars("New", "new"), bars("Cancelled", "cancelled"), {
    type: "scatter", mode: "lines", name: "Running net", x: labels, y: days.map((d) => d.running_net), connectgaps: false,
  }], {
    title: "New and cancelled subscriptions",
    summary,
    layout: { barmode: "group" },
    columns: ["Day", "New", "Cancelled", "Net", "Running net"],
    rows: days.map((d) => (d.observed
      ? [d.day, count(d.new), count(d.cancelled), count(d.net), count(d.running_net)]
      : [d.day, "unknown", "unknown", "unknown", "unknown"])),
  });
}

// ---------------------------------------------------------------- a period's figures (the creator page)

export function periodFigures(data) {
  showZone(data);
  const f = data.agency;
  const currency = f.revenue.gross.currency;
  const grid = el("div", { class: "figures" });
  grid.append(
    figure("Revenue", money(f.revenue.gross), { id: "revenue" }),
    figure("Net after refunds", money(f.revenue.net), {
      id: "net",
      note: f.revenue.reversals ? `${f.revenue.reversals} refunds or chargebacks: ${money(f.revenue.reversal_net)}` : null,
    }),
    figure("Growth vs previous period", percent(f.gross_growth, true), { why: f.gross_growth_undefined, id: "growth" }),
    figure("ARPU", centsRatio(f.arpu, currency), { why: f.arpu_undefined, id: "arpu" }),
    figure("LTV", centsRatio(f.ltv, currency), { why: f.ltv_undefined, id: "ltv" }),
    figure("Golden ratio", times(f.golden_ratio), { why: f.golden_ratio_undefined, id: "golden-ratio" }),
    figure("Average tip", centsRatio(f.tip_average, currency), { why: f.tip_average_undefined, id: "tip-average" }),
    figure("Paying fans", count(f.paying_fans), { id: "paying-fans" }),
    figure("New fans", count(f.new_fans), { id: "new-fans" }),
    figure("Message purchase rate", percent(f.message_purchase_rate), {
      why: f.message_purchase_rate_undefined, id: "message-purchase-rate",
    }),
  );
  return grid;
}
