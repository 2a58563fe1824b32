import { useEffect, useState } from "preact/hooks";
import { Timeline } from "../components/Timeline";
import { t } from "../i18n";
import { api } from "../lib/api";
import { follow } from "../live";

/** A list's timeline, live from the `list` stream while it is open. (Making and editing
 * lists is on the lists screen.) */
export function ListTimeline({ id }: { id: string }) {
  const [title, setTitle] = useState<string | null>(null);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    setFailed(false);
    api<{ id: string; title: string }>(`/api/v1/lists/${id}`)
      .then((list) => setTitle(list.title))
      .catch(() => setFailed(true));
    return follow({ stream: "list", list: id });
  }, [id]);
  if (failed) return <p class="notice" role="alert">{t("list.notFound")}</p>;
  return (
    <>
      <h1>{title ?? t("list.title")}</h1>
      <Timeline path={`/api/v1/timelines/list/${encodeURIComponent(id)}`} cacheName={`list:${id}`} stream="list" tag={id} />
    </>
  );
}
