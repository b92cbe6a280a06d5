import { gql } from "../api.js";
import { errorBox, field, h } from "../dom.js";
import { beginOidcSignIn } from "../oidc.js";
import { ME } from "../operations.js";
import { saveCredential } from "../session.js";

export async function renderSignIn(view, ctx) {
  const keyInput = h("input", {
    type: "password",
    autocomplete: "off",
    spellcheck: "false",
    required: true,
    placeholder: "sk_…",
  });
  const status = h("div", { "aria-live": "polite" });
  const form = h(
    "form",
    {
      class: "card narrow",
      onsubmit: async (event) => {
        event.preventDefault();
        status.replaceChildren();
        const key = keyInput.value.trim();
        try {
          // Checked before it is kept: a wrong key never lands in sessionStorage.
          await gql(ME, {}, { token: key });
          saveCredential("api_key", key);
          await ctx.onSignedIn();
        } catch (error) {
          status.append(errorBox(error));
          keyInput.setAttribute("aria-invalid", "true");
          keyInput.focus();
        }
      },
    },
    field({
      label: "API key",
      name: "api_key",
      control: keyInput,
      hint: "Kept in this browser tab only, until you close it or sign out.",
    }),
    h("button", { type: "submit", class: "primary" }, "Sign in"),
    status,
  );
  view.append(h("h1", null, "Sign in"), form);
  if (ctx.config.oidc) {
    const oidcStatus = h("div", { "aria-live": "polite" });
    view.append(
      h(
        "div",
        { class: "card narrow" },
        h("p", null, "Or use your organisation's identity provider."),
        h(
          "button",
          {
            type: "button",
            onclick: async () => {
              try {
                await beginOidcSignIn(ctx.config.oidc, ctx.query.get("next") || "/tasks");
              } catch (error) {
                oidcStatus.replaceChildren(errorBox(error));
              }
            },
          },
          "Sign in with single sign-on",
        ),
        oidcStatus,
      ),
    );
  }
}
