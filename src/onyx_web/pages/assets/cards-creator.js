// A creator's page: her live stats with their provenance (a "Why?" per metric lists the events that made the
// number what it is: GET /api/creators/{id}/stats/events?metric=...), and her figures over the chosen period.

import { api, explain } from "/static/onyx.js";
import { count, el, empty, metric, money, table, when } from "/static/dashboard.js";
import {
  audienceGrowth, periodFigures, revenueBySource, topSpenders, trackingLinks,
} from "/static/figures.js";

const LABELS = {
  revenue_total: "Lifetime revenue",
  subscribers: "Subscribers",
  followers: "Followers",
  posts: "Posts",
  likes: "Likes",
  chats: "Chats",
  available_balance: "Available for payout",
};

const KINDS = {
  applied: "new value from Fanvue",
  cliff_held: "sudden drop held until confirmed",
  cliff_confirmed: "drop confirmed by a second reading",
  cliff_dismissed: "held drop not confirmed",
  regression_rejected: "lifetime total went down with no refund to explain it: refused",
  adjustment_recorded: "refund or chargeback recorded",
  adjustment_reflected: "refund already reflected in the value",
  adjusted: "lowered by recorded refunds",
  decrease_held: "decrease held until confirmed",
  decrease_confirmed: "decrease confirmed",
  decrease_dismissed: "held decrease not confirmed",
  floor_raised: "raised to the ledger's sum",
  marked_stale: "read failed: last value kept, marked stale",
  recovered: "read again after failing",
  ignored_late: "late reading ignored",
  rejected_future: "reading dated in the future refused",
};

const MONEY = new Set(["revenue_total", "available_balance"]);

const creatorId = () => document.body.dataset.creator;

function valueText(value, name) {
  if (value === null || value === undefined) return "—";
  return MONEY.has(name) ? money({ cents: value, currency: "USD" }) : count(value);
}

async function showEvents(panel, name, button) {
  for (const other of document.querySelectorAll("button.why[aria-expanded='true']")) {
    if (other !== button) other.setAttribute("aria-expanded", "false");
  }
  button.setAttribute("aria-expanded", "true");
  panel.hidden = false;
  panel.setAttribute("aria-busy", "true");
  const title = el("h3", { text: `Why ${LABELS[name] || name} is what it is` });
  panel.replaceChildren(title, el("p", { class: "hint", text: "Loading its events…" }));
  try {
    const path = `/api/creators/${encodeURIComponent(creatorId())}/stats/events?metric=${encodeURIComponent(name)}`;
    const page = await api("GET", path);
    const rows = page.events.map((e) => [
      when(e.at),
      KINDS[e.kind] || e.kind,
      `${valueText(e.old_value, name)} → ${valueText(e.new_value, name)}`,
      e.source,
      e.detail,
    ]);
    panel.replaceChildren(
      title,
      rows.length
        ? table(["When", "What happened", "Value", "Source", "Detail"], rows, {
          caption: "Newest first", className: "events",
        })
        : empty("No events yet: Onyx has not read this number from Fanvue."),
    );
  } catch (error) {
    panel.replaceChildren(title, el("p", { class: "notice error", role: "alert", text: `Could not load: ${explain(error)}` }));
  } finally {
    panel.setAttribute("aria-busy", "false");
    title.tabIndex = -1;
    title.focus();
  }
}

function creatorStats(data) {
  const panel = el("div", { class: "provenance", id: "provenance", hidden: true, "aria-live": "polite" });
  const grid = el("div", { class: "figures" });
  for (const [name, view] of Object.entries(data.metrics)) {
    const box = metric(LABELS[name] || name, view, { id: name });
    const button = el("button", {
      type: "button", class: "why link", "aria-expanded": "false", "aria-controls": "provenance",
      "data-metric": name, text: "Why?",
    });
    button.addEventListener("click", () => showEvents(panel, name, button));
    box.append(button);
    grid.append(box);
  }
  const refreshed = el("p", {
    class: "hint",
    text: `Read from Fanvue ${when(data.refreshed_at)}${data.refresh.queued ? "; a refresh was started now" : ""}.`,
  });
  return [refreshed, grid, panel];
}

export const renderers = {
  creatorStats,
  creatorRevenue: periodFigures,
  revenueBySource,
  audienceGrowth,
  topSpenders,
  trackingLinks,
};
