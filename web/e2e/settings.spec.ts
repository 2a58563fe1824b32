// Search, bookmarks and favourites, lists and filters management, settings (profile with an
// avatar, two-factor enrolment, sessions, account deletion) and the moderation screens, in
// a real browser against the real server. Every screen is checked with axe-core and
// screenshotted (web/screenshots/<screen>-<en|id>-<desktop|mobile>.jpg, not committed).
import type { Page } from "@playwright/test";
import { expect, test } from "./diagnostics";
import { openInApp } from "./navigation";
import { shoot } from "./screens";
import { approve, cli, PASSWORD, png, signInToApp, signUp, tokenOf, totp } from "./settings-helpers";

const run = `s${Date.now().toString(36)}`;

async function post(page: Page, text: string): Promise<void> {
  await page.goto("/");
  await page.getByLabel("Text of your post").fill(text);
  await page.getByRole("button", { name: "Post", exact: true }).click();
  await expect(page.locator(".status", { hasText: text }).first()).toBeVisible();
}

/** Opens each screen (inside the app: e2e/navigation.ts) and checks and shoots it, under
 * `<name>-<lang>`. */
async function tour(page: Page, lang: "en" | "id", screens: [string, string][]): Promise<void> {
  for (const [name, path] of screens) {
    await openInApp(page, path);
    await expect(page.locator("main h1").first()).toBeVisible();
    // Still signed in: the welcome screen has a `main h1` too.
    await expect(page.locator("main.welcome")).toHaveCount(0);
    await expect(page.locator("main")).not.toContainText(lang === "en" ? "Memuat" : "Loading…");
    await shoot(page, `${name}-${lang}`);
  }
}

async function chooseLanguage(page: Page, lang: "en" | "id"): Promise<void> {
  await openInApp(page, "/settings");
  await page.locator("select").first().selectOption(lang);
  await expect(page.locator("html")).toHaveAttribute("lang", lang);
}

