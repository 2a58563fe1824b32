import { describe, expect, it, vi } from "vitest";
import type { Account, Status } from "../src/lib/api";
import { decode, decode83, isValid } from "../src/lib/blurhash";
import { compareIds, messageText, orderMessages, plainText, withoutLeadingMentions } from "../src/lib/chat";
import * as outbox from "../src/lib/outbox";
import * as presence from "../src/lib/presence";
import * as redraft from "../src/lib/redraft";
import { remainingSeconds } from "../src/lib/redraft";

function respond(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

describe("blurhash", () => {
  // Both strings made by the server's encoder (media/blurhash.py).
  it("decodes a one-colour hash to that colour", () => {
    const pixels = decode("00M|T9", 4, 4);
    for (let i = 0; i < 16; i++) {
      expect([pixels[i * 4], pixels[i * 4 + 1], pixels[i * 4 + 2], pixels[i * 4 + 3]]).toEqual([200, 100, 50, 255]);
    }
    // With AC components (the encoder's small odd-harmonic residue): the colour on average.
    const many = decode("L5M|T9}XfQ}X}XoKfQoKfQfQfQfQ", 8, 8);
    const mean = (c: number) => Array.from({ length: 64 }, (_, i) => many[i * 4 + c]!).reduce((a, b) => a + b, 0) / 64;
    expect(Math.abs(mean(0) - 200)).toBeLessThan(8);
    expect(Math.abs(mean(1) - 100)).toBeLessThan(8);
    expect(Math.abs(mean(2) - 50)).toBeLessThan(8);
  });

  it("keeps a gradient's direction (the fixture image: red grows left to right, blue falls)", () => {
    const pixels = decode("L#HURz2xw$X9q*WYjuf8f%fQfQfQ", 4, 4);
    const at = (x: number, y: number, c: number) => pixels[(y * 4 + x) * 4 + c]!;
    expect(at(3, 1, 0)).toBeGreaterThan(at(0, 1, 0) + 100); // red
    expect(at(0, 1, 2)).toBeGreaterThan(at(3, 1, 2) + 60); // blue
    expect(at(1, 3, 1)).toBeGreaterThan(at(1, 0, 1) + 40); // green grows downwards
  });

  it("refuses malformed hashes", () => {
    expect(isValid("")).toBe(false);
    expect(isValid("L5M|T9}XfQ")).toBe(false); // too short for its component count
    expect(isValid("00M|T\u00e9")).toBe(false);
    expect(isValid(null)).toBe(false);
    expect(() => decode("nonsense", 4, 4)).toThrow();
    expect(decode83("~")).toBe(82);
    expect(decode83("10")).toBe(83);
  });
});

const alice = { id: "1", acct: "alice", username: "alice", display_name: "Alice" } as Account;
const bob = { id: "2", acct: "bob@elsewhere.example", username: "bob", display_name: "" } as Account;

function message(id: string, created_at: string): Status {
  return { id, created_at } as Status;
}

describe("chat", () => {
  it("orders messages oldest first, each once, ids compared as numbers", () => {
    const at = "2026-01-01T00:00:00.000Z";
    const ordered = orderMessages([message("10", at), message("9", at), message("10", at), message("2", "2025-01-01T00:00:00.000Z")]);
    expect(ordered.map((m) => m.id)).toEqual(["2", "9", "10"]);
    expect(compareIds("100", "99")).toBeGreaterThan(0);
  });

  it("addresses a message to every participant once", () => {
    expect(messageText([alice, bob], "hi")).toBe("@alice @bob@elsewhere.example hi");
    expect(messageText([alice], "@alice hi")).toBe("@alice hi");
    expect(messageText([alice], "@alicex hi")).toBe("@alice @alicex hi");
  });

  it("shows a message without the mentions it starts with", () => {
    const html =
      '<p><span class="h-card"><a href="https://x/@bob" class="u-url mention">@<span>bob</span></a></span> kopi <a href="https://x/@carol" class="u-url mention">@carol</a>?</p>';
    const shown = withoutLeadingMentions(html);
    expect(shown).toContain("kopi");
    expect(shown).not.toContain("@<span>bob");
    expect(shown).toContain("@carol"); // one in the middle stays
    expect(plainText(html)).toBe("kopi @carol?");
    // Only mentions: shown as they came rather than as nothing.
    const only = '<p><a href="https://x/@bob" class="u-url mention">@bob</a></p>';
    expect(withoutLeadingMentions(only)).toBe(only);
    // …unless the message carries an attachment, which is then all there is to show.
    expect(withoutLeadingMentions(only, false)).toBe("");
  });
});

describe("presence and typing", () => {
  it("follows presence events", () => {
    presence.reset();
    const seen = vi.fn();
    const off = presence.subscribe(seen);
    presence.applyPresence({ account_id: "2", online: true });
    expect(presence.isOnline("2")).toBe(true);
    presence.applyPresence({ account_id: "2", online: false });
    expect(presence.isOnline("2")).toBe(false);
    expect(seen).toHaveBeenCalledTimes(2);
    off();
  });

  it("shows typing until it lapses, or until typing: false, or a message from them", () => {
    presence.reset();
    presence.applyTyping({ conversation_id: "7", account_id: "2", typing: true, expires_in: 6 }, 1000);
    expect(presence.typingIn("7", 1000)).toEqual(["2"]);
    expect(presence.typingIn("7", 6999)).toEqual(["2"]);
    expect(presence.typingIn("7", 7001)).toEqual([]);
    presence.applyTyping({ conversation_id: "7", account_id: "2", typing: true, expires_in: 6 }, 1000);
    presence.applyTyping({ conversation_id: "7", account_id: "2", typing: false }, 2000);
    expect(presence.typingIn("7", 2000)).toEqual([]);
    presence.applyTyping({ conversation_id: "7", account_id: "2", typing: true, expires_in: 6 }, Date.now());
    presence.stopTyping("7", "2");
    expect(presence.typingIn("7")).toEqual([]);
  });

  it("sends typing at most once per interval per conversation", async () => {
    const fetch = vi.fn(async (_url: string, _init?: RequestInit) => respond(200, {}));
    vi.stubGlobal("fetch", fetch);
    let now = 0;
    const send = presence.typingSender(3000, () => now);
    expect(send("7")).toBe(true);
    now = 1000;
    expect(send("7")).toBe(false);
    expect(send("8")).toBe(true);
    now = 3000;
    expect(send("7")).toBe(true);
    await Promise.resolve();
    expect(fetch.mock.calls.map(([url]) => url)).toEqual([
      "/api/v1/connecthub/conversations/7/typing",
      "/api/v1/connecthub/conversations/8/typing",
      "/api/v1/connecthub/conversations/7/typing",
    ]);
  });
});

describe("direct messages offline", () => {
  it("are queued with their conversation and sent once with their key", async () => {
    const item = await outbox.enqueue({ status: "@bob hi", visibility: "direct", in_reply_to_id: "5" }, undefined, "7");
    expect((await outbox.queued())[0]!.conversation).toBe("7");
    const fetch = vi.fn(async (_url: string, init: RequestInit) => respond(200, { id: "6", ...JSON.parse(String(init.body)) }));
    vi.stubGlobal("fetch", fetch);
    await outbox.flush();
    await outbox.flush();
    expect(fetch).toHaveBeenCalledTimes(1);
    const [, init] = fetch.mock.calls[0]!;
    expect((init.headers as Record<string, string>)["Idempotency-Key"]).toBe(item.key);
    // The body is the draft alone: the conversation is the app's own bookkeeping.
    expect(JSON.parse(String(init.body))).toEqual({ status: "@bob hi", visibility: "direct", in_reply_to_id: "5" });
  });
});

describe("redraft", () => {
  it("gives an edited poll the time it has left, at least five minutes", () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    const poll = { expires_at: "2026-01-01T01:00:00Z" } as never;
    expect(remainingSeconds(poll, now)).toBe(3600);
    expect(remainingSeconds({ expires_at: "2025-01-01T00:00:00Z" } as never, now)).toBe(300);
    expect(remainingSeconds({ expires_at: null } as never, now)).toBe(86400);
  });
});

describe("compose requests (edit, redraft)", () => {
  const request = { mode: "edit", text: "x" } as redraft.ComposeRequest;
  it("wait for a compose box when none is showing, taken once", () => {
    redraft.request(request);
    expect(redraft.take()).toBe(request);
    expect(redraft.take()).toBeNull();
  });
  it("go straight to a compose box that is showing", () => {
    const got = vi.fn();
    const off = redraft.listen(got);
    redraft.request(request);
    expect(got).toHaveBeenCalledWith(request);
    expect(redraft.take()).toBeNull();
    off();
  });
});
