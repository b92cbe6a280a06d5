// Closed sets as the dashboard knows them, whichever way the schema spells them:
// values from the server are compared and shown lower-case, values sent go out as
// the schema's type wants (see ENUMS in operations.js).

import { ENUMS } from "./operations.js";

export const TASK_STATES = ["active", "paused", "completed"];
export const NOTIFY_BEHAVIORS = ["once", "always", "track_state"];
export const RUNNING = new Set(["pending", "running"]);

export function norm(value) {
  return value === null || value === undefined ? value : String(value).toLowerCase();
}

// kind: "TaskState" or "NotifyBehavior".
export function toApi(value, kind) {
  if (value === null || value === undefined) return value;
  return ENUMS[kind] ? String(value).toUpperCase() : String(value).toLowerCase();
}

const LABELS = {
  track_state: "track state",
  once: "once (then complete)",
  always: "always",
};

export function label(value) {
  const v = norm(value);
  return LABELS[v] || (v ? v.replaceAll("_", " ") : "");
}
