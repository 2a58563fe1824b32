import { describe, expect, it, vi } from "vitest";
import * as outbox from "../src/lib/outbox";

function respond(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

describe("offline outbox", () => {
  it("sends each queued post once, with the key it was given, in order", async () => {
    const first = await outbox.enqueue({ status: "one" });
    const second = await outbox.enqueue({ status: "two", visibility: "unlisted" });
    const fetch = vi.fn(async (_url: string, init: RequestInit) =>
      respond(200, { id: String(fetch.mock.calls.length), content: JSON.parse(String(init.body)).status }),
    );
    vi.stubGlobal("fetch", fetch);

    const [a, b] = await Promise.all([outbox.flush(), outbox.flush()]); // one run for both
    expect(a).toBe(b);
    expect(fetch).toHaveBeenCalledTimes(2);
    const keys = fetch.mock.calls.map(([, init]) => (init.headers as Record<string, string>)["Idempotency-Key"]);
    expect(keys).toEqual([first.key, second.key]);
    expect(fetch.mock.calls.map(([, init]) => JSON.parse(String(init.body)).status)).toEqual(["one", "two"]);
    expect(await outbox.queued()).toEqual([]);
    await outbox.flush();
    expect(fetch).toHaveBeenCalledTimes(2);
  });

  it("keeps a post while the network fails, and retries it with the same key", async () => {
    const item = await outbox.enqueue({ status: "later" });
    vi.stubGlobal("fetch", vi.fn(async () => Promise.reject(new TypeError("Failed to fetch"))));
    expect(await outbox.flush()).toEqual([]);
    expect((await outbox.queued()).map((q) => q.key)).toEqual([item.key]);

    const fetch = vi.fn(async () => respond(200, { id: "9" }));
    vi.stubGlobal("fetch", fetch);
    expect(await outbox.flush()).toEqual([{ id: "9" }]);
    const [[, init]] = fetch.mock.calls as unknown as [string, RequestInit][];
    expect((init.headers as Record<string, string>)["Idempotency-Key"]).toBe(item.key);
    expect(await outbox.queued()).toEqual([]);
  });

  it("keeps a post the server could not take now (5xx), drops one it refused (422)", async () => {
    await outbox.enqueue({ status: "" });
    const kept = await outbox.enqueue({ status: "fine" });
    vi.stubGlobal(
      "fetch",
      vi.fn(async (_url: string, init: RequestInit) =>
        JSON.parse(String(init.body)).status ? respond(503, { error: "busy" }) : respond(422, { error: "text: blank" }),
      ),
    );
    expect(await outbox.flush()).toEqual([]);
    expect((await outbox.queued()).map((q) => q.key)).toEqual([kept.key]);
  });
});
