// Posts written offline: kept in IndexedDB with the Idempotency-Key they were given when
// written, shown as pending, and sent once the connection returns. A retry sends the same
// key, so the server never creates the post twice.

import { ApiError, api, type Status, type Visibility } from "./api";
import * as store from "./store";

const KEY = "outbox";

export interface Draft {
  status: string;
  spoiler_text?: string;
  visibility?: Visibility;
  in_reply_to_id?: string;
  language?: string;
  media_ids?: string[];
  sensitive?: boolean;
  poll?: { options: string[]; expires_in: number; multiple?: boolean };
}

export interface Queued {
  key: string;
  draft: Draft;
  created_at: string;
  /** A direct message written in the chat view: its conversation (shown there as pending). */
  conversation?: string;
}

export function newKey(): string {
  return crypto.randomUUID();
}

export async function queued(): Promise<Queued[]> {
  return (await store.get<Queued[]>(KEY)) ?? [];
}

export async function enqueue(draft: Draft, key: string = newKey(), conversation?: string): Promise<Queued> {
  const item: Queued = { key, draft, created_at: new Date().toISOString() };
  if (conversation) item.conversation = conversation;
  await store.set(KEY, [...(await queued()), item]);
  return item;
}

export function post(draft: Draft, key: string): Promise<Status> {
  return api<Status>("/api/v1/statuses", { method: "POST", body: draft, headers: { "Idempotency-Key": key } });
}

let flushing: Promise<Status[]> | null = null;

/** Sends every queued post in order; one that fails for the network stays queued, one the
 * server refuses (4xx) is dropped. Concurrent calls share one run. */
export function flush(): Promise<Status[]> {
  if (!flushing) {
    flushing = (async () => {
      const sent: Status[] = [];
      for (const item of await queued()) {
        try {
          sent.push(await post(item.draft, item.key));
        } catch (error) {
          if (!(error instanceof ApiError) || error.status >= 500) break;
        }
        await store.set(KEY, (await queued()).filter((other) => other.key !== item.key));
      }
      return sent;
    })().finally(() => {
      flushing = null;
    });
  }
  return flushing;
}
