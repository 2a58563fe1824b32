// Helpers of the social browser tests (social.spec.ts): signing up and in as app.spec.ts
// does, and the API as a signed-in person.
import { expect, type APIRequestContext, type Browser, type Page } from "@playwright/test";

export async function signUpAndSignIn(browser: Browser, username: string): Promise<Page> {
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
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(/\/oauth\/authorize/);
  await page.click("button[value=approve]");
  await page.waitForURL(/\/$/);
  await expect(page.getByRole("link", { name: `@${username}` })).toBeVisible();
  return page;
}

/** The app's token, read from its IndexedDB (to set up what the app's other screens own). */
export async function tokenOf(page: Page): Promise<string> {
  return page.evaluate(
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
}

export async function apiAs(
  request: APIRequestContext,
  token: string,
  method: "GET" | "POST" | "PATCH" | "PUT",
  path: string,
  data?: Record<string, unknown>,
): Promise<unknown> {
  const response = await request.fetch(path, { method, data, headers: { Authorization: `Bearer ${token}` } });
  expect(response.ok(), `${method} ${path}: ${response.status()} ${await response.text()}`).toBe(true);
  return response.json();
}
