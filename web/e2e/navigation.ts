// Moving between the app's screens in a browser test the way a person does: inside the app
// already running in the page, as its links do, instead of loading the document again.
//
// A load starts the whole app again (its scripts, the token read back from IndexedDB, the
// account and instance fetched, the stream opened) and drops axe-core, which the next
// check puts in again (e2e/screens.ts). The settings spec toured ~40 screens with a load
// each: 48.8 CPU-s and 53 s; moving inside the app, 37.9 CPU-s and 38 s (docs/benchmarks.md).
import type { Page } from "@playwright/test";

// Like Playwright's `networkidle` (no request for 500 ms) for what a move inside the app
// asks (`waitForLoadState` only knows the document's load, long done), shorter: a screen's
// next request starts as soon as the one before is answered.
const QUIET_MS = 250;
const QUIET_TIMEOUT_MS = 20_000;

/** Opens `path` (one of the app's addresses, not a server page) in the app running in
 * `page`, through its router, and waits until the requests the screen made are answered.
 * Loads the address when the page shows no app (a blank page, a server page), or shows it
 * already (the test wants it fresh). */
export async function openInApp(page: Page, path: string): Promise<void> {
  const inFlight = new Set<unknown>();
  let lastChange = Date.now();
  const started = (request: unknown) => {
    inFlight.add(request);
    lastChange = Date.now();
  };
  const ended = (request: unknown) => {
    inFlight.delete(request);
    lastChange = Date.now();
  };
  page.on("request", started);
  page.on("requestfinished", ended);
  page.on("requestfailed", ended);
  try {
    const routed = await page.evaluate((to) => {
      if (!document.getElementById("app")?.hasChildNodes()) return false;
      if (location.pathname + location.search === to) return false; // asked again: a reload
      // What preact-iso's router does for a link: the address pushed, then followed.
      history.pushState(null, "", to);
      dispatchEvent(new PopStateEvent("popstate"));
      return true;
    }, path);
    if (!routed) {
      await page.goto(path);
      await page.waitForLoadState("networkidle");
      return;
    }
    const deadline = Date.now() + QUIET_TIMEOUT_MS;
    while (inFlight.size > 0 || Date.now() - lastChange < QUIET_MS) {
      if (Date.now() > deadline) throw new Error(`${path}: requests still open after ${QUIET_TIMEOUT_MS} ms`);
      await page.waitForTimeout(50);
    }
  } finally {
    page.off("request", started);
    page.off("requestfinished", ended);
    page.off("requestfailed", ended);
  }
}
