// Creators: the list (searched, paged by the API's Link header), each linking to her page, and Refresh All with
// its progress: the run's counts, and per creator whether she was refreshed since the run began.

import { el, empty, table, when } from "/static/dashboard.js";
import { explain, whenLoggedOut } from "/static/onyx.js";
import { $, failed, say, send } from "/static/admin.js";

const PAGE = 50;
const ACTIVE = ["queued", "running"];
const STATES = {
  queued: "waiting to start", running: "running", succeeded: "done", partial: "done, some failed",
  failed: "failed", interrupted: "interrupted",
};
let query = { q: "", cursor: null };
let run = null; // the refresh-all being followed

function listUrl() {
  const url = new URLSearchParams({ limit: String(PAGE), sort: "name" });
  if (query.q) url.set("q", query.q);
  if (query.cursor) url.set("cursor", query.cursor);
  return `/api/creators?${url}`;
}

function nextCursor(link) {
  const found = /<([^>]+)>;\s*rel="next"/.exec(link || "");
  return found ? new URL(found[1], window.location.origin).searchParams.get("cursor") : null;
}

function progressOf(creator) {
  if (!run) return creator.stale ? "some numbers stale" : "—";
  const since = run.started_at || run.created_at;
  const fresh = creator.refreshed_at && since && new Date(creator.refreshed_at) >= new Date(since);
  if (fresh) return creator.stale ? "refreshed, some numbers stale" : "refreshed";
  return ACTIVE.includes(run.state) ? "waiting" : "not refreshed";
}

function render(creators) {
  if (!creators.length) {
    return empty(query.q ? "No creator matches." : "No creators yet: connect Fanvue (Connections) to import them.");
  }
  return table(
    ["Creator", "Handle", "Her own connection", "Last refreshed", "Freshness"],
    creators.map((c) => [
      el("a", { href: `/creators/${encodeURIComponent(c.id)}`, text: c.display_name || c.handle }),
      `@${c.handle}`,
      c.own_connection_status ? c.own_connection_status.replace(/_/g, " ") : "not connected",
      when(c.refreshed_at),
      el("span", { class: "refresh-state", "data-creator-id": c.id, text: progressOf(c) }),
    ]),
    { caption: "Creators by name", className: "creator-list" },
  );
}

async function loadList() {
  const card = $("creator-list");
  const body = card.querySelector(".card-body");
  const error = card.querySelector(".card-error");
  card.setAttribute("aria-busy", "true");
  try {
    const answer = await send("GET", listUrl());
    const creators = Array.isArray(answer.data) ? answer.data : [];
    body.replaceChildren(render(creators));
    error.hidden = true;
    card.classList.remove("failed");
    const total = answer.headers.get("X-Total-Count");
    $("creator-total").textContent = total === null ? "" : `${total} creator${total === "1" ? "" : "s"}`;
    const next = nextCursor(answer.headers.get("Link"));
    $("creator-next").hidden = !next;
    $("creator-next").dataset.cursor = next || "";
    $("creator-first").hidden = !query.cursor;
    card.dataset.loadedAt = String(Date.now());
  } catch (problem) {
    if (whenLoggedOut(problem)) return;
    error.querySelector("p").textContent = `Could not load: ${explain(problem)}`;
    error.hidden = false;
    card.classList.add("failed");
    body.replaceChildren();
  } finally {
    card.setAttribute("aria-busy", "false");
  }
}

function showRun(view) {
  run = view;
  const box = $("refresh-progress");
  box.hidden = false;
  box.dataset.state = view.state;
  $("refresh-state").textContent = STATES[view.state] || view.state;
  $("refresh-bar").max = Math.max(view.total, 1);
  $("refresh-bar").value = view.done + view.failed;
  $("refresh-count").textContent = `${view.done} of ${view.total} creators refreshed`
    + (view.failed ? `, ${view.failed} failed` : "") + (view.finished_at ? ` · finished ${when(view.finished_at)}` : "");
}

async function follow(location) {
  const button = $("refresh-all");
  button.disabled = true;
  let last = null;
  try {
    for (;;) {
      const view = (await send("GET", location)).data;
      const moved = !last || view.done + view.failed !== last.done + last.failed || view.state !== last.state;
      showRun(view);
      if (moved) await loadList();
      if (!ACTIVE.includes(view.state)) break;
      last = view;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  } catch (problem) {
    failed("refresh-message", problem);
  } finally {
    button.disabled = false;
  }
}

async function refreshAll() {
  say("refresh-message", "");
  let location;
  try {
    const answer = await send("POST", "/api/refresh-all");
    location = answer.headers.get("Location") || `/api/refresh-runs/${answer.data.id}`;
  } catch (problem) {
    // one refresh-all per agency at a time: follow the one running (its Location)
    location = problem.status === 409 && problem.headers ? problem.headers.get("Location") : null;
    if (!location) {
      failed("refresh-message", problem, { 403: "Your role cannot refresh stats." });
      return;
    }
  }
  await follow(location);
}

function setup() {
  $("creator-list").querySelector(".retry").addEventListener("click", loadList);
  $("creator-search").addEventListener("submit", (event) => {
    event.preventDefault();
    query = { q: $("creator-q").value.trim(), cursor: null };
    loadList();
  });
  $("creator-next").addEventListener("click", () => {
    query = { ...query, cursor: $("creator-next").dataset.cursor || null };
    loadList();
  });
  $("creator-first").addEventListener("click", () => {
    query = { ...query, cursor: null };
    loadList();
  });
  const button = $("refresh-all");
  if (button) button.addEventListener("click", refreshAll);
  loadList();
}

export const renderers = {};
export { setup };
