// Every screen the browser tests reach is checked and shot here: axe-core's check (no serious
// or critical WCAG 2.x A/AA violation), then screenshots at desktop and mobile width for a
// reviewer, in web/screenshots/<name>-<desktop|mobile>.png (not committed).
//
// axe runs in the page itself (the builder's legacy mode: our pages have no cross-origin
// frames to reach). Its default mode opens a blank page per check to merge the frames'
// results and loads axe into it again: ~0.35 CPU-s per check, 28 of the settings spec's
// 78 CPU-s (docs/benchmarks.md). Only violations are gathered in full (`resultTypes`):
// every rule still runs, but axe no longer builds a selector for each passing node, which
// the check never reads.
import AxeBuilder from "@axe-core/playwright";
import { expect, type Page } from "@playwright/test";

export const SHOTS = "screenshots";

export async function shoot(page: Page, name: string): Promise<void> {
  const results = await new AxeBuilder({ page })
    .setLegacyMode()
    .options({ resultTypes: ["violations"] })
    .withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]).analyze();
  const serious = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  expect(serious.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`), name).toEqual([]);
  for (const [label, width, height] of [["desktop", 1280, 900], ["mobile", 390, 844]] as const) {
    await page.setViewportSize({ width, height });
    await page.screenshot({ path: `${SHOTS}/${name}-${label}.png`, fullPage: true });
  }
  await page.setViewportSize({ width: 1280, height: 900 });
}
