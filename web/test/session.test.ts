import { afterEach, describe, expect, it, vi } from "vitest";
import { loadSession, signInRefused } from "../src/state";

function answer(status: number): Response {
  return new Response(JSON.stringify({ error: `status ${status}` }), {
    status,
    headers: { "Content-Type": "application/json" },
  });
}

async function failureOf(fetched: () => Promise<Response>): Promise<unknown> {
  vi.stubGlobal("fetch", vi.fn(fetched));
  return loadSession().then(
    () => null,
    (error: unknown) => error,
  );
}

describe("a session that fails to load", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("signs out only when the server refuses the token", async () => {
    expect(signInRefused(await failureOf(async () => answer(401)))).toBe(true);
  });

  it("keeps the sign-in through a busy or failing server, a rate limit or no network", async () => {
    for (const status of [429, 500, 503]) {
      const error = await failureOf(async () => answer(status));
      expect(error).not.toBeNull();
      expect(signInRefused(error)).toBe(false);
    }
    const offline = await failureOf(async () => {
      throw new TypeError("Failed to fetch");
    });
    expect(signInRefused(offline)).toBe(false);
  });
});
