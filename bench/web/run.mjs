// Lighthouse (mobile emulation) on the web app's home timeline, signed in, and on a public
// status page; prints the four category scores, LCP, CLS, TBT, and the initial JavaScript
// size (gzip). Against a running server with the app built (`make run`):
//
//   cd bench/web && npm ci && BASE_URL=http://127.0.0.1:8000 node run.mjs
//
// It signs up a fresh account on the server's page, signs the app in from the front door
// (`/login`, then the authorize page), writes a few posts, then runs Lighthouse on the
// home timeline (`/`) in the same browser without clearing its storage (the app's token is
// in IndexedDB, its cookie tells the server to answer `/` with the app), and on the public
// status page in a second browser that never signed in (what visitors, crawlers and link
// previews get). CHROME_PATH: /usr/bin/chromium; DEBUG_PORT (9333) and the next port are
// the two browsers' debugging ports.
import { execFileSync } from "node:child_process";
import lighthouse from "lighthouse";
import puppeteer from "puppeteer-core";

const BASE = process.env.BASE_URL ?? "http://127.0.0.1:8000";
const CHROME = process.env.CHROME_PATH ?? "/usr/bin/chromium";
const PORT = Number(process.env.DEBUG_PORT ?? 9333);
const user = `bench${Date.now().toString(36)}`;

const launch = (port) =>
  puppeteer.launch({ executablePath: CHROME, headless: true, args: [`--remote-debugging-port=${port}`, "--no-sandbox"] });
const browser = await launch(PORT);
const visitor = await launch(PORT + 1);
try {
  const page = await browser.newPage();
  await page.goto(`${BASE}/auth/sign_up`);
  await page.type("#username", user);
  await page.type("#email", `${user}@example.com`);
  await page.type("#password", "a long and strong passphrase 42");
  await page.type("#password_confirmation", "a long and strong passphrase 42");
  await page.$eval("#date_of_birth", (el) => (el.value = "1990-01-01"));
  await page.click("#agreement");
  await Promise.all([page.waitForNavigation(), page.click("form[action='/auth/sign_up'] button[type=submit]")]);
  await page.goto(`${BASE}/`);
  await Promise.all([page.waitForNavigation(), page.click("a[href='/login']")]);
  if (!page.url().includes("/oauth/authorize")) await page.waitForNavigation();
  await Promise.all([page.waitForNavigation(), page.click("button[value=approve]")]);
  await page.waitForSelector("form.compose textarea");
  for (let n = 1; n <= 5; n += 1) {
    await page.type("form.compose textarea", `Benchmark post ${n}: https://example.com/${n} #bench`);
    await page.click("form.compose button[type=submit]");
    await page.waitForFunction((count) => document.querySelectorAll(".status").length >= count, {}, n);
  }
  const statusId = await page.$eval(".status", (el) => el.getAttribute("data-id"));
  await page.close();

  const pages = [
    ["home timeline (signed in)", `${BASE}/`, PORT],
    ["public status page (visitor)", `${BASE}/@${user}/${statusId}`, PORT + 1],
  ];
  for (const [name, url, port] of pages) {
    const status = await fetch(url).then((r) => r.status);
    if (status !== 200) {
      console.log(`${name}: ${url} answered ${status}; not measured`);
      continue;
    }
    const result = await lighthouse(url, {
      port,
      output: "json",
      logLevel: "error",
      disableStorageReset: true,
      onlyCategories: ["performance", "accessibility", "best-practices", "seo"],
    });
    const { categories, audits } = result.lhr;
    const score = (id) => Math.round((categories[id]?.score ?? 0) * 100);
    console.log(
      `${name}: performance ${score("performance")}, accessibility ${score("accessibility")}, ` +
        `best practices ${score("best-practices")}, SEO ${score("seo")}; ` +
        `LCP ${audits["largest-contentful-paint"].displayValue}, CLS ${audits["cumulative-layout-shift"].displayValue}, ` +
        `TBT ${audits["total-blocking-time"].displayValue}`,
    );
    for (const id of ["performance", "accessibility", "best-practices", "seo"]) {
      const failing = categories[id].auditRefs
        .filter((ref) => ref.weight > 0 && audits[ref.id].score !== null && audits[ref.id].score < 0.9)
        .map((ref) => ref.id);
      if (failing.length) console.log(`  ${id} below 0.9: ${failing.join(", ")}`);
    }
  }
} finally {
  await browser.close();
  await visitor.close();
}
const web = new URL("../../web/", import.meta.url).pathname;
console.log(execFileSync("node", ["scripts/size.mjs"], { cwd: web, encoding: "utf8" }).trim());
