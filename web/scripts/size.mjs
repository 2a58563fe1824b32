// Prints the initial JavaScript's size (what index.html loads before the app renders:
// its module scripts and their static imports), raw and gzip, and fails over the budget.
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";

const DIST = new URL("../dist/", import.meta.url);
const BUDGET_GZIP_KB = 120;
const html = readFileSync(new URL("index.html", DIST), "utf8");
const entries = [...html.matchAll(/<(?:script[^>]+src|link[^>]+rel="modulepreload"[^>]+href)="\/([^"]+\.js)"/g)].map(
  (m) => m[1],
);
const seen = new Set();
const queue = [...entries];
while (queue.length) {
  const file = queue.shift();
  if (seen.has(file)) continue;
  seen.add(file);
  const code = readFileSync(new URL(file, DIST), "utf8");
  // Static imports only (`import{…}from"./x.js"`); dynamic import() is loaded later.
  for (const m of code.matchAll(/(?:^|[;\s}])import\s*(?:[^"'()]*?from\s*)?["']\.\/([^"']+\.js)["']/g)) {
    queue.push(`assets/${m[1]}`);
  }
}
if (seen.size === 0) {
  console.error("initial JS: no script found in dist/index.html");
  process.exit(1);
}
let raw = 0;
let gzip = 0;
for (const file of seen) {
  const data = readFileSync(new URL(file, DIST));
  raw += data.length;
  gzip += gzipSync(data, { level: 9 }).length;
}
const kb = (n) => (n / 1024).toFixed(1);
console.log(`initial JS: ${seen.size} file(s), ${kb(raw)} KB raw, ${kb(gzip)} KB gzip (budget ${BUDGET_GZIP_KB} KB)`);
if (gzip / 1024 > BUDGET_GZIP_KB) process.exit(1);
