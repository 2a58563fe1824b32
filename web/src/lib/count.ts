// Status length as Mastodon counts it: every URL is 23 characters whatever its length, and
// a mention counts only its username (the domain is free). Characters are code points.

const URL_LENGTH = 23;
const URL_RE = /(^|[\s(])(https?:\/\/[^\s<>"]+)/giu;
const MENTION_RE = /(^|[^\w/])@(\w+)@[\w.-]+\w/giu;

export function statusLength(text: string): number {
  const replaced = text
    .replace(URL_RE, (_m, lead: string) => lead + "x".repeat(URL_LENGTH))
    .replace(MENTION_RE, (_m, lead: string, user: string) => `${lead}@${user}`);
  return [...replaced].length;
}

export function remaining(text: string, spoiler: string, limit: number): number {
  return limit - statusLength(text) - [...spoiler].length;
}
