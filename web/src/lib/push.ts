// Web push: this browser's subscription, sent to the server's push API
// (`/api/v1/push/subscription`, as Mastodon has it) for the signed-in token. The service
// worker shows what the server pushes and opens the app on a click (public/push-sw.js).

import { ApiError, api } from "./api";

/** The alert types a person can switch here (the admin ones are for the moderator screens). */
export const ALERT_TYPES = ["mention", "status", "reblog", "follow", "follow_request", "favourite", "poll", "update"] as const;
export type AlertType = (typeof ALERT_TYPES)[number];
export type Alerts = Record<AlertType, boolean>;

export interface ServerSubscription {
  id: string | number;
  endpoint: string;
  alerts: Partial<Record<string, boolean>>;
  server_key: string;
  policy?: string;
}

export function allAlerts(on = true): Alerts {
  return Object.fromEntries(ALERT_TYPES.map((type) => [type, on])) as Alerts;
}

export function isSupported(): boolean {
  return typeof navigator !== "undefined" && "serviceWorker" in navigator && typeof PushManager !== "undefined" && typeof Notification !== "undefined";
}

/** The VAPID key as `PushManager.subscribe` wants it (URL-safe base64 to bytes). */
export function keyBytes(base64url: string): Uint8Array<ArrayBuffer> {
  const padded = base64url.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (base64url.length % 4)) % 4);
  const binary = atob(padded);
  const bytes = new Uint8Array(new ArrayBuffer(binary.length));
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function sameKey(subscription: PushSubscription, key: Uint8Array): boolean {
  const current = subscription.options?.applicationServerKey;
  if (!current) return false;
  const bytes = new Uint8Array(current);
  return bytes.length === key.length && bytes.every((byte, i) => byte === key[i]);
}

/** The server's subscription for this token, or null when there is none. */
export async function current(): Promise<ServerSubscription | null> {
  try {
    return await api<ServerSubscription>("/api/v1/push/subscription");
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
}

export class PermissionDenied extends Error {}

/** Asks for permission, subscribes this browser with the server's key (again when the key
 * changed) and sends the subscription with `alerts` to the server. */
export async function subscribe(vapidKey: string, alerts: Alerts): Promise<ServerSubscription> {
  const permission = await Notification.requestPermission();
  if (permission !== "granted") throw new PermissionDenied(permission);
  const registration = await navigator.serviceWorker.ready;
  const key = keyBytes(vapidKey);
  let subscription = await registration.pushManager.getSubscription();
  if (subscription && !sameKey(subscription, key)) {
    await subscription.unsubscribe();
    subscription = null;
  }
  subscription ??= await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
  const json = subscription.toJSON();
  return api<ServerSubscription>("/api/v1/push/subscription", {
    method: "POST",
    body: {
      subscription: { endpoint: json.endpoint, keys: { p256dh: json.keys?.p256dh, auth: json.keys?.auth }, standard: true },
      data: { alerts, policy: "all" },
    },
  });
}

/** Changes which alerts the server pushes. */
export function update(alerts: Alerts): Promise<ServerSubscription> {
  return api<ServerSubscription>("/api/v1/push/subscription", { method: "PUT", body: { data: { alerts } } });
}

/** Stops pushes: the server forgets the subscription, and so does the browser. */
export async function unsubscribe(): Promise<void> {
  try {
    await api("/api/v1/push/subscription", { method: "DELETE" });
  } finally {
    const registration = await navigator.serviceWorker?.getRegistration();
    const subscription = await registration?.pushManager.getSubscription();
    await subscription?.unsubscribe();
  }
}

/** The switches shown for a server subscription (types it does not mention are off). */
export function alertsOf(subscription: ServerSubscription | null): Alerts {
  const alerts = allAlerts(false);
  for (const type of ALERT_TYPES) alerts[type] = Boolean(subscription?.alerts[type]);
  return alerts;
}
