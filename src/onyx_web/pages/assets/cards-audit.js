// Audit log: the agency's entries, newest first, a page at a time (the API's limit and before).

import { el, empty, table } from "/static/dashboard.js";
import { $, send, stamp } from "/static/admin.js";

const pages = []; // the "before" of each page shown so far (null: the newest)
let reload = () => {};
let names = new Map(); // member id -> display name (for the who and on columns)

const named = (id) => (id && names.has(id) ? `${names.get(id)} (${id.slice(0, 8)})` : id);

function details(entry) {
  const pairs = Object.entries(entry.details || {});
  return pairs.length ? pairs.map(([key, value]) => `${key}: ${value}`).join(" · ") : null;
}

function audit(data) {
  const older = $("audit-older");
  older.hidden = data.next_before === null;
  older.dataset.before = data.next_before === null ? "" : String(data.next_before);
  $("audit-newest").hidden = pages.length === 0;
  if (!data.entries.length) return empty("No entries.");
  return table(
    ["When", "What", "Who", "On", "Details", "From"],
    data.entries.map((e) => [
      el("time", { datetime: e.at, text: stamp(e.at) }), e.action.replace(/_/g, " "), named(e.actor) || "nobody signed in",
      named(e.target), details(e), e.ip,
    ]),
    { className: "audit", caption: `Entries ${data.entries.length ? `${data.entries[0].id} to ${data.entries[data.entries.length - 1].id}` : ""}` },
  );
}

function show(before) {
  const card = $("audit");
  const url = new URLSearchParams({ limit: $("audit-limit").value });
  if (before) url.set("before", before);
  card.dataset.src = `/api/agency/audit?${url}`;
  reload(card);
}

async function setup({ reloadCard }) {
  reload = reloadCard;
  try {
    const members = (await send("GET", "/api/agency/members")).data;
    names = new Map(members.map((m) => [m.id, m.display_name]));
  } catch {
    names = new Map(); // ids only
  }
  $("audit-older").addEventListener("click", () => {
    pages.push($("audit-older").dataset.before);
    show(pages[pages.length - 1]);
  });
  $("audit-newest").addEventListener("click", () => {
    pages.length = 0;
    show(null);
  });
  $("audit-limit").addEventListener("change", () => {
    pages.length = 0;
    show(null);
  });
}

export const renderers = { audit };
export { setup };
