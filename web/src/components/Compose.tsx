import { useEffect, useRef, useState } from "preact/hooks";
import { locale, t } from "../i18n";
import { ApiError, api, type MediaAttachment, type Status, type Visibility } from "../lib/api";
import { remaining } from "../lib/count";
import * as outbox from "../lib/outbox";
import { remainingSeconds, type ComposeRequest } from "../lib/redraft";
import { describe, upload } from "../lib/upload";
import * as state from "../state";

interface Props {
  limit: number;
  replyTo?: Status | null;
  /** Editing a status, or writing a deleted one again (delete-and-redraft). */
  request?: ComposeRequest | null;
  defaultLanguage?: string;
  onPosted: (status: Status) => void;
  onQueued: (item: outbox.Queued) => void;
  onEdited?: (status: Status) => void;
  onCancelReply?: () => void;
  onCancelRequest?: () => void;
}

/** A file being uploaded or uploaded: its progress, then its attachment and alt text. */
interface Upload {
  local: string;
  name: string;
  progress: number;
  media?: MediaAttachment;
  description: string;
  error?: string;
}

export const POLL_DURATIONS = [300, 1800, 3600, 21600, 86400, 259200, 604800] as const;
export const LANGUAGES = ["en", "id", "ms", "jv", "su", "nl", "ja", "zh", "ar", "es", "fr", "de"] as const;

function languageName(code: string, display: string): string {
  try {
    return new Intl.DisplayNames([display], { type: "language" }).of(code) ?? code;
  } catch {
    return code;
  }
}

/** The compose box: text, content warning, visibility, media with progress and alt text,
 * a poll, the language; the counter follows the instance's limit. It also edits a status
 * and writes a deleted one again. */
