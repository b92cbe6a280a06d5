// The one door to the server: POST /graphql with the session's credential.

import { credential } from "./session.js";

export class GraphQLError extends Error {
  constructor(errors, status) {
    super(errors.map((e) => e.message).join("; ") || `Request failed (HTTP ${status})`);
    this.errors = errors;
    this.status = status;
    this.code = errors[0]?.extensions?.code || null;
  }

  // {field: message} from VALIDATION errors: extensions.detail = [{loc, msg}]. A `loc`
  // is a path like ["body", "schedule"] or ["body", "notifications", 0, "url"]; the
  // first part that names one of `fields` wins, the rest go under "" (the whole form).
  fieldErrors(fields = []) {
    const out = {};
    for (const error of this.errors) {
      const details = error.extensions?.detail;
      if (!Array.isArray(details)) {
        out[""] = out[""] || error.message;
        continue;
      }
      for (const item of details) {
        const loc = Array.isArray(item.loc) ? item.loc : [];
        const name = loc.find((part) => fields.includes(part)) ?? "";
        const where = name ? "" : loc.filter((p) => p !== "body").join(".");
        const text = where ? `${where}: ${item.msg}` : item.msg;
        out[name] = out[name] ? `${out[name]}; ${text}` : text;
      }
    }
    return out;
  }
}

// Listeners told when the server refuses the credential (the app goes to sign-in).
const unauthenticatedListeners = new Set();
export function onUnauthenticated(listener) {
  unauthenticatedListeners.add(listener);
}

export async function gql(query, variables = {}, { token } = {}) {
  const headers = { "Content-Type": "application/json", Accept: "application/json" };
  const bearer = token ?? credential()?.token;
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  let response;
  try {
    response = await fetch("/graphql", {
      method: "POST",
      headers,
      body: JSON.stringify({ query, variables }),
    });
  } catch (cause) {
    throw new GraphQLError([{ message: `Cannot reach the server (${cause.message})` }], 0);
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  const errors = body?.errors || (response.ok ? [] : [{ message: `HTTP ${response.status}` }]);
  if (errors.length) {
    const error = new GraphQLError(errors, response.status);
    if (error.code === "UNAUTHENTICATED" && !token) {
      for (const listener of unauthenticatedListeners) listener(error);
    }
    throw error;
  }
  return body.data;
}
