// Which conversations are unread, for the navigation's badge: the first page of
// conversations once, then `conversation` events and the chat marking them read.

import { page, type Conversation } from "./api";

const unread = new Set<string>();
const listeners = new Set<() => void>();
const changed = () => {
  for (const listener of listeners) listener();
};

export function count(): number {
  return unread.size;
}

export function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export async function load(): Promise<void> {
  const first = await page<Conversation>("/api/v1/conversations?limit=40");
  unread.clear();
  for (const conversation of first.items) if (conversation.unread) unread.add(conversation.id);
  changed();
}

export function seen(conversation: Conversation): void {
  if (conversation.unread) unread.add(conversation.id);
  else unread.delete(conversation.id);
  changed();
}

export function read(id: string): void {
  if (unread.delete(id)) changed();
}

export function reset(): void {
  unread.clear();
  changed();
}
