// Fanvue & Finance: revenue by source over time, category shares, top spenders, tracking links with ROI and cost.

import { categoryShares, revenueBySource, topSpenders, trackingLinks } from "/static/figures.js";

export const renderers = { revenueBySource, categoryShares, topSpenders, trackingLinks };
