// Exports: the download link of the chosen dataset with its filters (GET /api/exports/<dataset>?format=...),
// rebuilt as the form changes. The browser downloads the file itself: the session cookie goes with the link.

import { el } from "/static/dashboard.js";
import { $, send } from "/static/admin.js";

const FILTERS = {
  ledger: [],
  "daily-revenue": ["tz"],
  "stats-history": ["metric"],
  "top-spenders": ["limit"],
};

function nextDay(day) {
  const at = new Date(`${day}T00:00:00Z`);
  at.setUTCDate(at.getUTCDate() + 1);
  return at.toISOString().replace(".000Z", "Z");
}

export function exportUrl(form) {
  const dataset = form.elements.dataset.value;
  const query = new URLSearchParams({ format: form.elements.format.value });
  if (form.elements.creator_id.value) query.set("creator_id", form.elements.creator_id.value);
  if (form.elements.from.value) query.set("from", `${form.elements.from.value}T00:00:00Z`);
  if (form.elements.to.value) query.set("to", nextDay(form.elements.to.value)); // the day is included
  for (const name of FILTERS[dataset]) {
    const value = form.elements[name].value.trim();
    if (value) query.set(name, value);
  }
  return `/api/exports/${dataset}?${query}`;
}

function update() {
  const form = $("export-form");
  const dataset = form.elements.dataset.value;
  for (const block of form.querySelectorAll("[data-for]")) block.hidden = block.dataset.for !== dataset;
  const from = form.elements.from.value;
  const to = form.elements.to.value;
  const wrong = from && to && to < from;
  $("export-message").textContent = wrong ? "The range ends before it starts." : "";
  $("export-message").hidden = !wrong;
  const link = $("export-download");
  const url = exportUrl(form);
  link.href = url;
  link.setAttribute("download", `onyx-${dataset}.${form.elements.format.value}`);
  link.setAttribute("aria-disabled", wrong ? "true" : "false");
  $("export-url").textContent = new URL(url, window.location.origin).href;
}

async function setup() {
  const form = $("export-form");
  form.addEventListener("input", update);
  form.addEventListener("change", update);
  form.addEventListener("submit", (event) => event.preventDefault());
  $("export-download").addEventListener("click", (event) => {
    if ($("export-download").getAttribute("aria-disabled") === "true") event.preventDefault();
  });
  update();
  try {
    const creators = (await send("GET", "/api/creators?limit=200&sort=name")).data;
    const select = $("export-creator");
    for (const c of creators) select.append(el("option", { value: c.id, text: c.display_name || c.handle }));
  } catch {
    // the exports work without the list: every creator she may see
  }
}

export const renderers = {};
export { setup };
