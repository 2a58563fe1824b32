// The app's own part of its service worker (imported by the worker Workbox generates;
// docs/web-app.md, ADR 0054).
/* eslint-env serviceworker */

// `/` is the server's front door for a browser whose app is signed out and the app's home
// for one signed in (the server decides by the app's cookie): online, it always comes from
// the network; offline, the app's shell from the precache shows the cached home timeline.
// (Workbox's navigation fallback leaves `/` alone: vite.config.ts.)
self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.mode !== "navigate" || url.origin !== self.location.origin || url.pathname !== "/") return;
  event.respondWith(
    fetch(event.request).catch(async () => (await caches.match("/index.html", { ignoreSearch: true })) || Response.error()),
  );
});

// Web push: shows what the server pushes — Mastodon's payload: title, body, icon,
// notification_id, notification_type — and opens the app's notifications on a click.

function notificationFromPush(data) {
  return {
    title: data.title || "ConnectHub",
    options: {
      body: data.body || "",
      icon: data.icon || "/icon-192.png",
      badge: "/icon-192.png",
      lang: data.preferred_locale || undefined,
      // One notification per server notification: a repeated push replaces it.
      tag: data.notification_id ? `notification-${data.notification_id}` : undefined,
      data: { url: "/notifications" },
    },
  };
}

self.addEventListener("push", (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch {
    data = { body: event.data ? event.data.text() : "" };
  }
  const { title, options } = notificationFromPush(data);
  event.waitUntil(self.registration.showNotification(title, options));
});

// A click focuses a window of the app already open (and shows its notifications there),
// or opens one.
self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = new URL((event.notification.data && event.notification.data.url) || "/notifications", self.location.origin).href;
  event.waitUntil(
    (async () => {
      const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
      const open = windows.find((client) => new URL(client.url).origin === self.location.origin);
      if (open) {
        await open.focus();
        if (open.url !== url) await open.navigate(url);
        return;
      }
      await self.clients.openWindow(url);
    })(),
  );
});
