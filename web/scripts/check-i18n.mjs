// Fails when a message exists in one catalog and not the other, when a catalog has an
// empty message, or when the two spellings of a message use different ICU arguments.
import { readFileSync, readdirSync } from "node:fs";
import { parse } from "@formatjs/icu-messageformat-parser";

const dir = process.argv[2] ? new URL(`file://${process.argv[2].replace(/\/?$/, "/")}`) : new URL("../src/i18n/", import.meta.url);
const catalogs = Object.fromEntries(
  readdirSync(dir)
    .filter((name) => name.endsWith(".json"))
    .map((name) => [name.replace(/\.json$/, ""), JSON.parse(readFileSync(new URL(name, dir), "utf8"))]),
);

function argumentsOf(message) {
  const names = new Set();
  const walk = (nodes) => {
    for (const node of nodes) {
      if (node.value !== undefined && typeof node.value === "string" && node.type !== 0) names.add(node.value);
      if (node.options) for (const option of Object.values(node.options)) walk(option.value);
    }
  };
  walk(parse(message));
  return [...names].sort().join(",");
}

const problems = [];
const names = Object.keys(catalogs);
const allKeys = new Set(names.flatMap((name) => Object.keys(catalogs[name])));
for (const key of [...allKeys].sort()) {
  for (const name of names) {
    const message = catalogs[name][key];
    if (message === undefined) problems.push(`${name}.json lacks "${key}"`);
    else if (!String(message).trim()) problems.push(`${name}.json: "${key}" is empty`);
  }
  const shapes = new Set(
    names.filter((name) => catalogs[name][key] !== undefined).map((name) => argumentsOf(catalogs[name][key])),
  );
  if (shapes.size > 1) problems.push(`"${key}" uses different arguments across catalogs`);
}
if (problems.length) {
  console.error(problems.join("\n"));
  console.error(`i18n check: ${problems.length} problem(s) in ${names.join(", ")}`);
  process.exit(1);
}
console.log(`i18n check: ${allKeys.size} messages in ${names.join(", ")}, none missing`);
