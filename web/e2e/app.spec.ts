// Two people sign up on the server's pages and sign in to the web app through the
// authorize page (PKCE); one posts, the other sees it arrive live; the app switches to
// Indonesian; a post written offline is sent exactly once when the connection returns.
// Screenshots of each screen go to web/screenshots/ (not committed).
import type { Browser, Page } from "@playwright/test";
import { expect, test } from "./diagnostics";
import { shoot } from "./screens";

const run = Date.now().toString(36);

async function signUpAndSignIn(browser: Browser, username: string): Promise<Page> {
  const context = await browser.newContext({ locale: "en-US" });
  const page = await context.newPage();
  await page.goto("/auth/sign_up");
  await page.fill("#username", username);
  await page.fill("#email", `${username}@example.com`);
  await page.fill("#password", "a long and strong passphrase 42");
  await page.fill("#password_confirmation", "a long and strong passphrase 42");
  await page.fill("#date_of_birth", "1990-01-01");
  await page.check("#agreement");
  await Promise.all([page.waitForURL(/\/auth\/sign_in/), page.click("form[action='/auth/sign_up'] button[type=submit]")]);

  // Signed out, `/` is the server's front door (ADR 0054); any other address of the app
  // shows its welcome screen.
  await page.goto("/local");
  await expect(page.getByRole("button", { name: "Sign in" })).toBeVisible();
  if (username.startsWith("alice")) await shoot(page, "welcome-en");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(/\/oauth\/authorize/);
  await page.click("button[value=approve]");
  await page.waitForURL(/\/$/);
  await expect(page.getByRole("link", { name: `@${username}` })).toBeVisible();
  return page;
}

