// Team: the members with their roles and creator scopes (change, remove), and the invitations (create: the link
// is shown once; revoke). The server decides who may do what; the page only offers what the role may try.

import { el, empty, table } from "/static/dashboard.js";
import { $, busy, copier, failed, say, send, stamp } from "/static/admin.js";

const me = document.body.dataset.role;
const SCOPED = ["manager", "viewer"];
let creators = []; // [{id, name}] the agency's creators, for scopes
let reload = () => {};

function roles(current) {
  const all = me === "owner" ? ["owner", "admin", "manager", "viewer"] : ["admin", "manager", "viewer"];
  return all.includes(current) ? all : [current, ...all];
}

function creatorName(id) {
  const found = creators.find((c) => c.id === id);
  return found ? found.name : id;
}

function scopeText(ids) {
  return ids === null ? "every creator" : ids.length ? ids.map(creatorName).join(", ") : "no creator";
}

// Checkboxes of the agency's creators (checked: in the scope); none checked at all means every creator.
function scopePicker(name, chosen) {
  const box = el("div", { class: "choices" });
  for (const creator of creators) {
    const input = el("input", { type: "checkbox", name, value: creator.id, checked: chosen !== null && chosen.includes(creator.id) });
    box.append(el("label", { class: "check" }, input, ` ${creator.name}`));
  }
  if (!creators.length) box.append(el("span", { class: "hint", text: "No creators yet." }));
  return box;
}

function picked(container, name) {
  const ids = [...container.querySelectorAll(`input[name="${name}"]:checked`)].map((i) => i.value);
  return ids.length ? ids : null;
}

function memberRow(member) {
  const locked = me !== "owner" && member.role === "owner"; // admins never touch owners
  const role = el("select", { "aria-label": `Role of ${member.display_name}`, disabled: locked || member.disabled });
  for (const value of roles(member.role)) role.append(el("option", { value, text: value, selected: value === member.role }));
  const scope = el("details", { class: "scope" }, el("summary", { text: scopeText(member.creator_ids) }));
  const field = `scope-${member.id}`;
  scope.append(el("p", { class: "hint", text: "None ticked: every creator." }), scopePicker(field, member.creator_ids));
  const save = el("button", { type: "button", class: "small", text: "Save", disabled: locked || member.disabled });
  const remove = el("button", { type: "button", class: "small danger", text: "Remove", disabled: locked || member.disabled });
  const every = el("span", { class: "hint", text: "every creator" });
  const showScope = () => {
    scope.hidden = !SCOPED.includes(role.value);
    every.hidden = !scope.hidden;
  };
  role.addEventListener("change", showScope);
  showScope();
  save.addEventListener("click", async () => {
    say("team-message", "");
    const body = { role: role.value };
    if (SCOPED.includes(role.value)) body.creator_ids = picked(scope, field);
    try {
      await send("PATCH", `/api/agency/members/${encodeURIComponent(member.id)}`, body);
      say("team-message", `${member.display_name} is now ${role.value}.`, "ok");
      reload("members");
    } catch (error) {
      failed("team-message", error, { 409: "The agency's last owner must stay an owner.", 403: "Your role cannot change this member." });
    }
  });
  remove.addEventListener("click", async () => {
    if (!window.confirm(`Remove ${member.display_name}? She is signed out everywhere at once.`)) return;
    say("team-message", "");
    try {
      await send("DELETE", `/api/agency/members/${encodeURIComponent(member.id)}`);
      say("team-message", `${member.display_name} was removed.`, "ok");
      reload("members");
    } catch (error) {
      failed("team-message", error, { 409: "The agency's last owner cannot be removed.", 403: "Your role cannot remove this member." });
    }
  });
  const who = el("span", {}, el("strong", { text: member.display_name }), el("br"), el("small", { class: "hint", text: member.email }));
  const actions = el("span", { class: "row" }, save, remove);
  if (member.disabled) return [who, "removed", scopeText(member.creator_ids), stamp(member.created_at), ""];
  return [who, role, el("span", {}, scope, every), stamp(member.created_at), actions];
}

function members(data) {
  if (!data.length) return empty("No members.");
  return table(["Member", "Role", "Creators", "Since", ""], data.map(memberRow), { className: "members" });
}

function invites(data) {
  const shown = data.filter((i) => i.kind === "member" || i.status === "pending");
  if (!shown.length) return empty("No invitations yet.");
  return table(
    ["For", "Role", "Creators", "Status", "Expires", ""],
    shown.map((invite) => {
      const revoke = invite.status === "pending"
        ? el("button", { type: "button", class: "small danger", text: "Revoke" }) : "";
      if (revoke) {
        revoke.addEventListener("click", async () => {
          say("team-message", "");
          try {
            await send("DELETE", `/api/agency/invites/${encodeURIComponent(invite.id)}`);
            reload("invites");
          } catch (error) {
            failed("team-message", error);
          }
        });
      }
      return [
        invite.kind === "creator_connect" ? "a creator's own Fanvue" : invite.email || "anyone with the link",
        invite.role, invite.kind === "member" ? scopeText(invite.creator_ids) : "—", invite.status,
        stamp(invite.expires_at), revoke,
      ];
    }),
    { className: "invites" },
  );
}

async function setup({ reloadCard }) {
  reload = (id) => { const card = $(id); if (card) reloadCard(card); };
  try {
    const list = (await send("GET", "/api/creators?limit=200&sort=name")).data;
    creators = list.map((c) => ({ id: c.id, name: c.display_name || c.handle }));
  } catch {
    creators = []; // the scopes show ids; the members card says what failed if the API does
  }
  const form = $("invite-form");
  if (!form) return;
  const scope = $("invite-scope");
  $("invite-creators").replaceChildren(scopePicker("invite-creator", null));
  const showScope = () => { scope.hidden = !SCOPED.includes($("invite-role").value); };
  $("invite-role").addEventListener("change", showScope);
  showScope();
  copier($("invite-copy"), $("invite-url"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    say("team-message", "");
    const body = { role: $("invite-role").value };
    const some = form.querySelector('input[name="scope"]:checked').value === "some";
    if (SCOPED.includes(body.role) && some) body.creator_ids = picked(form, "invite-creator") || [];
    const email = $("invite-email").value.trim();
    if (email) body.email = email;
    busy(form, true);
    try {
      const link = (await send("POST", "/api/agency/invites", body)).data;
      $("invite-url").textContent = link.url;
      $("invite-expires").textContent = `Valid until ${stamp(link.expires_at)}, for one person.`;
      $("invite-copy").textContent = "Copy";
      $("invite-link").hidden = false;
      form.reset();
      showScope();
      reload("invites");
    } catch (error) {
      failed("team-message", error, { 403: "Your role cannot invite to this role.", 422: "That is not an email address." });
    } finally {
      busy(form, false);
    }
  });
}

export const renderers = { members, invites };
export { setup };
