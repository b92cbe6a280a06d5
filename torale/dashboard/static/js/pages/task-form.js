// Create or edit a task. The schedule field previews the next five runs in the task's
// time zone as you type; errors from the server land beside the field they name.

import { gql } from "../api.js";
import { announce, clearFieldErrors, errorBox, field, h, newId, setFieldError } from "../dom.js";
import { CronError, isTimeZone, nextRuns, PRESETS } from "../cron.js";
import { label, norm, NOTIFY_BEHAVIORS, toApi } from "../enums.js";
import { inZone } from "../format.js";
import { CREATE_TASK, TASK, UPDATE_TASK } from "../operations.js";
import { go } from "../router.js";

const FIELDS = [
  "name",
  "search_query",
  "condition_description",
  "schedule",
  "timezone",
  "notify_behavior",
  "notifications",
  "is_public",
];

function browserZone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  } catch {
    return "UTC";
  }
}

function channelRow(channel, onRemove) {
  const type = norm(channel?.type) || "webhook";
  const typeId = newId("channel-type");
  const targetId = newId("channel-target");
  const typeSelect = h(
    "select",
    { id: typeId, class: "channel-type" },
    h("option", { value: "webhook", selected: type === "webhook" }, "Webhook"),
    h("option", { value: "email", selected: type === "email" }, "Email"),
  );
  const target = h("input", {
    id: targetId,
    class: "channel-target",
    type: "text",
    value: (type === "email" ? channel?.address : channel?.url) || "",
    placeholder: "https://example.com/hooks/torale or you@example.com",
    autocomplete: "off",
  });
  const row = h(
    "div",
    { class: "channel" },
    h("label", { for: typeId }, "Channel"),
    typeSelect,
    h("label", { for: targetId }, "Send to"),
    target,
    h("button", { type: "button", class: "link", onclick: () => onRemove(row) }, "Remove"),
  );
  row.original = channel || null;
  return row;
}

function readChannels(list) {
  const out = [];
  for (const row of list.querySelectorAll(".channel")) {
    const type = row.querySelector(".channel-type").value;
    const target = row.querySelector(".channel-target").value.trim();
    if (!target) continue;
    const original = row.original && norm(row.original.type) === type ? row.original : {};
    if (type === "email") out.push({ ...original, type, address: target });
    else out.push({ ...original, type, url: target });
  }
  return out;
}

