import { useEffect, useRef, useState } from "preact/hooks";
import { useLocation } from "preact-iso";
import { formatDate, t } from "../i18n";
import { ApiError, api, page, type Account, type Conversation, type MediaAttachment, type Status } from "../lib/api";
import { describe, upload } from "../lib/upload";
import * as cache from "../lib/cache";
import { messageText, orderMessages, plainText, title, withoutLeadingMentions } from "../lib/chat";
import * as outbox from "../lib/outbox";
import * as presence from "../lib/presence";
import * as store from "../lib/store";
import * as unread from "../lib/unread";
import { follow, onEvent } from "../live";
import * as state from "../state";
import { MediaGallery } from "../components/MediaGallery";

/** Re-renders when presence or typing changes. The snapshot is read again as the screen
 * opens: the stream's `presence` events tell only of changes, and an account followed since
 * the app started (whose connection opened before) would show offline until it reconnects. */
function usePresence(): void {
  const [, tick] = useState(0);
  useEffect(() => {
    void presence.load().catch(() => undefined);
    return presence.subscribe(() => tick((n) => n + 1));
  }, []);
}

/** Conversations (and this screen's live `conversation` events from the `direct` stream). */
function useDirect(onConversation: (conversation: Conversation) => void): void {
  const handler = useRef(onConversation);
  handler.current = onConversation;
  useEffect(() => {
    const stop = follow({ stream: "direct" });
    const off = onEvent((event) => {
      if (event.event === "conversation" && (event.stream[0] === "direct" || event.stream[0] === "user")) {
        handler.current(event.payload as Conversation);
      }
    });
    return () => {
      off();
      stop();
    };
  }, []);
}

function Presence({ account }: { account: Account }) {
  const on = presence.isOnline(account.id);
  return (
    <span class={`presence${on ? " online" : ""}`}>
      <span class="dot" aria-hidden="true" />
      {on ? t("chat.online") : <span class="visually-hidden">{t("chat.notOnline")}</span>}
    </span>
  );
}

function Avatars({ accounts }: { accounts: Account[] }) {
  return (
    <span class="chat-avatars" aria-hidden="true">
      {accounts.slice(0, 2).map((account) => (
        <span class="avatar-wrap" key={account.id}>
          <img src={account.avatar} alt="" width="40" height="40" />
          {presence.isOnline(account.id) && <span class="online-dot" />}
        </span>
      ))}
    </span>
  );
}

/** The conversation list: newest first, unread ones marked, live. */
export function Messages() {
  usePresence();
  const [items, setItems] = useState<Conversation[] | null>(null);
  const [offline, setOffline] = useState(false);

  useEffect(() => {
    page<Conversation>("/api/v1/conversations?limit=40")
      .then((first) => {
        setItems(first.items);
        void cache.save("conversations", first.items);
      })
      .catch(async () => {
        setItems((await cache.load<Conversation>("conversations")) ?? []);
        setOffline(true);
      });
  }, []);

  useDirect((conversation) =>
    setItems((shown) => [conversation, ...(shown ?? []).filter((c) => c.id !== conversation.id)]),
  );

  const unread = items?.filter((c) => c.unread).length ?? 0;
  return (
    <section class="chat-list">
      <h1>{t("chat.title")}</h1>
      <p class="visually-hidden" role="status">{t("chat.unreadCount", { count: unread })}</p>
      {offline && <p class="notice" role="status">{t("timeline.offline")}</p>}
      {items === null && <p class="notice">{t("common.loading")}</p>}
      {items?.length === 0 && <p class="notice">{t("chat.empty")}</p>}
      <ul class="conversations">
        {items?.map((conversation) => {
          const last = conversation.last_status;
          const typing = presence.typingIn(conversation.id).length > 0;
          return (
            <li key={conversation.id} class={conversation.unread ? "unread" : undefined}>
              <a href={`/messages/${conversation.id}`}>
                <Avatars accounts={conversation.accounts} />
                <span class="conversation-text">
                  <strong>{title(conversation) || t("chat.justYou")}</strong>
                  {conversation.unread && <span class="badge">{t("chat.unread")}</span>}
                  <span class="excerpt">
                    {typing ? t("chat.typingShort") : last ? plainText(last.content) || t("chat.attachment") : ""}
                  </span>
                </span>
                {last && <time dateTime={last.created_at}>{formatDate(last.created_at)}</time>}
              </a>
            </li>
          );
        })}
      </ul>
    </section>
  );
}