test("search, bookmarks, lists, filters, profile, two-factor, sessions, moderation, deletion", async ({ browser, request }) => {
  // Some 40 screens checked and shot twice each: longer than the default.
  test.setTimeout(600_000);
  // Hashtag search is behind the `search_hashtags` flag (docs/flags.md); the command writes
  // it and the server re-reads flags every few seconds: the search below waits until bob's
  // flags say it is on (it once ran first, on a quick machine, and found no hashtag).
  try {
    cli("flags", "create", "search_hashtags", "--kind", "boolean", "--default", "true", "--json", '{"client_visible": true}');
  } catch {
    cli("flags", "set", "search_hashtags", '{"default_value": true, "enabled": true}');
  }
  const alice = await signUp(browser, `alice${run}`);
  const bob = await signUp(browser, `bob${run}`);
  const tagged = `Morning tea ${run} #teh${run}`;
  await post(alice, tagged);

  // Search finds the account (and follows it from the result) and the hashtag.
  await bob.getByRole("link", { name: "Search" }).click();
  await expect(bob.getByRole("heading", { name: "Search", level: 1 })).toBeVisible();
  // Typed again if the view was still mounting (a quick run once lost the text: the box
  // was empty and no search ran).
  const found = bob.locator(".account-row", { hasText: `@alice${run}` });
  await expect(async () => {
    await bob.getByLabel("Search for people, hashtags or posts").fill(`alice${run}`);
    await bob.getByRole("button", { name: "Search", exact: true }).click();
    await expect(found).toBeVisible({ timeout: 3_000 });
  }).toPass({ timeout: 30_000 });
  await found.getByRole("button", { name: `Follow @alice${run}` }).click();
  await expect(found.getByRole("button", { name: `Unfollow @alice${run}` })).toBeVisible();
  const bobFlags = { headers: { Authorization: `Bearer ${await tokenOf(bob)}` } };
  await expect
    .poll(async () => (await (await request.get("/api/v1/flags", bobFlags)).json()).search_hashtags, { timeout: 30_000 })
    .toBe(true);
  await bob.getByLabel("Search for people, hashtags or posts").fill(`#teh${run}`);
  await bob.getByRole("button", { name: "Search", exact: true }).click();
  const tagLink = bob.getByRole("link", { name: `#teh${run}` });
  await expect(tagLink).toBeVisible();
  await tagLink.click();
  await expect(bob).toHaveURL(new RegExp(`/tags/teh${run}$`));
  await expect(bob.locator(".status", { hasText: tagged })).toBeVisible();

  // Bookmark it, favourite it; both lists show it.
  const card = bob.locator(".status", { hasText: tagged });
  await card.getByRole("button", { name: "Bookmark" }).click();
  await expect(card.getByRole("button", { name: "Bookmark" })).toHaveAttribute("aria-pressed", "true");
  await card.getByRole("button", { name: "Favourite" }).click();
  await expect(card.getByRole("button", { name: "Favourite" })).toHaveAttribute("aria-pressed", "true");
  await bob.getByRole("link", { name: "Bookmarks" }).click();
  await expect(bob.locator(".status", { hasText: tagged })).toBeVisible();
  await bob.getByRole("link", { name: "Favourites" }).click();
  await expect(bob.locator(".status", { hasText: tagged })).toBeVisible();

  // A list: create it, add Alice (searched among the people Bob follows), open it.
  await bob.getByRole("link", { name: "Lists" }).click();
  await bob.getByLabel("Name of a new list").fill("Friends");
  await bob.getByRole("button", { name: "Create list" }).click();
  await expect(bob.getByRole("heading", { name: "List: Friends" })).toBeVisible();
  await bob.getByLabel("Add people you follow").fill(`alice${run}`);
  await bob.getByRole("button", { name: `Add @alice${run} to the list` }).click();
  await expect(bob.getByRole("button", { name: `Remove @alice${run} from the list` })).toBeVisible();
  await bob.getByLabel("Replies to anyone I follow").check();
  await bob.getByRole("button", { name: "Save" }).click();
  await expect(bob.getByText("Saved.")).toBeVisible();
  const listEdit = bob.url();
  await bob.getByRole("link", { name: "Open the list" }).click();
  await expect(bob.getByRole("heading", { name: "Friends" })).toBeVisible();
  const listPath = new URL(bob.url()).pathname;
  const listed = `In the list ${run}`;
  await post(alice, listed);
  await bob.goto(listPath);
  await expect(bob.locator(".status", { hasText: listed })).toBeVisible();

  // A filter that warns: Alice's matching post is folded behind its title in Bob's home.
  await openInApp(bob, "/filters");
  await bob.getByRole("link", { name: "New filter" }).click();
  await bob.getByLabel("Title", { exact: true }).fill("No spoilers");
  await bob.getByLabel("Word or phrase 1").fill(`spoiler${run}`);
  await bob.getByRole("button", { name: "Save" }).click();
  await expect(bob.getByRole("link", { name: "No spoilers" })).toBeVisible();
  const spoiler = `The ending of the film spoiler${run}`;
  await post(alice, spoiler);
  await bob.goto("/");
  const warned = bob.locator(".status.filtered", { hasText: "Hidden by your filter “No spoilers”." });
  await expect(warned).toBeVisible();
  await expect(bob.getByText(spoiler)).toHaveCount(0);
  await warned.getByRole("button", { name: "Show anyway" }).click();
  await expect(bob.locator(".status", { hasText: spoiler })).toBeVisible();
  // Set to hide, the post is gone.
  await openInApp(bob, "/filters");
  await bob.getByRole("link", { name: "No spoilers" }).click();
  await bob.getByLabel(/^Hide/).check();
  await bob.getByRole("button", { name: "Save" }).click();
  await expect(bob.getByRole("link", { name: "No spoilers" })).toBeVisible();
  await bob.goto("/");
  await expect(bob.locator(".status", { hasText: listed })).toBeVisible();
  await expect(bob.locator(".status", { hasText: `spoiler${run}` })).toHaveCount(0);
  await expect(bob.locator(".status.filtered")).toHaveCount(0);

  // Profile: a new name and an avatar; the profile shows the name.
  await openInApp(bob, "/settings");
  await bob.getByRole("link", { name: "Profile" }).click();
  await bob.getByLabel("Display name").fill(`Bobby ${run}`);
  await bob.getByLabel("About you (bio)").fill("Tea and trains.");
  await bob.getByLabel("Label 1").fill("Town");
  await bob.getByLabel("Content 1").fill("Bandung");
  await bob.getByLabel("Avatar (PNG, JPEG, GIF or WebP)").setInputFiles({ name: "me.png", mimeType: "image/png", buffer: png() });
  await bob.getByRole("button", { name: "Save" }).click();
  await expect(bob.getByText("Saved.")).toBeVisible();
  // The saved avatar is the server's copy, no longer the default one nor the local preview.
  const avatar = bob.getByRole("img", { name: "Your avatar" });
  await expect(avatar).not.toHaveAttribute("src", /missing\.png|^blob:/);
  await expect.poll(() => avatar.evaluate((img: HTMLImageElement) => (img.complete ? img.naturalWidth : 0))).toBeGreaterThan(0);
  await openInApp(bob, `/@bob${run}`);
  await expect(bob.getByRole("heading", { name: `Bobby ${run}` })).toBeVisible();
  await expect(bob.locator(".fields")).toContainText("Bandung");

  // Two-factor: the QR code and the key, confirmed with a code; the recovery codes once.
  await openInApp(bob, "/settings/security");
  await bob.getByRole("button", { name: "Set up two-factor sign-in" }).click();
  await expect(bob.getByRole("img", { name: "QR code for your authenticator app" })).toHaveAttribute("src", /^data:image\/svg\+xml/);
  const secret = (await bob.locator("code.secret").innerText()).replace(/\s/g, "");
  await shoot(bob, "settings-twofa-qr-en");
  await bob.getByLabel("Your password").fill(PASSWORD);
  await bob.getByLabel("Code from the authenticator app").fill(totp(secret));
  await bob.getByRole("button", { name: "Turn on" }).click();
  await expect(bob.getByText("Two-factor sign-in is now on.")).toBeVisible();
  const codes = await bob.getByRole("list", { name: "Recovery codes" }).locator("code").allInnerTexts();
  expect(codes).toHaveLength(10);
  await shoot(bob, "settings-twofa-codes-en");
  await bob.getByRole("button", { name: "I have saved them" }).click();
  await expect(bob.getByRole("button", { name: "Turn off two-factor sign-in" })).toBeVisible();

  // The next sign-in asks for a code (a recovery code here), then the app gets a second session.
  const second = await (await browser.newContext({ locale: "en-US" })).newPage();
  await second.goto("/local"); // signed out, `/` is the server's front door (ADR 0054)
  await second.getByRole("button", { name: "Sign in" }).click();
  await second.waitForURL(/\/oauth\/authorize/);
  await second.fill("#email", `bob${run}@example.com`);
  await second.fill("#password", PASSWORD);
  await second.click("button[value=approve]");
  await expect(second.getByText(/Two-factor authentication is on/)).toBeVisible();
  await second.fill("#password", PASSWORD);
  await second.fill("#otp_attempt", codes[0]);
  await second.click("button[value=approve]");
  await second.waitForURL(/\/$/);
  await expect(second.getByRole("link", { name: `@bob${run}` })).toBeVisible();

  // Sessions: the other one is signed out from here; that browser is back at the welcome screen.
  await openInApp(bob, "/settings/sessions");
  await expect(bob.getByText("(this one)")).toBeVisible();
  const revoke = bob.getByRole("button", { name: /^Sign out the session of ConnectHub Web/ });
  await expect(revoke).toHaveCount(1);
  await revoke.click();
  await expect(bob.getByText("The session was signed out.")).toBeVisible();
  await expect(revoke).toHaveCount(0);
  await second.reload();
  // The app's welcome screen, or the server's front door once the app cleared its cookie.
  await expect(second.locator("a, button", { hasText: /^Sign in$/ }).first()).toBeVisible();

  // Bob reports Alice (through the API, as another client would); a moderator acts.
  const bobToken = await tokenOf(bob);
  const aliceAccount = await (await request.get(`/api/v1/accounts/lookup?acct=alice${run}`)).json();
  const filed = await request.post("/api/v1/reports", {
    headers: { Authorization: `Bearer ${bobToken}` },
    data: { account_id: aliceAccount.id, comment: `Spam from alice ${run}`, category: "spam" },
  });
  expect(filed.status()).toBe(200);
  const report = await filed.json();

  cli("admin", "create-user", "--username", `mod${run}`, "--email", `mod${run}@example.com`, "--password", PASSWORD, "--role", "moderator");
  const mod = await (await browser.newContext({ locale: "en-US" })).newPage();
  await signInToApp(mod, `mod${run}@example.com`);
  await mod.getByRole("link", { name: "Moderation" }).click();
  await expect(mod.getByRole("button", { name: "Allow moderation" })).toBeVisible();
  await shoot(mod, "admin-grant-en");
  await mod.getByRole("button", { name: "Allow moderation" }).click();
  // Back on the moderation screen it was granted from.
  await approve(mod, `mod${run}@example.com`, /\/admin$/);
  const reportLink = mod.getByRole("link", { name: `Report #${report.id} about @alice${run}` });
  await expect(reportLink).toBeVisible();
  await reportLink.click();
  await expect(mod.getByText(`Spam from alice ${run}`)).toBeVisible();
  await mod.getByRole("button", { name: "Assign to me" }).click();
  await expect(mod.getByText("The report is assigned to you.")).toBeVisible();
  await mod.getByLabel("New note").fill("Looked at it.");
  await mod.getByRole("button", { name: "Add note" }).click();
  await expect(mod.getByText("Looked at it.")).toBeVisible();
  await mod.getByRole("link", { name: "Act on the account" }).click();
  await expect(mod.getByRole("heading", { name: `alice${run}` })).toBeVisible();
  mod.once("dialog", (dialog) => void dialog.accept());
  await mod.getByLabel("Suspend").check();
  await mod.getByRole("button", { name: "Apply" }).click();
  await expect(mod.getByText("The account is suspended.")).toBeVisible();
  await expect(mod.getByRole("button", { name: "Lift the suspension" })).toBeVisible();
  expect((await request.get(`/api/v1/accounts/lookup?acct=alice${run}`)).status()).toBe(404);
  await openInApp(mod, `/admin/reports/${report.id}`);
  await mod.getByRole("button", { name: "Mark as resolved" }).click();
  await expect(mod.getByText("The report is resolved; the reporter is told.")).toBeVisible();
  await openInApp(mod, "/admin/reports");
  await expect(mod.getByRole("link", { name: `Report #${report.id} about @alice${run}` })).toHaveCount(0);
  await openInApp(mod, "/admin/accounts?status=suspended");
  await expect(mod.getByRole("link", { name: `@alice${run}` })).toBeVisible();

  // Every screen in both languages, checked and shot.
  const bobScreens: [string, string][] = [
    ["search", `/search?q=bob${run}`],
    ["bookmarks", "/bookmarks"],
    ["favourites", "/favourites"],
    ["lists", "/lists"],
    ["list-edit", new URL(listEdit).pathname],
    ["list", listPath],
    ["filters", "/filters"],
    ["filter-new", "/filters/new"],
    ["settings-index", "/settings"],
    ["settings-profile", "/settings/profile"],
    ["settings-privacy", "/settings/privacy"],
    ["settings-posting", "/settings/posting"],
    ["settings-security", "/settings/security"],
    ["settings-sessions", "/settings/sessions"],
    ["settings-export", "/settings/export"],
    ["settings-delete", "/settings/delete"],
  ];
  const modScreens: [string, string][] = [
    ["admin-reports", "/admin/reports?resolved=true"],
    ["admin-report", `/admin/reports/${report.id}`],
    ["admin-accounts", "/admin/accounts"],
    ["admin-held", "/admin/held"],
    ["admin-account", `/admin/accounts/${aliceAccount.id}`],
  ];
  await tour(bob, "en", bobScreens);
  await tour(mod, "en", modScreens);
  await chooseLanguage(bob, "id");
  await chooseLanguage(mod, "id");
  await tour(bob, "id", bobScreens);
  await tour(mod, "id", modScreens);
  await expect(bob.getByRole("link", { name: "Cari" })).toBeVisible();
  await chooseLanguage(bob, "en");

  // Privacy: hiding presence is kept.
  await openInApp(bob, "/settings/privacy");
  await bob.getByLabel("Hide when I am online").check();
  await bob.getByRole("button", { name: "Save" }).click();
  await expect(bob.getByText("Saved.")).toBeVisible();
  const presence = await request.get("/api/v1/connecthub/presence_settings", { headers: { Authorization: `Bearer ${bobToken}` } });
  expect(await presence.json()).toEqual({ hide_presence: true });

  // Data export: requested, listed.
  await openInApp(bob, "/settings/export");
  await bob.getByRole("button", { name: "Request an archive" }).click();
  await expect(bob.locator(".session-row").first()).toBeVisible();

  // Account deletion needs the password (and a code, with two-factor on), then signs out.
  const carol = await signUp(browser, `carol${run}`);
  const carolToken = await tokenOf(carol);
  await openInApp(carol, "/settings/delete");
  await carol.getByLabel("Your password").fill("not the password at all");
  await carol.getByLabel("I understand that this is permanent").check();
  await carol.getByRole("button", { name: "Delete my account" }).click();
  await expect(carol.getByRole("alert")).toContainText("invalid");
  await carol.getByLabel("Your password").fill(PASSWORD);
  await carol.getByRole("button", { name: "Delete my account" }).click();
  await expect(carol.locator("a, button", { hasText: /^Sign in$/ }).first()).toBeVisible();
  expect((await request.get("/api/v1/accounts/verify_credentials", { headers: { Authorization: `Bearer ${carolToken}` } })).status()).toBe(401);
});
