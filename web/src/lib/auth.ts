// Sign-in as Mastodon apps do it: the app registers itself (POST /api/v1/apps), sends the
// person to the server's authorize page with PKCE (S256), exchanges the code for a token at
// /oauth/token, keeps the token in memory and IndexedDB (never in a URL, never logged), and
// revokes it on logout.

import { api, setToken } from "./api";
import { challengeFor, newState, newVerifier } from "./pkce";
import * as store from "./store";

export const SCOPES = "read write follow push";
const APP_KEY = "app";
const TOKEN_KEY = "token";
const PENDING_KEY = "signin";

interface RegisteredApp {
  client_id: string;
  client_secret: string;
  redirect_uri: string;
}

interface PendingSignIn {
  state: string;
  verifier: string;
}

export function redirectUri(): string {
  return `${location.origin}/callback`;
}

async function registeredApp(): Promise<RegisteredApp> {
  const known = await store.get<RegisteredApp>(APP_KEY);
  if (known && known.redirect_uri === redirectUri()) return known;
  const app = await api<RegisteredApp>("/api/v1/apps", {
    method: "POST",
    body: {
      client_name: "ConnectHub Web",
      redirect_uris: redirectUri(),
      scopes: SCOPES,
      website: location.origin,
    },
  });
  const saved = { client_id: app.client_id, client_secret: app.client_secret, redirect_uri: redirectUri() };
  await store.set(APP_KEY, saved);
  return saved;
}

/** The authorize page's URL, with a fresh state and PKCE challenge remembered for the callback. */
export async function authorizeUrl(): Promise<string> {
  const app = await registeredApp();
  const pending: PendingSignIn = { state: newState(), verifier: newVerifier() };
  await store.set(PENDING_KEY, pending);
  const query = new URLSearchParams({
    response_type: "code",
    client_id: app.client_id,
    redirect_uri: app.redirect_uri,
    scope: SCOPES,
    state: pending.state,
    code_challenge: await challengeFor(pending.verifier),
    code_challenge_method: "S256",
  });
  return `/oauth/authorize?${query.toString()}`;
}

/** Finishes a sign-in from the callback's query; false when it is not ours (wrong state). */
export async function completeSignIn(params: URLSearchParams): Promise<boolean> {
  const pending = await store.get<PendingSignIn>(PENDING_KEY);
  const app = await store.get<RegisteredApp>(APP_KEY);
  const code = params.get("code");
  await store.del(PENDING_KEY);
  if (!pending || !app || !code || params.get("state") !== pending.state) return false;
  const body = new URLSearchParams({
    grant_type: "authorization_code",
    code,
    client_id: app.client_id,
    client_secret: app.client_secret,
    redirect_uri: app.redirect_uri,
    code_verifier: pending.verifier,
  });
  const response = await fetch("/oauth/token", {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
    body,
  });
  if (!response.ok) return false;
  const { access_token } = (await response.json()) as { access_token: string };
  await store.set(TOKEN_KEY, access_token);
  setToken(access_token);
  return true;
}

/** The token kept from an earlier visit, if any. */
export async function restore(): Promise<boolean> {
  const token = await store.get<string>(TOKEN_KEY);
  setToken(token ?? null);
  return token !== undefined;
}

/** Revokes the token at the server, then forgets it and everything of the account here. */
export async function logout(token: string | null): Promise<void> {
  const app = await store.get<RegisteredApp>(APP_KEY);
  if (token && app) {
    await fetch("/oauth/revoke", {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token, client_id: app.client_id, client_secret: app.client_secret }),
    }).catch(() => undefined);
  }
  // The account's token, cached timelines, unsent posts and session go; the app's
  // registration and the chosen language stay.
  await store.clearExcept([APP_KEY, "locale"]);
  setToken(null);
}
