// The app at the root (ADR 0054) and the server's public pages: the front door for a
// visitor and the app's sign-in from it; the old /web/ addresses moved for good; a public
// post's page without JavaScript (OpenGraph meta), a followers-only post's page a 404; a
// signed-in person opening a public address gets the app there; web push subscribed from
// settings reaches the server. Screenshots go to web/screenshots/ (not committed).
import type { Browser, Page } from "@playwright/test";
import { expect, test } from "./diagnostics";
import { SHOT_FORMAT, SHOTS, shoot } from "./screens";

const run = `p${Date.now().toString(36)}`;

/** Signs up on the server's page, then signs in to the app from the front door's
 * "Open the web app" (`/login`: straight to the authorize page). */
async function signUpFromTheFrontDoor(browser: Browser, username: string, locale = "en-US"): Promise<Page> {
  const context = await browser.newContext({ locale });
  const page = await context.newPage();
  await page.goto("/auth/sign_up");
  await page.fill("#username", username);
  await page.fill("#email", `${username}@example.com`);
  await page.fill("#password", "a long and strong passphrase 42");
  await page.fill("#password_confirmation", "a long and strong passphrase 42");
  await page.fill("#date_of_birth", "1990-01-01");
  await page.check("#agreement");
  await Promise.all([page.waitForURL(/\/auth\/sign_in/), page.click("form[action='/auth/sign_up'] button[type=submit]")]);

  const front = await page.goto("/");
  expect(await front!.text()).not.toContain("<script"); // the server's front door
  await Promise.all([page.waitForURL(/\/oauth\/authorize/), page.locator("a[href='/login']").click()]);
  await page.click("button[value=approve]");
  await page.waitForURL((url) => url.pathname === "/");
  await expect(page.getByRole("link", { name: `@${username}` })).toBeVisible();
  // The app sets its cookie from script (lib/paths.ts) just before it shows the session;
  // the browser's cookie store may take a moment more, and a navigation before it landed
  // goes without it (the front door: seen once on a loaded machine).
  await expect
    .poll(async () => (await context.cookies()).some((c) => c.name === "connecthub_app" && c.value === "1"))
    .toBe(true);
  return page;
}

/** Posts from the app's home and returns the new status' id. */
async function post(page: Page, text: string, visibility = "public"): Promise<string> {
  await page.getByLabel("Who can see this post").selectOption(visibility);
  await page.getByLabel("Text of your post").fill(text);
  await page.getByRole("button", { name: "Post", exact: true }).click();
  const card = page.locator("article", { hasText: text }).first();
  await expect(card).toBeVisible();
  const href = await card.locator("a.time").getAttribute("href");
  const id = href?.match(/^\/statuses\/(\d+)$/)?.[1];
  expect(id, `status link ${href}`).toBeTruthy();
  return id!;
}

test("the front door, the app at the root, public pages and their hand-off", async ({ browser, request }) => {
  // A visitor at / gets the server's front door, in their language, with the ways in.
  const visitor = await (await browser.newContext({ locale: "id-ID" })).newPage();
  const door = await visitor.goto("/");
  expect(door!.headers()["vary"]).toMatch(/cookie/i);
  await expect(visitor.locator("a[href='/login']")).toBeVisible();
  await expect(visitor.locator("a[href='/about']").first()).toBeVisible();
  await shoot(visitor, "front-door-id");
  await visitor.context().close();

  const alice = await signUpFromTheFrontDoor(browser, `alice${run}`);
  // The shell's own CSP: no inline script, connections to this origin and its stream only.
  const shell = await alice.goto("/");
  const csp = shell!.headers()["content-security-policy"];
  expect(csp).toContain("script-src 'self';");
  expect(csp).not.toContain("unsafe-inline");
  expect(csp).toMatch(/connect-src 'self' wss?:\/\/[^ ;]+;/);
  await expect(alice.getByRole("link", { name: `@alice${run}` })).toBeVisible(); // the app, not the front door

  const text = `Kopi tubruk at the root ${run}`;
  const publicId = await post(alice, text);
  const hidden = `Only for followers ${run}`;
  const privateId = await post(alice, hidden, "private");

  // The old addresses move for good (301), then the app answers at the new one.
  const moved = await request.get("/web/notifications?x=1", { maxRedirects: 0 });
  expect(moved.status()).toBe(301);
  expect(new URL(moved.headers()["location"]!).pathname + new URL(moved.headers()["location"]!).search).toBe("/notifications?x=1");
  await alice.goto("/web/notifications");
  expect(new URL(alice.url()).pathname).toBe("/notifications");
  await expect(alice.getByRole("heading", { name: "Notifications" })).toBeVisible();

  // Signed in, a post's public address opens the app's thread; the profile's, its profile.
  await alice.goto(`/@alice${run}/${publicId}`);
  await expect(alice.locator("nav").getByRole("link", { name: "Home" })).toBeVisible();
  await expect(alice.locator("article", { hasText: text }).first()).toBeVisible();
  await shoot(alice, "thread-at-public-address-en");
  await alice.goto(`/@alice${run}`);
  await expect(alice.locator("nav").getByRole("link", { name: "Home" })).toBeVisible();
  await expect(alice.locator("article", { hasText: text }).first()).toBeVisible();
  // In-app links to the server's pages are followed as links, not routed in the app.
  await alice.goto("/settings");
  await expect(alice.getByRole("heading", { name: "Settings" })).toBeVisible();
  await alice.evaluate(() => {
    const link = document.createElement("a");
    link.href = "/about";
    link.textContent = "about";
    link.id = "to-about";
    document.getElementById("main")!.append(link);
  });
  await Promise.all([alice.waitForURL(/\/about$/), alice.click("#to-about")]);
  await expect(alice.locator("script")).toHaveCount(0); // the server's /about page

  // Without JavaScript and signed out: the post's public page, with its link-preview meta.
  const noJs = await browser.newContext({ javaScriptEnabled: false, locale: "en-US" });
  const reader = await noJs.newPage();
  const page = await reader.goto(`/@alice${run}/${publicId}`);
  expect(page!.status()).toBe(200);
  await expect(reader.getByText(text)).toBeVisible();
  expect(await reader.locator('meta[property="og:type"]').getAttribute("content")).toBeTruthy();
  expect(await reader.locator('meta[property="og:description"]').getAttribute("content")).toContain("Kopi tubruk");
  expect(await reader.locator('meta[property="og:url"]').getAttribute("content")).toContain(`/@alice${run}/${publicId}`);
  expect(await reader.locator('meta[name="twitter:card"]').getAttribute("content")).toBeTruthy();
  expect(await reader.locator('link[rel="canonical"]').getAttribute("href")).toContain(`/@alice${run}/${publicId}`);
  await reader.screenshot({ path: `${SHOTS}/public-status-nojs-desktop.jpg`, fullPage: true, ...SHOT_FORMAT });
  // A followers-only post's page is a 404, and shows nothing of it.
  const missing = await reader.goto(`/@alice${run}/${privateId}`);
  expect(missing!.status()).toBe(404);
  await expect(reader.getByText(hidden)).toHaveCount(0);
  await noJs.close();

  // The public page with JavaScript on (a signed-out browser) passes axe too.
  const anon = await (await browser.newContext({ locale: "en-US" })).newPage();
  await anon.goto(`/@alice${run}/${publicId}`);
  await expect(anon.getByText(text)).toBeVisible();
  await shoot(anon, "public-status-en");
  await anon.context().close();

  // Signing out of the app: / is the front door again.
  await alice.goto("/settings");
  await alice.getByRole("button", { name: "Sign out" }).click();
  await expect(alice.getByRole("button", { name: "Sign in" })).toBeVisible(); // the app's welcome
  await alice.goto("/");
  await expect(alice.locator("a[href='/login']")).toBeVisible();
  await alice.context().close();
});

