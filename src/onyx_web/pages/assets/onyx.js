// Onyx's pages: one small module, no dependencies. Each page is a static shell (<body data-page="...">); this
// script fills it from the JSON API with fetch(). Unsafe methods send X-CSRF-Token (from the login answer, kept
// in this tab's sessionStorage, or from GET /api/auth/me). Data from the API is only ever put in the page as text
// (textContent), never as HTML; the QR code's SVG is parsed as SVG and stripped of anything active.

const CSRF_KEY = "onyx.csrf";

export class ApiError extends Error {
  constructor(status, problem, retryAfter) {
    super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
    this.retryAfter = retryAfter;
  }
}

export function csrf() {
  return sessionStorage.getItem(CSRF_KEY) || "";
}

function keepCsrf(token) {
  if (token) sessionStorage.setItem(CSRF_KEY, token);
  else sessionStorage.removeItem(CSRF_KEY);
}

export async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (!["GET", "HEAD"].includes(method)) headers["X-CSRF-Token"] = csrf();
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
    cache: "no-store",
  });
  if (response.status === 204) return null;
  let data = null;
  const type = response.headers.get("Content-Type") || "";
  if (type.includes("json")) data = await response.json();
  if (!response.ok) {
    const retry = Number.parseInt(response.headers.get("Retry-After") || "", 10);
    throw new ApiError(response.status, data, Number.isNaN(retry) ? null : retry);
  }
  return data;
}

const $ = (id) => document.getElementById(id);

function show(element, visible = true) {
  if (element) element.hidden = !visible;
}

function say(text, id = "message") {
  const box = $(id);
  if (!box) return;
  box.textContent = text || "";
  show(box, Boolean(text));
}

export function explain(error, what = {}) {
  if (!(error instanceof ApiError)) return "Onyx could not be reached. Check your connection and try again.";
  if (what[error.status]) return what[error.status];
  if (error.status === 429) {
    const minutes = error.retryAfter ? Math.max(1, Math.ceil(error.retryAfter / 60)) : null;
    return minutes ? `Too many attempts. Try again in ${minutes} minute${minutes === 1 ? "" : "s"}.`
      : "Too many attempts. Try again later.";
  }
  if (error.status === 423) return "This account is locked. Use a recovery code or ask your agency's owner.";
  const id = error.problem.request_id ? ` (request ${error.problem.request_id})` : "";
  return `${error.message}${id}`;
}

function go(path) {
  window.location.assign(path);
}

// The server knows which step is due (login, second factor, enrolment): "/" sends the browser there.
export function whenLoggedOut(error) {
  if (error instanceof ApiError && error.status === 401) {
    go("/");
    return true;
  }
  return false;
}

function busy(form, on) {
  for (const button of form.querySelectorAll("button")) button.disabled = on;
}

function formatTime(value) {
  if (!value) return "never";
  const when = new Date(value);
  return Number.isNaN(when.getTime()) ? String(value) : when.toLocaleString();
}

function cell(row, text, className) {
  const td = document.createElement("td");
  td.textContent = text === null || text === undefined || text === "" ? "—" : String(text);
  if (className) td.className = className;
  row.append(td);
  return td;
}

function itemsOf(data, ...keys) {
  if (Array.isArray(data)) return data;
  for (const key of keys) if (data && Array.isArray(data[key])) return data[key];
  return [];
}

export async function me() {
  const who = await api("GET", "/api/auth/me");
  keepCsrf(who.csrf_token);
  const nav = $("account-nav");
  if (nav) {
    $("who").textContent = `${who.member.display_name} (${who.role})`;
    show(nav);
  }
  return who;
}

// Where the login page was sent from (?next=/a/path of ours), kept across the second-factor step.
const NEXT_KEY = "onyx.next";

function rememberNext() {
  const next = new URLSearchParams(window.location.search).get("next");
  if (next && next.startsWith("/") && !next.startsWith("//") && !next.startsWith("/\\")) {
    sessionStorage.setItem(NEXT_KEY, next);
  }
}

