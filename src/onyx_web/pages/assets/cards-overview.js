// Overview: the agency's totals in the period, its top creators, and each creator's live numbers.

import {
  centsRatio, count, creatorGrid, el, empty, figure, metric, money, percent, showZone, table, times,
} from "/static/dashboard.js";

function totals(data) {
  showZone(data);
  const f = data.agency;
  const currency = f.revenue.gross.currency;
  const latest = f.audience.length ? f.audience[f.audience.length - 1] : null;
  const grid = el("div", { class: "figures" });
  grid.append(
    figure("Revenue", money(f.revenue.gross), { id: "revenue", raw: f.revenue.gross.cents }),
    figure("Net after refunds", money(f.revenue.net), {
      id: "net",
      raw: f.revenue.net.cents,
      note: f.revenue.reversals ? `${f.revenue.reversals} refunds or chargebacks: ${money(f.revenue.reversal_net)}` : null,
    }),
    figure("Growth vs previous period", percent(f.gross_growth, true), { why: f.gross_growth_undefined, id: "growth", raw: f.gross_growth && f.gross_growth.value }),
    figure("Golden ratio", times(f.golden_ratio), { why: f.golden_ratio_undefined, id: "golden-ratio", raw: f.golden_ratio && f.golden_ratio.value }),
    figure("ARPU", centsRatio(f.arpu, currency), { why: f.arpu_undefined, id: "arpu", raw: f.arpu && f.arpu.value }),
    figure("LTV", centsRatio(f.ltv, currency), { why: f.ltv_undefined, id: "ltv", raw: f.ltv && f.ltv.value }),
    figure("Subscribers", latest ? count(latest.subscribers) : null, {
      why: "no subscriber count recorded yet", id: "subscribers", raw: latest && latest.subscribers,
    }),
    figure("Followers", latest ? count(latest.followers) : null, {
      why: "no follower count recorded yet", id: "followers", raw: latest && latest.followers,
    }),
  );
  return grid;
}

function topCreators(data) {
  if (!data.creators.length) return empty("No creators yet: connect Fanvue to import them.");
  const ranked = [...data.creators].sort((a, b) => b.figures.revenue.gross.cents - a.figures.revenue.gross.cents);
  return table(
    ["Creator", "Revenue", "Net", "Growth", "Golden ratio", "ARPU"],
    ranked.map((c) => {
      const f = c.figures;
      return [
        el("a", { href: `/creators/${encodeURIComponent(c.id)}`, text: c.display_name || c.handle }),
        money(f.revenue.gross),
        money(f.revenue.net),
        percent(f.gross_growth, true) || `unknown (${f.gross_growth_undefined})`,
        times(f.golden_ratio) || `unknown (${f.golden_ratio_undefined})`,
        centsRatio(f.arpu, f.revenue.gross.currency) || `unknown (${f.arpu_undefined})`,
      ];
    }),
    { caption: "Creators ranked by revenue in the period" },
  );
}

function creatorCards(data) {
  return creatorGrid(data, (stats) => [
    metric("Lifetime revenue", stats.revenue_total, { id: "revenue_total" }),
    metric("Subscribers", stats.subscribers, { id: "subscribers" }),
    metric("Followers", stats.followers, { id: "followers" }),
  ]);
}

export const renderers = { totals, topCreators, creatorCards };
