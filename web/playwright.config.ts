// Browser tests: Playwright drives Debian's chromium (Playwright's own browser downloads are
// not used) against a real ConnectHub server that the run starts on a fresh SQLite database,
// serving the built app (`make web-e2e` builds it first). E2E_BASE_URL points the tests at a
// server already running instead.
//
// Debian's headless shell (`chromium-headless-shell`, the same engine without the browser's
// UI) when installed, as CI does: the specs took 87-93 CPU-s with it against 121-129 with
// /usr/bin/chromium (settings + app specs, two runs each; docs/benchmarks.md). CHROME_PATH
// chooses another.
const HEADLESS_SHELL = "/usr/bin/chromium-headless-shell";
const browserPath = process.env.CHROME_PATH ?? (existsSync(HEADLESS_SHELL) ? HEADLESS_SHELL : "/usr/bin/chromium");
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig, devices } from "@playwright/test";

const PORT = Number(process.env.E2E_PORT ?? 8188);
const external = process.env.E2E_BASE_URL;
// Made once by the runner and inherited by its workers (whose specs may run the server's
// CLI on the same database, e.g. to make a moderator); removed at the end of a run that made
// it (e2e/teardown.ts), kept when E2E_DATA_DIR was given.
if (!process.env.E2E_DATA_DIR) {
  process.env.E2E_DATA_DIR = process.env.E2E_MADE_DATA_DIR = mkdtempSync(join(tmpdir(), "connecthub-e2e-"));
}
const data = process.env.E2E_DATA_DIR;
const root = resolve(fileURLToPath(new URL(".", import.meta.url)), "..");

export default defineConfig({
  testDir: "e2e",
  timeout: 240_000,
  expect: { timeout: 20_000 },
  fullyParallel: false,
  workers: 1,
  // A failed test runs once more, traced (`on-first-retry`), and the run fails all the
  // same (`failOnFlakyTests`): a green run records no trace. Recording one for every test to
  // keep it only on failure cost 6-17 of the settings spec's 50-68 CPU-s (without and with
  // its screencast frames; docs/benchmarks.md).
  retries: 1,
  globalTeardown: "./e2e/teardown.ts",
  failOnFlakyTests: true,
  reporter: [["list"]],
  outputDir: "test-results",
  use: {
    baseURL: external ?? `http://127.0.0.1:${PORT}`,
    launchOptions: { executablePath: browserPath },
    trace: "on-first-retry",
    // A step waits at most a minute (the default is the test's whole timeout, ten minutes
    // for the settings spec): a step that cannot succeed fails, and its retry starts, soon.
    actionTimeout: 60_000,
    navigationTimeout: 60_000,
  },
  projects: [{ name: "chromium", use: { ...devices["Desktop Chrome"], channel: undefined } }],
  webServer: external
    ? undefined
    : {
        // Its log kept in the data directory: a failed test prints its warnings and errors
        // (e2e/diagnostics.ts).
        command: `${root}/.venv/bin/connecthub serve > ${data}/server.log 2>&1`,
        cwd: root,
        url: `http://127.0.0.1:${PORT}/health/live`,
        timeout: 180_000,
        reuseExistingServer: false,
        stdout: "ignore",
        stderr: "ignore",
        env: {
          HOST: "127.0.0.1",
          PORT: String(PORT),
          LOCAL_DOMAIN: `127.0.0.1:${PORT}`,
          DATABASE_URL: `sqlite:///${data}/connecthub.db`,
          MEDIA_STORAGE_URL: `file://${data}/media`,
          OUTBOX_DIR: `${data}/outbox`,
          RATE_LIMIT_ENABLED: "false",
          WEB_APP_DIR: `${root}/web/dist`,
        },
      },
});