function afterLogin(step) {
  keepCsrf(step.csrf_token);
  if (step.second_factor_due) go("/login/2fa");
  else if (step.enrolment_required) go("/account/2fa");
  else {
    const next = sessionStorage.getItem(NEXT_KEY);
    sessionStorage.removeItem(NEXT_KEY);
    go(next || "/overview");
  }
}

// ---------------------------------------------------------------- pages

const pages = {
  login() {
    const form = $("login-form");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      say("");
      busy(form, true);
      try {
        const step = await api("POST", "/api/auth/login", { email: $("email").value.trim(), password: $("password").value });
        afterLogin(step);
      } catch (error) {
        say(explain(error, { 401: "Wrong email or password." }));
        busy(form, false);
      }
    });
  },

  "login-2fa"() {
    const form = $("totp-form");
    let recovery = false;
    const mode = (useRecovery) => {
      recovery = useRecovery;
      show($("totp-hint"), !recovery);
      show($("recovery-hint"), recovery);
      show($("use-recovery"), !recovery);
      show($("use-totp"), recovery);
      $("code-label").textContent = recovery ? "Recovery code" : "Code";
      $("code").inputMode = recovery ? "text" : "numeric";
      $("code").value = "";
      $("code").focus();
      say("");
    };
    $("use-recovery").addEventListener("click", () => mode(true));
    $("use-totp").addEventListener("click", () => mode(false));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      say("");
      busy(form, true);
      const code = $("code").value.replace(/\s+/g, "");
      try {
        afterLogin(await api("POST", recovery ? "/api/auth/recovery" : "/api/auth/totp", { code }));
      } catch (error) {
        if (error instanceof ApiError && error.status === 401 && !csrf()) {
          go("/login");
          return;
        }
        say(explain(error, { 401: "That code did not work. Check it and try again, or start again." }));
        busy(form, false);
      }
    });
  },

  async "account-2fa"() {
    try {
      await me();
    } catch (error) {
      if (!whenLoggedOut(error)) say(explain(error));
      return;
    }
    let setup;
    try {
      setup = await api("POST", "/api/account/totp/enrolment");
    } catch (error) {
      if (whenLoggedOut(error)) return;
      if (error instanceof ApiError && error.status === 409) show($("already"));
      else say(explain(error));
      return;
    }
    showQr(setup.qr_svg);
    $("secret").textContent = setup.secret;
    show($("enrol"));
    $("code").focus();
    const form = $("confirm-form");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      say("");
      busy(form, true);
      try {
        const done = await api("POST", "/api/account/totp/enrolment/confirm", { code: $("code").value.replace(/\s+/g, "") });
        const list = $("recovery-codes");
        list.replaceChildren();
        for (const code of done.recovery_codes) {
          const item = document.createElement("li");
          item.textContent = code;
          list.append(item);
        }
        show($("enrol"), false);
        show($("recovery"));
      } catch (error) {
        if (whenLoggedOut(error)) return;
        say(explain(error, { 400: "That code did not work. Check the app's current code and try again.",
          401: "That code did not work. Check the app's current code and try again." }));
        busy(form, false);
      }
    });
    $("saved").addEventListener("click", () => go("/"));
  },

  async connections() {
    // The Fanvue callback sends the browser here with ?connected=agency (a member connected the agency) or
    // ?connected=creator (a creator, through her invitation: she has no Onyx login, so she is thanked here).
    const connected = new URLSearchParams(window.location.search).get("connected");
    if (connected) window.history.replaceState(null, "", "/connections");
    try {
      await me();
    } catch (error) {
      if (connected === "creator" && error instanceof ApiError && error.status === 401) {
        show($("connections-card"), false);
        show($("creators-card"), false);
        show($("creator-connected"));
        return;
      }
      if (!whenLoggedOut(error)) say(explain(error));
      return;
    }
    if (connected === "agency" || connected === "creator") {
      say(connected === "agency" ? "Fanvue is connected: the agency's creators are imported and listed below."
        : "The creator's own Fanvue account is connected.", "connected");
    }
    $("connect").addEventListener("click", () => startConnect({}));
    await Promise.all([loadConnections(), loadCreators()]);
  },

  async invite() {
    const token = decodeURIComponent(window.location.pathname.split("/").filter(Boolean)[1] || "");
    const base = `/api/invites/${encodeURIComponent(token)}`;
    let invite;
    try {
      invite = await api("GET", base);
    } catch (error) {
      show($("loading"), false);
      say(explain(error, { 404: "This invitation link is not valid: it was used, withdrawn or has expired. Ask for a new one." }));
      return;
    }
    show($("loading"), false);
    const agency = invite.agency_name || "an agency";
    if (invite.kind === "creator_connect") {
      $("invite-title").textContent = `Connect to ${agency}`;
      $("connect-what").textContent = `${agency} invites you to connect your Fanvue account, so Onyx can read your `
        + "stats for them (including refunds, posts and likes). You will sign in on Fanvue and approve it there.";
      show($("connect-creator"));
      $("connect-mine").addEventListener("click", async () => {
        say("");
        $("connect-mine").disabled = true;
        try {
          const answer = await api("POST", `${base}/connect`, {});
          go(answer.authorize_url);
        } catch (error) {
          say(explain(error, { 404: "This invitation link is not valid any more. Ask for a new one." }));
          $("connect-mine").disabled = false;
        }
      });
      return;
    }
    $("invite-title").textContent = `Join ${agency}`;
    $("invite-what").textContent = `You are invited to join ${agency} on Onyx`
      + (invite.role ? ` as ${invite.role}` : "") + (invite.expires_at ? ` (until ${formatTime(invite.expires_at)}).` : ".");
    const form = $("accept-form");
    show(form);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      say("");
      if ($("password").value !== $("password-again").value) {
        say("The two passwords differ.");
        return;
      }
      busy(form, true);
      try {
        await api("POST", `${base}/accept`, {
          email: $("email").value.trim(),
          display_name: $("display-name").value.trim(),
          password: $("password").value,
        });
        show(form, false);
        show($("accepted"));
      } catch (error) {
        say(explain(error, {
          404: "This invitation link is not valid any more. Ask for a new one.",
          409: "That email already has an account.",
          422: "That password is too weak: use a longer one that is not easy to guess.",
        }));
        busy(form, false);
      }
    });
  },
};

