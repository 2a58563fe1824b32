// Helpers of the search / lists / filters / settings / moderation browser tests.
import { execFileSync } from "node:child_process";
import { createHmac } from "node:crypto";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, type Browser, type Page } from "@playwright/test";

export const PASSWORD = "a long and strong passphrase 42";
const root = resolve(fileURLToPath(new URL(".", import.meta.url)), "../..");

/** Through the app's Sign in button and the server's authorize page (already signed in to
 * the server's pages, or signing in there with e-mail and password). */
export async function signInToApp(page: Page, email?: string): Promise<void> {
  // Signed out, `/` is the server's front door (ADR 0054); any other address of the app
  // shows its welcome screen.
  await page.goto("/local");
  await page.getByRole("button", { name: "Sign in" }).click();
  await approve(page, email);
}

/** On the server's authorize page: signs in there when asked (e-mail and password), approves,
 * and waits for the app. */
export async function approve(page: Page, email?: string, back: RegExp = /\/$/): Promise<void> {
  await page.waitForURL(/\/oauth\/authorize/);
  if (await page.locator("#email").count()) {
    await page.fill("#email", email ?? "");
    await page.fill("#password", PASSWORD);
  }
  await page.click("button[value=approve]");
  await page.waitForURL(back);
}

/** A new person signs up on the server's page and signs in to the app. */
export async function signUp(browser: Browser, username: string): Promise<Page> {
  const context = await browser.newContext({ locale: "en-US" });
  const page = await context.newPage();
  await page.goto("/auth/sign_up");
  await page.fill("#username", username);
  await page.fill("#email", `${username}@example.com`);
  await page.fill("#password", PASSWORD);
  await page.fill("#password_confirmation", PASSWORD);
  await page.fill("#date_of_birth", "1990-01-01");
  await page.check("#agreement");
  await Promise.all([page.waitForURL(/\/auth\/sign_in/), page.click("form[action='/auth/sign_up'] button[type=submit]")]);
  await signInToApp(page, `${username}@example.com`);
  await expect(page.getByRole("link", { name: `@${username}` })).toBeVisible();
  return page;
}

/** Runs the server's CLI on the test server's database (the moderator is made this way). */
export function cli(...args: string[]): string {
  const data = process.env.E2E_DATA_DIR;
  const database = process.env.E2E_DATABASE_URL ?? (data ? `sqlite:///${data}/connecthub.db` : undefined);
  if (!database) throw new Error("E2E_DATA_DIR or E2E_DATABASE_URL must name the test server's database");
  return execFileSync(`${root}/.venv/bin/connecthub`, args, {
    cwd: root,
    env: { ...process.env, DATABASE_URL: database, MEDIA_STORAGE_URL: `file://${data}/media`, OUTBOX_DIR: `${data}/outbox` },
    encoding: "utf8",
  });
}

/** RFC 6238 TOTP (SHA-1, 6 digits, 30 s) of a base32 secret, `offset` steps from now. */
export function totp(secret: string, offset = 0): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const char of secret.replace(/[\s=]/g, "").toUpperCase()) bits += alphabet.indexOf(char).toString(2).padStart(5, "0");
  const key = Buffer.from(bits.match(/.{8}/g)!.map((byte) => parseInt(byte, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 30_000) + offset));
  const mac = createHmac("sha1", key).update(counter).digest();
  const at = mac[mac.length - 1] & 0x0f;
  const code = (mac.readUInt32BE(at) & 0x7fffffff) % 1_000_000;
  return code.toString().padStart(6, "0");
}

/** The app's token, read from its IndexedDB store (to call the API as that person). */
export async function tokenOf(page: Page): Promise<string> {
  return page.evaluate(
    () =>
      new Promise<string>((done, fail) => {
        const open = indexedDB.open("connecthub", 1);
        open.onerror = () => fail(open.error);
        open.onsuccess = () => {
          const read = open.result.transaction("kv").objectStore("kv").get("token");
          read.onsuccess = () => done(read.result as string);
          read.onerror = () => fail(read.error);
        };
      }),
  );
}

/** A small PNG (a solid square), for the avatar upload. */
export function png(): Buffer {
  return Buffer.from(
    "iVBORw0KGgoAAAANSUhEUgAAABAAAAAQCAIAAACQkWg2AAAAFklEQVR4nGPQqDhBEmIY1TCqYfhqAADDSmgQBaIOewAAAABJRU5ErkJggg==",
    "base64",
  );
}