export async function renderTaskForm(view, ctx) {
  const editing = Boolean(ctx.params.id);
  let task = null;
  if (editing) {
    task = (await gql(TASK, { id: ctx.params.id })).task;
  }
  view.append(h("h1", null, editing ? `Edit “${task.name}”` : "New task"));

  const zone = task?.timezone || browserZone();
  const controls = {
    name: h("input", { type: "text", maxlength: "200", value: task?.name || "" }),
    search_query: h("textarea", { rows: "2", required: true, minlength: "10", maxlength: "500" }),
    condition_description: h("textarea", {
      rows: "2",
      required: true,
      minlength: "10",
      maxlength: "500",
    }),
    schedule: h("input", {
      type: "text",
      required: true,
      value: task?.schedule || "0 9 * * *",
      spellcheck: "false",
      autocomplete: "off",
      class: "mono",
    }),
    timezone: h("input", {
      type: "text",
      required: true,
      value: zone,
      list: "timezones",
      autocomplete: "off",
    }),
    notify_behavior: h(
      "select",
      null,
      NOTIFY_BEHAVIORS.map((b) =>
        h(
          "option",
          { value: b, selected: b === (norm(task?.notify_behavior) || "once") },
          label(b),
        ),
      ),
    ),
    is_public: h("input", { type: "checkbox", checked: Boolean(task?.is_public) }),
  };
  controls.search_query.value = task?.search_query || "";
  controls.condition_description.value = task?.condition_description || "";

  const zones = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
  const datalist = h(
    "datalist",
    { id: "timezones" },
    ["UTC", ...zones].map((z) => h("option", { value: z })),
  );

  const presets = h(
    "select",
    {
      id: "schedule-preset",
      onchange: (e) => {
        if (!e.target.value) return;
        controls.schedule.value = e.target.value;
        e.target.value = "";
        updatePreview();
      },
    },
    h("option", { value: "" }, "Choose a common schedule…"),
    PRESETS.map((p) => h("option", { value: p.cron }, `${p.label} (${p.cron})`)),
  );

  const preview = h("div", { class: "cron-preview", id: "cron-preview", "aria-live": "polite" });
  let previewTimer = null;
  function updatePreview() {
    clearTimeout(previewTimer);
    previewTimer = setTimeout(() => {
      const cron = controls.schedule.value;
      const tz = controls.timezone.value.trim();
      preview.replaceChildren();
      if (!isTimeZone(tz)) {
        preview.append(h("p", { class: "muted" }, `Unknown time zone “${tz}”.`));
        return;
      }
      try {
        const runs = nextRuns(cron, tz, 5);
        preview.append(
          h("p", { class: "preview-title" }, `Next ${runs.length} runs (${tz})`),
          runs.length
            ? h(
                "ol",
                { class: "next-runs" },
                runs.map((d) => h("li", null, h("time", { datetime: d.toISOString() }, inZone(d, tz)))),
              )
            : h("p", { class: "muted" }, "This schedule never fires."),
        );
      } catch (error) {
        if (!(error instanceof CronError)) throw error;
        preview.append(h("p", { class: "muted" }, error.message));
      }
    }, 150);
  }
  controls.schedule.addEventListener("input", updatePreview);
  controls.timezone.addEventListener("input", updatePreview);

  const channelList = h("div", { class: "channels" });
  const removeRow = (row) => row.remove();
  for (const channel of task?.notifications || []) {
    channelList.append(channelRow(channel, removeRow));
  }
  const channelsError = h("p", {
    class: "field-error",
    id: "notifications-error",
    "data-error-for": "notifications",
  });
  channelsError.hidden = true;
  const channels = h(
    "fieldset",
    { class: "field", "data-field": "notifications", "aria-describedby": "notifications-error" },
    h("legend", null, "Notify when the condition is met"),
    channelList,
    h(
      "button",
      {
        type: "button",
        onclick: () => {
          const row = channelRow(null, removeRow);
          channelList.append(row);
          row.querySelector(".channel-target").focus();
        },
      },
      "Add channel",
    ),
    channelsError,
  );

  const runNow = h("input", { type: "checkbox", id: "run-immediately" });
  const formStatus = h("div", { class: "form-status", "aria-live": "assertive" });
  const form = h(
    "form",
    { class: "card task-form", novalidate: true },
    formStatus,
    field({
      label: "Name",
      name: "name",
      control: controls.name,
      hint: "Optional: made from the search query when empty.",
    }),
    field({
      label: "Search query",
      name: "search_query",
      control: controls.search_query,
      hint: "What to search the web for, e.g. “When is the next iPhone being released?”",
    }),
    field({
      label: "Condition",
      name: "condition_description",
      control: controls.condition_description,
      hint: "When you want to hear about it, e.g. “Apple has announced a release date”.",
    }),
    h(
      "div",
      { class: "row" },
      h(
        "div",
        { class: "grow" },
        field({
          label: "Schedule (cron)",
          name: "schedule",
          control: controls.schedule,
          hint: "minute hour day-of-month month day-of-week",
        }),
        h("label", { for: "schedule-preset", class: "sr-only" }, "Common schedules"),
        presets,
      ),
      h(
        "div",
        { class: "grow" },
        field({ label: "Time zone", name: "timezone", control: controls.timezone }),
        datalist,
      ),
    ),
    preview,
    field({ label: "Notify", name: "notify_behavior", control: controls.notify_behavior }),
    channels,
    h(
      "div",
      { class: "checks" },
      h(
        "div",
        { class: "field check", "data-field": "is_public" },
        controls.is_public,
        h("label", { for: (controls.is_public.id = newId("is-public")) }, "Public (others can view and fork it)"),
        h("p", { class: "field-error", "data-error-for": "is_public", hidden: true }),
      ),
      editing
        ? null
        : h(
            "div",
            { class: "field check" },
            runNow,
            h("label", { for: "run-immediately" }, "Run once right after creating it"),
          ),
    ),
    h(
      "div",
      { class: "actions" },
      h("button", { type: "submit", class: "primary" }, editing ? "Save changes" : "Create task"),
      h("a", { class: "button", href: editing ? `#/tasks/${task.id}` : "#/tasks" }, "Cancel"),
    ),
  );
  controls.is_public.name = "is_public";

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFieldErrors(form);
    formStatus.replaceChildren();
    const input = {
      name: controls.name.value.trim() || null,
      search_query: controls.search_query.value.trim(),
      condition_description: controls.condition_description.value.trim(),
      schedule: controls.schedule.value.trim(),
      timezone: controls.timezone.value.trim(),
      notify_behavior: toApi(controls.notify_behavior.value, "NotifyBehavior"),
      notifications: readChannels(channelList),
      is_public: controls.is_public.checked,
    };
    if (!editing) input.run_immediately = runNow.checked;
    if (editing && input.name === null) delete input.name;
    const submit = form.querySelector("button[type=submit]");
    submit.disabled = true;
    try {
      const data = editing
        ? await gql(UPDATE_TASK, { id: task.id, input })
        : await gql(CREATE_TASK, { input });
      const saved = editing ? data.update_task : data.create_task;
      announce(editing ? "Task saved" : `Task “${saved.name}” created`);
      go(`/tasks/${saved.id}`);
    } catch (error) {
      const byField = error.fieldErrors ? error.fieldErrors(FIELDS) : { "": error.message };
      let first = null;
      for (const [name, message] of Object.entries(byField)) {
        if (name && setFieldError(form, name, message)) {
          first = first || form.querySelector(`[data-field="${name}"] input, [data-field="${name}"] textarea, [data-field="${name}"] select`);
        } else {
          formStatus.append(errorBox({ message }));
        }
      }
      if (!Object.keys(byField).length) formStatus.append(errorBox(error));
      if (first) first.focus();
      else formStatus.focus?.();
    } finally {
      submit.disabled = false;
    }
  });

  view.append(form);
  updatePreview();
  return () => clearTimeout(previewTimer);
}
