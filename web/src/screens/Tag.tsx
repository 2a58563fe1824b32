import { useEffect } from "preact/hooks";
import { Timeline } from "../components/Timeline";
import { follow } from "../live";

/** A hashtag's timeline, live from the hashtag stream while it is open. */
export function Tag({ tag }: { tag: string }) {
  useEffect(() => follow({ stream: "hashtag", tag }), [tag]);
  return (
    <>
      <h1>#{tag}</h1>
      <Timeline path={`/api/v1/timelines/tag/${encodeURIComponent(tag)}`} cacheName={`tag:${tag.toLowerCase()}`} stream="hashtag" tag={tag} />
    </>
  );
}
