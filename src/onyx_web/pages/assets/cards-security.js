// Security: the member's own second factor (new recovery codes or turning it off, both after her password and a
// current code), her API tokens (create: the secret is shown once; revoke), and for owners the agency's 2FA rule.

import { el, empty, table } from "/static/dashboard.js";
import { $, busy, copier, failed, say, send, stamp } from "/static/admin.js";

let reload = () => {};

function tokens(data) {
  if (!data.length) return empty("No API tokens yet.");
  return table(
    ["Name", "Scopes", "Created", "Last used", "Expires", "State", ""],
    data.map((token) => {
      let revoke = "";
      if (!token.revoked_at) {
        revoke = el("button", { type: "button", class: "small danger", text: "Revoke" });
        revoke.addEventListener("click", async () => {
          if (!window.confirm(`Revoke the token "${token.name}"? Scripts using it stop working at once.`)) return;
          try {
            await send("DELETE", `/api/account/tokens/${encodeURIComponent(token.id)}`);
            reload();
          } catch (error) {
            failed("token-message", error);
          }
        });
      }
      return [
        token.name, token.scopes.join(", "), stamp(token.created_at), stamp(token.last_used_at) || "never",
        stamp(token.expires_at) || "never", token.revoked_at ? `revoked ${stamp(token.revoked_at)}` : "active", revoke,
      ];
    }),
    { className: "tokens" },
  );
}

const REAUTH = {
  401: "Wrong password or code.",
  409: "Two-factor authentication is off already.",
  423: "Too many wrong codes: your account is locked. Log in with a recovery code.",
};

function setUpTwoFactor() {
  const form = $("reauth-form");
  if (!form) return;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    say("reauth-message", "");
    const action = event.submitter ? event.submitter.value : "codes";
    if (action === "disable" && !window.confirm("Turn two-factor authentication off?")) return;
    const body = { password: $("reauth-password").value, code: $("reauth-code").value.replace(/\s+/g, "") };
    busy(form, true);
    try {
      if (action === "disable") {
        await send("POST", "/api/account/totp/disable", body);
        window.location.reload();
        return;
      }
      const { data } = await send("POST", "/api/account/recovery-codes", body);
      $("recovery-codes").replaceChildren(...data.recovery_codes.map((code) => el("li", { text: code })));
      $("recovery").hidden = false;
      form.reset();
    } catch (error) {
      failed("reauth-message", error, REAUTH);
    } finally {
      busy(form, false);
    }
  });
}

function setUpPolicy() {
  const form = $("policy-form");
  if (!form) return;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const required = $("require-2fa").checked;
    busy(form, true);
    try {
      await send("PUT", "/api/agency/two-factor-policy", { required });
      say("policy-message", required ? "Saved: every member must now use two-factor authentication."
        : "Saved: two-factor authentication is up to each member.", "ok");
    } catch (error) {
      failed("policy-message", error, { 403: "Only owners decide this." });
    } finally {
      busy(form, false);
    }
  });
}

function setUpTokens() {
  const form = $("token-form");
  copier($("token-copy"), $("token-secret"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    say("token-message", "");
    const scopes = [...form.querySelectorAll('input[name="scope"]:checked')].map((i) => i.value);
    if (!scopes.length) {
      say("token-message", "Tick at least one scope.");
      return;
    }
    busy(form, true);
    try {
      const { data } = await send("POST", "/api/account/tokens", { name: $("token-name").value.trim(), scopes });
      $("token-secret").textContent = data.secret;
      $("token-copy").textContent = "Copy";
      $("token-created").hidden = false;
      form.reset();
      reload();
    } catch (error) {
      failed("token-message", error, { 422: "A token needs a name of 1 to 100 characters and at least one scope." });
    } finally {
      busy(form, false);
    }
  });
}

function setup({ reloadCard }) {
  reload = () => reloadCard($("tokens"));
  setUpTwoFactor();
  setUpPolicy();
  setUpTokens();
}

export const renderers = { tokens };
export { setup };
