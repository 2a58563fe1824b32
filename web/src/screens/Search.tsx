import { useEffect, useRef, useState } from "preact/hooks";
import { useLocation } from "preact-iso";
import { AccountRow, relationshipsOf } from "../components/AccountRow";
import { StatusCard } from "../components/StatusCard";
import { t } from "../i18n";
import { api, type Account, type Relationship } from "../lib/api";
import type { SearchResults } from "../lib/entities";

type Kind = "all" | "accounts" | "hashtags" | "statuses";
const KINDS: Kind[] = ["all", "accounts", "hashtags", "statuses"];

/** Search (`/search?q=`): accounts, hashtags and statuses from /api/v2/search. The query
 * lives in the address, so back navigation and shared links show the same results. */
export function Search({ me }: { me: Account }) {
  const { query, route } = useLocation();
  const q = (query.q ?? "").trim();
  const kind: Kind = KINDS.includes(query.type as Kind) ? (query.type as Kind) : "all";
  const [text, setText] = useState(q);
  const [results, setResults] = useState<SearchResults | null>(null);
  const [relationships, setRelationships] = useState<Map<string, Relationship>>(new Map());
  const [state, setState] = useState<"idle" | "loading" | "ready" | "error">("idle");
  const input = useRef<HTMLInputElement>(null);

  useEffect(() => {
    setText(q);
    if (!q) {
      setResults(null);
      setState("idle");
      input.current?.focus();
      return;
    }
    let live = true;
    setState("loading");
    const params = new URLSearchParams({ q, limit: "20", resolve: "false" });
    if (kind !== "all") params.set("type", kind);
    api<SearchResults>(`/api/v2/search?${params.toString()}`)
      .then(async (found) => {
        const rels = await relationshipsOf(found.accounts, me.id).catch(() => new Map<string, Relationship>());
        if (!live) return;
        setResults(found);
        setRelationships(rels);
        setState("ready");
      })
      .catch(() => live && setState("error"));
    return () => {
      live = false;
    };
  }, [q, kind, me.id]);

  const submit = (event: Event) => {
    event.preventDefault();
    const params = new URLSearchParams({ q: text.trim() });
    if (kind !== "all") params.set("type", kind);
    route(`/search?${params.toString()}`);
  };
  const choose = (next: Kind) => {
    const params = new URLSearchParams({ q });
    if (next !== "all") params.set("type", next);
    route(`/search?${params.toString()}`);
  };

  const empty = results && !results.accounts.length && !results.hashtags.length && !results.statuses.length;
  return (
    <section class="search">
      <h1>{t("search.title")}</h1>
      <form role="search" class="search-form" onSubmit={submit}>
        <label class="field">
          <span>{t("search.label")}</span>
          <input ref={input} type="search" name="q" value={text} onInput={(e) => setText(e.currentTarget.value)}
            placeholder={t("search.placeholder")} autoComplete="off" />
        </label>
        <button type="submit">{t("search.submit")}</button>
      </form>
      {q && (
        <div class="filters" role="group" aria-label={t("search.kind")}>
          {KINDS.map((k) => (
            <button key={k} type="button" class="secondary" aria-pressed={kind === k} onClick={() => choose(k)}>
              {t(`search.kind.${k}`)}
            </button>
          ))}
        </div>
      )}
      {state === "loading" && <p class="notice">{t("common.loading")}</p>}
      {state === "error" && <p class="notice" role="alert">{t("search.error")}</p>}
      {state === "idle" && <p class="notice">{t("search.hint")}</p>}
      {state === "ready" && empty && <p class="notice" role="status">{t("search.none", { q })}</p>}
      {state === "ready" && results && (
        <>
          {results.accounts.length > 0 && (
            <section aria-labelledby="search-accounts">
              <h2 id="search-accounts">{t("search.accounts")}</h2>
              <ul class="rows">
                {results.accounts.map((account) => (
                  <AccountRow key={account.id} account={account} relationship={relationships.get(account.id)} />
                ))}
              </ul>
            </section>
          )}
          {results.hashtags.length > 0 && (
            <section aria-labelledby="search-tags">
              <h2 id="search-tags">{t("search.hashtags")}</h2>
              <ul class="rows">
                {results.hashtags.map((tag) => (
                  <li key={tag.name} class="tag-row">
                    <a href={`/tags/${encodeURIComponent(tag.name)}`}>#{tag.name}</a>
                    {tag.history?.length ? (
                      <span class="acct">
                        {t("search.tagPeople", { count: tag.history.slice(0, 7).reduce((n, d) => n + Number(d.accounts), 0) })}
                      </span>
                    ) : null}
                  </li>
                ))}
              </ul>
            </section>
          )}
          {results.statuses.length > 0 && (
            <section aria-labelledby="search-statuses">
              <h2 id="search-statuses">{t("search.statuses")}</h2>
              {results.statuses.map((status) => (
                <StatusCard key={status.id} status={status} />
              ))}
            </section>
          )}
        </>
      )}
    </section>
  );
}
