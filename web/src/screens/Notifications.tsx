import { useEffect, useState } from "preact/hooks";
import { StatusCard } from "../components/StatusCard";
import { t, type MessageId } from "../i18n";
import { page, type Notification } from "../lib/api";
import * as cache from "../lib/cache";
import { onEvent } from "../live";

const KNOWN = new Set(["mention", "status", "reblog", "follow", "follow_request", "favourite", "poll", "update"]);

function describe(notification: Notification): string {
  const name = notification.account.display_name || notification.account.username;
  const type = KNOWN.has(notification.type) ? notification.type : "other";
  return t(`notification.${type}` as MessageId, { name });
}

/** Notifications, newest first; new ones arrive live from the user stream. */
export function Notifications() {
  const [items, setItems] = useState<Notification[] | null>(null);
  const [offline, setOffline] = useState(false);

  useEffect(() => {
    page<Notification>("/api/v1/notifications")
      .then((first) => {
        setItems(first.items);
        void cache.save("notifications", first.items);
      })
      .catch(async () => {
        setOffline(true);
        setItems((await cache.load<Notification>("notifications")) ?? []);
      });
    return onEvent((event) => {
      if (event.event !== "notification") return;
      const notification = event.payload as Notification;
      setItems((shown) => [notification, ...(shown ?? []).filter((n) => n.id !== notification.id)]);
    });
  }, []);

  return (
    <section>
      <h1>{t("nav.notifications")}</h1>
      {offline && <p class="notice" role="status">{t("timeline.offline")}</p>}
      {items === null && <p class="notice">{t("common.loading")}</p>}
      {items?.length === 0 && <p class="notice">{t("notifications.empty")}</p>}
      <ul class="notifications">
        {items?.map((n) => (
          <li key={n.id} class="notification">
            <p>{describe(n)}</p>
            {n.status && <StatusCard status={n.status} />}
          </li>
        ))}
      </ul>
    </section>
  );
}