export function Compose(props: Props) {
  const { limit, replyTo, request, onPosted, onQueued, onCancelReply } = props;
  const editing = request?.mode === "edit";
  // The instance's limits (GET /api/v2/instance), Mastodon's defaults without them.
  const configuration = state.current()?.instance.configuration;
  const maxMedia = configuration?.statuses.max_media_attachments ?? 4;
  const pollLimits = configuration?.polls ?? { max_options: 4, max_characters_per_option: 50, min_expiration: 300, max_expiration: 2629746 };
  const maxOptions = pollLimits.max_options;
  const [text, setText] = useState(request?.text ?? (replyTo ? `@${replyTo.account.acct} ` : ""));
  const [spoiler, setSpoiler] = useState(request?.spoiler_text ?? "");
  const [warn, setWarn] = useState(!!request?.spoiler_text);
  const [visibility, setVisibility] = useState<Visibility>(request?.visibility ?? replyTo?.visibility ?? "public");
  const [language, setLanguage] = useState(request?.language || props.defaultLanguage || locale());
  const [sensitive, setSensitive] = useState(request?.sensitive ?? false);
  const [uploads, setUploads] = useState<Upload[]>(
    (request?.media ?? []).map((media) => ({ local: media.id, name: media.id, progress: 1, media, description: media.description ?? "" })),
  );
  const [poll, setPoll] = useState<{ options: string[]; expires_in: number; multiple: boolean } | null>(
    request?.poll
      ? { options: request.poll.options.map((o) => o.title), expires_in: remainingSeconds(request.poll), multiple: request.poll.multiple }
      : null,
  );
  const [altPrompt, setAltPrompt] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  // Where the focus goes back once a post is answered: the text, if it was in the form.
  const [refocus, setRefocus] = useState(false);
  const form = useRef<HTMLFormElement>(null);
  const fileInput = useRef<HTMLInputElement>(null);
  const textArea = useRef<HTMLTextAreaElement>(null);
  const left = remaining(text, warn ? spoiler : "", limit);
  const uploading = uploads.some((u) => !u.media && !u.error);
  const ready = uploads.filter((u) => u.media);
  const pollValid = !poll || poll.options.filter((o) => o.trim()).length >= 2;
  const canPost = !busy && !uploading && left >= 0 && pollValid && (!!text.trim() || ready.length > 0);

  useEffect(() => {
    if (request) textArea.current?.focus();
  }, [request]);

  useEffect(() => {
    if (busy || !refocus) return;
    setRefocus(false);
    textArea.current?.focus();
  }, [busy, refocus]);

  const patch = (local: string, change: Partial<Upload>) =>
    setUploads((all) => all.map((u) => (u.local === local ? { ...u, ...change } : u)));

  const addFiles = (files: FileList | null) => {
    if (!files) return;
    const room = maxMedia - uploads.length;
    for (const file of Array.from(files).slice(0, room)) {
      const local = crypto.randomUUID();
      setUploads((all) => [...all, { local, name: file.name, progress: 0, description: "" }]);
      upload(file, { onProgress: (progress) => patch(local, { progress }) })
        .then((media) => patch(local, { media, progress: 1 }))
        .catch((failure: unknown) =>
          patch(local, { error: failure instanceof ApiError ? failure.message : t("compose.media.failed") }),
        );
    }
    if (fileInput.current) fileInput.current.value = "";
  };

  const reset = () => {
    setText("");
    setSpoiler("");
    setWarn(false);
    setUploads([]);
    setPoll(null);
    setSensitive(false);
    setAltPrompt(false);
  };

  const submit = async (event: Event, skipAlt = false) => {
    event.preventDefault();
    if (!canPost) return;
    // Media without a description: ask once before posting.
    if (!skipAlt && ready.some((u) => !u.description.trim())) {
      setAltPrompt(true);
      return;
    }
    setAltPrompt(false);
    const draft: outbox.Draft = { status: text, visibility, language };
    if (warn && spoiler) draft.spoiler_text = spoiler;
    if (replyTo) draft.in_reply_to_id = replyTo.id;
    else if (request?.mode === "redraft" && request.in_reply_to_id) draft.in_reply_to_id = request.in_reply_to_id;
    if (ready.length) {
      draft.media_ids = ready.map((u) => u.media!.id);
      draft.sensitive = sensitive;
    }
    if (poll) draft.poll = { options: poll.options.filter((o) => o.trim()), expires_in: poll.expires_in, multiple: poll.multiple };
    const key = outbox.newKey();
    // The form is disabled while its post is on its way: what was typed meanwhile would be
    // lost when the answer clears the draft.
    setRefocus(!!form.current?.contains(document.activeElement));
    setBusy(true);
    setError(null);
    try {
      if (!navigator.onLine) throw new TypeError("offline");
      if (editing && request) {
        const body: Record<string, unknown> = { ...draft };
        delete body.visibility;
        delete body.in_reply_to_id;
        body.media_attributes = ready.map((u) => ({ id: u.media!.id, description: u.description }));
        const updated = await api<Status>(`/api/v1/statuses/${request.status.id}`, { method: "PUT", body });
        props.onEdited?.(updated);
        reset();
        return;
      }
      // Alt text goes on the attachment before it is attached.
      await Promise.all(
        ready
          .filter((u) => (u.media!.description ?? "") !== u.description)
          .map((u) => describe(u.media!.id, u.description)),
      );
      onPosted(await outbox.post(draft, key));
      reset();
    } catch (failure) {
      if (failure instanceof TypeError && !editing) {
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

  const setOption = (index: number, value: string) =>
    setPoll((p) => p && { ...p, options: p.options.map((o, i) => (i === index ? value : o)) });

  const durationLabel = (seconds: number) =>
    seconds < 3600
      ? t("compose.poll.minutes", { count: seconds / 60 })
      : seconds < 86400
        ? t("compose.poll.hours", { count: seconds / 3600 })
        : t("compose.poll.days", { count: seconds / 86400 });
  const offered = POLL_DURATIONS.filter((d) => d >= pollLimits.min_expiration && d <= pollLimits.max_expiration);
  const durations: number[] = poll && !offered.includes(poll.expires_in as never) ? [poll.expires_in, ...offered] : offered;

  return (
    <form ref={form} class="compose" onSubmit={(e) => void submit(e)} aria-busy={busy}
      aria-label={editing ? t("compose.edit.label") : t("compose.label")}>
      <fieldset class="compose-fields" disabled={busy}>
        {replyTo && (
          <p class="replying">
            {t("compose.replyingTo", { acct: replyTo.account.acct })}{" "}
            <button type="button" onClick={onCancelReply}>{t("compose.cancel")}</button>
          </p>
        )}
        {request && (
          <p class="replying">
            {editing ? t("compose.edit.notice") : t("compose.redraft.notice")}{" "}
            <button type="button" onClick={props.onCancelRequest}>{t("compose.cancel")}</button>
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
          <textarea ref={textArea} rows={3} value={text} placeholder={t("compose.placeholder")} onInput={(e) => setText(e.currentTarget.value)} />
        </label>
        {uploads.length > 0 && (
          <ul class="uploads" aria-label={t("compose.media.list")}>
            {uploads.map((u, index) => (
              <li key={u.local} class="upload">
                {u.media?.preview_url ? (
                  <img src={u.media.preview_url} alt="" width="80" height="80" />
                ) : (
                  <span class="upload-thumb" aria-hidden="true" />
                )}
                <div class="upload-body">
                  {!u.media && !u.error && (
                    <label class="progress">
                      <span>{t("compose.media.uploading", { name: u.name })}</span>
                      <progress max={1} value={u.progress} />
                    </label>
                  )}
                  {u.error && <p class="error" role="alert">{u.error}</p>}
                  {u.media && (
                    <label class="field">
                      <span>{t("compose.media.alt", { index: index + 1 })}</span>
                      <textarea rows={2} value={u.description} class={altPrompt && !u.description.trim() ? "missing" : undefined}
                        onInput={(e) => patch(u.local, { description: e.currentTarget.value })} />
                    </label>
                  )}
                  <button type="button" class="secondary" onClick={() => setUploads((all) => all.filter((o) => o.local !== u.local))}>
                    {t("compose.media.remove", { index: index + 1 })}
                  </button>
                </div>
              </li>
            ))}
          </ul>
        )}
        {altPrompt && (
          <div class="alt-prompt" role="alert">
            <p>{t("compose.media.altMissing")}</p>
            <button type="button" class="secondary" onClick={() => {
              setAltPrompt(false);
              document.querySelector<HTMLTextAreaElement>(".compose textarea.missing")?.focus();
            }}>{t("compose.media.altAdd")}</button>{" "}
            <button type="button" onClick={(e) => void submit(e, true)}>{t("compose.media.altSkip")}</button>
          </div>
        )}
        {poll && (
          <fieldset class="poll-editor">
            <legend>{t("compose.poll.legend")}</legend>
            {poll.options.map((option, index) => (
              <div class="poll-option" key={index}>
                <label class="field">
                  <span>{t("compose.poll.option", { index: index + 1 })}</span>
                  <input value={option} maxLength={pollLimits.max_characters_per_option} onInput={(e) => setOption(index, e.currentTarget.value)} />
                </label>
                {poll.options.length > 2 && (
                  <button type="button" class="secondary" onClick={() => setPoll({ ...poll, options: poll.options.filter((_, i) => i !== index) })}>
                    {t("compose.poll.removeOption", { index: index + 1 })}
                  </button>
                )}
              </div>
            ))}
            <div class="compose-bar">
              {poll.options.length < maxOptions && (
                <button type="button" class="secondary" onClick={() => setPoll({ ...poll, options: [...poll.options, ""] })}>
                  {t("compose.poll.addOption")}
                </button>
              )}
              <label>
                <span>{t("compose.poll.duration")} </span>
                <select value={String(poll.expires_in)} onChange={(e) => setPoll({ ...poll, expires_in: Number(e.currentTarget.value) })}>
                  {durations.map((seconds) => (
                    <option key={seconds} value={String(seconds)}>{durationLabel(seconds)}</option>
                  ))}
                </select>
              </label>
              <label class="check">
                <input type="checkbox" checked={poll.multiple} onChange={(e) => setPoll({ ...poll, multiple: e.currentTarget.checked })} />{" "}
                {t("compose.poll.multiple")}
              </label>
            </div>
          </fieldset>
        )}
        <div class="compose-bar">
          <input ref={fileInput} class="visually-hidden" type="file" multiple tabIndex={-1} aria-hidden="true"
            accept="image/*,video/*,audio/*" onChange={(e) => addFiles(e.currentTarget.files)}
            disabled={!!poll || uploads.length >= maxMedia} />
          <button type="button" class="secondary" onClick={() => fileInput.current?.click()} disabled={!!poll || uploads.length >= maxMedia}>
            {t("compose.media.add")}
          </button>
          <button type="button" class="secondary" aria-pressed={!!poll} disabled={uploads.length > 0}
            onClick={() => setPoll(poll ? null : { options: ["", ""], expires_in: 86400, multiple: false })}>
            {poll ? t("compose.poll.remove") : t("compose.poll.add")}
          </button>
          <label class="check">
            <input type="checkbox" checked={warn} onChange={(e) => setWarn(e.currentTarget.checked)} /> {t("compose.addWarning")}
          </label>
          {ready.length > 0 && (
            <label class="check">
              <input type="checkbox" checked={sensitive} onChange={(e) => setSensitive(e.currentTarget.checked)} /> {t("compose.media.sensitive")}
            </label>
          )}
          {!editing && (
            <label>
              <span class="visually-hidden">{t("compose.visibility")}</span>
              <select value={visibility} onChange={(e) => setVisibility(e.currentTarget.value as Visibility)}>
                <option value="public">{t("visibility.public")}</option>
                <option value="unlisted">{t("visibility.unlisted")}</option>
                <option value="private">{t("visibility.private")}</option>
                <option value="direct">{t("visibility.direct")}</option>
              </select>
            </label>
          )}
          <label>
            <span class="visually-hidden">{t("compose.language")}</span>
            <select value={language} onChange={(e) => setLanguage(e.currentTarget.value)}>
              {[...new Set([language, ...LANGUAGES])].map((code) => (
                <option key={code} value={code} lang={code}>{languageName(code, code)}</option>
              ))}
            </select>
          </label>
          <span class={`counter${left < 0 ? " over" : ""}`} aria-live="polite" aria-label={t("compose.remaining", { count: left })}>
            {left}
          </span>
          <button type="submit" disabled={!canPost}>{editing ? t("compose.edit.save") : t("compose.post")}</button>
        </div>
        {error && <p class="error" role="alert">{error}</p>}
      </fieldset>
    </form>
  );
}
