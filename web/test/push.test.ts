import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { setToken } from "../src/lib/api";
import * as push from "../src/lib/push";

// The server's VAPID key as /api/v2/instance gives it (URL-safe base64 of 65 bytes).
const VAPID = "BEl62iUYgUivxIkv69yViEuiBIa-Ib9-SkvMeAtA3LFgDzkrxZJjSgSnfckjBJuBkr3qBUYIHBQFLXYp5Nksh8U";

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

/** A browser's push machinery: a PushManager holding at most one subscription. */
function fakeBrowser(permission: NotificationPermission = "granted", existingKey?: Uint8Array) {
  const made: { key: Uint8Array; unsubscribed: boolean }[] = [];
  const subscription = (key: Uint8Array) => {
    const record = { key, unsubscribed: false };
    made.push(record);
    return {
      options: { applicationServerKey: key.buffer },
      toJSON: () => ({ endpoint: `https://push.example.net/send/${made.length}`, keys: { p256dh: "BPkey", auth: "authsecret" } }),
      unsubscribe: vi.fn(async () => {
        record.unsubscribed = true;
        held = null;
        return true;
      }),
    };
  };
  let held: ReturnType<typeof subscription> | null = existingKey ? subscription(existingKey) : null;
  const pushManager = {
    getSubscription: vi.fn(async () => held),
    subscribe: vi.fn(async (options: PushSubscriptionOptionsInit) => {
      held = subscription(new Uint8Array(options.applicationServerKey as ArrayBuffer));
      return held;
    }),
  };
  const registration = { pushManager };
  vi.stubGlobal("Notification", { requestPermission: vi.fn(async () => permission) });
  vi.stubGlobal("PushManager", function PushManager() {});
  Object.defineProperty(navigator, "serviceWorker", {
    configurable: true,
    value: { ready: Promise.resolve(registration), getRegistration: async () => registration },
  });
  return { pushManager, made };
}

describe("web push", () => {
  beforeEach(() => setToken("tok"));
  afterEach(() => {
    setToken(null);
    delete (navigator as { serviceWorker?: unknown }).serviceWorker;
  });

  it("decodes the server's key for the browser", () => {
    const bytes = push.keyBytes(VAPID);
    expect(bytes.length).toBe(65);
    expect(bytes[0]).toBe(4); // an uncompressed P-256 point
  });

  it("subscribes with the server's key and sends the subscription and alerts to the server", async () => {
    const { pushManager } = fakeBrowser();
    const fetch = vi.fn(async () => json({ id: 1, endpoint: "https://push.example.net/send/1", alerts: { mention: true }, server_key: VAPID }));
    vi.stubGlobal("fetch", fetch);
    const alerts = { ...push.allAlerts(false), mention: true, follow: true };

    const saved = await push.subscribe(VAPID, alerts);

    expect(pushManager.subscribe).toHaveBeenCalledTimes(1);
    const options = pushManager.subscribe.mock.calls[0]![0];
    expect(options.userVisibleOnly).toBe(true);
    expect(Array.from(options.applicationServerKey as Uint8Array)).toEqual(Array.from(push.keyBytes(VAPID)));
    const [path, init] = fetch.mock.calls[0] as unknown as [string, RequestInit];
    expect(path).toBe("/api/v1/push/subscription");
    expect(init.method).toBe("POST");
    expect((init.headers as Record<string, string>).Authorization).toBe("Bearer tok");
    expect(JSON.parse(String(init.body))).toEqual({
      subscription: { endpoint: "https://push.example.net/send/1", keys: { p256dh: "BPkey", auth: "authsecret" }, standard: true },
      data: { alerts, policy: "all" },
    });
    expect(push.alertsOf(saved).mention).toBe(true);
    expect(push.alertsOf(saved).follow).toBe(false);
  });

  it("sends nothing when notifications are not allowed", async () => {
    const { pushManager } = fakeBrowser("denied");
    const fetch = vi.fn();
    vi.stubGlobal("fetch", fetch);

    await expect(push.subscribe(VAPID, push.allAlerts())).rejects.toBeInstanceOf(push.PermissionDenied);
    expect(pushManager.subscribe).not.toHaveBeenCalled();
    expect(fetch).not.toHaveBeenCalled();
  });

  it("keeps a subscription made with the same key, and replaces one made with another", async () => {
    const same = fakeBrowser("granted", push.keyBytes(VAPID));
    vi.stubGlobal("fetch", vi.fn(async () => json({ id: 1, endpoint: "x", alerts: {}, server_key: VAPID })));
    await push.subscribe(VAPID, push.allAlerts());
    expect(same.pushManager.subscribe).not.toHaveBeenCalled();

    const other = fakeBrowser("granted", new Uint8Array(65).fill(7));
    await push.subscribe(VAPID, push.allAlerts());
    expect(other.made[0]!.unsubscribed).toBe(true);
    expect(other.pushManager.subscribe).toHaveBeenCalledTimes(1);
  });

  it("changes alerts with PUT, and unsubscribing forgets it on the server and in the browser", async () => {
    const { made } = fakeBrowser("granted", push.keyBytes(VAPID));
    const fetch = vi.fn(async (_path: string, init?: RequestInit) =>
      init?.method === "DELETE" ? json({}) : json({ id: 1, endpoint: "x", alerts: { poll: true }, server_key: VAPID }),
    );
    vi.stubGlobal("fetch", fetch);

    await push.update({ ...push.allAlerts(false), poll: true });
    await push.unsubscribe();

    const calls = fetch.mock.calls as unknown as [string, RequestInit][];
    expect(calls[0]![1].method).toBe("PUT");
    expect(JSON.parse(String(calls[0]![1].body))).toEqual({ data: { alerts: { ...push.allAlerts(false), poll: true } } });
    expect(calls[1]![0]).toBe("/api/v1/push/subscription");
    expect(calls[1]![1].method).toBe("DELETE");
    expect(made[0]!.unsubscribed).toBe(true);
  });

  it("reads no subscription from the server's 404", async () => {
    vi.stubGlobal("fetch", vi.fn(async () => json({ error: "Record not found" }, 404)));
    expect(await push.current()).toBeNull();
    expect(push.alertsOf(null)).toEqual(push.allAlerts(false));
  });
});
