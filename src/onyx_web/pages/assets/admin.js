// Small helpers of the agency's admin pages (Creators, Team, Security, Audit log, Exports).

import { ApiError, csrf, explain, me, whenLoggedOut } from "/static/onyx.js";

export const $ = (id) => document.getElementById(id);

// A request whose answer's headers matter (Location, Link, X-Total-Count): { status, data, headers }; an error
// answer throws ApiError as api() does, keeping its headers.
export async function send(method, path, body) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (!["GET", "HEAD"].includes(method)) {
    if (!csrf()) await me(); // a new tab: its session's CSRF token, once
    headers["X-CSRF-Token"] = csrf();
  }
  const response = await fetch(path, {
    method, headers, credentials: "same-origin", cache: "no-store",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const type = response.headers.get("Content-Type") || "";
  const data = type.includes("json") ? await response.json() : null;
  if (!response.ok) {
    const error = new ApiError(response.status, data, null);
    error.headers = response.headers;
    throw error;
  }
  return { status: response.status, data, headers: response.headers };
}

// A message box (role=alert/status) showing text, hidden when there is none.
export function say(id, text, kind = null) {
  const box = $(id);
  if (!box) return;
  box.textContent = text || "";
  if (kind) box.className = `notice ${kind}`;
  box.hidden = !text;
}

// Say what went wrong (or go to the login page when the session ended).
export function failed(id, error, what = {}) {
  if (!whenLoggedOut(error)) say(id, explain(error, what));
}

export function stamp(value) {
  if (!value) return null;
  const at = new Date(value);
  return Number.isNaN(at.getTime()) ? String(value) : at.toLocaleString();
}

export function copier(button, source) {
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(source.textContent);
      button.textContent = "Copied";
    } catch {
      const range = document.createRange();
      range.selectNodeContents(source);
      window.getSelection().removeAllRanges();
      window.getSelection().addRange(range);
      button.textContent = "Selected: copy it";
    }
  });
}

export function busy(form, on) {
  for (const button of form.querySelectorAll("button")) button.disabled = on;
}
