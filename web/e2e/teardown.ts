// The end of a browser-test run: the data directory the run made for its server (its SQLite
// file, media, outbox and log; playwright.config.ts) goes, so runs leave nothing in the
// temporary directory. A directory given as E2E_DATA_DIR is the caller's and stays.
import { rmSync } from "node:fs";

export default function teardown(): void {
  const made = process.env.E2E_MADE_DATA_DIR;
  if (made) rmSync(made, { recursive: true, force: true });
}
