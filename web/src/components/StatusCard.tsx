import { useState } from "preact/hooks";
import { useLocation } from "preact-iso";
import { api, type Status } from "../lib/api";
import { formatDate, t } from "../i18n";

interface Props {
  status: Status;
  onReply?: (status: Status) => void;
}

/** A status: its author, its content (HTML as the server sanitised it), its actions. */
export function StatusCard({ status: given, onReply }: Props) {
  const [status, setStatus] = useState(given);
  const shown = status.reblog ?? status;
  const [revealed, setRevealed] = useState(!shown.spoiler_text);
  const { route } = useLocation();

  // Hashtags and mentions of this server open in the app, not on the server's pages.
  const openInApp = (event: MouseEvent) => {
    const link = (event.target as Element).closest("a");
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey) return;
    const url = new URL(link.href, location.origin);
    if (url.origin !== location.origin) return;
    const tag = /^\/tags\/([^/]+)$/.exec(url.pathname);
    const mention = /^\/@([^/]+)$/.exec(url.pathname);
    if (tag) route(`/tags/${tag[1]}`);
    else if (mention) route(`/@${mention[1]}`);
    else return;
    event.preventDefault();
  };

  const toggle = async (action: "favourite" | "reblog", on: boolean | undefined) => {
    const path = `/api/v1/statuses/${shown.id}/${on ? "un" : ""}${action}`;
    const updated = await api<Status>(path, { method: "POST" });
    const result = updated.reblog && action === "reblog" ? updated.reblog : updated;
    setStatus(status.reblog ? { ...status, reblog: result } : result);
  };

  return (
    <article class={`status${shown.pending ? " pending" : ""}`} aria-label={shown.account.acct} data-id={shown.id}>
      {status.reblog && (
        <p class="boosted-by">{t("status.boostedBy", { name: status.account.display_name || status.account.username })}</p>
      )}
      <header>
        <a href={`/@${shown.account.acct}`} class="author">
          <img src={shown.account.avatar} alt="" width="40" height="40" loading="lazy" />
          <span>
            <strong>{shown.account.display_name || shown.account.username}</strong> <span class="acct">@{shown.account.acct}</span>
          </span>
        </a>
        <a href={`/statuses/${shown.id}`} class="time">
          <time dateTime={shown.created_at}>{formatDate(shown.created_at)}</time>
        </a>
      </header>
      {shown.spoiler_text && (
        <p class="spoiler">
          {shown.spoiler_text}{" "}
          <button type="button" onClick={() => setRevealed(!revealed)} aria-expanded={revealed}>
            {revealed ? t("status.hide") : t("status.show")}
          </button>
        </p>
      )}
      {/* The server sanitised this HTML (core/html); it is shown as it came. */}
      {revealed && <div class="content" onClick={openInApp} dangerouslySetInnerHTML={{ __html: shown.content }} />}
      {revealed &&
        shown.media_attachments.map((media) => (
          <img key={media.id} class="media" src={media.preview_url ?? media.url} alt={media.description ?? ""} loading="lazy" />
        ))}
      {shown.pending ? (
        <p class="pending-note" role="status">{t("status.pending")}</p>
      ) : (
        <footer class="actions">
          <button type="button" onClick={() => onReply?.(shown)} aria-label={t("status.reply")}>
            ↩ <span>{shown.replies_count}</span>
          </button>
          <button type="button" aria-pressed={!!shown.reblogged} onClick={() => toggle("reblog", shown.reblogged)}
            aria-label={t("status.boost")} disabled={shown.visibility === "private" || shown.visibility === "direct"}>
            ⟳ <span>{shown.reblogs_count}</span>
          </button>
          <button type="button" aria-pressed={!!shown.favourited} onClick={() => toggle("favourite", shown.favourited)}
            aria-label={t("status.favourite")}>
            ★ <span>{shown.favourites_count}</span>
          </button>
        </footer>
      )}
    </article>
  );
}
