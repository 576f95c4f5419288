// Social: each creator's followers, subscribers, posts, likes and chats (live, with how fresh each one is), the
// audience's growth and the daily subscriber trend.

import { el, empty, metric } from "/static/dashboard.js";
import { audienceGrowth, subscriberHistory } from "/static/figures.js";

function socialCreators(data) {
  const creators = Array.isArray(data) ? data : [];
  if (!creators.length) return empty("No creators yet: connect Fanvue to import them.");
  const grid = el("div", { class: "creator-cards" });
  for (const creator of creators) {
    const stats = creator.stats || {};
    const card = el("article", { class: "creator-card", "data-creator-id": creator.id });
    const name = creator.display_name || creator.handle;
    card.append(el("h3", {}, el("a", { href: `/creators/${encodeURIComponent(creator.id)}`, text: name })));
    card.append(el("p", { class: "hint", text: `@${creator.handle}` }));
    const figures = el("div", { class: "figures compact" });
    figures.append(
      metric("Followers", stats.followers, { id: "followers" }),
      metric("Subscribers", stats.subscribers, { id: "subscribers" }),
      metric("Posts", stats.posts, { id: "posts" }),
      metric("Likes", stats.likes, { id: "likes" }),
      metric("Chats", stats.chats, { id: "chats" }),
    );
    card.append(figures);
    grid.append(card);
  }
  return grid;
}

export const renderers = { socialCreators, audienceGrowth, subscriberHistory };