// ---------------------------------------------------------------- helpers of the pages

async function startConnect(body) {
  say("");
  try {
    const answer = await api("POST", "/api/connections/fanvue/start", body);
    go(answer.authorize_url);
  } catch (error) {
    if (!whenLoggedOut(error)) say(explain(error, { 403: "Your role may not connect Fanvue accounts." }));
  }
}

const STATUS_WORDS = {
  active: "active",
  needs_reconsent: "needs re-consent",
  needs_reauth: "needs re-consent",
  revoked: "disconnected",
};

// GET /api/connections says what would fix a connection: "reconnect" (this member can: Connect Fanvue again with
// the connection's id), "creator_invite" (only the creator can: a new creator-connect invitation), or null.
function needsReconnect(connection) {
  return connection.reconnect === "reconnect";
}

function scopesText(connection) {
  const granted = connection.scopes_granted || [];
  const missing = connection.scopes_missing || [];
  const needed = connection.scopes_needed || [];
  const lacking = missing.length ? missing : needed.filter((scope) => !granted.includes(scope));
  const have = Array.isArray(granted) ? `${granted.length} granted` : "";
  return lacking.length ? `${have}; missing: ${lacking.join(", ")}` : have || "—";
}

function connectionName(connection) {
  const who = connection.account_name || connection.fanvue_user_uuid || connection.id;
  return connection.kind ? `${connection.kind === "agency" ? "Agency" : "Creator"}: ${who}` : who;
}

