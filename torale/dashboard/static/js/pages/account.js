// The caller's API keys (a new key is shown once) and webhook signing secret.

import { gql } from "../api.js";
import { announce, errorBox, field, h } from "../dom.js";
import { badge, time } from "../format.js";
import {
  API_KEYS,
  CREATE_API_KEY,
  REVOKE_API_KEY,
  ROTATE_WEBHOOK_SECRET,
  TEST_WEBHOOK,
  WEBHOOK_SECRET,
} from "../operations.js";

function copyButton(text, what) {
  return h(
    "button",
    {
      type: "button",
      onclick: async () => {
        try {
          await navigator.clipboard.writeText(text);
          announce(`${what} copied`);
        } catch {
          announce("Copying is not allowed here: select the text instead", "error");
        }
      },
    },
    `Copy ${what.toLowerCase()}`,
  );
}

async function keysSection(ctx) {
  const list = h("div");
  const status = h("div", { "aria-live": "polite" });
  const revealed = h("div", { "aria-live": "polite" });

  async function load() {
    const data = await gql(API_KEYS, { page: 1, limit: 100 });
    const items = data.api_keys.items;
    list.replaceChildren(
      items.length
        ? h(
            "table",
            { class: "cards", "aria-label": "API keys" },
            h(
              "thead",
              null,
              h("tr", null, ["Name", "Key", "State", "Created", "Last used", "Actions"].map((c) => h("th", { scope: "col" }, c))),
            ),
            h(
              "tbody",
              null,
              items.map((k) =>
                h(
                  "tr",
                  { "data-key-id": k.id },
                  h("td", { "data-label": "Name" }, k.name),
                  h("td", { "data-label": "Key" }, h("code", null, k.key_prefix)),
                  h("td", { "data-label": "State" }, badge(k.state)),
                  h("td", { "data-label": "Created" }, time(k.created_at)),
                  h("td", { "data-label": "Last used" }, time(k.last_used_at)),
                  h(
                    "td",
                    { "data-label": "Actions" },
                    k.state.toLowerCase() === "active"
                      ? h(
                          "button",
                          {
                            type: "button",
                            class: "danger",
                            "aria-label": `Revoke key ${k.name}`,
                            onclick: async () => {
                              status.replaceChildren();
                              try {
                                await gql(REVOKE_API_KEY, { id: k.id });
                                announce(`Key “${k.name}” revoked`);
                                await load();
                              } catch (error) {
                                status.replaceChildren(errorBox(error));
                              }
                            },
                          },
                          "Revoke",
                        )
                      : null,
                  ),
                ),
              ),
            ),
          )
        : h("p", { class: "empty" }, "No keys."),
    );
  }

  const nameInput = h("input", { type: "text", required: true, maxlength: "100", placeholder: "laptop" });
  const form = h(
    "form",
    {
      class: "inline-form",
      onsubmit: async (event) => {
        event.preventDefault();
        status.replaceChildren();
        revealed.replaceChildren();
        try {
          const created = (await gql(CREATE_API_KEY, { input: { name: nameInput.value.trim() } }))
            .create_api_key;
          nameInput.value = "";
          revealed.append(
            h(
              "div",
              { class: "alert success reveal" },
              h("p", null, h("strong", null, `Key “${created.name}” created. `), "Copy it now: it is not shown again."),
              h("code", { class: "secret", "data-new-key": "" }, created.key),
              " ",
              copyButton(created.key, "Key"),
            ),
          );
          await load();
        } catch (error) {
          status.replaceChildren(errorBox(error));
        }
      },
    },
    field({ label: "New key name", name: "key_name", control: nameInput }),
    h("button", { type: "submit", class: "primary" }, "Create key"),
  );
  await load();
  return h("section", { "aria-labelledby": "h-keys" }, h("h2", { id: "h-keys" }, "API keys"), revealed, form, status, list);
}

