// One task: its settings and actions, and (for its owner) the executions timeline,
// notifications and webhook deliveries. While an execution runs or a delivery waits,
// the activity is polled so the page follows it live.

import { gql } from "../api.js";
import { announce, errorBox, h } from "../dom.js";
import { label, norm, RUNNING, toApi } from "../enums.js";
import { badge, duration, time } from "../format.js";
import {
  DELETE_TASK,
  EXECUTE_TASK,
  FORK_TASK,
  REDELIVER,
  SET_VISIBILITY,
  TASK,
  TASK_ACTIVITY,
  UPDATE_TASK,
} from "../operations.js";
import { go } from "../router.js";

export const POLL_MS = 1500;
const ACTIVITY_LIMIT = 20;

function section(title, ...children) {
  const id = `h-${title.toLowerCase().replace(/[^a-z]+/g, "-")}`;
  return h("section", { "aria-labelledby": id }, h("h2", { id }, title), ...children);
}

function details(task) {
  const rows = [
    ["Search query", task.search_query],
    ["Condition", task.condition_description],
    ["Schedule", h("span", null, h("code", null, task.schedule), ` in ${task.timezone}`)],
    ["Next run", time(task.next_run_at)],
    ["Notify", label(task.notify_behavior)],
    [
      "Channels",
      task.notifications === null
        ? h("span", { class: "muted" }, "only the owner sees them")
        : task.notifications.length
          ? h(
              "ul",
              { class: "plain" },
              task.notifications.map((c) =>
                h("li", null, `${norm(c.type)}: `, h("code", null, c.url || c.address || "")),
              ),
            )
          : h("span", { class: "muted" }, "none"),
    ],
    ["Condition met", task.condition_met ? "yes" : "no"],
    ["Last notified", time(task.last_notified_at)],
    ["Views · forks", `${task.view_count} · ${task.subscriber_count}`],
    ["Created", time(task.created_at)],
  ];
  if (task.forked_from_task_id) {
    rows.push([
      "Forked from",
      h("a", { href: `#/tasks/${task.forked_from_task_id}` }, "the original task"),
    ]);
  }
  return h("dl", { class: "details" }, rows.map(([k, v]) => [h("dt", null, k), h("dd", null, v)]));
}

function executionItem(e) {
  const status = norm(e.status);
  const sources = e.grounding_sources || [];
  return h(
    "li",
    { class: `execution status-${status}`, "data-execution-id": e.id, "data-status": status },
    h(
      "div",
      { class: "execution-head" },
      badge(status),
      status === "success"
        ? e.condition_met
          ? h("span", { class: "met" }, "condition met")
          : h("span", { class: "muted" }, "condition not met")
        : null,
      h("span", { class: "muted" }, ` ${label(e.trigger)} · `),
      time(e.started_at || e.created_at),
      e.attempt > 1 ? h("span", { class: "muted" }, ` · attempt ${e.attempt}`) : null,
      e.notification_sent ? h("span", { class: "tag" }, "notified") : null,
    ),
    RUNNING.has(status)
      ? h("p", { class: "muted running" }, status === "running" ? "Searching and evaluating…" : "Waiting to start…")
      : null,
    e.result?.answer
      ? h("div", { class: "answer" }, h("strong", null, "Answer: "), e.result.answer)
      : null,
    e.result?.reasoning ? h("p", { class: "reasoning muted" }, e.result.reasoning) : null,
    e.change_summary
      ? h("p", { class: "change" }, h("strong", null, "Change: "), e.change_summary)
      : null,
    e.error_message
      ? h(
          "p",
          { class: "alert error" },
          h("strong", null, `Error${e.error_type ? ` (${e.error_type})` : ""}: `),
          e.error_message,
        )
      : null,
    sources.length
      ? h(
          "details",
          { class: "sources" },
          h("summary", null, `${sources.length} source${sources.length === 1 ? "" : "s"}`),
          h(
            "ul",
            null,
            sources.map((s) =>
              h(
                "li",
                null,
                h("a", { href: s.uri, rel: "noopener noreferrer", target: "_blank" }, s.title || s.uri),
                s.snippet ? h("span", { class: "muted" }, ` — ${s.snippet}`) : null,
              ),
            ),
          ),
        )
      : null,
  );
}

