// Start-up: read the sign-in configuration, finish an OIDC redirect if there is one,
// then render the page the URL's hash names.

import { gql, onUnauthenticated } from "./api.js";
import { announce, clear, errorBox, h } from "./dom.js";
import { completeOidcSignIn, isOidcCallback } from "./oidc.js";
import { ME, useSchemaTypes } from "./operations.js";
import { renderAccount } from "./pages/account.js";
import { renderAdmin } from "./pages/admin.js";
import { renderPublicTasks } from "./pages/public.js";
import { renderSignIn } from "./pages/signin.js";
import { renderTaskDetail } from "./pages/task-detail.js";
import { renderTaskForm } from "./pages/task-form.js";
import { renderTasks } from "./pages/tasks.js";
import { currentPath, go, match, route } from "./router.js";
import { credential, forgetCredential } from "./session.js";

const state = { config: { oidc: null }, me: null, cleanup: null };

route("/signin", renderSignIn);
route("/tasks", renderTasks);
route("/tasks/new", renderTaskForm);
route("/tasks/:id", renderTaskDetail);
route("/tasks/:id/edit", renderTaskForm);
route("/public", renderPublicTasks);
route("/account", renderAccount);
route("/admin", renderAdmin);
route("/admin/:section", renderAdmin);

const NAV = [
  { path: "/tasks", text: "Tasks" },
  { path: "/public", text: "Public tasks" },
  { path: "/account", text: "Account" },
  { path: "/admin", text: "Admin", admin: true },
];

function renderNav(path) {
  const nav = clear(document.getElementById("nav"));
  const who = clear(document.getElementById("who"));
  if (!state.me) return;
  const list = h("ul");
  for (const item of NAV) {
    if (item.admin && state.me.role?.toLowerCase() !== "admin") continue;
    const current = path === item.path || path.startsWith(`${item.path}/`);
    list.append(
      h(
        "li",
        null,
        h("a", { href: `#${item.path}`, "aria-current": current ? "page" : null }, item.text),
      ),
    );
  }
  nav.append(list);
  who.append(
    h("span", { class: "email" }, state.me.email),
    h("button", { type: "button", class: "link", onclick: signOut }, "Sign out"),
  );
}

function signOut() {
  forgetCredential();
  state.me = null;
  announce("Signed out");
  go("/signin");
}

async function loadMe() {
  if (!credential()) return null;
  const data = await gql(ME);
  return data.me;
}

async function render() {
  const { path, query } = currentPath();
  if (state.cleanup) {
    state.cleanup();
    state.cleanup = null;
  }
  const main = document.getElementById("main");
  if (!credential() && path !== "/signin") {
    go("/signin");
    return;
  }
  if (credential() && !state.me) {
    try {
      state.me = await loadMe();
    } catch (error) {
      if (error.code === "UNAUTHENTICATED") return; // the listener sends us to sign-in
      clear(main).append(errorBox(error));
      return;
    }
  }
  renderNav(path);
  const found = match(path);
  const view = h("div", { class: "view" });
  clear(main).append(view);
  if (!found) {
    view.append(h("h1", { tabindex: "-1" }, "Not found"), h("p", null, "No page here."));
    return;
  }
  const ctx = {
    params: found.params,
    query,
    me: state.me,
    config: state.config,
    onSignedIn: async () => {
      state.me = await loadMe();
      go(query.get("next") || "/tasks");
    },
  };
  try {
    const cleanup = await found.render(view, ctx);
    if (typeof cleanup === "function") {
      if (view.isConnected) state.cleanup = cleanup;
      else cleanup();
    }
  } catch (error) {
    if (error.code === "UNAUTHENTICATED") return;
    view.append(errorBox(error));
  }
  // Move focus to the new page's heading so keyboard and screen-reader users land there.
  const heading = view.querySelector("h1");
  if (heading && view.isConnected) {
    heading.setAttribute("tabindex", "-1");
    heading.focus({ preventScroll: false });
    document.title = `${heading.textContent} · Torale`;
  }
}

onUnauthenticated(() => {
  forgetCredential();
  state.me = null;
  announce("Your session ended: sign in again", "error");
  go("/signin");
});

document.querySelector(".skip")?.addEventListener("click", (event) => {
  event.preventDefault();
  const main = document.getElementById("main");
  main.focus();
});

async function start() {
  try {
    const response = await fetch("./config.json", { headers: { Accept: "application/json" } });
    if (response.ok) state.config = await response.json();
    useSchemaTypes(state.config.types);
  } catch {
    // Offline or an old server: API-key sign-in works without it.
  }
  if (isOidcCallback()) {
    const main = document.getElementById("main");
    try {
      await completeOidcSignIn(state.config.oidc);
      state.me = null;
    } catch (error) {
      clear(main).append(h("h1", null, "Sign-in failed"), errorBox(error));
      history.replaceState(null, "", location.pathname);
      return;
    }
  }
  window.addEventListener("hashchange", render);
  await render();
}

start();
