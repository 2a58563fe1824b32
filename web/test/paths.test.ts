import { describe, expect, it } from "vitest";
import { APP_SCOPE, SERVER_PATH, SHARED_WITH_PUBLIC_PAGES, hasAppCookie, markSignedIn } from "../src/lib/paths";

describe("the app's addresses among the server's", () => {
  it("routes the app's own paths and leaves the server's to the browser", () => {
    for (const path of ["/", "/local", "/notifications", "/@alice", "/@alice/123", "/tags/kopi", "/statuses/1", "/settings?x=1", "/login", "/callback?code=x", "/apis", "/authors"]) {
      expect(APP_SCOPE.test(path), path).toBe(true);
      expect(SERVER_PATH.test(path), path).toBe(false);
    }
    for (const path of ["/api/v1/instance", "/auth/sign_up", "/oauth/authorize?x=1", "/about", "/.well-known/webfinger", "/health/live", "/web/", "/web", "/privacy-policy", "/static/site.css", "/favicon.ico"]) {
      expect(APP_SCOPE.test(path), path).toBe(false);
      expect(SERVER_PATH.test(path), path).toBe(true);
    }
  });

  it("knows which addresses a public page shares with the app", () => {
    expect(SHARED_WITH_PUBLIC_PAGES.test("/@alice")).toBe(true);
    expect(SHARED_WITH_PUBLIC_PAGES.test("/@alice/1")).toBe(true);
    expect(SHARED_WITH_PUBLIC_PAGES.test("/tags/kopi")).toBe(true);
    expect(SHARED_WITH_PUBLIC_PAGES.test("/local")).toBe(false);
    expect(SHARED_WITH_PUBLIC_PAGES.test("/tagsx")).toBe(false);
  });

  it("sets and clears the cookie the server reads", () => {
    markSignedIn(true);
    expect(hasAppCookie()).toBe(true);
    expect(document.cookie).toContain("connecthub_app=1");
    markSignedIn(false);
    expect(hasAppCookie()).toBe(false);
  });
});
