// Direct messages as a chat: the pure parts (ordering a conversation's messages, the text
// of a reply that keeps the conversation, a message's text without its leading mentions).

import type { Account, Conversation, Status } from "./api";

/** The conversation's messages, oldest first, each once. */
export function orderMessages(messages: Status[]): Status[] {
  const byId = new Map<string, Status>();
  for (const message of messages) byId.set(message.id, message);
  return [...byId.values()].sort((a, b) =>
    a.created_at === b.created_at ? compareIds(a.id, b.id) : a.created_at < b.created_at ? -1 : 1,
  );
}

/** Snowflake-like ids compared as numbers (they are strings of digits of varying length). */
export function compareIds(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A message to the conversation's other participants: their mentions first (a direct
 * status reaches exactly the accounts it mentions), then the text. */
export function messageText(participants: Account[], text: string): string {
  const mentions = participants.map((account) => `@${account.acct}`);
  const missing = mentions.filter((mention) => !new RegExp(`(^|\\s)${escape(mention)}(\\s|$)`, "i").test(text));
  return missing.length ? `${missing.join(" ")} ${text}` : text;
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** The message's HTML (as the server sanitised it) without the mentions it starts with,
 * which a chat shows as who the bubble is for anyway. */
export function withoutLeadingMentions(html: string, keepIfEmpty = true): string {
  const doc = new DOMParser().parseFromString(`<div>${html}</div>`, "text/html");
  const root = doc.body.firstElementChild as HTMLElement;
  const first = root.firstElementChild?.tagName === "P" ? root.firstElementChild : root;
  for (;;) {
    const node = first.firstChild;
    if (!node) break;
    if (node.nodeType === Node.TEXT_NODE && !node.textContent?.trim()) {
      node.remove();
      continue;
    }
    if (node.nodeType === Node.ELEMENT_NODE && isMention(node as Element)) {
      node.remove();
      continue;
    }
    if (node.nodeType === Node.TEXT_NODE) node.textContent = node.textContent!.replace(/^\s+/, "");
    break;
  }
  const result = root.innerHTML;
  if (result.replace(/<p><\/p>/g, "").trim()) return result;
  return keepIfEmpty ? html : "";
}

function isMention(element: Element): boolean {
  if (element.matches("a.mention")) return true;
  return element.matches("span.h-card") && !!element.querySelector("a.mention") && element.textContent?.trim().startsWith("@") === true;
}

/** The plain text of a message (a conversation list's excerpt). */
export function plainText(html: string): string {
  const doc = new DOMParser().parseFromString(withoutLeadingMentions(html), "text/html");
  return (doc.body.textContent ?? "").trim();
}

/** The conversation's name: its other participants. */
export function title(conversation: Conversation): string {
  return conversation.accounts.map((account) => account.display_name || account.username).join(", ");
}
