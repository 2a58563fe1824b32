// The browser contexts a test opens (`browser.newContext()`, one per person), watched while
// it runs and closed when it ends: Playwright closes only its own fixtures' contexts, and
// these stayed open to the end of the run, their apps streaming and rendering every later
// spec's posts.
//
// When a test fails, what the browsers saw is printed, in order and by context: each answer
// of 400 or more (and 202, 206), failed requests, where each page went (loads and moves
// inside the app), renderer crashes, console warnings and errors; then requests still
// unanswered, the test server's warnings and errors from its log (in its data directory:
// playwright.config.ts), and each open page's IndexedDB keys with the origin's quota.
// Read the failed page from these, not from the "Page snapshot" of Playwright's error
// context: after an action's timeout that is the first page open in the worker's browser,
// whichever failed (an earlier spec's page on the welcome screen sent two flakes' hunts
// after a lost sign-in; the social spec's was a chat's picture wiped by the answer of the
// message before it).
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { test as base, type BrowserContext, type BrowserContextOptions, type Request } from "@playwright/test";

/** The test server's log (playwright.config.ts), when this run started one. */
function serverLog(): string | null {
  const dir = process.env.E2E_DATA_DIR;
  const path = dir ? join(dir, "server.log") : "";
  return path && existsSync(path) ? path : null;
}

/** The server log's lines at warning level or above, from the byte offset `from`. */
function serverTrouble(from: number): string[] {
  const path = serverLog();
  if (!path) return [];
  return readFileSync(path).subarray(from).toString("utf8").split("\n")
    .filter((line) => /"level": ?"(warning|error|critical)"|Traceback|Error/.test(line));
}

export { expect } from "@playwright/test";

export const test = base.extend<{ browserContexts: void }>({
  browserContexts: [
    async ({ browser }, use, testInfo) => {
      const started = Date.now();
      const log = serverLog();
      const logFrom = log ? statSync(log).size : 0;
      const lines: string[] = [];
      const note = (context: number, text: string) =>
        lines.push(`${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s  #${context}  ${text}`);
      const original = browser.newContext.bind(browser);
      let contexts = 0;
      const opened: [number, BrowserContext][] = [];
      // Requests not answered yet, with when they were sent and from which context.
      const pending = new Map<Request, [number, number]>();
      browser.newContext = async (options?: BrowserContextOptions): Promise<BrowserContext> => {
        const context = await original(options);
        const number = ++contexts;
        opened.push([number, context]);
        context.on("request", (request) => pending.set(request, [number, Date.now()]));
        context.on("requestfinished", (request) => pending.delete(request));
        context.on("response", (response) => {
          // 202 and 206: work the server has not finished (media being processed).
          if (response.status() >= 400 || response.status() === 202 || response.status() === 206) note(number, `${response.status()} ${response.request().method()} ${response.url()}`);
        });
        context.on("requestfailed", (request) => pending.delete(request) && note(number, `failed ${request.method()} ${request.url()}: ${request.failure()?.errorText}`));
        // Where each page went (a load, or a move inside the app), and a renderer gone.
        context.on("page", (page) => {
          page.on("framenavigated", (frame) => {
            if (frame === page.mainFrame()) note(number, `at ${frame.url()}`);
          });
          page.on("crash", () => note(number, "the page's renderer crashed"));
        });
        context.on("console", (message) => {
          if (message.type() === "warning" || message.type() === "error") note(number, `console ${message.type()}: ${message.text()}`);
        });
        return context;
      };
      await use();
      browser.newContext = original;
      if (testInfo.status !== testInfo.expectedStatus) {
        const trouble = serverTrouble(logFrom);
        const unanswered = [...pending].map(
          ([request, [number, sent]]) => `#${number}  ${request.method()} ${request.url()}, sent ${((Date.now() - sent) / 1000).toFixed(1)} s ago`,
        );
        const storage = await storageOf(opened);
        const report = [
          ...lines, "", `Requests still unanswered (${unanswered.length}):`, ...unanswered,
          "", `The server's warnings and errors (${trouble.length}):`, ...trouble.slice(-80),
          "", "The pages' storage:", ...storage,
        ].join("\n");
        console.log(`\nWhat the browsers saw (${testInfo.title}):\n${report}\n`);
        await testInfo.attach("browser-log", { body: report, contentType: "text/plain" });
      }
      await Promise.all(opened.map(([, context]) => context.close()));
    },
    { auto: true },
  ],
});

/** Each open page's address, the keys in the app's IndexedDB store (web/src/lib/store.ts)
 * and the origin's quota and usage; at most a few seconds a page. */
async function storageOf(opened: [number, BrowserContext][]): Promise<string[]> {
  const found: string[] = [];
  for (const [number, context] of opened) {
    for (const page of context.pages()) {
      const read = page.evaluate(async () => {
        const keys = await new Promise<string[]>((resolve) => {
          const request = indexedDB.open("connecthub");
          request.onerror = () => resolve(["(IndexedDB not opened)"]);
          request.onsuccess = () => {
            const db = request.result;
            if (!db.objectStoreNames.contains("kv")) return resolve(["(no store)"]);
            const all = db.transaction("kv", "readonly").objectStore("kv").getAllKeys();
            all.onsuccess = () => resolve(all.result.map(String));
            all.onerror = () => resolve(["(keys not read)"]);
          };
        });
        const { quota, usage } = await navigator.storage.estimate();
        return { keys, quota, usage, persisted: await navigator.storage.persisted() };
      });
      const timeout = new Promise<null>((resolve) => setTimeout(() => resolve(null), 5_000));
      const seen = await Promise.race([read, timeout]).catch((error: Error) => error);
      const text = seen === null ? "not read within 5 s" : seen instanceof Error ? seen.message : JSON.stringify(seen);
      found.push(`#${number}  ${page.url()}: ${text}`);
    }
  }
  return found;
}
