// Where the app lives among the server's own addresses (ADR 0054). The app is served at
// the root; these first path segments are the server's pages and APIs: links to them are
// followed as links (never routed inside the app), and the service worker leaves their
// navigations to the network. Keep in step with the server (tests/web/test_app_shell.py
// checks every server route's first segment is here, or is shared with a public page).
export const SERVER_SEGMENTS = [
  "api", "auth", "oauth", ".well-known", "about", "static", "health", "metrics", "nodeinfo",
  "users", "web", "system", "docs", "redoc", "openapi.json", "favicon.ico", "robots.txt",
  "privacy-policy", "terms-of-service",
] as const;

const escaped = SERVER_SEGMENTS.map((segment) => segment.replace(/[.]/g, "\\.")).join("|");

/** A path (with its query) that is one of the server's own addresses. */
export const SERVER_PATH = new RegExp(`^/(?:${escaped})(?:[/?#]|$)`);

/** The router's scope: every path of this origin but the server's. */
export const APP_SCOPE = new RegExp(`^/(?!(?:${escaped})(?:[/?#]|$))`);

/** The addresses a public page shares with the app (`/@user`, `/@user/:id`, `/tags/:tag`):
 * the server answers them with the app's shell only while the app's cookie says it holds a
 * session, so the app never shows them signed out. */
export const SHARED_WITH_PUBLIC_PAGES = /^\/(?:@|tags\/)/;

/** The hint the server reads to answer `/` and the public pages with the app (not a secret:
 * the token stays in IndexedDB). */
export const APP_COOKIE = "connecthub_app";

export function markSignedIn(signedIn: boolean): void {
  const secure = location.protocol === "https:" ? "; Secure" : "";
  document.cookie = signedIn
    ? `${APP_COOKIE}=1; Path=/; Max-Age=31536000; SameSite=Lax${secure}`
    : `${APP_COOKIE}=; Path=/; Max-Age=0; SameSite=Lax${secure}`;
}

export function hasAppCookie(): boolean {
  return document.cookie.split(/;\s*/).includes(`${APP_COOKIE}=1`);
}