function deliveryRow(d, onRedeliver) {
  const status = norm(d.status);
  return h(
    "tr",
    { "data-delivery-id": d.id, "data-status": status },
    h("td", { "data-label": "Channel" }, norm(d.channel), h("br"), h("code", { class: "target" }, d.target)),
    h("td", { "data-label": "Status" }, badge(status)),
    h(
      "td",
      { "data-label": "Attempts" },
      h(
        "details",
        null,
        h("summary", null, `${d.attempt_count} attempt${d.attempt_count === 1 ? "" : "s"}`),
        h(
          "ol",
          { class: "attempts" },
          d.attempts.map((a) =>
            h(
              "li",
              null,
              `${label(a.outcome)}`,
              a.status_code ? ` · HTTP ${a.status_code}` : "",
              ` · ${duration(a.duration_ms)} · `,
              time(a.created_at),
              a.error ? h("span", { class: "error-text" }, ` · ${a.error}`) : null,
            ),
          ),
        ),
      ),
    ),
    h(
      "td",
      { "data-label": "Last" },
      d.last_status_code ? `HTTP ${d.last_status_code}` : "—",
      d.last_error ? h("div", { class: "error-text" }, d.last_error) : null,
      d.next_attempt_at && status === "pending"
        ? h("div", { class: "muted" }, "next try ", time(d.next_attempt_at))
        : null,
    ),
    h("td", { "data-label": "Created" }, time(d.created_at)),
    h(
      "td",
      { "data-label": "Actions" },
      h(
        "button",
        {
          type: "button",
          disabled: status === "pending",
          "aria-label": `Redeliver to ${d.target}`,
          onclick: () => onRedeliver(d),
        },
        "Redeliver",
      ),
    ),
  );
}

function activityView(data, onRedeliver) {
  const executions = data.executions.items;
  const notifications = data.notifications.items;
  const deliveries = data.task_webhook_deliveries.items;
  return [
    section(
      "Executions",
      executions.length
        ? h("ol", { class: "timeline", "aria-label": "Executions, newest first" }, executions.map(executionItem))
        : h("p", { class: "empty" }, "No executions yet."),
    ),
    section(
      "Notifications",
      notifications.length
        ? h(
            "ul",
            { class: "plain notifications" },
            notifications.map((n) =>
              h(
                "li",
                null,
                time(n.created_at),
                " — ",
                n.answer || "",
                n.change_summary ? h("span", { class: "muted" }, ` (${n.change_summary})`) : null,
              ),
            ),
          )
        : h("p", { class: "empty" }, "The condition has not been met yet."),
    ),
    section(
      "Webhook deliveries",
      deliveries.length
        ? h(
            "table",
            { class: "cards deliveries", "aria-label": "Deliveries, newest first" },
            h(
              "thead",
              null,
              h(
                "tr",
                null,
                ["Channel", "Status", "Attempts", "Last answer", "Created", "Actions"].map((c) =>
                  h("th", { scope: "col" }, c),
                ),
              ),
            ),
            h("tbody", null, deliveries.map((d) => deliveryRow(d, onRedeliver))),
          )
        : h("p", { class: "empty" }, "No deliveries yet."),
    ),
  ];
}

function isBusy(data) {
  return (
    data.executions.items.some((e) => RUNNING.has(norm(e.status))) ||
    data.task_webhook_deliveries.items.some((d) => norm(d.status) === "pending")
  );
}