test("sign in with PKCE, live delivery, Indonesian, offline post sent once", async ({ browser, request }) => {
  const alice = await signUpAndSignIn(browser, `alice${run}`);
  const bob = await signUpAndSignIn(browser, `bob${run}`);
  // The token never shows in an address.
  expect(alice.url()).not.toMatch(/token|code=/);

  // Bob follows Alice from her profile.
  await bob.goto(`/@alice${run}`);
  await bob.getByRole("button", { name: "Follow" }).click();
  await expect(bob.getByRole("button", { name: "Unfollow" })).toBeVisible();
  await shoot(bob, "profile-en");
  await bob.getByRole("link", { name: "Home" }).click();
  await expect(bob.getByText("Nothing here yet.")).toBeVisible();

  // Alice posts; Bob's home gets it live, behind the "new posts" bar. Her post is held on
  // its way: meanwhile her compose box takes nothing (the answer clears the draft, and what
  // she typed would go with it); answered, it is empty and hers again, her cursor in it.
  const text = `Hello from Alice ${run} #kopi${run}`;
  const box = alice.getByLabel("Text of your post");
  let answer = () => {};
  const held = new Promise<void>((resolve) => (answer = resolve));
  await alice.route("**/api/v1/statuses", async (route) => {
    if (route.request().method() === "POST") await held;
    await route.continue();
  });
  await box.fill(text);
  await alice.getByRole("button", { name: "Post", exact: true }).click();
  await expect(box).toBeDisabled();
  answer();
  await expect(alice.locator(".status", { hasText: text })).toBeVisible();
  await expect(box).toBeEnabled();
  await expect(box).toHaveValue("");
  await expect(box).toBeFocused();
  await alice.unroute("**/api/v1/statuses");
  const bar = bob.getByRole("button", { name: "1 new post" });
  await expect(bar).toBeVisible();
  await bar.click();
  await expect(bob.locator(".status", { hasText: text })).toBeVisible();
  await shoot(bob, "home-en");

  // Bob favourites it; Alice's notifications show it.
  await bob.locator(".status", { hasText: text }).getByRole("button", { name: "Favourite" }).click();
  await expect(bob.locator(".status", { hasText: text }).getByRole("button", { name: "Favourite" })).toHaveAttribute(
    "aria-pressed",
    "true",
  );
  await bob.locator(".status", { hasText: text }).getByRole("button", { name: "Boost" }).click();
  await expect(bob.locator(".status", { hasText: text }).getByRole("button", { name: "Boost" })).toHaveAttribute(
    "aria-pressed",
    "true",
  );
  await alice.getByRole("link", { name: "Notifications" }).click();
  await expect(alice.getByText(`bob${run} favourited your post`)).toBeVisible();
  await expect(alice.getByText(`bob${run} boosted your post`)).toBeVisible();
  await shoot(alice, "notifications-en");

  // Bob replies; the thread shows both posts, in order.
  await bob.locator(".status", { hasText: text }).getByRole("button", { name: "Reply" }).click();
  await expect(bob.getByText(`Replying to @alice${run}`)).toBeVisible();
  await bob.getByLabel("Text of your post").pressSequentially("nice one");
  await bob.getByRole("button", { name: "Post", exact: true }).click();
  await expect(bob.locator(".status", { hasText: "nice one" })).toBeVisible();
  await bob.locator(".status", { hasText: "nice one" }).locator("a.time").click();
  await expect(bob.getByRole("heading", { name: "Conversation" })).toBeVisible();
  await expect(bob.locator(".status")).toHaveCount(2);
  await expect(bob.locator(".status").first()).toContainText(text);
  await shoot(bob, "thread-en");
  await expect(alice.getByText(`bob${run} mentioned you`)).toBeVisible(); // live
  await alice.getByRole("button", { name: "Mentions" }).click();
  await expect(alice.getByText(`bob${run} mentioned you`)).toBeVisible();
  await expect(alice.getByText(`bob${run} favourited your post`)).toHaveCount(0);
  await alice.getByRole("button", { name: "All" }).click();
  await expect(alice.getByText(`bob${run} favourited your post`)).toBeVisible();

  // Back from a thread: the timeline is shown again at once, where it was.
  await bob.getByRole("link", { name: "Home" }).click();
  await expect(bob.locator(".status", { hasText: "nice one" })).toBeVisible();
  await bob.locator(".status", { hasText: text }).locator("a.time").click();
  await expect(bob.getByRole("heading", { name: "Conversation" })).toBeVisible();
  await bob.goBack();
  await expect(bob.locator(".status", { hasText: text })).toBeVisible();
  await expect(bob.getByText("Loading…")).toHaveCount(0);

  // Indonesian: the visible strings change.
  await bob.getByRole("link", { name: "Settings" }).click();
  await shoot(bob, "settings-en");
  const before = await bob.locator("header.top nav").innerText();
  await bob.getByLabel("Language").selectOption("id");
  await expect(bob.getByRole("link", { name: "Beranda" })).toBeVisible();
  await expect(bob.getByRole("button", { name: "Keluar" })).toBeVisible();
  expect(await bob.locator("header.top nav").innerText()).not.toBe(before);
  for (const english of ["Home", "Notifications", "Settings", "Sign out", "Language"]) {
    await expect(bob.getByText(english, { exact: true })).toHaveCount(0);
  }
  await shoot(bob, "settings-id");
  await bob.getByRole("link", { name: "Beranda" }).click();
  await expect(bob.getByLabel("Isi kirimanmu")).toBeVisible();
  await shoot(bob, "home-id");
  // The choice is kept across a reload.
  await bob.reload();
  await expect(bob.getByRole("link", { name: "Beranda" })).toBeVisible();

  // Offline: the timeline stays readable, a post is queued and sent once back online.
  await alice.getByRole("link", { name: "Home" }).click();
  await expect(alice.locator(".status", { hasText: text })).toBeVisible();
  await alice.context().setOffline(true);
  const offline = `Written offline ${run}`;
  await alice.getByLabel("Text of your post").fill(offline);
  await alice.getByRole("button", { name: "Post", exact: true }).click();
  await expect(alice.locator(".status.pending", { hasText: offline })).toBeVisible();
  await shoot(alice, "home-offline-en");
  // Reloaded offline: the service worker serves the app, IndexedDB the timeline and the queue.
  await alice.reload();
  await expect(alice.getByText("You are offline: this is what was loaded last time.")).toBeVisible();
  await expect(alice.locator(".status:not(.pending)", { hasText: text })).toBeVisible();
  await expect(alice.locator(".status.pending", { hasText: offline })).toBeVisible();
  await alice.context().setOffline(false);
  await expect(alice.locator(".status.pending")).toHaveCount(0);
  await expect(alice.locator(".status", { hasText: offline })).toBeVisible();
  await expect(bob.getByRole("button", { name: "1 kiriman baru" })).toBeVisible();

  const statuses = await (await request.get(`/api/v1/timelines/public?local=true&limit=40`)).json();
  const sent = (statuses as { content: string }[]).filter((s) => s.content.includes(offline));
  expect(sent).toHaveLength(1);

  // A hashtag in a post opens its timeline in the app, live.
  await bob.getByRole("button", { name: "1 kiriman baru" }).click();
  await bob.locator(".status", { hasText: text }).first().getByRole("link", { name: `#kopi${run}` }).click();
  await expect(bob.getByRole("heading", { name: `#kopi${run}` })).toBeVisible();
  await expect(bob.locator(".status", { hasText: text })).toBeVisible();
  await shoot(bob, "tag-id");
  await alice.getByLabel("Text of your post").fill(`More about #kopi${run}`);
  await alice.getByRole("button", { name: "Post", exact: true }).click();
  await expect(bob.getByRole("button", { name: "1 kiriman baru" })).toBeVisible();

  // Signing out revokes the token at the server.
  const token = await alice.evaluate(
    () =>
      new Promise<string>((resolve, reject) => {
        const open = indexedDB.open("connecthub");
        open.onsuccess = () => {
          const get = open.result.transaction("kv").objectStore("kv").get("token");
          get.onsuccess = () => resolve(get.result as string);
          get.onerror = () => reject(get.error);
        };
      }),
  );
  const auth = { headers: { Authorization: `Bearer ${token}` } };
  expect((await request.get("/api/v1/accounts/verify_credentials", auth)).status()).toBe(200);
  await alice.getByRole("link", { name: "Settings" }).click();
  await alice.getByRole("button", { name: "Sign out" }).click();
  await expect(alice.getByRole("button", { name: "Sign in" })).toBeVisible();
  expect((await request.get("/api/v1/accounts/verify_credentials", auth)).status()).toBe(401);
});
