import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import en from "../src/i18n/en.json";
import id from "../src/i18n/id.json";
import { makeIntl, pickLocale, setLocale, t } from "../src/i18n";

const script = join(__dirname, "..", "scripts", "check-i18n.mjs");

function check(catalogs: Record<string, object>): { ok: boolean; output: string } {
  const dir = mkdtempSync(join(tmpdir(), "catalogs-"));
  for (const [name, messages] of Object.entries(catalogs)) {
    writeFileSync(join(dir, `${name}.json`), JSON.stringify(messages));
  }
  try {
    return { ok: true, output: execFileSync("node", [script, dir], { encoding: "utf8", stdio: "pipe" }) };
  } catch (error) {
    return { ok: false, output: String((error as { stderr: string }).stderr) };
  }
}

describe("catalogs", () => {
  it("have the same keys in English and Indonesian", () => {
    expect(Object.keys(id).sort()).toEqual(Object.keys(en).sort());
  });
  it("translate every string (no Indonesian message is the English one, names aside)", () => {
    const same = Object.keys(en).filter(
      (key) => en[key as keyof typeof en] === id[key as keyof typeof id] && !/^\{[^}]+\}$/.test(en[key as keyof typeof en]),
    );
    expect(same).toEqual([]);
  });
  it("the check passes on the real catalogs", () => {
    expect(check({ en, id }).ok).toBe(true);
  });
  it("the check fails on a key one catalog lacks", () => {
    const result = check({ en: { a: "A", b: "B" }, id: { a: "A id" } });
    expect(result.ok).toBe(false);
    expect(result.output).toContain('id.json lacks "b"');
  });
  it("the check fails when the arguments differ", () => {
    const result = check({ en: { a: "{name} posted" }, id: { a: "{nama} mengirim" } });
    expect(result.ok).toBe(false);
    expect(result.output).toContain("different arguments");
  });
});

describe("locale", () => {
  it("follows the first language the app speaks", () => {
    expect(pickLocale(["fr-FR", "id-ID", "en"])).toBe("id");
    expect(pickLocale(["en-GB"])).toBe("en");
    expect(pickLocale(["de", null, undefined])).toBe("en");
  });
  it("formats ICU plurals in both languages", () => {
    expect(makeIntl("en").formatMessage({ id: "timeline.newPosts" }, { count: 1 })).toBe("1 new post");
    expect(makeIntl("en").formatMessage({ id: "timeline.newPosts" }, { count: 3 })).toBe("3 new posts");
    expect(makeIntl("id").formatMessage({ id: "timeline.newPosts" }, { count: 3 })).toBe("3 kiriman baru");
  });
  it("switches every string at once", () => {
    setLocale("id");
    expect(t("nav.home")).toBe("Beranda");
    expect(document.documentElement.lang).toBe("id");
    setLocale("en");
    expect(t("nav.home")).toBe("Home");
  });
});
