// Five-field cron, read the way the server reads it (torale/scheduling/cron.py, which
// follows Temporal): every field must match, so a day-of-month *and* a day-of-week
// restriction mean "both"; times are wall-clock times in the task's time zone, and a
// wall time skipped by a DST change does not fire. Used for the form's preview of the
// next runs; the server stays the judge of what it accepts.

const FIELDS = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day of month", min: 1, max: 31 },
  {
    name: "month",
    min: 1,
    max: 12,
    names: ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
  },
  { name: "day of week", min: 0, max: 7, names: ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] },
];

const ITEM = /^(\*|([0-9]+|[a-z]{3})(?:-([0-9]+|[a-z]{3}))?)(?:\/([0-9]+))?$/i;

export class CronError extends Error {}

function valueOf(token, spec) {
  if (/^[0-9]+$/.test(token)) return Number(token);
  const index = (spec.names || []).indexOf(token.toLowerCase());
  if (index < 0) throw new CronError(`Unknown ${spec.name} name "${token}"`);
  return index + (spec.name === "month" ? 1 : 0);
}

function parseField(text, spec) {
  const allowed = new Set();
  for (const item of text.split(",")) {
    const match = ITEM.exec(item);
    if (!match) throw new CronError(`Cannot read "${item}" in the ${spec.name} field`);
    const [, whole, startToken, endToken, stepToken] = match;
    let start = spec.min;
    let end = spec.max;
    if (whole !== "*") {
      start = valueOf(startToken, spec);
      end = endToken !== undefined ? valueOf(endToken, spec) : stepToken ? spec.max : start;
    }
    const step = stepToken ? Number(stepToken) : 1;
    if (step < 1) throw new CronError(`A step must be at least 1 in the ${spec.name} field`);
    if (start < spec.min || end > spec.max || start > end) {
      throw new CronError(
        `${spec.name[0].toUpperCase()}${spec.name.slice(1)} must be ${spec.min}-${spec.max}` +
          (start > end ? " in ascending ranges" : ""),
      );
    }
    for (let v = start; v <= end; v += step) allowed.add(v);
  }
  if (spec.name === "day of week" && allowed.has(7)) allowed.add(0); // 7 is Sunday too
  return allowed;
}

export function parseCron(expression) {
  const parts = String(expression || "").trim().split(/\s+/).filter(Boolean);
  if (parts.length !== 5) {
    throw new CronError("A schedule has 5 fields: minute hour day-of-month month day-of-week");
  }
  const [minute, hour, dom, month, dow] = parts.map((p, i) => parseField(p, FIELDS[i]));
  return { minute, hour, dom, month, dow };
}

const WEEKDAY = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };
const formatters = new Map();

function wallClock(zone) {
  if (!formatters.has(zone)) {
    // Throws RangeError for an unknown zone: callers report it.
    formatters.set(
      zone,
      new Intl.DateTimeFormat("en-US", {
        timeZone: zone,
        hourCycle: "h23",
        year: "numeric",
        month: "numeric",
        day: "numeric",
        hour: "numeric",
        minute: "numeric",
        weekday: "short",
      }),
    );
  }
  const format = formatters.get(zone);
  return (ms) => {
    const out = {};
    for (const part of format.formatToParts(ms)) out[part.type] = part.value;
    return {
      year: Number(out.year),
      month: Number(out.month),
      day: Number(out.day),
      hour: Number(out.hour) % 24,
      minute: Number(out.minute),
      weekday: WEEKDAY[out.weekday],
    };
  };
}

export function isTimeZone(zone) {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return Boolean(zone);
  } catch {
    return false;
  }
}

const MINUTE = 60_000;

// The next `count` fire times strictly after `after` (a Date), as Dates.
export function nextRuns(expression, zone, count = 5, after = new Date()) {
  const cron = parseCron(expression);
  if (!isTimeZone(zone)) throw new CronError(`Unknown time zone "${zone}"`);
  const wall = wallClock(zone);
  const runs = [];
  const seen = new Set(); // wall times already fired: the hour DST repeats fires once
  let t = Math.floor(after.getTime() / MINUTE) * MINUTE + MINUTE;
  // Skip ahead when the day or hour does not match, but never a whole day at once (a
  // day is 23 or 25 hours long when DST changes): to late evening, then by hours. About
  // 3 steps a day, so the bound covers 200 years: enough for any expression that fires.
  for (let steps = 0; runs.length < count && steps < 250_000; steps += 1) {
    const w = wall(t);
    const dayMatches = cron.month.has(w.month) && cron.dom.has(w.day) && cron.dow.has(w.weekday);
    if (!cron.month.has(w.month) && w.day < 26) {
      t += ((26 - w.day) * 24 - 2) * 60 * MINUTE; // most of the month, DST cannot matter
    } else if (!dayMatches && w.hour < 21) {
      t += ((21 - w.hour) * 60 + (60 - w.minute)) * MINUTE; // to 22:00, give or take DST
    } else if (!dayMatches || !cron.hour.has(w.hour)) {
      t += (60 - w.minute) * MINUTE;
    } else if (!cron.minute.has(w.minute)) {
      t += MINUTE;
    } else {
      const key = `${w.year}-${w.month}-${w.day}-${w.hour}-${w.minute}`;
      if (!seen.has(key)) runs.push(new Date(t));
      seen.add(key);
      t += MINUTE;
    }
  }
  return runs;
}

export const PRESETS = [
  { label: "Every hour", cron: "0 * * * *" },
  { label: "Every day at 09:00", cron: "0 9 * * *" },
  { label: "Weekdays at 09:00", cron: "0 9 * * 1-5" },
  { label: "Every Monday at 08:00", cron: "0 8 * * 1" },
  { label: "First of the month at 09:00", cron: "0 9 1 * *" },
];
