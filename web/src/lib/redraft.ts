// Edit and delete-and-redraft start on a status card anywhere in the app and finish in the
// home screen's compose box: the card leaves the request here and goes home; the compose box
// takes it when it mounts (or at once, when it is already showing).

import type { MediaAttachment, Poll, Status, Visibility } from "./api";

export interface ComposeRequest {
  mode: "edit" | "redraft";
  /** The status being edited (edit), or the deleted one (redraft). */
  status: Status;
  text: string;
  spoiler_text: string;
  visibility: Visibility;
  language: string | null;
  sensitive: boolean;
  media: MediaAttachment[];
  poll: Poll | null;
  in_reply_to_id: string | null;
}

let pending: ComposeRequest | null = null;
const listeners = new Set<(request: ComposeRequest) => void>();

export function request(value: ComposeRequest): void {
  if (listeners.size) {
    for (const listener of listeners) listener(value);
  } else {
    pending = value;
  }
}

/** The request left for a compose box that was not showing, taken once. */
export function take(): ComposeRequest | null {
  const value = pending;
  pending = null;
  return value;
}

export function listen(listener: (request: ComposeRequest) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** A poll's duration in seconds from its expiry (what an edit sends back). */
export function remainingSeconds(poll: Poll, now = Date.now()): number {
  if (!poll.expires_at) return 86400;
  return Math.max(300, Math.round((Date.parse(poll.expires_at) - now) / 1000));
}
