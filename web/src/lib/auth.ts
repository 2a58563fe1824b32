// Sign-in as Mastodon apps do it: the app registers itself (POST /api/v1/apps), sends the
// person to the server's authorize page with PKCE (S256), exchanges the code for a token at
// /oauth/token, keeps the token in memory and IndexedDB (never in a URL, never logged), and
// revokes it on logout.

import { api, setToken } from "./api";
import { challengeFor, newState, newVerifier } from "./pkce";
import * as store from "./store";

export const SCOPES = "read write follow push";
/** What a moderator grants the app to open the moderation screens (asked for only then). */
export const MODERATION_SCOPES = `${SCOPES} admin:read admin:write`;
const APP_KEY = "app";
const TOKEN_KEY = "token";
const PENDING_KEY = "signin";
const SCOPES_KEY = "scopes";

interface RegisteredApp {
  client_id: string;
  client_secret: string;
  redirect_uri: string;
  /** The scopes it registered with (an app registered before moderation was added has fewer). */
  scopes?: string;
}

interface PendingSignIn {
  state: string;
  verifier: string;
  /** Where the app goes once signed in (an address of the app); home when absent. */
  returnTo?: string;
}

export function redirectUri(): string {
  return `${location.origin}/callback`;
}

async function registeredApp(): Promise<RegisteredApp> {
  const known = await store.get<RegisteredApp>(APP_KEY);
  if (known && known.redirect_uri === redirectUri() && known.scopes === MODERATION_SCOPES) return known;
  const app = await api<RegisteredApp>("/api/v1/apps", {
    method: "POST",
    body: {
      client_name: "ConnectHub Web",
      redirect_uris: redirectUri(),
      scopes: MODERATION_SCOPES,
      website: location.origin,
    },
  });
  const saved = {
    client_id: app.client_id,
    client_secret: app.client_secret,
    redirect_uri: redirectUri(),
    scopes: MODERATION_SCOPES,
  };
  await store.set(APP_KEY, saved);
  return saved;
}

/** The authorize page's URL, with a fresh state and PKCE challenge remembered for the callback. */
export async function authorizeUrl(scope: string = SCOPES, returnTo?: string): Promise<string> {
  const app = await registeredApp();
  const pending: PendingSignIn = { state: newState(), verifier: newVerifier(), returnTo };
  await store.set(PENDING_KEY, pending);
  const query = new URLSearchParams({
    response_type: "code",
    client_id: app.client_id,
    redirect_uri: app.redirect_uri,
    scope,
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
  const { access_token, scope } = (await response.json()) as { access_token: string; scope?: string };
  const previous = await store.get<string>(TOKEN_KEY);
  await store.set(TOKEN_KEY, access_token);
  await store.set(SCOPES_KEY, scope ?? SCOPES);
  setToken(access_token);
  // Signing in again (a moderator granting the moderation scopes): the old token goes.
  if (previous && previous !== access_token) await revoke(previous, app);
  // Back where the sign-in was asked for (the moderation screens), only ever within the app.
  if (pending.returnTo?.startsWith("/")) history.replaceState(null, "", pending.returnTo);
  return true;
}

/** The token kept from an earlier visit, if any. */
export async function restore(): Promise<boolean> {
  const token = await store.get<string>(TOKEN_KEY);
  setToken(token ?? null);
  return token !== undefined;
}

/** Revokes the token at the server, then forgets it and everything of the account here. */
async function revoke(token: string, app: RegisteredApp): Promise<void> {
  await fetch("/oauth/revoke", {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token, client_id: app.client_id, client_secret: app.client_secret }),
  }).catch(() => undefined);
}

/** The scopes the current token was granted. */
export async function grantedScopes(): Promise<string[]> {
  return ((await store.get<string>(SCOPES_KEY)) ?? SCOPES).split(/\s+/);
}

export async function logout(token: string | null): Promise<void> {
  const app = await store.get<RegisteredApp>(APP_KEY);
  if (token && app) await revoke(token, app);
  // The account's token, cached timelines, unsent posts and session go; the app's
  // registration and the chosen language stay.
  await store.clearExcept([APP_KEY, "locale"]);
  setToken(null);
}
