import { useEffect, useState } from "preact/hooks";
import { useLocation } from "preact-iso";
import { api, type Status, type StatusEdit, type StatusSource } from "../lib/api";
import { formatDate, t } from "../i18n";
import * as redraft from "../lib/redraft";
import * as state from "../state";
import { Dialog } from "./Dialog";
import { MediaGallery } from "./MediaGallery";
import { PollView } from "./PollView";

/** The edits of a status, newest first (GET /api/v1/statuses/:id/history). */
function History({ id, onClose }: { id: string; onClose: () => void }) {
  const [edits, setEdits] = useState<StatusEdit[] | null>(null);
  useEffect(() => {
    void api<StatusEdit[]>(`/api/v1/statuses/${id}/history`).then((all) => setEdits([...all].reverse()));
  }, [id]);
  return (
    <Dialog title={t("status.history")} onClose={onClose}>
      {edits === null ? (
        <p class="notice">{t("common.loading")}</p>
      ) : (
        <ol class="history">
          {edits.map((edit, index) => (
            <li key={edit.created_at + index}>
              <p class="acct">
                {index === edits.length - 1 ? t("status.history.original") : t("status.history.edited")}{" "}
                <time dateTime={edit.created_at}>{formatDate(edit.created_at)}</time>
              </p>
              {edit.spoiler_text && <p class="spoiler">{edit.spoiler_text}</p>}
              <div class="content" dangerouslySetInnerHTML={{ __html: edit.content }} />
              {edit.poll && (
                <ul>
                  {edit.poll.options.map((o) => <li key={o.title}>{o.title}</li>)}
                </ul>
              )}
            </li>
          ))}
        </ol>
      )}
    </Dialog>
  );
}

interface Props {
  status: Status;
  onReply?: (status: Status) => void;
  /** The status was deleted here (the list drops it). */
  onDeleted?: (id: string) => void;
}

/** A status: its author, its content (HTML as the server sanitised it), its actions. */
export function StatusCard({ status: given, onReply, onDeleted }: Props) {
  const [status, setStatus] = useState(given);
  const [seen, setSeen] = useState(given);
  // A newer version of the same status (an edit arriving live) replaces what is shown.
  if (given !== seen) {
    setSeen(given);
    setStatus(given);
  }
  const shown = status.reblog ?? status;
  const [revealed, setRevealed] = useState(!shown.spoiler_text);
  const [menu, setMenu] = useState(false);
  const [confirm, setConfirm] = useState<"delete" | "redraft" | null>(null);
  const [history, setHistory] = useState(false);
  const [deleted, setDeleted] = useState(false);
  // A post matching one of the reader's "warn" filters is folded behind the filter's title.
  const warnedBy = shown.filtered?.find((result) => result.filter.filter_action === "warn")?.filter.title;
  const [unfiltered, setUnfiltered] = useState(false);
  const { route } = useLocation();
  const mine = state.current()?.me.id === shown.account.id;

  const edit = async () => {
    setMenu(false);
    const source = await api<StatusSource>(`/api/v1/statuses/${shown.id}/source`);
    redraft.request({
      mode: "edit",
      status: shown,
      text: source.text,
      spoiler_text: source.spoiler_text,
      visibility: shown.visibility,
      language: shown.language ?? null,
      sensitive: shown.sensitive,
      media: shown.media_attachments,
      poll: shown.poll ?? null,
      in_reply_to_id: shown.in_reply_to_id,
    });
    route("/");
  };

  const remove = async (again: boolean) => {
    setConfirm(null);
    const gone = await api<Status>(`/api/v1/statuses/${shown.id}`, { method: "DELETE" });
    setDeleted(true);
    onDeleted?.(shown.id);
    if (again) {
      redraft.request({
        mode: "redraft",
        status: gone,
        text: gone.text ?? "",
        spoiler_text: gone.spoiler_text,
        visibility: gone.visibility,
        language: gone.language ?? null,
        sensitive: gone.sensitive,
        media: gone.media_attachments,
        poll: gone.poll ?? null,
        in_reply_to_id: gone.in_reply_to_id,
      });
      route("/");
    }
  };

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

  const toggle = async (action: "favourite" | "reblog" | "bookmark", on: boolean | undefined) => {
    const path = `/api/v1/statuses/${shown.id}/${on ? "un" : ""}${action}`;
    const updated = await api<Status>(path, { method: "POST" });
    const result = updated.reblog && action === "reblog" ? updated.reblog : updated;
    setStatus(status.reblog ? { ...status, reblog: result } : result);
  };

  if (deleted) return null;
  if (warnedBy && !unfiltered) {
    return (
      <article class="status filtered" aria-label={shown.account.acct} data-id={shown.id}>
        <p>
          {t("status.filtered", { title: warnedBy })}{" "}
          <button type="button" class="secondary" onClick={() => setUnfiltered(true)}>{t("status.showAnyway")}</button>
        </p>
      </article>
    );
  }

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
        <span class="meta">
          <a href={`/statuses/${shown.id}`} class="time">
            <time dateTime={shown.created_at}>{formatDate(shown.created_at)}</time>
          </a>
          {shown.edited_at && (
            <button type="button" class="link edited" onClick={() => setHistory(true)}>{t("status.edited")}</button>
          )}
        </span>
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
      {revealed && shown.poll && <PollView poll={shown.poll} mine={mine} />}
      {revealed && shown.media_attachments.length > 0 && (
        <MediaGallery media={shown.media_attachments} sensitive={shown.sensitive} />
      )}
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
          {mine && (
            <span class="menu" onKeyDown={(e) => {
              // Escape closes the menu and puts focus back on its button.
              if (e.key !== "Escape" || !menu) return;
              setMenu(false);
              (e.currentTarget.firstElementChild as HTMLElement | null)?.focus();
            }}>
              <button type="button" aria-expanded={menu} onClick={() => setMenu(!menu)} aria-label={t("status.more")}>⋯</button>
              {menu && (
                <span class="menu-items" role="group" aria-label={t("status.more")}>
                  <button type="button" onClick={() => void edit()}>{t("status.edit")}</button>
                  <button type="button" onClick={() => { setMenu(false); setConfirm("delete"); }}>{t("status.delete")}</button>
                  <button type="button" onClick={() => { setMenu(false); setConfirm("redraft"); }}>{t("status.redraft")}</button>
                </span>
              )}
            </span>
          )}
          <button type="button" aria-pressed={!!shown.bookmarked} onClick={() => toggle("bookmark", shown.bookmarked)}
            aria-label={t("status.bookmark")}>
            🔖
          </button>
        </footer>
      )}
      {history && <History id={shown.id} onClose={() => setHistory(false)} />}
      {confirm && (
        <Dialog title={confirm === "delete" ? t("status.delete") : t("status.redraft")} onClose={() => setConfirm(null)}>
          <p>{confirm === "delete" ? t("status.delete.confirm") : t("status.redraft.confirm")}</p>
          <p class="compose-bar">
            <button type="button" onClick={() => void remove(confirm === "redraft")}>
              {confirm === "delete" ? t("status.delete") : t("status.redraft")}
            </button>
          </p>
        </Dialog>
      )}
    </article>
  );
}
