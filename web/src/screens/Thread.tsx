import { useEffect, useState } from "preact/hooks";
import { StatusCard } from "../components/StatusCard";
import { t } from "../i18n";
import { api, type Context, type Status } from "../lib/api";
import * as cache from "../lib/cache";

/** A status with the posts it answers and the replies to it. */
export function Thread({ id }: { id: string }) {
  const [thread, setThread] = useState<Status[] | null>(null);
  const [failed, setFailed] = useState(false);

  useEffect(() => {
    setThread(null);
    Promise.all([api<Status>(`/api/v1/statuses/${id}`), api<Context>(`/api/v1/statuses/${id}/context`)])
      .then(([status, context]) => {
        const all = [...context.ancestors, status, ...context.descendants];
        setThread(all);
        void cache.save(`thread:${id}`, all);
      })
      .catch(async () => {
        const cached = await cache.load<Status>(`thread:${id}`);
        if (cached) setThread(cached);
        else setFailed(true);
      });
  }, [id]);

  return (
    <section>
      <h1>{t("thread.title")}</h1>
      {failed && <p class="notice" role="alert">{t("timeline.error")}</p>}
      {thread === null && !failed && <p class="notice">{t("common.loading")}</p>}
      {thread?.map((status) => (
        <div key={status.id} class={status.id === id ? "focus-status" : undefined}>
          <StatusCard status={status} />
        </div>
      ))}
    </section>
  );
}
