import { useEffect, useState } from "preact/hooks";
import { StatusCard } from "../components/StatusCard";
import { t, type MessageId } from "../i18n";
import { api, page, type Notification } from "../lib/api";
import * as cache from "../lib/cache";
import { onEvent } from "../live";

const KNOWN = new Set(["mention", "status", "reblog", "follow", "follow_request", "favourite", "poll", "update"]);
const FILTERS = ["all", "mention", "favourite", "reblog", "follow"] as const;
type Filter = (typeof FILTERS)[number];

function describe(notification: Notification): string {
  const name = notification.account.display_name || notification.account.username;
  const type = KNOWN.has(notification.type) ? notification.type : "other";
  return t(`notification.${type}` as MessageId, { name });
}

/** Notifications, newest first, filtered by type; new ones arrive live from the user
 * stream. What was shown is marked read (the notifications marker). */
export function Notifications() {
  const [items, setItems] = useState<Notification[] | null>(null);
  const [offline, setOffline] = useState(false);
  const [filter, setFilter] = useState<Filter>("all");
  const [lastRead, setLastRead] = useState<string | null>(null);

  useEffect(() => {
    setItems(null);
    const query = filter === "all" ? "" : `?types[]=${filter}`;
    (async () => {
      // The marker is read before this visit moves it, so what is new stays marked.
      const markers = await api<{ notifications?: { last_read_id: string } }>(
        "/api/v1/markers?timeline[]=notifications",
      ).catch(() => null);
      setLastRead(markers?.notifications?.last_read_id ?? null);
      const first = await page<Notification>(`/api/v1/notifications${query}`);
      setItems(first.items);
      if (filter === "all") void cache.save("notifications", first.items);
      const newest = first.items[0]?.id;
      if (newest && (!markers?.notifications || BigInt(newest) > BigInt(markers.notifications.last_read_id))) {
        await api("/api/v1/markers", { method: "POST", body: { notifications: { last_read_id: newest } } }).catch(
          () => undefined,
        );
      }
    })().catch(async () => {
      setOffline(true);
      setItems((await cache.load<Notification>("notifications")) ?? []);
    });
    return onEvent((event) => {
      if (event.event !== "notification") return;
      const notification = event.payload as Notification;
      if (filter !== "all" && notification.type !== filter) return;
      setItems((shown) => [notification, ...(shown ?? []).filter((n) => n.id !== notification.id)]);
    });
  }, [filter]);

  const unread = (n: Notification) => lastRead !== null && BigInt(n.id) > BigInt(lastRead);
  return (
    <section>
      <h1>{t("nav.notifications")}</h1>
      <div class="filters" role="group" aria-label={t("notifications.filter")}>
        {FILTERS.map((name) => (
          <button key={name} type="button" class="secondary" aria-pressed={filter === name} onClick={() => setFilter(name)}>
            {t(`notifications.filter.${name}` as MessageId)}
          </button>
        ))}
      </div>
      {offline && <p class="notice" role="status">{t("timeline.offline")}</p>}
      {items === null && <p class="notice">{t("common.loading")}</p>}
      {items?.length === 0 && <p class="notice">{t("notifications.empty")}</p>}
      <ul class="notifications">
        {items?.map((n) => (
          <li key={n.id} class={`notification${unread(n) ? " unread" : ""}`}>
            <p>
              {describe(n)}
              {unread(n) && <span class="badge"> · {t("notifications.new")}</span>}
            </p>
            {n.status && <StatusCard status={n.status} />}
          </li>
        ))}
      </ul>
    </section>
  );
}
