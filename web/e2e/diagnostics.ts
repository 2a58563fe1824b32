// What the browsers saw, printed when a test fails: every answer of 400 or more from the
// server, every request that failed, and the pages' console warnings and errors, in order
// and by page. A flaky step (a screen showing the welcome screen mid-test) left nothing to
// read but its snapshot; with this its cause is in the failed run's output.
import { test as base, type BrowserContextOptions, type BrowserContext } from "@playwright/test";

export { expect } from "@playwright/test";

export const test = base.extend<{ browserLog: void }>({
  browserLog: [
    async ({ browser }, use, testInfo) => {
      const started = Date.now();
      const lines: string[] = [];
      const note = (context: number, text: string) =>
        lines.push(`${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s  #${context}  ${text}`);
      const original = browser.newContext.bind(browser);
      let contexts = 0;
      browser.newContext = async (options?: BrowserContextOptions): Promise<BrowserContext> => {
        const context = await original(options);
        const number = ++contexts;
        context.on("response", (response) => {
          if (response.status() >= 400) note(number, `${response.status()} ${response.request().method()} ${response.url()}`);
        });
        context.on("requestfailed", (request) => note(number, `failed ${request.method()} ${request.url()}: ${request.failure()?.errorText}`));
        context.on("console", (message) => {
          if (message.type() === "warning" || message.type() === "error") note(number, `console ${message.type()}: ${message.text()}`);
        });
        return context;
      };
      await use();
      browser.newContext = original;
      if (testInfo.status !== testInfo.expectedStatus && lines.length) {
        const log = lines.join("\n");
        console.log(`\nWhat the browsers saw (${testInfo.title}):\n${log}\n`);
        await testInfo.attach("browser-log", { body: log, contentType: "text/plain" });
      }
    },
    { auto: true },
  ],
});
