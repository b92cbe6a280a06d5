// Admin pages: platform figures, users (deactivate / activate), recent errors, and the
// live Temporal schedules and workflows with links into Temporal's own UI.

import { gql } from "../api.js";
import { announce, errorBox, h } from "../dom.js";
import { badge, duration, time } from "../format.js";
import {
  ACTIVATE_USER,
  ADMIN_ERRORS,
  ADMIN_STATS,
  ADMIN_TEMPORAL,
  ADMIN_USERS,
  DEACTIVATE_USER,
} from "../operations.js";

const SECTIONS = [
  ["stats", "Stats"],
  ["users", "Users"],
  ["errors", "Errors"],
  ["temporal", "Temporal"],
];

function table(label, columns, rows) {
  return h(
    "table",
    { class: "cards", "aria-label": label },
    h("thead", null, h("tr", null, columns.map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", null, rows),
  );
}

function cell(labelText, ...content) {
  return h("td", { "data-label": labelText }, ...content);
}

function uiLink(url, text) {
  return url
    ? h("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, text, h("span", { class: "sr-only" }, " (opens Temporal UI)"))
    : text;
}

function figureCard(title, pairs) {
  return h(
    "div",
    { class: "card figure" },
    h("h2", null, title),
    h("dl", { class: "details" }, pairs.map(([k, v]) => [h("dt", null, k), h("dd", null, v ?? "—")])),
  );
}

async function stats(view) {
  const s = (await gql(ADMIN_STATS)).admin_stats;
  view.append(
    h(
      "div",
      { class: "figures" },
      figureCard("Users", [["Total", s.users.total], ["Active (30 days)", s.users.active_30d], ["New (7 days)", s.users.new_7d]]),
      figureCard("Tasks", [["Total", s.tasks.total], ["Active", s.tasks.active], ["Paused", s.tasks.paused], ["Completed", s.tasks.completed]]),
      figureCard("Executions (24 h)", [
        ["Total", s.executions.total_24h],
        ["Succeeded", s.executions.success_24h],
        ["Failed", s.executions.failed_24h],
        ["Average duration", duration(s.executions.avg_duration_ms)],
      ]),
      figureCard("Notifications", [["Sent (24 h)", s.notifications.sent_24h], ["Sent (7 days)", s.notifications.sent_7d]]),
      figureCard("Deliveries", [
        ["Pending", s.deliveries.pending],
        ["Retrying", s.deliveries.retrying],
        ["Failed", s.deliveries.failed],
        ["Stranded", s.deliveries.stranded],
        ["Oldest due", s.deliveries.oldest_due_age_seconds === null ? "—" : `${Math.round(s.deliveries.oldest_due_age_seconds)} s`],
      ]),
    ),
    h("h2", null, "Popular queries"),
    s.popular_queries.length
      ? h("ol", null, s.popular_queries.map((q) => h("li", null, `${q.query} (${q.count})`)))
      : h("p", { class: "empty" }, "None yet."),
  );
}

async function users(view, ctx) {
  const status = h("div", { "aria-live": "polite" });
  const holder = h("div");
  async function load() {
    const data = (await gql(ADMIN_USERS, { page: 1, limit: 100, active_only: false })).admin_users;
    holder.replaceChildren(
      table(
        "Users",
        ["Email", "Role", "State", "Tasks", "Runs (24 h)", "Last sign-in", "Actions"],
        data.items.map((u) => {
          const active = u.state.toLowerCase() === "active";
          const self = u.id === ctx.me.id;
          const action = active ? DEACTIVATE_USER : ACTIVATE_USER;
          return h(
            "tr",
            { "data-user-id": u.id, "data-email": u.email },
            cell("Email", u.email),
            cell("Role", u.role.toLowerCase()),
            cell("State", badge(u.state)),
            cell("Tasks", `${u.active_tasks_count} active / ${u.tasks_count}`),
            cell("Runs (24 h)", String(u.executions_24h)),
            cell("Last sign-in", time(u.last_login)),
            cell(
              "Actions",
              self
                ? h("span", { class: "muted" }, "you")
                : h(
                    "button",
                    {
                      type: "button",
                      class: active ? "danger" : null,
                      "aria-label": `${active ? "Deactivate" : "Activate"} ${u.email}`,
                      onclick: async () => {
                        status.replaceChildren();
                        try {
                          const result = await gql(action, { id: u.id });
                          const r = result.deactivate_user || result.activate_user;
                          announce(r.message);
                          await load();
                        } catch (error) {
                          status.replaceChildren(errorBox(error));
                        }
                      },
                    },
                    active ? "Deactivate" : "Activate",
                  ),
            ),
          );
        }),
      ),
      h("p", { class: "muted" }, `${data.total} users. Deactivation pauses their tasks and revokes their keys; activation keeps tasks paused.`),
    );
  }
  view.append(status, holder);
  await load();
}

async function errors(view) {
  const data = (await gql(ADMIN_ERRORS, { hours: 24, page: 1, limit: 50 })).admin_errors;
  const types = Object.entries(data.error_types || {});
  view.append(
    h("h2", null, "By type (24 h)"),
    types.length
      ? h("ul", { class: "plain" }, types.map(([type, count]) => h("li", null, h("code", null, type), ` ${count}`)))
      : h("p", { class: "empty" }, "No failed executions in the last 24 hours."),
    data.items.length
      ? table(
          "Failed executions",
          ["When", "Task", "User", "Type", "Message"],
          data.items.map((e) =>
            h(
              "tr",
              null,
              cell("When", time(e.created_at)),
              cell("Task", e.task_name),
              cell("User", e.user_email),
              cell("Type", h("code", null, e.error_type || "—")),
              cell("Message", e.error_message || "—"),
            ),
          ),
        )
      : null,
  );
}

async function temporal(view) {
  const data = await gql(ADMIN_TEMPORAL, { page: 1, limit: 50 });
  const schedules = data.admin_temporal_schedules.items;
  const workflows = data.admin_temporal_workflows.items;
  view.append(
    h("h2", null, `Schedules (${data.admin_temporal_schedules.total})`),
    schedules.length
      ? table(
          "Temporal schedules",
          ["Schedule", "Owner", "Cron", "State", "Next run", "Recent runs"],
          schedules.map((s) =>
            h(
              "tr",
              { "data-schedule-id": s.schedule_id },
              cell("Schedule", uiLink(s.temporal_ui_url, s.schedule_id), s.task_id ? h("div", null, h("a", { href: `#/tasks/${s.task_id}` }, "task")) : null),
              cell("Owner", s.user_email || h("span", { class: "muted" }, "no task of ours")),
              cell("Cron", h("code", null, s.cron || "—"), h("span", { class: "muted" }, ` ${s.timezone}`)),
              cell("State", badge(s.is_paused ? "paused" : "active"), s.note ? h("div", { class: "muted" }, s.note) : null),
              cell("Next run", time(s.next_run_time)),
              cell("Recent runs", s.recent_executions.length ? s.recent_executions.map((r) => h("div", null, time(r.started_at))) : "—"),
            ),
          ),
        )
      : h("p", { class: "empty" }, "No schedules."),
    h("h2", null, `Workflows (${data.admin_temporal_workflows.total})`),
    workflows.length
      ? table(
          "Temporal workflows",
          ["Workflow", "Type", "Status", "Started", "Closed", "Duration"],
          workflows.map((w) =>
            h(
              "tr",
              { "data-workflow-id": w.workflow_id },
              cell("Workflow", uiLink(w.temporal_ui_url, w.workflow_id)),
              cell("Type", w.workflow_type),
              cell("Status", badge(w.status || "unknown")),
              cell("Started", time(w.start_time)),
              cell("Closed", time(w.close_time)),
              cell("Duration", duration(w.execution_duration_ms)),
            ),
          ),
        )
      : h("p", { class: "empty" }, "No workflows."),
  );
}

const RENDER = { stats, users, errors, temporal };

export async function renderAdmin(view, ctx) {
  const current = ctx.params.section || "stats";
  view.append(
    h("h1", null, `Admin · ${SECTIONS.find(([k]) => k === current)?.[1] || "Stats"}`),
    h(
      "nav",
      { class: "tabs", "aria-label": "Admin sections" },
      h(
        "ul",
        null,
        SECTIONS.map(([key, text]) =>
          h("li", null, h("a", { href: `#/admin/${key}`, "aria-current": key === current ? "page" : null }, text)),
        ),
      ),
    ),
  );
  if (ctx.me.role.toLowerCase() !== "admin") {
    view.append(h("p", { class: "alert error", role: "alert" }, "Admin access required."));
    return;
  }
  const body = h("div");
  view.append(body);
  try {
    await (RENDER[current] || stats)(body, ctx);
  } catch (error) {
    body.append(errorBox(error));
  }
}