async function loadConnections() {
  let data;
  try {
    data = await api("GET", "/api/connections");
  } catch (error) {
    if (!whenLoggedOut(error)) say(explain(error));
    return;
  }
  const list = itemsOf(data, "connections", "items");
  const body = $("connections").tBodies[0];
  body.replaceChildren();
  for (const connection of list) {
    const row = document.createElement("tr");
    cell(row, connectionName(connection));
    const status = String(connection.status || "unknown");
    cell(row, STATUS_WORDS[status] || status.replace(/_/g, " "), `status status-${status.replace(/[^a-z_]/g, "")}`);
    cell(row, scopesText(connection));
    cell(row, formatTime(connection.last_used_at));
    cell(row, connection.last_error, connection.last_error ? "error-text" : "muted");
    const action = cell(row, "");
    action.textContent = "";
    if (needsReconnect(connection)) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "small";
      button.textContent = "Reconnect";
      button.addEventListener("click", () => startConnect({ reconnect_connection_id: connection.id }));
      action.append(button);
    } else if (connection.reconnect && connection.reconnect_hint) {
      action.textContent = connection.reconnect_hint;
      action.className = "hint";
    }
    body.append(row);
  }
  show($("connections"), list.length > 0);
  show($("connections-empty"), list.length === 0);
}

async function loadCreators() {
  let data;
  try {
    data = await api("GET", "/api/creators");
  } catch (error) {
    if (!whenLoggedOut(error)) say(explain(error), "creators-message");
    return;
  }
  const list = itemsOf(data, "creators", "items");
  const body = $("creators").tBodies[0];
  body.replaceChildren();
  for (const creator of list) {
    const row = document.createElement("tr");
    cell(row, creator.display_name);
    cell(row, creator.handle ? `@${creator.handle}` : "");
    const own = creator.own_connection_status;
    cell(row, own ? STATUS_WORDS[own] || own : "not connected", own === "active" ? "status status-active" : "muted");
    body.append(row);
  }
  show($("creators"), list.length > 0);
  show($("creators-empty"), list.length === 0);
}

function showQr(svgText) {
  // Parsed as HTML, as if inline in the page (so an <svg> without xmlns is still SVG); a parsed document runs
  // nothing, and whatever could run later (scripts, handlers, links, styles) is stripped before it is shown.
  const figure = $("qr");
  figure.replaceChildren();
  const parsed = new DOMParser().parseFromString(String(svgText || ""), "text/html");
  const svg = parsed.body.querySelector("svg");
  if (!svg) return;
  for (const element of [svg, ...svg.querySelectorAll("*")]) {
    if (["script", "foreignObject", "a", "style", "image", "use", "iframe"].includes(element.localName)) {
      element.remove();
      continue;
    }
    for (const attribute of [...element.attributes]) {
      const name = attribute.name.toLowerCase();
      if (name.startsWith("on") || name.endsWith("href") || name === "style") element.removeAttribute(attribute.name);
    }
  }
  const width = svg.getAttribute("width");
  const height = svg.getAttribute("height");
  if (!svg.hasAttribute("viewBox") && width && height) svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", "QR code of your two-factor secret");
  figure.append(document.importNode(svg, true));
}

function setUpLogout() {
  const button = $("logout");
  if (!button) return;
  button.addEventListener("click", async () => {
    try {
      await api("POST", "/api/auth/logout");
    } catch {
      // the session may be gone already: either way the browser leaves
    }
    keepCsrf(null);
    go("/login");
  });
}

setUpLogout();
const page = pages[document.body.dataset.page];
if (page) page();
if (document.body.dataset.page === "login") rememberNext();

// A dashboard page: its cards (dashboard.js) and its renderers (the page's module, named by the server).
const dashboardModule = document.body.dataset.module;
if (dashboardModule) {
  Promise.all([import("/static/dashboard.js"), import(`/static/${dashboardModule}`)])
    .then(([dashboard, module]) => dashboard.start(module))
    .catch((error) => console.error("the dashboard could not start", error));
}