export async function renderTaskDetail(view, ctx) {
  const id = ctx.params.id;
  let task = (await gql(TASK, { id })).task;
  const owner = task.user_id === ctx.me.id;
  const head = h("div", { class: "page-head" });
  const info = h("div");
  const toolbar = h("div", { class: "toolbar", role: "toolbar", "aria-label": "Task actions" });
  const status = h("div", { "aria-live": "polite" });
  const activity = h("div", { class: "activity" });
  view.append(head, toolbar, status, info, activity);

  let timer = null;
  let lastActivity = "";
  let wasBusy = false;
  let stopped = false;

  function drawHead() {
    head.replaceChildren(
      h("h1", null, task.name),
      h(
        "div",
        { class: "head-tags" },
        badge(task.state),
        task.is_public ? h("span", { class: "tag" }, "public") : h("span", { class: "tag" }, "private"),
      ),
    );
    info.replaceChildren(section("Details", details(task)));
  }

  async function act(what, run) {
    status.replaceChildren();
    try {
      await run();
      announce(what);
      task = (await gql(TASK, { id })).task;
      drawHead();
      drawToolbar();
      await refresh(true);
    } catch (error) {
      status.replaceChildren(errorBox(error));
    }
  }

  function drawToolbar() {
    const state = norm(task.state);
    const buttons = [];
    if (owner) {
      buttons.push(
        h(
          "button",
          {
            type: "button",
            class: "primary",
            onclick: () => act("Execution started", () => gql(EXECUTE_TASK, { id })),
          },
          "Run now",
        ),
      );
      const toggle =
        state === "active"
          ? ["Pause", "paused", "Task paused"]
          : state === "paused"
            ? ["Resume", "active", "Task resumed"]
            : ["Reactivate", "active", "Task reactivated"];
      buttons.push(
        h(
          "button",
          {
            type: "button",
            onclick: () =>
              act(toggle[2], () => gql(UPDATE_TASK, { id, input: { state: toApi(toggle[1], "TaskState") } })),
          },
          toggle[0],
        ),
        h("a", { class: "button", href: `#/tasks/${id}/edit` }, "Edit"),
        h(
          "button",
          {
            type: "button",
            "aria-pressed": String(task.is_public),
            onclick: () =>
              act(task.is_public ? "Task is private now" : "Task is public now", () =>
                gql(SET_VISIBILITY, { id, is_public: !task.is_public }),
              ),
          },
          task.is_public ? "Make private" : "Make public",
        ),
      );
    }
    buttons.push(
      h(
        "button",
        {
          type: "button",
          onclick: async () => {
            status.replaceChildren();
            try {
              const forked = (await gql(FORK_TASK, { id, name: null })).fork_task;
              announce(`Forked as “${forked.name}” (paused)`);
              go(`/tasks/${forked.id}`);
            } catch (error) {
              status.replaceChildren(errorBox(error));
            }
          },
        },
        "Fork",
      ),
    );
    if (owner) {
      const confirm = h(
        "span",
        { class: "confirm", hidden: true },
        h("span", null, "Delete this task and its history?"),
        h(
          "button",
          {
            type: "button",
            class: "danger",
            onclick: async () => {
              try {
                await gql(DELETE_TASK, { id });
                announce("Task deleted");
                go("/tasks");
              } catch (error) {
                status.replaceChildren(errorBox(error));
              }
            },
          },
          "Delete for good",
        ),
        h(
          "button",
          {
            type: "button",
            onclick: () => {
              confirm.hidden = true;
              deleteButton.focus();
            },
          },
          "Keep it",
        ),
      );
      const deleteButton = h(
        "button",
        {
          type: "button",
          class: "danger",
          onclick: () => {
            confirm.hidden = false;
            confirm.querySelector("button").focus();
          },
        },
        "Delete",
      );
      buttons.push(deleteButton, confirm);
    }
    toolbar.replaceChildren(...buttons);
  }

  async function redeliver(delivery) {
    status.replaceChildren();
    try {
      await gql(REDELIVER, { id: delivery.id });
      announce(`Redelivery to ${delivery.target} queued`);
      await refresh(true);
    } catch (error) {
      status.replaceChildren(errorBox(error));
    }
  }

  async function refresh(force = false) {
    clearTimeout(timer);
    if (stopped || !owner) return;
    let data;
    try {
      data = await gql(TASK_ACTIVITY, { id, limit: ACTIVITY_LIMIT });
    } catch (error) {
      activity.replaceChildren(errorBox(error));
      return;
    }
    if (stopped) return;
    const serial = JSON.stringify(data);
    if (force || serial !== lastActivity) {
      lastActivity = serial;
      activity.replaceChildren(...activityView(data, redeliver));
      if (wasBusy && !isBusy(data)) {
        // The task itself may have moved (notify "once" completes it).
        task = (await gql(TASK, { id })).task;
        drawHead();
        drawToolbar();
      }
    }
    wasBusy = isBusy(data);
    if (wasBusy) timer = setTimeout(() => refresh(), POLL_MS);
  }

  drawHead();
  drawToolbar();
  if (owner) await refresh(true);
  else activity.append(h("p", { class: "muted" }, "History is shown to the task's owner only."));
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
