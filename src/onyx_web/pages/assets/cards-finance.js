// Fanvue & Finance: revenue by source over time, category shares, top spenders, payouts, tracking links with ROI
// and their cost.

import { creatorGrid, el, figure, metric } from "/static/dashboard.js";
import { categoryShares, revenueBySource, topSpenders, trackingLinks } from "/static/figures.js";

// Fanvue's account answer has the balance available for payout; what is still pending it gives only per earning
// (transactionOrderStatus), which Onyx does not keep: unknown, never 0.
const NO_PENDING = "Fanvue gives no pending total, and Onyx does not keep each payment's payout status";

function payouts(data) {
  const grid = creatorGrid(data, (stats) => [
    metric("Available for payout", stats.available_balance, { id: "available_balance" }),
  ], { handle: false });
  if (!Array.isArray(data) || !data.length) return grid;  // the "no creators yet" hint
  const pending = el("div", { class: "pending" }, figure("Pending", null, { why: NO_PENDING, id: "pending" }));
  return [pending, grid];
}

export const renderers = { revenueBySource, categoryShares, topSpenders, payouts, trackingLinks };
