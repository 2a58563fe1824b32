import { describe, expect, it } from "vitest";
import type { Poll, Status } from "../src/lib/api";
import { comingBack, swapEdited } from "../src/lib/timeline";

function status(id: string, extra: Partial<Status> = {}): Status {
  return { id, content: `<p>${id}</p>`, favourites_count: 0, ...extra } as Status;
}

describe("a timeline kept while the reader was away", () => {
  it("shows what it showed in place, each status as the server has it now, and holds back the new", () => {
    const poll = { id: "p", voted: false, votes_count: 0 } as Poll;
    const kept = [status("30"), status("20", { poll }), status("10")];
    const first = [
      status("40"),
      status("30", { favourites_count: 3 }),
      status("20", { poll: { ...poll, voted: true, votes_count: 1 } }),
    ];
    const { items, incoming } = comingBack(kept, first);
    expect(items.map((s) => s.id)).toEqual(["30", "20", "10"]);
    expect(items[0]!.favourites_count).toBe(3);
    expect(items[1]!.poll?.voted).toBe(true);
    expect(items[2]).toBe(kept[2]); // older than the first page: as it was
    expect(incoming.map((s) => s.id)).toEqual(["40"]);
  });

  it("takes an edit in wherever the status is shown, boosted too", () => {
    const edited = status("1", { content: "<p>edited</p>" });
    const boost = status("2", { reblog: status("1") });
    const [own, boosted] = swapEdited([status("1"), boost], edited);
    expect(own!.content).toBe("<p>edited</p>");
    expect(boosted!.reblog!.content).toBe("<p>edited</p>");
    expect(boosted!.id).toBe("2");
  });
});
