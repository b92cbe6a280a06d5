// OIDC sign-in for a public client: authorization code with PKCE (RFC 7636), no secret.
// The verifier and state wait in sessionStorage during the round trip to the provider;
// the ID token it returns is the bearer token (its audience is our client id, which
// TORALE_JWT_AUDIENCE names), kept in sessionStorage like an API key.

import { gql } from "./api.js";
import { SYNC_USER } from "./operations.js";
import { saveCredential } from "./session.js";

const PENDING = "torale.oidc.pending";

function base64url(bytes) {
  let text = "";
  for (const byte of new Uint8Array(bytes)) text += String.fromCharCode(byte);
  return btoa(text).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function randomString(size = 32) {
  return base64url(crypto.getRandomValues(new Uint8Array(size)));
}

async function discover(issuer) {
  const response = await fetch(`${issuer}/.well-known/openid-configuration`);
  if (!response.ok) throw new Error(`The identity provider answered ${response.status}`);
  return response.json();
}

function redirectUri() {
  return `${location.origin}${location.pathname}`;
}

export async function beginOidcSignIn(oidc, next = "/tasks") {
  const metadata = await discover(oidc.issuer);
  const verifier = randomString(48);
  const challenge = base64url(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)),
  );
  const pending = {
    verifier,
    state: randomString(),
    nonce: randomString(),
    token_endpoint: metadata.token_endpoint,
    next,
  };
  sessionStorage.setItem(PENDING, JSON.stringify(pending));
  const url = new URL(metadata.authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: "code",
    client_id: oidc.client_id,
    redirect_uri: redirectUri(),
    scope: oidc.scope,
    state: pending.state,
    nonce: pending.nonce,
    code_challenge: challenge,
    code_challenge_method: "S256",
  }).toString();
  location.assign(url.toString());
}

export function isOidcCallback() {
  const params = new URLSearchParams(location.search);
  return params.has("state") && (params.has("code") || params.has("error"));
}

function claims(jwt) {
  const payload = jwt.split(".")[1] || "";
  const json = atob(payload.replaceAll("-", "+").replaceAll("_", "/"));
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(json, (c) => c.charCodeAt(0))));
}

export async function completeOidcSignIn(oidc) {
  const params = new URLSearchParams(location.search);
  const pending = JSON.parse(sessionStorage.getItem(PENDING) || "null");
  sessionStorage.removeItem(PENDING);
  if (params.has("error")) {
    throw new Error(params.get("error_description") || params.get("error"));
  }
  if (!oidc || !pending || pending.state !== params.get("state")) {
    throw new Error("This sign-in response does not match a sign-in started here");
  }
  const response = await fetch(pending.token_endpoint, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      code: params.get("code"),
      redirect_uri: redirectUri(),
      client_id: oidc.client_id,
      code_verifier: pending.verifier,
    }),
  });
  const tokens = await response.json().catch(() => ({}));
  if (!response.ok || !tokens.id_token) {
    throw new Error(tokens.error_description || tokens.error || "No ID token was returned");
  }
  const idClaims = claims(tokens.id_token);
  if (idClaims.nonce !== pending.nonce) throw new Error("The ID token's nonce does not match");
  // The API checks signature, issuer, audience and expiry; syncing creates or links the
  // user on first sign-in (it refuses an unverified email).
  await gql(SYNC_USER, {}, { token: tokens.id_token });
  saveCredential("oidc", tokens.id_token, idClaims.exp ? idClaims.exp * 1000 : null);
  history.replaceState(null, "", `${location.pathname}#${pending.next || "/tasks"}`);
}
