// Entities of the screens for search, lists, filters, settings and moderation (the fields
// the app reads). Mastodon's where Mastodon has them; ConnectHub's documented extensions else.

import type { Account, Status } from "./api";

export interface Tag {
  name: string;
  url: string;
  history?: { day: string; uses: string; accounts: string }[];
  following?: boolean;
}

export interface SearchResults {
  accounts: Account[];
  statuses: Status[];
  hashtags: Tag[];
}

export type RepliesPolicy = "followed" | "list" | "none";

export interface List {
  id: string;
  title: string;
  replies_policy: RepliesPolicy;
  exclusive?: boolean;
}

export type FilterContext = "home" | "notifications" | "public" | "thread" | "account";
export const FILTER_CONTEXTS: FilterContext[] = ["home", "notifications", "public", "thread", "account"];

export interface FilterKeyword {
  id: string;
  keyword: string;
  whole_word: boolean;
}

export interface Filter {
  id: string;
  title: string;
  context: FilterContext[];
  expires_at: string | null;
  filter_action: "warn" | "hide" | "blur";
  keywords: FilterKeyword[];
}

export interface TwoFactorSetup {
  secret: string;
  provisioning_uri: string;
  /** An SVG data URI drawn by the server. */
  qr_code: string;
}

export interface AuthorizedApp {
  id: string;
  name: string;
  website: string | null;
  scopes: string[];
  created_at: string;
  last_used_at: string | null;
  sessions_count: number;
}

export interface SessionInfo {
  id: string;
  application: string | null;
  application_id: string | null;
  scopes: string[];
  created_at: string;
  expires_at: string | null;
  last_used_ip: string | null;
  user_agent: string | null;
  current: boolean;
}

export interface DataExport {
  id: string;
  state: string;
  created_at: string;
  completed_at: string | null;
  expires_at: string | null;
  size: number | null;
  url: string | null;
}

export interface AdminAccount {
  id: string;
  username: string;
  domain: string | null;
  created_at: string;
  email: string;
  ip: string | null;
  role: { id: string; name: string } | null;
  confirmed: boolean;
  suspended: boolean;
  silenced: boolean;
  sensitized: boolean;
  disabled: boolean;
  approved: boolean;
  locale: string | null;
  invite_request: string | null;
  account: Account;
}

export interface AdminReport {
  id: string;
  action_taken: boolean;
  action_taken_at: string | null;
  category: string;
  comment: string;
  forwarded: boolean;
  created_at: string;
  updated_at: string;
  account: AdminAccount;
  target_account: AdminAccount;
  assigned_account: AdminAccount | null;
  action_taken_by_account: AdminAccount | null;
  statuses: Status[];
  rules: { id: string; text: string }[];
}

/** Mastodon's permission bits (Role.permissions). */
export const PERMISSION = {
  administrator: 1 << 0,
  manageReports: 1 << 4,
  manageUsers: 1 << 10,
} as const;

/** Whether a role's permission bits (a decimal string) include `bit`; administrators have all. */
export function hasPermission(permissions: string | undefined, bit: number): boolean {
  if (!permissions) return false;
  let value: bigint;
  try {
    value = BigInt(permissions);
  } catch {
    return false;
  }
  if (value & BigInt(PERMISSION.administrator)) return true;
  return (value & BigInt(bit)) !== 0n;
}

/** Whether the account may open the moderation screens. */
export function isModerator(account: Account): boolean {
  const bits = account.role?.permissions;
  return hasPermission(bits, PERMISSION.manageUsers) || hasPermission(bits, PERMISSION.manageReports);
}

/** A keyword as the filter form holds it: `id` for a saved one, `destroy` once removed. */
export interface KeywordDraft {
  id?: string;
  keyword: string;
  whole_word: boolean;
  destroy?: boolean;
}

/** The form's keywords as v2 filters' `keywords_attributes`: new ones added, saved ones
 * changed, and saved ones removed (or emptied) sent with `_destroy`; new empty ones dropped. */
export function keywordAttributes(drafts: KeywordDraft[]): Record<string, unknown>[] {
  return drafts
    .filter((k) => k.id || (!k.destroy && k.keyword.trim()))
    .map((k) =>
      k.id && (k.destroy || !k.keyword.trim())
        ? { id: k.id, _destroy: true }
        : { ...(k.id ? { id: k.id } : {}), keyword: k.keyword.trim(), whole_word: k.whole_word },
    );
}
