// Mastodon's pagination: the `Link` header's `next` (older) and `prev` (newer) URLs.

export interface PageLinks {
  next?: string;
  prev?: string;
}

export function parseLink(header: string | null): PageLinks {
  const links: PageLinks = {};
  if (!header) return links;
  for (const part of header.split(",")) {
    const match = /<([^>]+)>\s*;\s*rel="?([a-z]+)"?/i.exec(part.trim());
    if (!match) continue;
    const rel = match[2].toLowerCase();
    if (rel === "next" || rel === "prev") links[rel] = match[1];
  }
  return links;
}
