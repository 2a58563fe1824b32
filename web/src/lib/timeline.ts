// What a timeline screen does with the statuses it shows, apart from showing them.

import type { Status } from "./api";

/** A status replaced by its edited version wherever it is shown (itself or boosted). */
export function swapEdited(list: Status[], status: Status): Status[] {
  return list.map((s) => (s.id === status.id ? status : s.reblog?.id === status.id ? { ...s, reblog: status } : s));
}

/** Coming back to a timeline it kept: the statuses shown before, in place (the reader's
 * position stays), each one the first page fetched again also holds taken in its version
 * from now (counts, polls, the reader's own favourites and votes made meanwhile); and the
 * statuses that are new since, which wait behind the bar. */
export function comingBack(kept: Status[], first: Status[]): { items: Status[]; incoming: Status[] } {
  const now = new Map(first.map((status) => [status.id, status]));
  const shown = new Set(kept.map((status) => status.id));
  return {
    items: kept.map((status) => now.get(status.id) ?? status),
    incoming: first.filter((status) => !shown.has(status.id)),
  };
}