async function secretSection() {
  const box = h("div");
  const status = h("div", { "aria-live": "polite" });

  function draw(secret) {
    const value = h("code", { class: "secret masked", "data-secret": "" }, "whsec_" + "•".repeat(24));
    let shown = false;
    const toggle = h(
      "button",
      {
        type: "button",
        "aria-pressed": "false",
        onclick: () => {
          shown = !shown;
          value.textContent = shown ? secret.secret : "whsec_" + "•".repeat(24);
          value.classList.toggle("masked", !shown);
          toggle.setAttribute("aria-pressed", String(shown));
          toggle.textContent = shown ? "Hide" : "Show";
        },
      },
      "Show",
    );
    box.replaceChildren(
      h("p", null, "Webhooks are signed per Standard Webhooks with this secret."),
      h("p", null, value, " ", toggle, " ", copyButton(secret.secret, "Secret")),
      h(
        "dl",
        { class: "details" },
        h("dt", null, "Created"),
        h("dd", null, time(secret.created_at)),
        h("dt", null, "Rotated"),
        h("dd", null, time(secret.rotated_at)),
        secret.previous_valid_until ? h("dt", null, "Old secret signs until") : null,
        secret.previous_valid_until ? h("dd", null, time(secret.previous_valid_until)) : null,
      ),
    );
  }

  const confirm = h(
    "span",
    { class: "confirm", hidden: true },
    "Receivers must switch to the new secret before the old one stops signing. ",
    h(
      "button",
      {
        type: "button",
        class: "danger",
        onclick: async () => {
          status.replaceChildren();
          try {
            draw((await gql(ROTATE_WEBHOOK_SECRET)).rotate_webhook_secret);
            confirm.hidden = true;
            announce("Webhook secret rotated");
          } catch (error) {
            status.replaceChildren(errorBox(error));
          }
        },
      },
      "Rotate now",
    ),
  );
  const rotate = h(
    "button",
    {
      type: "button",
      onclick: () => {
        confirm.hidden = false;
        confirm.querySelector("button").focus();
      },
    },
    "Rotate secret",
  );

  const urlInput = h("input", { type: "url", required: true, placeholder: "https://example.com/hooks/torale" });
  const testResult = h("div", { "aria-live": "polite" });
  const testForm = h(
    "form",
    {
      class: "inline-form",
      onsubmit: async (event) => {
        event.preventDefault();
        testResult.replaceChildren();
        try {
          const r = (await gql(TEST_WEBHOOK, { url: urlInput.value.trim() })).test_webhook;
          testResult.append(
            h(
              "p",
              { class: r.success ? "alert success" : "alert error" },
              r.success ? "Delivered" : "Not delivered",
              r.status_code ? ` (HTTP ${r.status_code})` : "",
              r.error ? `: ${r.error}` : "",
              ` in ${r.duration_ms} ms`,
            ),
          );
        } catch (error) {
          testResult.append(errorBox(error));
        }
      },
    },
    field({ label: "Send a test event to", name: "test_url", control: urlInput }),
    h("button", { type: "submit" }, "Send test"),
  );

  try {
    draw((await gql(WEBHOOK_SECRET)).webhook_secret);
  } catch (error) {
    box.append(errorBox(error));
  }
  return h(
    "section",
    { "aria-labelledby": "h-secret" },
    h("h2", { id: "h-secret" }, "Webhook signing secret"),
    box,
    h("p", null, rotate, " ", confirm),
    status,
    testForm,
    testResult,
  );
}

export async function renderAccount(view, ctx) {
  view.append(
    h("h1", null, "Account"),
    h(
      "dl",
      { class: "details card" },
      h("dt", null, "Email"),
      h("dd", null, ctx.me.email),
      h("dt", null, "Role"),
      h("dd", null, ctx.me.role.toLowerCase()),
      h("dt", null, "Member since"),
      h("dd", null, time(ctx.me.created_at)),
    ),
  );
  view.append(await keysSection(ctx), await secretSection());
}
