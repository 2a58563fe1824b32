import { describe, expect, it, vi } from "vitest";
import { currentToken } from "../src/lib/api";
import * as auth from "../src/lib/auth";
import { challengeFor } from "../src/lib/pkce";
import * as store from "../src/lib/store";

const APP = { client_id: "cid", client_secret: "csecret" };

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

describe("sign-in", () => {
  it("registers the app once and sends the person to authorize with an S256 challenge", async () => {
    const fetch = vi.fn(async () => json(APP));
    vi.stubGlobal("fetch", fetch);
    await auth.authorizeUrl();
    const url = new URL(await auth.authorizeUrl(), location.origin);

    expect(fetch).toHaveBeenCalledTimes(1);
    const [path, init] = fetch.mock.calls[0] as unknown as [string, RequestInit];
    expect(path).toBe("/api/v1/apps");
    expect(JSON.parse(String(init.body))).toMatchObject({ redirect_uris: `${location.origin}/callback`, scopes: auth.MODERATION_SCOPES });
    expect(url.pathname).toBe("/oauth/authorize");
    expect(url.searchParams.get("code_challenge_method")).toBe("S256");
    expect(url.searchParams.get("client_id")).toBe("cid");
    const pending = await store.get<{ state: string; verifier: string }>("signin");
    expect(url.searchParams.get("state")).toBe(pending?.state);
    expect(url.searchParams.get("code_challenge")).toBe(await challengeFor(pending!.verifier));
    expect(url.search).not.toContain(pending!.verifier);
  });

  it("exchanges the code with the verifier, and keeps the token out of the address", async () => {
    vi.stubGlobal("fetch", vi.fn(async () => json(APP)));
    const state = new URL(await auth.authorizeUrl(), location.origin).searchParams.get("state")!;
    const { verifier } = (await store.get<{ verifier: string }>("signin"))!;
    const fetch = vi.fn(async () => json({ access_token: "tok-123", token_type: "Bearer" }));
    vi.stubGlobal("fetch", fetch);

    expect(await auth.completeSignIn(new URLSearchParams({ code: "the-code", state }))).toBe(true);
    const [path, init] = fetch.mock.calls[0] as unknown as [string, RequestInit];
    expect(path).toBe("/oauth/token");
    const body = new URLSearchParams(String(init.body));
    expect(body.get("code_verifier")).toBe(verifier);
    expect(body.get("grant_type")).toBe("authorization_code");
    expect(currentToken()).toBe("tok-123");
    expect(await store.get("token")).toBe("tok-123");
    expect(location.href).not.toContain("tok-123");
    expect(await store.get("signin")).toBeUndefined(); // a code is exchanged once
  });

  it("refuses a callback whose state is not the one it sent", async () => {
    vi.stubGlobal("fetch", vi.fn(async () => json(APP)));
    await auth.authorizeUrl();
    const fetch = vi.fn(async () => json({ access_token: "evil" }));
    vi.stubGlobal("fetch", fetch);
    expect(await auth.completeSignIn(new URLSearchParams({ code: "x", state: "forged" }))).toBe(false);
    expect(fetch).not.toHaveBeenCalled();
    expect(currentToken()).not.toBe("evil");
  });

  it("logout revokes the token at the server and forgets it", async () => {
    vi.stubGlobal("fetch", vi.fn(async () => json(APP)));
    await auth.authorizeUrl();
    await store.set("token", "tok-9");
    await store.set("cache:home", [{ id: "1" }]);
    await store.set("outbox", [{ key: "k", draft: { status: "unsent" } }]);
    await store.set("locale", "id");
    expect(await auth.restore()).toBe(true);
    const fetch = vi.fn(async () => json({}));
    vi.stubGlobal("fetch", fetch);

    await auth.logout(currentToken());
    const [path, init] = fetch.mock.calls[0] as unknown as [string, RequestInit];
    expect(path).toBe("/oauth/revoke");
    expect(new URLSearchParams(String(init.body)).get("token")).toBe("tok-9");
    expect(currentToken()).toBeNull();
    expect(await store.get("token")).toBeUndefined();
    expect(await auth.restore()).toBe(false);
    // The account's cache and unsent posts go with it; the app and the language stay.
    expect(await store.get("cache:home")).toBeUndefined();
    expect(await store.get("outbox")).toBeUndefined();
    expect(await store.get("locale")).toBe("id");
    expect(await store.get("app")).toMatchObject({ client_id: "cid" });
  });
});
