// One streaming connection for the whole app; screens listen to the events they need.

import { connect, type Listener, type Stream, type Subscription } from "./lib/streaming";
import type { Conversation } from "./lib/api";
import * as presence from "./lib/presence";
import * as unread from "./lib/unread";

const listeners = new Set<Listener>();
let stream: Stream | null = null;

export function startLive(base: string, token: string): void {
  stopLive();
  stream = connect(base, token, ["user", "public:local"], (event) => {
    // Presence and typing (ConnectHub's extension) come on the user stream.
    if (event.event === "presence") presence.applyPresence(event.payload as presence.PresenceEvent);
    else if (event.event === "typing") presence.applyTyping(event.payload as presence.TypingEvent);
    else if (event.event === "conversation") unread.seen(event.payload as Conversation);
    for (const listener of listeners) listener(event);
  });
  void presence.load().catch(() => undefined);
  void unread.load().catch(() => undefined);
}

export function stopLive(): void {
  stream?.close();
  stream = null;
  presence.reset();
  unread.reset();
}

export function onEvent(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Subscribes while a screen needs it (a hashtag, a list); returns the unsubscribe. */
export function follow(subscription: Subscription): () => void {
  stream?.subscribe(subscription);
  return () => stream?.unsubscribe(subscription);
}
