import { useState } from "preact/hooks";
import { t } from "../i18n";
import type { MediaAttachment } from "../lib/api";
import { placeholderUrl } from "../lib/blurhash";
import { Dialog } from "./Dialog";

/** One attachment's thumbnail: its blurhash first (and instead of it while hidden), the
 * image once loaded, its alt text as the image's text. */
function Thumb({ media, hidden, onOpen }: { media: MediaAttachment; hidden: boolean; onOpen: () => void }) {
  const [loaded, setLoaded] = useState(false);
  const placeholder = placeholderUrl(media.blurhash);
  const src = media.preview_url ?? media.url;
  const style = placeholder ? { backgroundImage: `url("${placeholder}")` } : undefined;
  const label = media.description
    ? t("media.open", { description: media.description })
    : t("media.openNoDescription");
  return (
    <button type="button" class={`thumb${loaded ? " loaded" : ""}`} style={style} onClick={onOpen} disabled={hidden}
      aria-label={hidden ? t("media.hidden") : label} data-blurhash={placeholder ? "" : undefined}>
      {!hidden && src && media.type !== "audio" && (
        <img src={src} alt={media.description ?? ""} loading="lazy" onLoad={() => setLoaded(true)} />
      )}
      {!hidden && media.description && <span class="alt-badge" aria-hidden="true">ALT</span>}
    </button>
  );
}

/** The attachments of a status: placeholders from their blurhash, the sensitive cover, and
 * a viewer dialog. */
export function MediaGallery({ media, sensitive }: { media: MediaAttachment[]; sensitive: boolean }) {
  const [shown, setShown] = useState(!sensitive);
  const [open, setOpen] = useState<number | null>(null);
  if (!media.length) return null;
  const current = open === null ? null : media[open];
  return (
    <div class={`gallery gallery-${Math.min(media.length, 4)}`}>
      {media.map((item, index) => (
        <Thumb key={item.id} media={item} hidden={!shown} onOpen={() => setOpen(index)} />
      ))}
      {sensitive && (
        <button type="button" class="sensitive-toggle" aria-pressed={shown} onClick={() => setShown(!shown)}>
          {shown ? t("media.hideSensitive") : t("media.showSensitive")}
        </button>
      )}
      {current && (
        <Dialog title={t("media.viewer", { index: (open ?? 0) + 1, count: media.length })} onClose={() => setOpen(null)} class="viewer">
          {current.type === "video" || current.type === "gifv" ? (
            <video src={current.url ?? undefined} controls aria-label={current.description ?? t("media.openNoDescription")} />
          ) : current.type === "audio" ? (
            <audio src={current.url ?? undefined} controls aria-label={current.description ?? t("media.openNoDescription")} />
          ) : (
            <img src={current.url ?? current.preview_url ?? ""} alt={current.description ?? ""} />
          )}
          {current.description && <p class="viewer-alt">{current.description}</p>}
          {media.length > 1 && (
            <p class="viewer-nav">
              <button type="button" class="secondary" disabled={open === 0} onClick={() => setOpen((open ?? 0) - 1)}>
                {t("media.previous")}
              </button>{" "}
              <button type="button" class="secondary" disabled={open === media.length - 1} onClick={() => setOpen((open ?? 0) + 1)}>
                {t("media.next")}
              </button>
            </p>
          )}
        </Dialog>
      )}
    </div>
  );
}
