// ConnectHub's presence extension as the app uses it (docs/streaming.md, "Presence"):
// who among the accounts I follow is online (GET /api/v1/connecthub/presence, then
// `presence` events on my user stream) and who is typing in which conversation (`typing`
// events; POST /api/v1/connecthub/conversations/:id/typing while I type).

import { api } from "./api";

export interface PresenceEvent {
  account_id: string;
  online: boolean;
}

export interface TypingEvent {
  conversation_id: string;
  account_id: string;
  typing: boolean;
  expires_in?: number;
}

const online = new Set<string>();
/** conversation id → account id → when the indicator lapses (ms since the epoch). */
const typing = new Map<string, Map<string, number>>();
const listeners = new Set<() => void>();
const changed = () => {
  for (const listener of listeners) listener();
};

export function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function isOnline(accountId: string): boolean {
  return online.has(accountId);
}

/** The accounts typing in `conversationId` now. */
export function typingIn(conversationId: string, now = Date.now()): string[] {
  const who = typing.get(conversationId);
  if (!who) return [];
  return [...who.entries()].filter(([, until]) => until > now).map(([id]) => id);
}

/** The snapshot: every followed account with a connection now. */
export async function load(): Promise<void> {
  const list = await api<PresenceEvent[]>("/api/v1/connecthub/presence");
  online.clear();
  for (const entry of list) if (entry.online) online.add(entry.account_id);
  changed();
}

export function applyPresence(event: PresenceEvent): void {
  if (event.online) online.add(event.account_id);
  else online.delete(event.account_id);
  changed();
}

export function applyTyping(event: TypingEvent, now = Date.now()): void {
  const who = typing.get(event.conversation_id) ?? new Map<string, number>();
  if (event.typing) who.set(event.account_id, now + (event.expires_in ?? 6) * 1000);
  else who.delete(event.account_id);
  typing.set(event.conversation_id, who);
  changed();
  // The indicator lapses by itself unless it is sent again.
  if (event.typing) setTimeout(changed, (event.expires_in ?? 6) * 1000 + 50);
}

/** A message arrived from `accountId`: they are no longer typing there. */
export function stopTyping(conversationId: string, accountId: string): void {
  if (typing.get(conversationId)?.delete(accountId)) changed();
}

export function reset(): void {
  online.clear();
  typing.clear();
  changed();
}

/** Sends "I am typing" at most once per `every` ms per conversation while I type. */
export function typingSender(every = 3000, now: () => number = Date.now) {
  const last = new Map<string, number>();
  return (conversationId: string): boolean => {
    const at = now();
    if (at - (last.get(conversationId) ?? -Infinity) < every) return false;
    last.set(conversationId, at);
    void api(`/api/v1/connecthub/conversations/${conversationId}/typing`, { method: "POST" }).catch(() => undefined);
    return true;
  };
}
