// The caller's tasks: state, next run, last result; filtered by state (on the server)
// and by text (on the page), a page at a time.

import { gql } from "../api.js";
import { errorBox, h } from "../dom.js";
import { norm, RUNNING, TASK_STATES, toApi } from "../enums.js";
import { badge, time } from "../format.js";
import { TASKS } from "../operations.js";
import { go } from "../router.js";

const LIMIT = 20;
const POLL_MS = 1500;

// The newest execution, a running one included (`last_execution` is the last finished).
function latest(task) {
  return task.recent_executions?.[0] || null;
}

function running(task) {
  return RUNNING.has(norm(latest(task)?.status));
}

// The cells that change while a task runs, refreshed in place: re-rendering the page
// would move focus and lose the reader's place.
function liveCells(task) {
  return {
    State: [badge(task.state)],
    "Next run": [time(task.next_run_at)],
    "Last result": [lastResult(latest(task))],
  };
}

export function lastResult(execution) {
  if (!execution) return h("span", { class: "muted" }, "never run");
  const status = norm(execution.status);
  const parts = [badge(status)];
  if (status === "success") {
    parts.push(
      " ",
      execution.condition_met
        ? h("span", { class: "met" }, "condition met")
        : h("span", { class: "muted" }, "not met"),
    );
  }
  parts.push(" ", time(execution.completed_at || execution.created_at));
  return h("span", { class: "result" }, parts);
}

export async function renderTasks(view, ctx) {
  const state = ctx.query.get("state") || "";
  const page = Math.max(1, Number(ctx.query.get("page")) || 1);
  const text = ctx.query.get("q") || "";

  const navigate = (changes) => {
    const next = new URLSearchParams({ state, page: String(page), q: text, ...changes });
    for (const [k, v] of [...next]) if (!v || (k === "page" && v === "1")) next.delete(k);
    const qs = next.toString();
    go(`/tasks${qs ? `?${qs}` : ""}`);
  };

  const stateSelect = h(
    "select",
    { id: "filter-state", onchange: (e) => navigate({ state: e.target.value, page: "1" }) },
    h("option", { value: "" }, "All states"),
    TASK_STATES.map((s) => h("option", { value: s, selected: s === state }, s)),
  );
  const search = h("input", {
    id: "filter-text",
    type: "search",
    value: text,
    placeholder: "Name or schedule",
  });
  const filters = h(
    "form",
    {
      class: "filters",
      role: "search",
      onsubmit: (e) => {
        e.preventDefault();
        navigate({ q: search.value.trim(), page: "1" });
      },
    },
    h("label", { for: "filter-state" }, "State"),
    stateSelect,
    h("label", { for: "filter-text" }, "Filter"),
    search,
    h("button", { type: "submit" }, "Apply"),
  );

  view.append(
    h(
      "div",
      { class: "page-head" },
      h("h1", null, "Tasks"),
      h("a", { class: "button primary", href: "#/tasks/new" }, "New task"),
    ),
    filters,
  );

  let data;
  try {
    data = await gql(TASKS(), {
      page,
      limit: LIMIT,
      state: state ? toApi(state, "TaskState") : null,
      active: null,
    });
  } catch (error) {
    view.append(errorBox(error));
    return;
  }
  const needle = text.toLowerCase();
  const items = data.tasks.items.filter(
    (t) =>
      !needle || t.name.toLowerCase().includes(needle) || t.schedule.toLowerCase().includes(needle),
  );
  if (!items.length) {
    view.append(
      h(
        "p",
        { class: "empty" },
        data.tasks.total ? "No task on this page matches the filter." : "No tasks yet. ",
        data.tasks.total ? null : h("a", { href: "#/tasks/new" }, "Create your first task"),
      ),
    );
  } else {
    view.append(
      h(
        "table",
        { class: "cards", "aria-label": "Your tasks" },
        h(
          "thead",
          null,
          h(
            "tr",
            null,
            ["Name", "State", "Schedule", "Next run", "Last result"].map((c) =>
              h("th", { scope: "col" }, c),
            ),
          ),
        ),
        h(
          "tbody",
          null,
          items.map((t) =>
            h(
              "tr",
              { "data-task-id": t.id },
              h(
                "td",
                { "data-label": "Name" },
                h("a", { href: `#/tasks/${t.id}` }, t.name),
                t.is_public ? h("span", { class: "tag" }, "public") : null,
              ),
              h("td", { "data-label": "State" }, ...liveCells(t).State),
              h(
                "td",
                { "data-label": "Schedule" },
                h("code", null, t.schedule),
                h("span", { class: "muted" }, ` ${t.timezone}`),
              ),
              h("td", { "data-label": "Next run" }, ...liveCells(t)["Next run"]),
              h("td", { "data-label": "Last result" }, ...liveCells(t)["Last result"]),
            ),
          ),
        ),
      ),
    );
  }
  const pages = Math.max(1, Math.ceil(data.tasks.total / LIMIT));
  if (pages > 1) view.append(pager(page, pages, (p) => navigate({ page: String(p) })));

  let timer = null;
  let stopped = false;
  async function poll() {
    if (stopped) return;
    let fresh;
    try {
      fresh = await gql(TASKS(), { page, limit: LIMIT, state: state ? toApi(state, "TaskState") : null, active: null });
    } catch {
      return; // the next navigation shows the error; stop following
    }
    if (stopped) return;
    for (const task of fresh.tasks.items) {
      const row = view.querySelector(`tr[data-task-id="${task.id}"]`);
      if (!row) continue;
      for (const [name, content] of Object.entries(liveCells(task))) {
        row.querySelector(`td[data-label="${name}"]`)?.replaceChildren(...content);
      }
    }
    if (fresh.tasks.items.some(running)) timer = setTimeout(poll, POLL_MS);
  }
  if (data.tasks.items.some(running)) timer = setTimeout(poll, POLL_MS);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

export function pager(page, pages, goTo) {
  return h(
    "nav",
    { class: "pager", "aria-label": "Pages" },
    h("button", { type: "button", disabled: page <= 1, onclick: () => goTo(page - 1) }, "Previous"),
    h("span", null, `Page ${page} of ${pages}`),
    h(
      "button",
      { type: "button", disabled: page >= pages, onclick: () => goTo(page + 1) },
      "Next",
    ),
  );
}
