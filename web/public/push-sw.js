// Web push in the app's service worker (imported by the worker Workbox generates;
// docs/web-app.md): shows what the server pushes — Mastodon's payload: title, body, icon,
// notification_id, notification_type — and opens the app's notifications on a click.
/* eslint-env serviceworker */

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
