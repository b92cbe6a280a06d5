// Everyone's public tasks: search them, open one, or fork it into your own (paused).

import { gql } from "../api.js";
import { announce, errorBox, h } from "../dom.js";
import { label } from "../enums.js";
import { FORK_TASK, PUBLIC_TASKS } from "../operations.js";
import { go } from "../router.js";
import { pager } from "./tasks.js";

const LIMIT = 20;

export async function renderPublicTasks(view, ctx) {
  const text = ctx.query.get("q") || "";
  const page = Math.max(1, Number(ctx.query.get("page")) || 1);
  const search = h("input", { id: "public-search", type: "search", value: text, placeholder: "iPhone, price, release…" });
  const navigate = (q, p) => {
    const params = new URLSearchParams();
    if (q) params.set("q", q);
    if (p > 1) params.set("page", String(p));
    const qs = params.toString();
    go(`/public${qs ? `?${qs}` : ""}`);
  };
  const status = h("div", { "aria-live": "polite" });
  view.append(
    h("h1", null, "Public tasks"),
    h(
      "form",
      {
        class: "filters",
        role: "search",
        onsubmit: (e) => {
          e.preventDefault();
          navigate(search.value.trim(), 1);
        },
      },
      h("label", { for: "public-search" }, "Search"),
      search,
      h("button", { type: "submit" }, "Search"),
    ),
    status,
  );
  let data;
  try {
    data = (await gql(PUBLIC_TASKS, { page, limit: LIMIT, search: text || null })).public_tasks;
  } catch (error) {
    view.append(errorBox(error));
    return;
  }
  if (!data.items.length) {
    view.append(h("p", { class: "empty" }, text ? "No public task matches." : "No public tasks yet."));
    return;
  }
  view.append(
    h(
      "ul",
      { class: "public-list" },
      data.items.map((t) =>
        h(
          "li",
          { class: "card", "data-task-id": t.id },
          h("h2", null, h("a", { href: `#/tasks/${t.id}` }, t.name)),
          h("p", null, h("strong", null, "Searches: "), t.search_query),
          h("p", null, h("strong", null, "Tells when: "), t.condition_description),
          h(
            "p",
            { class: "muted" },
            h("code", null, t.schedule),
            ` ${t.timezone} · notify ${label(t.notify_behavior)} · ${t.view_count} views · ${t.subscriber_count} forks`,
          ),
          t.user_id === ctx.me.id
            ? h("span", { class: "tag" }, "yours")
            : h(
                "button",
                {
                  type: "button",
                  "aria-label": `Fork ${t.name}`,
                  onclick: async () => {
                    try {
                      const forked = (await gql(FORK_TASK, { id: t.id, name: null })).fork_task;
                      announce(`Forked as “${forked.name}” (paused)`);
                      go(`/tasks/${forked.id}`);
                    } catch (error) {
                      status.replaceChildren(errorBox(error));
                    }
                  },
                },
                "Fork",
              ),
        ),
      ),
    ),
  );
  const pages = Math.max(1, Math.ceil(data.total / LIMIT));
  if (pages > 1) view.append(pager(page, pages, (p) => navigate(text, p)));
}
