// The Mastodon client API, as the app uses it. The token is held in memory (and in
// IndexedDB by auth.ts); it travels only in the Authorization header.

import { parseLink, type PageLinks } from "./link";

let token: string | null = null;

export function setToken(value: string | null): void {
  token = value;
}

export function hasToken(): boolean {
  return token !== null;
}

export function currentToken(): string | null {
  return token;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface Page<T> {
  items: T[];
  links: PageLinks;
}

interface Options {
  method?: string;
  body?: unknown;
  form?: FormData;
  headers?: Record<string, string>;
}

async function send(path: string, options: Options = {}): Promise<Response> {
  const headers: Record<string, string> = { Accept: "application/json", ...options.headers };
  if (token) headers.Authorization = `Bearer ${token}`;
  let body: BodyInit | undefined;
  if (options.form) {
    body = options.form;
  } else if (options.body !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(options.body);
  }
  const response = await fetch(path, { method: options.method ?? "GET", headers, body });
  if (!response.ok) {
    let message = response.statusText;
    try {
      const data = (await response.json()) as { error?: string };
      if (data.error) message = data.error;
    } catch {
      // not JSON: keep the status text
    }
    throw new ApiError(response.status, message);
  }
  return response;
}

export async function api<T>(path: string, options: Options = {}): Promise<T> {
  const response = await send(path, options);
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

/** One page of a paginated list, with the `Link` header's next and prev URLs. */
export async function page<T>(path: string): Promise<Page<T>> {
  const response = await send(path);
  return { items: (await response.json()) as T[], links: parseLink(response.headers.get("Link")) };
}

// -- entities (the fields the app reads) --

export interface Account {
  id: string;
  username: string;
  acct: string;
  display_name: string;
  note: string;
  avatar: string;
  header: string;
  locked: boolean;
  followers_count: number;
  following_count: number;
  statuses_count: number;
  url: string;
  fields?: { name: string; value: string }[];
  source?: {
    language?: string | null;
    privacy?: string;
    sensitive?: boolean;
    note?: string;
    fields?: { name: string; value: string }[];
    discoverable?: boolean | null;
    indexable?: boolean;
    hide_collections?: boolean | null;
  };
  bot?: boolean;
  discoverable?: boolean | null;
  /** The signed-in account's role (verify_credentials): `permissions` is a bit set as a string. */
  role?: { id: string; name: string; permissions: string };
}

export type Visibility = "public" | "unlisted" | "private" | "direct";

export interface MediaAttachment {
  id: string;
  type: string;
  url: string | null;
  preview_url: string | null;
  description: string | null;
  blurhash?: string | null;
  meta?: { small?: { width?: number; height?: number; aspect?: number }; original?: { width?: number; height?: number } } | null;
}

export interface PollOption {
  title: string;
  votes_count: number | null;
}

export interface Poll {
  id: string;
  expires_at: string | null;
  expired: boolean;
  multiple: boolean;
  votes_count: number;
  voters_count: number | null;
  voted?: boolean;
  own_votes?: number[];
  options: PollOption[];
}

export interface Conversation {
  id: string;
  unread: boolean;
  accounts: Account[];
  last_status: Status | null;
}

export interface StatusEdit {
  content: string;
  spoiler_text: string;
  sensitive: boolean;
  created_at: string;
  account: Account;
  media_attachments: MediaAttachment[];
  poll?: { options: { title: string }[] } | null;
}

export interface StatusSource {
  id: string;
  text: string;
  spoiler_text: string;
}

export interface Status {
  id: string;
  created_at: string;
  account: Account;
  content: string;
  spoiler_text: string;
  sensitive: boolean;
  visibility: Visibility;
  url: string | null;
  in_reply_to_id: string | null;
  reblog: Status | null;
  favourited?: boolean;
  reblogged?: boolean;
  bookmarked?: boolean;
  /** The viewer's filters that matched (v2 filters; "hide" ones never arrive). */
  filtered?: { filter: { id: string; title: string; filter_action: string }; keyword_matches: string[] | null }[];
  favourites_count: number;
  reblogs_count: number;
  replies_count: number;
  media_attachments: MediaAttachment[];
  poll?: Poll | null;
  language?: string | null;
  edited_at?: string | null;
  mentions?: { id: string; acct: string; username: string }[];
  /** Returned by DELETE (delete-and-redraft): the source text. */
  text?: string | null;
  /** Set by the app for a post waiting in the offline outbox. */
  pending?: boolean;
}

export interface Notification {
  id: string;
  type: string;
  created_at: string;
  account: Account;
  status?: Status | null;
}

export interface Relationship {
  id: string;
  following: boolean;
  requested: boolean;
  followed_by: boolean;
  blocking: boolean;
  muting: boolean;
  requested_by?: boolean;
}

export interface Instance {
  domain: string;
  title: string;
  configuration: {
    statuses: { max_characters: number; max_media_attachments?: number };
    urls: { streaming: string };
    polls?: { max_options: number; max_characters_per_option: number; min_expiration: number; max_expiration: number };
    vapid?: { public_key: string };
  };
}

export interface Context {
  ancestors: Status[];
  descendants: Status[];
}
