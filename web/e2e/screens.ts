// Every screen the browser tests reach is checked and shot here: axe-core's check (no serious
// or critical WCAG 2.x A/AA violation), then screenshots at desktop and mobile width for a
// reviewer, in web/screenshots/<name>-<desktop|mobile>.jpg (not committed). JPEG, not PNG: the
// browser encodes ~180 full-page shots a run, and PNG's encoding cost ~2 CPU-s more of the
// browser process's ~13 (docs/benchmarks.md).
//
// axe-core is put into each document once and run there with `axe.run`, as
// @axe-core/playwright's legacy mode does, without its cost: the builder sent axe's 0.5 MB
// source to the page twice per check (once to test for `runPartial`, once per frame) and
// compiled it twice, ~210 ms of renderer time per check on the about page against ~110 for
// the run alone (docs/benchmarks.md). Our pages have no frames, and the app is one document
// across its screens, so most checks find axe already there. Only violations are gathered
// in full (`resultTypes`): every rule still runs, but axe builds no selector for each
// passing node, which the check never reads.
import axe from "axe-core";
import { expect, type Page } from "@playwright/test";

export const SHOTS = "screenshots";
export const SHOT_FORMAT = { type: "jpeg", quality: 85 } as const;
const WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"];

type WithAxe = Window & { axe?: typeof axe };

async function violations(page: Page): Promise<axe.Result[]> {
  if (!(await page.evaluate(() => "axe" in window))) await page.evaluate(axe.source);
  const results = await page.evaluate(
    (tags) =>
      (window as WithAxe).axe!.run(document, {
        runOnly: { type: "tag", values: tags },
        resultTypes: ["violations"],
      }),
    WCAG_TAGS,
  );
  return results.violations;
}

export async function shoot(page: Page, name: string): Promise<void> {
  const serious = (await violations(page)).filter((v) => v.impact === "serious" || v.impact === "critical");
  expect(serious.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`), name).toEqual([]);
  for (const [label, width, height] of [["desktop", 1280, 900], ["mobile", 390, 844]] as const) {
    await page.setViewportSize({ width, height });
    await page.screenshot({ path: `${SHOTS}/${name}-${label}.jpg`, fullPage: true, ...SHOT_FORMAT });
  }
  await page.setViewportSize({ width: 1280, height: 900 });
}
