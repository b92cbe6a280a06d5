// The credential lives in sessionStorage: it is gone when the browser tab closes, and it
// is never written anywhere else (no cookie, no localStorage).

const KEY = "torale.credential";

export function credential() {
  try {
    const raw = sessionStorage.getItem(KEY);
    if (!raw) return null;
    const value = JSON.parse(raw);
    if (value.expires_at && Date.now() >= value.expires_at) {
      sessionStorage.removeItem(KEY);
      return null;
    }
    return value;
  } catch {
    return null;
  }
}

// kind: "api_key" or "oidc"; expires_at: epoch ms, for tokens that expire.
export function saveCredential(kind, token, expiresAt = null) {
  sessionStorage.setItem(KEY, JSON.stringify({ kind, token, expires_at: expiresAt }));
}

export function forgetCredential() {
  sessionStorage.removeItem(KEY);
}
