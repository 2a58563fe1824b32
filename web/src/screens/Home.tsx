import { useEffect, useState } from "preact/hooks";
import { Compose } from "../components/Compose";
import { Timeline } from "../components/Timeline";
import { t } from "../i18n";
import type { Status } from "../lib/api";
import * as outbox from "../lib/outbox";
import * as redraft from "../lib/redraft";
import type { Session } from "../state";

function pendingStatus(item: outbox.Queued, session: Session): Status {
  return {
    id: `pending-${item.key}`,
    created_at: item.created_at,
    account: session.me,
    content: `<p>${item.draft.status.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`)}</p>`,
    spoiler_text: item.draft.spoiler_text ?? "",
    sensitive: false,
    visibility: item.draft.visibility ?? "public",
    url: null,
    in_reply_to_id: item.draft.in_reply_to_id ?? null,
    reblog: null,
    favourites_count: 0,
    reblogs_count: 0,
    replies_count: 0,
    media_attachments: [],
    pending: true,
  };
}

interface Props {
  session: Session;
  path: string;
  cacheName: string;
  stream: string;
  title: "nav.home" | "nav.local" | "nav.public";
  /** Whether the compose box is shown above the timeline. */
  compose?: boolean;
}

/** A timeline with the compose box above it; posts waiting offline are shown as pending. */
export function TimelineScreen({ session, path, cacheName, stream, title, compose = true }: Props) {
  const [posted, setPosted] = useState<Status[]>([]);
  // An edit or a delete-and-redraft asked for on a status card (here or on another screen).
  const [request, setRequest] = useState<redraft.ComposeRequest | null>(() => (compose ? redraft.take() : null));
  useEffect(() => {
    if (!compose) return;
    return redraft.listen((value) => {
      setReplyTo(null);
      setRequest(value);
      window.scrollTo({ top: 0 });
    });
  }, [compose]);
  const [pending, setPending] = useState<outbox.Queued[]>([]);
  const [replyTo, setReplyTo] = useState<Status | null>(null);

  useEffect(() => {
    const refresh = () => void outbox.queued().then((all) => setPending(all.filter((item) => !item.conversation)));
    refresh();
    const flush = () =>
      void outbox.flush().then((sent) => {
        setPosted((shown) => [...sent, ...shown]);
        refresh();
      });
    if (navigator.onLine) flush();
    window.addEventListener("online", flush);
    return () => window.removeEventListener("online", flush);
  }, []);

  const prepend = [...pending.map((item) => pendingStatus(item, session)).reverse(), ...posted];
  return (
    <>
      <h1 class="visually-hidden">{t(title)}</h1>
      {compose && <Compose
        key={request ? `${request.mode}-${request.status.id}` : (replyTo?.id ?? "new")}
        limit={session.instance.configuration.statuses.max_characters}
        replyTo={replyTo}
        request={request}
        defaultLanguage={session.me.source?.language ?? undefined}
        onCancelRequest={() => setRequest(null)}
        onEdited={(status) => {
          setRequest(null);
          setPosted((shown) => [status, ...shown.filter((s) => s.id !== status.id)]);
        }}
        onCancelReply={() => setReplyTo(null)}
        onPosted={(status) => {
          setReplyTo(null);
          setRequest(null);
          setPosted((shown) => [status, ...shown]);
        }}
        onQueued={(item) => {
          setReplyTo(null);
          setPending((shown) => [...shown, item]);
        }}
      />}
      <Timeline path={path} cacheName={cacheName} stream={stream} prepend={prepend} onReply={(s) => {
        setReplyTo(s);
        window.scrollTo({ top: 0 });
      }} />
    </>
  );
}