interface PendingMessage {
  key: string;
  text: string;
  created_at: string;
}

/** One conversation as a chat: bubbles, the other side's presence and typing, live
 * messages, sending with an Idempotency-Key (queued while offline). `to`: a new
 * conversation with that account, created by the first message. */
export function Chat({ id, to }: { id?: string; to?: string }) {
  usePresence();
  const { route } = useLocation();
  const me = state.current()?.me;
  const [conversation, setConversation] = useState<Conversation | null>(null);
  const [messages, setMessages] = useState<Status[] | null>(null);
  const [pending, setPending] = useState<PendingMessage[]>([]);
  const [text, setText] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [failed, setFailed] = useState(false);
  const [offline, setOffline] = useState(false);
  const [busy, setBusy] = useState(false);
  // One picture (or clip) with a message: its upload progress, then its alt text.
  const [attachment, setAttachment] = useState<{ progress: number; media?: MediaAttachment; description: string } | null>(null);
  const fileInput = useRef<HTMLInputElement>(null);
  const list = useRef<HTMLOListElement>(null);
  const sendTyping = useRef(presence.typingSender());

  const markRead = (conversationId: string) => {
    if (document.visibilityState !== "visible") return;
    unread.read(conversationId);
    void api(`/api/v1/conversations/${conversationId}/read`, { method: "POST" }).catch(() => undefined);
  };

  useEffect(() => {
    setMessages(null);
    setConversation(null);
    setFailed(false);
    if (to) {
      api<Account>(`/api/v1/accounts/lookup?acct=${encodeURIComponent(to)}`)
        .then((account) => {
          setConversation({ id: "", unread: false, accounts: [account], last_status: null });
          setMessages([]);
        })
        .catch(() => setFailed(true));
      return;
    }
    if (!id) return;
    (async () => {
      try {
        const all = await page<Conversation>("/api/v1/conversations?limit=40");
        let found = all.items.find((c) => c.id === id);
        // An older one: walk the pages (a conversation list is short in practice).
        let next = all.links.next;
        while (!found && next) {
          const more = await page<Conversation>(new URL(next, location.origin).pathname + new URL(next, location.origin).search);
          found = more.items.find((c) => c.id === id);
          next = more.links.next;
        }
        if (!found) throw new ApiError(404, "not found");
        setConversation(found);
        const last = found.last_status;
        let thread: Status[] = [];
        if (last) {
          const context = await api<{ ancestors: Status[]; descendants: Status[] }>(`/api/v1/statuses/${last.id}/context`);
          thread = orderMessages([...context.ancestors, last, ...context.descendants].filter((s) => s.visibility === "direct"));
        }
        setMessages(thread);
        void cache.save(`chat:${id}`, thread);
        await store.set(`chat-conversation:${id}`, found);
        if (found.unread) markRead(id);
      } catch (failure) {
        const cached = await cache.load<Status>(`chat:${id}`);
        const kept = await store.get<Conversation>(`chat-conversation:${id}`);
        if (cached && kept && !(failure instanceof ApiError)) {
          setConversation(kept);
          setMessages(cached);
          setOffline(true);
        } else {
          setFailed(true);
        }
      }
    })();
  }, [id, to]);

  // Messages written offline for this conversation: shown as pending, sent when back online.
  useEffect(() => {
    if (!id) return;
    const refresh = () =>
      void outbox.queued().then((all) =>
        setPending(all.filter((item) => item.conversation === id).map((item) => ({ key: item.key, text: item.draft.status, created_at: item.created_at }))),
      );
    refresh();
    // Back online: what arrived while the stream was away comes through REST (the stream
    // replays nothing), then the queued messages go.
    const catchUp = async () => {
      const all = await api<Conversation[]>("/api/v1/conversations?limit=40");
      const found = all.find((c) => c.id === id);
      const last = found?.last_status;
      if (!found || !last) return;
      setConversation(found);
      const context = await api<{ ancestors: Status[]; descendants: Status[] }>(`/api/v1/statuses/${last.id}/context`);
      const fresh = [...context.ancestors, last, ...context.descendants].filter((s) => s.visibility === "direct");
      setMessages((shown) => orderMessages([...(shown ?? []), ...fresh]));
      if (found.unread) markRead(id);
    };
    const flush = (reconnected: boolean) =>
      void outbox.flush().then(async (sent) => {
        setMessages((shown) => (shown ? orderMessages([...shown, ...sent.filter((s) => s.visibility === "direct")]) : shown));
        setOffline(false);
        refresh();
        if (reconnected) await catchUp().catch(() => undefined);
      });
    if (navigator.onLine) flush(false);
    const online = () => flush(true);
    window.addEventListener("online", online);
    return () => window.removeEventListener("online", online);
  }, [id]);

  useDirect((incoming) => {
    if (!id || incoming.id !== id) return;
    setConversation(incoming);
    const last = incoming.last_status;
    if (last) {
      setMessages((shown) => orderMessages([...(shown ?? []), last]));
      presence.stopTyping(id, last.account.id);
      if (last.account.id !== me?.id) markRead(id);
    }
  });

  // The newest message stays in view.
  const count = (messages?.length ?? 0) + pending.length;
  useEffect(() => {
    const el = list.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [count]);

  const attach = (files: FileList | null) => {
    const file = files?.[0];
    if (!file) return;
    setAttachment({ progress: 0, description: "" });
    setError(null);
    upload(file, { onProgress: (progress) => setAttachment((a) => a && { ...a, progress }) })
      .then((media) => setAttachment((a) => a && { ...a, media, progress: 1 }))
      .catch((failure: unknown) => {
        setAttachment(null);
        setError(failure instanceof Error ? failure.message : t("compose.media.failed"));
      });
    if (fileInput.current) fileInput.current.value = "";
  };

  const canSend = !busy && (!!text.trim() || !!attachment?.media) && !(attachment && !attachment.media);

  const send = async (event: Event) => {
    event.preventDefault();
    if (!conversation || !canSend) return;
    const last = messages?.[messages.length - 1];
    const draft: outbox.Draft = { status: messageText(conversation.accounts, text.trim()), visibility: "direct" };
    if (last) draft.in_reply_to_id = last.id;
    // The box is free for the next message at once: the message often shows (from the
    // stream) before its own answer arrives, and a picture attached or text typed in that
    // moment was wiped when the answer came.
    const written = { text, attachment };
    setText("");
    setAttachment(null);
    setBusy(true);
    setError(null);
    const key = outbox.newKey();
    try {
      if (written.attachment?.media) {
        const { media, description } = written.attachment;
        draft.media_ids = [media.id];
        if (description.trim()) await describe(media.id, description.trim()).catch(() => undefined);
      }
      if (!navigator.onLine) throw new TypeError("offline");
      const sent = await outbox.post(draft, key);
      setMessages((shown) => orderMessages([...(shown ?? []), sent]));
      if (!id) {
        // A new conversation: its id is known once the server has it.
        const all = await api<Conversation[]>("/api/v1/conversations?limit=40");
        const created = all.find((c) => c.last_status?.id === sent.id);
        if (created) route(`/messages/${created.id}`, true);
      }
    } catch (failure) {
      if (failure instanceof TypeError && id) {
        const item = await outbox.enqueue(draft, key, id);
        setPending((shown) => [...shown, { key: item.key, text: draft.status, created_at: item.created_at }]);
      } else {
        setError(failure instanceof Error ? failure.message : String(failure));
        // Not sent: what was written comes back, unless the next message is begun already.
        setText((now) => now || written.text);
        setAttachment((now) => now ?? written.attachment);
      }
    } finally {
      setBusy(false);
    }
  };

  if (failed) return <p class="notice" role="alert">{t("chat.notFound")}</p>;
  if (!conversation || !messages) return <p class="notice">{t("common.loading")}</p>;
  const others = conversation.accounts;
  const typingNames = id
    ? presence
        .typingIn(id)
        .map((accountId) => others.find((a) => a.id === accountId))
        .filter((a): a is Account => !!a)
        .map((a) => a.display_name || a.username)
    : [];

  return (
    <section class="chat">
      <header class="chat-head">
        <a href="/messages" class="back">{t("chat.back")}</a>
        <Avatars accounts={others} />
        <div>
          <h1>{title(conversation) || t("chat.justYou")}</h1>
          <p class="chat-people">
            {others.map((account) => (
              <span key={account.id}>
                <a href={`/@${account.acct}`}>@{account.acct}</a> <Presence account={account} />
              </span>
            ))}
          </p>
        </div>
      </header>
      {offline && <p class="notice" role="status">{t("timeline.offline")}</p>}
      <ol class="bubbles" ref={list} aria-label={t("chat.messages")} tabIndex={0}>
        {messages.length === 0 && pending.length === 0 && <li class="notice">{t("chat.start")}</li>}
        {messages.map((message) => {
          const mine = message.account.id === me?.id;
          return (
            <li key={message.id} class={`bubble-row${mine ? " mine" : ""}`}>
              <div class="bubble">
                <span class="visually-hidden">{mine ? t("chat.you") : message.account.display_name || message.account.username}: </span>
                <div class="content" dangerouslySetInnerHTML={{ __html: withoutLeadingMentions(message.content, !message.media_attachments.length) }} />
                {message.media_attachments.length > 0 && <MediaGallery media={message.media_attachments} sensitive={message.sensitive} />}
                <time dateTime={message.created_at}>{formatDate(message.created_at)}</time>
              </div>
            </li>
          );
        })}
        {pending.map((message) => (
          <li key={message.key} class="bubble-row mine pending">
            <div class="bubble">
              <div class="content"><p>{message.text.replace(/^(@\S+\s+)+/, "")}</p></div>
              <span class="pending-note">{t("chat.pending")}</span>
            </div>
          </li>
        ))}
      </ol>
      <p class="typing" aria-live="polite">
        {typingNames.length > 0 && t("chat.typing", { name: typingNames.join(", "), count: typingNames.length })}
      </p>
      {attachment && (
        <div class="chat-attachment">
          {attachment.media?.preview_url ? (
            <img src={attachment.media.preview_url} alt="" width="64" height="64" />
          ) : (
            <label class="progress">
              <span>{t("chat.uploading")}</span>
              <progress max={1} value={attachment.progress} />
            </label>
          )}
          {attachment.media && (
            <label class="field">
              <span>{t("chat.alt")}</span>
              <input value={attachment.description} onInput={(e) => setAttachment({ ...attachment, description: e.currentTarget.value })} />
            </label>
          )}
          <button type="button" class="secondary" onClick={() => setAttachment(null)}>{t("chat.removeAttachment")}</button>
        </div>
      )}
      <form class="chat-compose" onSubmit={send}>
        <input ref={fileInput} class="visually-hidden" type="file" accept="image/*,video/*,audio/*" tabIndex={-1} aria-hidden="true"
          onChange={(e) => attach(e.currentTarget.files)} />
        <button type="button" class="secondary" onClick={() => fileInput.current?.click()} disabled={!!attachment}>
          {t("chat.attach")}
        </button>
        <label class="field">
          <span class="visually-hidden">{t("chat.write")}</span>
          <textarea rows={2} value={text} placeholder={t("chat.placeholder")}
            onInput={(e) => {
              setText(e.currentTarget.value);
              if (id && e.currentTarget.value.trim()) sendTyping.current(id);
            }}
            onKeyDown={(e) => {
              if (e.key === "Enter" && !e.shiftKey && !e.isComposing) void send(e);
            }} />
        </label>
        <button type="submit" disabled={!canSend}>{t("chat.send")}</button>
      </form>
      {error && <p class="error" role="alert">{error}</p>}
    </section>
  );
}
