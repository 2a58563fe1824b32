import { Timeline } from "../components/Timeline";
import { t } from "../i18n";

/** Bookmarks (`/bookmarks`) and favourites (`/favourites`): the caller's saved
 * statuses, newest saved first, older pages by the `Link` header as the end comes into view. */
export function Saved({ kind }: { kind: "bookmarks" | "favourites" }) {
  return (
    <section>
      <h1>{t(kind === "bookmarks" ? "saved.bookmarks" : "saved.favourites")}</h1>
      <Timeline path={`/api/v1/${kind}`} cacheName={kind} />
    </section>
  );
}
