import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";

type Listener = (event: Record<string, unknown>) => void;

/** public/app-sw.js run in a fake worker global: its listeners, and what it called. */
function loadWorker(windows: { url: string; focus: () => Promise<void>; navigate: (url: string) => Promise<void> }[] = []) {
  const listeners: Record<string, Listener> = {};
  const worker = {
    location: new URL("https://social.example/sw.js"),
    addEventListener: (type: string, listener: Listener) => (listeners[type] = listener),
    registration: { showNotification: vi.fn(async () => undefined) },
    clients: { matchAll: vi.fn(async () => windows), openWindow: vi.fn(async () => null) },
  };
  const code = readFileSync(join(process.cwd(), "public", "app-sw.js"), "utf8");
  new Function("self", code)(worker);
  return { listeners, worker };
}

async function dispatch(listener: Listener, event: Record<string, unknown>) {
  let pending: Promise<unknown> = Promise.resolve();
  listener({ ...event, waitUntil: (promise: Promise<unknown>) => (pending = promise) });
  await pending;
}

describe("the service worker's front page", () => {
  const navigate = (url: string) => ({ request: { url, mode: "navigate" } });

  it("takes / from the network, and the precached shell when offline", async () => {
    const { listeners } = loadWorker();
    const page = new Response("front door");
    vi.stubGlobal("fetch", vi.fn(async () => page));
    let answer: Promise<Response> | undefined;
    listeners.fetch!({ ...navigate("https://social.example/"), respondWith: (r: Promise<Response>) => (answer = r) });
    expect(await answer).toBe(page);

    const shell = new Response("shell");
    vi.stubGlobal("fetch", vi.fn(async () => Promise.reject(new TypeError("offline"))));
    const match = vi.fn(async () => shell);
    vi.stubGlobal("caches", { match });
    listeners.fetch!({ ...navigate("https://social.example/?x=1"), respondWith: (r: Promise<Response>) => (answer = r) });
    expect(await answer).toBe(shell);
    expect(match).toHaveBeenCalledWith("/index.html", { ignoreSearch: true });
  });

  it("leaves every other request to Workbox", () => {
    const { listeners } = loadWorker();
    const respondWith = vi.fn();
    listeners.fetch!({ ...navigate("https://social.example/local"), respondWith });
    listeners.fetch!({ request: { url: "https://social.example/", mode: "cors" }, respondWith });
    listeners.fetch!({ ...navigate("https://elsewhere.example/"), respondWith });
    expect(respondWith).not.toHaveBeenCalled();
  });
});

describe("the service worker's push handling", () => {
  it("shows the server's push as a notification, one per notification id", async () => {
    const { listeners, worker } = loadWorker();
    const payload = { title: "Bob favourited your post", body: "Kopi time", icon: "https://social.example/a.png", notification_id: "42", notification_type: "favourite", preferred_locale: "id" };
    await dispatch(listeners.push!, { data: { json: () => payload } });

    expect(worker.registration.showNotification).toHaveBeenCalledWith("Bob favourited your post", expect.objectContaining({
      body: "Kopi time", icon: "https://social.example/a.png", tag: "notification-42", lang: "id", data: { url: "/notifications" },
    }));
  });

  it("focuses an open window of the app on a click and shows its notifications", async () => {
    const open = { url: "https://social.example/local", focus: vi.fn(async () => undefined), navigate: vi.fn(async () => undefined) };
    const { listeners, worker } = loadWorker([open]);
    const close = vi.fn();
    await dispatch(listeners.notificationclick!, { notification: { close, data: { url: "/notifications" } } });

    expect(close).toHaveBeenCalled();
    expect(open.focus).toHaveBeenCalled();
    expect(open.navigate).toHaveBeenCalledWith("https://social.example/notifications");
    expect(worker.clients.openWindow).not.toHaveBeenCalled();
  });

  it("opens the app when no window is open", async () => {
    const { listeners, worker } = loadWorker([]);
    await dispatch(listeners.notificationclick!, { notification: { close: vi.fn(), data: { url: "/notifications" } } });
    expect(worker.clients.openWindow).toHaveBeenCalledWith("https://social.example/notifications");
  });
});
