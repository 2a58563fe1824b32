import { describe, expect, it, vi } from "vitest";
import { currentToken, type Account } from "../src/lib/api";
import * as auth from "../src/lib/auth";
import { hasPermission, isModerator, PERMISSION } from "../src/lib/entities";
import * as store from "../src/lib/store";

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

const me = (permissions?: string) => ({ id: "1", role: permissions === undefined ? undefined : { id: "1", name: "r", permissions } }) as Account;

describe("moderator role", () => {
  it("reads Mastodon's permission bits from their decimal string", () => {
    expect(hasPermission(String(PERMISSION.manageUsers), PERMISSION.manageUsers)).toBe(true);
    expect(hasPermission(String(PERMISSION.manageReports), PERMISSION.manageUsers)).toBe(false);
    // Administrators may do everything.
    expect(hasPermission("1", PERMISSION.manageReports)).toBe(true);
    // Bits above 32 do not wrap around (the string is read as a BigInt).
    expect(hasPermission(String(2 ** 40), PERMISSION.administrator)).toBe(false);
    expect(hasPermission("not a number", PERMISSION.manageUsers)).toBe(false);
    expect(hasPermission(undefined, PERMISSION.manageUsers)).toBe(false);
  });

  it("opens the moderation screens to those who manage users or reports only", () => {
    expect(isModerator(me())).toBe(false);
    expect(isModerator(me("65536"))).toBe(false); // invite users: everyone's
    expect(isModerator(me(String(PERMISSION.manageReports | 65536)))).toBe(true);
    expect(isModerator(me(String(PERMISSION.manageUsers)))).toBe(true);
  });
});

describe("moderation scopes", () => {
  it("asks for them only when a moderator grants them, and replaces the old token", async () => {
    vi.stubGlobal("fetch", vi.fn(async () => json({ client_id: "cid", client_secret: "cs" })));
    const plain = new URL(await auth.authorizeUrl(), location.origin);
    expect(plain.searchParams.get("scope")).toBe("read write follow push");
    await auth.completeSignIn(new URLSearchParams({ code: "c1", state: plain.searchParams.get("state")! }));

    vi.stubGlobal("fetch", vi.fn(async () => json({ access_token: "first", scope: "read write follow push" })));
    const again = new URL(await auth.authorizeUrl(), location.origin);
    await auth.completeSignIn(new URLSearchParams({ code: "c1", state: again.searchParams.get("state")! }));
    expect(currentToken()).toBe("first");
    expect(await auth.grantedScopes()).not.toContain("admin:read");

    const upgrade = new URL(await auth.authorizeUrl(auth.MODERATION_SCOPES, "/admin/reports"), location.origin);
    expect(upgrade.searchParams.get("scope")).toBe("read write follow push admin:read admin:write");
    const fetch = vi.fn(async (path: string) =>
      path === "/oauth/token" ? json({ access_token: "second", scope: auth.MODERATION_SCOPES }) : json({}),
    );
    vi.stubGlobal("fetch", fetch);
    expect(await auth.completeSignIn(new URLSearchParams({ code: "c2", state: upgrade.searchParams.get("state")! }))).toBe(true);
    expect(currentToken()).toBe("second");
    // Back on the screen the moderator granted them from.
    expect(location.pathname).toBe("/admin/reports");
    expect(await store.get("token")).toBe("second");
    expect(await auth.grantedScopes()).toEqual(["read", "write", "follow", "push", "admin:read", "admin:write"]);
    // The token it replaces is revoked at the server.
    const revoked = fetch.mock.calls.find(([path]) => path === "/oauth/revoke") as unknown as [string, RequestInit];
    expect(new URLSearchParams(String(revoked[1].body)).get("token")).toBe("first");
  });

  it("registers the app again when it was registered without them", async () => {
    await store.set("app", { client_id: "old", client_secret: "s", redirect_uri: auth.redirectUri() });
    const fetch = vi.fn(async () => json({ client_id: "new", client_secret: "s2" }));
    vi.stubGlobal("fetch", fetch);
    const url = new URL(await auth.authorizeUrl(), location.origin);
    expect(fetch).toHaveBeenCalledTimes(1);
    expect(url.searchParams.get("client_id")).toBe("new");
  });
});

describe("filter keywords", () => {
  it("sends new, changed and removed keywords as keywords_attributes", async () => {
    const { keywordAttributes } = await import("../src/lib/entities");
    expect(
      keywordAttributes([
        { id: "1", keyword: "kept ", whole_word: true },
        { id: "2", keyword: "gone", whole_word: false, destroy: true },
        { id: "3", keyword: "  ", whole_word: true },
        { keyword: "new", whole_word: false },
        { keyword: "", whole_word: true },
        { keyword: "added then removed", whole_word: true, destroy: true },
      ]),
    ).toEqual([
      { id: "1", keyword: "kept", whole_word: true },
      { id: "2", _destroy: true },
      { id: "3", _destroy: true },
      { keyword: "new", whole_word: false },
    ]);
  });
});

describe("two-factor QR code", () => {
  it("draws the otpauth URI as an SVG data URI, one per secret", async () => {
    const { qrDataUri } = await import("../src/lib/qr");
    const uri = "otpauth://totp/ConnectHub:alice%40example.com?secret=JBSWY3DPEHPK3PXP&issuer=ConnectHub";
    const drawn = await qrDataUri(uri, "data:fallback");
    expect(drawn.startsWith("data:image/svg+xml;charset=utf-8,")).toBe(true);
    const svg = decodeURIComponent(drawn.slice(drawn.indexOf(",") + 1));
    expect(svg).toMatch(/^<svg[\s\S]*<\/svg>$/);
    expect(await qrDataUri(uri.replace("JBSW", "KBSW"), "data:fallback")).not.toBe(drawn);
  });
});
