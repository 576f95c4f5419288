// Fanvue & Finance: revenue by source over time, category shares, top spenders, payouts, tracking links with ROI
// and their cost.

import { el, empty, figure, metric } from "/static/dashboard.js";
import { categoryShares, revenueBySource, topSpenders, trackingLinks } from "/static/figures.js";

// Fanvue's account answer has the balance available for payout; what is still pending it gives only per earning
// (transactionOrderStatus), which Onyx does not keep: unknown, never 0.
const NO_PENDING = "Fanvue gives no pending total, and Onyx does not keep each payment's payout status";

function payouts(data) {
  const creators = Array.isArray(data) ? data : [];
  if (!creators.length) return empty("No creators yet: connect Fanvue to import them.");
  const grid = el("div", { class: "creator-cards" });
  for (const creator of creators) {
    const stats = creator.stats || {};
    const card = el("article", { class: "creator-card", "data-creator-id": creator.id });
    const name = creator.display_name || creator.handle;
    card.append(el("h3", {}, el("a", { href: `/creators/${encodeURIComponent(creator.id)}`, text: name })));
    const figures = el("div", { class: "figures compact" });
    figures.append(metric("Available for payout", stats.available_balance, { id: "available_balance" }));
    card.append(figures);
    grid.append(card);
  }
  const pending = el("div", { class: "pending" }, figure("Pending", null, { why: NO_PENDING, id: "pending" }));
  return [pending, grid];
}

export const renderers = { revenueBySource, categoryShares, topSpenders, payouts, trackingLinks };
