import { useState } from "preact/hooks";
import { t } from "../i18n";
import { type Status, type Visibility } from "../lib/api";
import { remaining } from "../lib/count";
import * as outbox from "../lib/outbox";

interface Props {
  limit: number;
  replyTo?: Status | null;
  onPosted: (status: Status) => void;
  onQueued: (item: outbox.Queued) => void;
  onCancelReply?: () => void;
}

/** The compose box: text, content warning, visibility; the counter follows the instance's limit. */
export function Compose({ limit, replyTo, onPosted, onQueued, onCancelReply }: Props) {
  const [text, setText] = useState(replyTo ? `@${replyTo.account.acct} ` : "");
  const [spoiler, setSpoiler] = useState("");
  const [warn, setWarn] = useState(false);
  const [visibility, setVisibility] = useState<Visibility>(replyTo?.visibility ?? "public");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const left = remaining(text, warn ? spoiler : "", limit);

  const submit = async (event: Event) => {
    event.preventDefault();
    if (busy || left < 0 || !text.trim()) return;
    const draft: outbox.Draft = { status: text, visibility };
    if (warn && spoiler) draft.spoiler_text = spoiler;
    if (replyTo) draft.in_reply_to_id = replyTo.id;
    const key = outbox.newKey();
    setBusy(true);
    setError(null);
    const reset = () => {
      setText("");
      setSpoiler("");
      setWarn(false);
    };
    try {
      if (!navigator.onLine) throw new TypeError("offline");
      onPosted(await outbox.post(draft, key));
      reset();
    } catch (failure) {
      if (failure instanceof TypeError) {
        // No connection: queued with its key, sent once we are back online.
        onQueued(await outbox.enqueue(draft, key));
        reset();
      } else {
        setError(failure instanceof Error ? failure.message : String(failure));
      }
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="compose" onSubmit={submit} aria-label={t("compose.label")}>
      {replyTo && (
        <p class="replying">
          {t("compose.replyingTo", { acct: replyTo.account.acct })}{" "}
          <button type="button" onClick={onCancelReply}>{t("compose.cancel")}</button>
        </p>
      )}
      {warn && (
        <label class="field">
          <span>{t("compose.warning")}</span>
          <input value={spoiler} onInput={(e) => setSpoiler(e.currentTarget.value)} />
        </label>
      )}
      <label class="field">
        <span class="visually-hidden">{t("compose.text")}</span>
        <textarea rows={3} value={text} placeholder={t("compose.placeholder")} onInput={(e) => setText(e.currentTarget.value)} />
      </label>
      <div class="compose-bar">
        <label class="check">
          <input type="checkbox" checked={warn} onChange={(e) => setWarn(e.currentTarget.checked)} /> {t("compose.addWarning")}
        </label>
        <label>
          <span class="visually-hidden">{t("compose.visibility")}</span>
          <select value={visibility} onChange={(e) => setVisibility(e.currentTarget.value as Visibility)}>
            <option value="public">{t("visibility.public")}</option>
            <option value="unlisted">{t("visibility.unlisted")}</option>
            <option value="private">{t("visibility.private")}</option>
            <option value="direct">{t("visibility.direct")}</option>
          </select>
        </label>
        <span class={`counter${left < 0 ? " over" : ""}`} aria-live="polite" aria-label={t("compose.remaining", { count: left })}>
          {left}
        </span>
        <button type="submit" disabled={busy || left < 0 || !text.trim()}>{t("compose.post")}</button>
      </div>
      {error && <p class="error" role="alert">{error}</p>}
    </form>
  );
}
