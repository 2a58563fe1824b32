import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { t } from "../i18n";
import { page, type Status } from "../lib/api";
import * as cache from "../lib/cache";
import { comingBack, swapEdited } from "../lib/timeline";
import { onEvent } from "../live";
import { StatusCard } from "./StatusCard";

interface Props {
  /** The API path of the first page. */
  path: string;
  /** The IndexedDB cache's name for this timeline. */
  cacheName: string;
  /** The streaming stream whose `update` events belong here (e.g. "user"). */
  stream?: string;
  /** With the `hashtag` stream: the tag whose events belong here. */
  tag?: string;
  /** Statuses shown first (the offline outbox's pending posts, the ones just posted). */
  prepend?: Status[];
  onReply?: (status: Status) => void;
}

/** What a timeline showed when the reader left it (items, next page, scroll position), so
 * coming back (the browser's back button) shows it again where they were, without a load. */
interface Kept {
  items: Status[];
  next?: string;
  scrollY: number;
}
const kept = new Map<string, Kept>();

// Edits and deletions that arrive while a timeline is not on screen still reach what it
// kept, so coming back never shows a deleted post or an edit's older text.
onEvent((event) => {
  if (event.event === "status.update") {
    const status = event.payload as Status;
    for (const back of kept.values()) back.items = swapEdited(back.items, status);
  } else if (event.event === "delete") {
    const id = String(event.payload);
    for (const back of kept.values()) back.items = back.items.filter((s) => s.id !== id && s.reblog?.id !== id);
  }
});

/** Signing out forgets what the timelines showed. */
export function forgetTimelines(): void {
  kept.clear();
}

function localPath(url: string): string {
  const parsed = new URL(url, location.origin);
  return parsed.pathname + parsed.search;
}

/** A timeline: the first page (or the cached one, offline), older pages as the end comes into
 * view (the `Link` header's next), and new posts from the stream held behind a bar that
 * shows how many there are, so the list never jumps under the reader. */
export function Timeline({ path, cacheName, stream, tag, prepend = [], onReply }: Props) {
  const [loaded, setItems] = useState<Status[]>([]);
  const [incoming, setIncoming] = useState<Status[]>([]);
  const [next, setNext] = useState<string | undefined>();
  const [state, setState] = useState<"loading" | "ready" | "offline" | "error">("loading");
  const loadingMore = useRef(false);
  const end = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const back = kept.get(path);
    if (back) {
      setItems(back.items);
      setNext(back.next);
      setState("ready");
      requestAnimationFrame(() => window.scrollTo({ top: back.scrollY }));
      // What arrived while the reader was away waits behind the bar; what was shown is
      // brought up to date where it stands.
      page<Status>(path)
        .then((first) => {
          const now = comingBack(back.items, first.items);
          setItems(now.items);
          setIncoming(now.incoming);
        })
        .catch(() => undefined);
      return;
    }
    let live = true;
    setItems([]);
    setIncoming([]);
    setState("loading");
    page<Status>(path)
      .then((first) => {
        if (!live) return;
        setItems(first.items);
        setNext(first.links.next);
        setState("ready");
      })
      .catch(async () => {
        const cached = await cache.load<Status>(cacheName);
        if (!live) return;
        if (cached) {
          setItems(cached);
          setState("offline");
        } else {
          setState("error");
        }
      });
    return () => {
      live = false;
    };
  }, [path, cacheName]);

  // Remembered when the reader leaves (the screen unmounts).
  const latest = useRef<Kept>({ items: [], scrollY: 0 });
  useEffect(() => {
    const onScroll = () => {
      latest.current.scrollY = window.scrollY;
    };
    window.addEventListener("scroll", onScroll, { passive: true });
    return () => {
      window.removeEventListener("scroll", onScroll);
      if (latest.current.items.length) kept.set(path, { ...latest.current });
    };
  }, [path]);

  useEffect(() => {
    if (!stream) return;
    return onEvent((event) => {
      if (event.stream[0] !== stream) return;
      if (tag && event.stream[1]?.toLowerCase() !== tag.toLowerCase()) return;
      if (event.event === "update") {
        const status = event.payload as Status;
        setIncoming((held) => (held.some((s) => s.id === status.id) ? held : [status, ...held]));
      } else if (event.event === "status.update") {
        const status = event.payload as Status;
        setItems((list) => swapEdited(list, status));
        setIncoming((list) => swapEdited(list, status));
      } else if (event.event === "delete") {
        const id = String(event.payload);
        setItems((shown) => shown.filter((s) => s.id !== id));
        setIncoming((held) => held.filter((s) => s.id !== id));
      }
    });
  }, [stream, tag]);

  const loadMore = useCallback(async () => {
    if (!next || loadingMore.current) return;
    loadingMore.current = true;
    try {
      const older = await page<Status>(localPath(next));
      setItems((shown) => [...shown, ...older.items.filter((s) => !shown.some((o) => o.id === s.id))]);
      setNext(older.links.next);
    } catch {
      // offline or failed: the next intersection tries again
    } finally {
      loadingMore.current = false;
    }
  }, [next]);

  useEffect(() => {
    const target = end.current;
    if (!target || typeof IntersectionObserver === "undefined") return;
    const observer = new IntersectionObserver((entries) => {
      if (entries.some((entry) => entry.isIntersecting)) void loadMore();
    });
    observer.observe(target);
    return () => observer.disconnect();
  }, [loadMore]);

  const showIncoming = () => {
    setItems((shown) => [...incoming.filter((s) => !shown.some((o) => o.id === s.id)), ...shown]);
    setIncoming([]);
    window.scrollTo({ top: 0 });
  };

  const shownIds = new Set(loaded.map((s) => s.id));
  const top = prepend.filter((s) => !shownIds.has(s.id));
  // A status edited here replaces the version the page loaded.
  const newer = new Map(prepend.filter((s) => shownIds.has(s.id)).map((s) => [s.id, s]));
  const items = newer.size ? loaded.map((s) => newer.get(s.id) ?? s) : loaded;
  const shown = [...top.filter((s) => !s.pending), ...items];
  latest.current = { items: shown, next, scrollY: latest.current.scrollY };
  // What is shown is what stays readable offline.
  const shownKey = shown.map((s) => s.id).join(",");
  useEffect(() => {
    if (state === "ready") void cache.save(cacheName, latest.current.items);
  }, [shownKey, state, cacheName]);

  return (
    <section class="timeline" aria-busy={state === "loading"}>
      <div class="new-bar-slot">
        {incoming.length > 0 && (
          <button type="button" class="new-bar" onClick={showIncoming}>
            {t("timeline.newPosts", { count: incoming.length })}
          </button>
        )}
      </div>
      {state === "offline" && <p class="notice" role="status">{t("timeline.offline")}</p>}
      {state === "error" && <p class="notice" role="alert">{t("timeline.error")}</p>}
      {state === "loading" && <p class="notice">{t("common.loading")}</p>}
      {state !== "loading" && items.length === 0 && top.length === 0 && <p class="notice">{t("timeline.empty")}</p>}
      {[...top, ...items].map((status) => (
        <StatusCard key={`${status.id}${status.pending ? "-pending" : ""}`} status={status} onReply={onReply}
          onDeleted={(id) => setItems((shown) => shown.filter((s) => s.id !== id))} />
      ))}
      <div ref={end} class="end" aria-hidden="true" />
    </section>
  );
}
