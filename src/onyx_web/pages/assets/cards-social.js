// Social: each creator's followers, subscribers, posts, likes and chats (live, with how fresh each one is), the
// audience's growth and the daily subscriber trend.

import { creatorGrid, metric } from "/static/dashboard.js";
import { audienceGrowth, subscriberHistory } from "/static/figures.js";

function socialCreators(data) {
  return creatorGrid(data, (stats) => [
    metric("Followers", stats.followers, { id: "followers" }),
    metric("Subscribers", stats.subscribers, { id: "subscribers" }),
    metric("Posts", stats.posts, { id: "posts" }),
    metric("Likes", stats.likes, { id: "likes" }),
    metric("Chats", stats.chats, { id: "chats" }),
  ]);
}

export const renderers = { socialCreators, audienceGrowth, subscriberHistory };
