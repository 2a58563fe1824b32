import { describe, expect, it } from "vitest";
import { remaining, statusLength } from "../src/lib/count";
import { parseLink } from "../src/lib/link";
import { challengeFor, newVerifier } from "../src/lib/pkce";

describe("Link pagination", () => {
  it("reads next and prev as Mastodon sends them", () => {
    const header =
      '<https://social.example/api/v1/timelines/home?max_id=108>; rel="next", ' +
      '<https://social.example/api/v1/timelines/home?min_id=120>; rel="prev"';
    expect(parseLink(header)).toEqual({
      next: "https://social.example/api/v1/timelines/home?max_id=108",
      prev: "https://social.example/api/v1/timelines/home?min_id=120",
    });
  });
  it("is empty without a header, and keeps only the rel it knows", () => {
    expect(parseLink(null)).toEqual({});
    expect(parseLink('<https://x/y>; rel="last"')).toEqual({});
  });
});

describe("character counter", () => {
  it("counts a link as 23 whatever its length", () => {
    expect(statusLength("see https://example.com/" + "a".repeat(100))).toBe(4 + 23);
  });
  it("counts a mention's username only", () => {
    expect(statusLength("hi @bob@far.away.example")).toBe("hi @bob".length);
  });
  it("counts code points, not UTF-16 units", () => {
    expect(statusLength("😀😀")).toBe(2);
  });
  it("takes the content warning from the limit too", () => {
    expect(remaining("hello", "cw", 500)).toBe(493);
    expect(remaining("x".repeat(501), "", 500)).toBe(-1);
  });
});

describe("PKCE", () => {
  it("derives the S256 challenge of RFC 7636's example", async () => {
    expect(await challengeFor("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")).toBe(
      "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
    );
  });
  it("makes fresh 43-character verifiers", () => {
    const a = newVerifier();
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(newVerifier()).not.toBe(a);
  });
});