test("web push: subscribing in settings sends the subscription to the server", async ({ browser }) => {
  const bob = await signUpFromTheFrontDoor(browser, `bob${run}`);
  await bob.context().grantPermissions(["notifications"]);
  // Headless Chromium has no push service to subscribe with: the browser's PushManager
  // gives a subscription with a real P-256 key of our own and an https endpoint; everything
  // after it (the app, the server's API and its checks) is real.
  await bob.context().addInitScript(() => {
    let held: PushSubscription | null = null;
    const b64 = (bytes: ArrayBuffer) => btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    PushManager.prototype.getSubscription = async () => held;
    PushManager.prototype.subscribe = async function (options?: PushSubscriptionOptionsInit) {
      const pair = await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, true, ["deriveBits"]);
      const p256dh = b64(await crypto.subtle.exportKey("raw", pair.publicKey));
      const auth = b64(crypto.getRandomValues(new Uint8Array(16)).buffer);
      const endpoint = `https://push.example.net/send/${crypto.randomUUID()}`;
      held = {
        endpoint,
        options: { applicationServerKey: options?.applicationServerKey ?? null, userVisibleOnly: true },
        toJSON: () => ({ endpoint, keys: { p256dh, auth } }),
        unsubscribe: async () => ((held = null), true),
        getKey: () => null,
        expirationTime: null,
      } as unknown as PushSubscription;
      return held;
    };
  });
  await bob.goto("/settings");
  await bob.reload(); // the service worker controls the page, with the init script
  const toggle = bob.getByLabel("Notify me on this device");
  await expect(toggle).toBeEnabled();
  await expect(toggle).not.toBeChecked();

  const [sent] = await Promise.all([
    bob.waitForRequest((r) => r.url().endsWith("/api/v1/push/subscription") && r.method() === "POST"),
    toggle.click(),
  ]);
  const body = sent.postDataJSON();
  expect(body.subscription.endpoint).toMatch(/^https:\/\/push\.example\.net\/send\//);
  expect(body.subscription.keys.p256dh).toMatch(/^[A-Za-z0-9_-]{87}$/);
  expect(body.data.alerts.mention).toBe(true);
  await expect(bob.getByText("Push notifications are on for this device.")).toBeVisible();
  await shoot(bob, "settings-push-en");

  // One alert off: the server keeps it (read back after a reload).
  // Listening before the click: the answer can come before a wait begun after it.
  await Promise.all([
    bob.waitForResponse((r) => r.url().endsWith("/api/v1/push/subscription") && r.request().method() === "PUT"),
    bob.getByLabel("Polls that ended").uncheck(),
  ]);
  await bob.reload();
  await expect(bob.getByLabel("Notify me on this device")).toBeChecked();
  await expect(bob.getByLabel("Polls that ended")).not.toBeChecked();
  await expect(bob.getByLabel("Mentions and replies")).toBeChecked();

  // In Indonesian too.
  await bob.getByLabel("Language").selectOption("id");
  await expect(bob.getByLabel("Kirim notifikasi ke perangkat ini")).toBeChecked();
  await shoot(bob, "settings-push-id");

  // Off: the server forgets it.
  await Promise.all([
    bob.waitForResponse((r) => r.url().endsWith("/api/v1/push/subscription") && r.request().method() === "DELETE"),
    bob.getByLabel("Kirim notifikasi ke perangkat ini").click(),
  ]);
  await bob.reload();
  await expect(bob.getByLabel("Kirim notifikasi ke perangkat ini")).not.toBeChecked();
  await bob.context().close();
});
