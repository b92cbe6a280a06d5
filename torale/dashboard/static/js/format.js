// Dates and small badges, shown in the viewer's locale.

import { h } from "./dom.js";
import { label, norm } from "./enums.js";

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

export function when(value) {
  if (!value) return "—";
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : dateTime.format(date);
}

// A <time> element: readable text, machine-readable datetime attribute.
export function time(value) {
  if (!value) return h("span", { class: "muted" }, "—");
  const iso = value instanceof Date ? value.toISOString() : value;
  return h("time", { datetime: iso, title: iso }, when(value));
}

export function inZone(date, zone) {
  return new Intl.DateTimeFormat(undefined, {
    timeZone: zone,
    weekday: "short",
    year: "numeric",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    timeZoneName: "short",
  }).format(date);
}

// A coloured word; colour is never the only signal (the word is always there).
export function badge(value, extra = "") {
  const v = norm(value) || "unknown";
  return h("span", { class: `badge badge-${v.replace(/[^a-z_]/g, "")} ${extra}` }, label(v));
}

export function duration(ms) {
  if (ms === null || ms === undefined) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(1)} s`;
}
