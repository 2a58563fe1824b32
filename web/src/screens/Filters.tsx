import { useEffect, useState } from "preact/hooks";
import { useLocation } from "preact-iso";
import { formatDate, t } from "../i18n";
import { api, ApiError } from "../lib/api";
import { FILTER_CONTEXTS, keywordAttributes, type Filter, type FilterContext, type KeywordDraft } from "../lib/entities";

/** Expiry choices, in seconds ("" never expires). */
const EXPIRIES = ["", "1800", "3600", "21600", "43200", "86400", "604800"] as const;

/** The caller's v2 filters (`/filters`). */
export function Filters() {
  const [filters, setFilters] = useState<Filter[] | null>(null);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    api<Filter[]>("/api/v2/filters").then(setFilters).catch(() => setFailed(true));
  }, []);
  return (
    <section>
      <div class="screen-head">
        <h1>{t("filters.title")}</h1>
        <a class="button" href="/filters/new">{t("filters.new")}</a>
      </div>
      <p class="hint">{t("filters.lead")}</p>
      {failed && <p class="notice" role="alert">{t("common.failed")}</p>}
      {!filters && !failed && <p class="notice">{t("common.loading")}</p>}
      {filters?.length === 0 && <p class="notice">{t("filters.empty")}</p>}
      <ul class="rows">
        {filters?.map((filter) => (
          <li key={filter.id} class="filter-row">
            <a href={`/filters/${filter.id}`}>{filter.title}</a>
            <span class="acct">
              {filter.keywords.map((k) => k.keyword).join(", ")} · {t(`filters.action.${filter.filter_action}`)} ·{" "}
              {filter.context.map((c) => t(`filters.context.${c}`)).join(", ")}
              {filter.expires_at && ` · ${t("filters.expiresAt", { date: formatDate(filter.expires_at) })}`}
            </span>
          </li>
        ))}
      </ul>
    </section>
  );
}

/** Make (`/filters/new`) or change (`/filters/:id`) a filter: title, keywords (whole
 * word or not), where it applies, warn or hide, expiry; or delete it. */
export function FilterEdit({ id }: { id?: string }) {
  const [title, setTitle] = useState("");
  const [contexts, setContexts] = useState<FilterContext[]>(["home", "public", "thread"]);
  const [action, setAction] = useState<"warn" | "hide">("warn");
  const [expiry, setExpiry] = useState<string>("");
  const [expiresAt, setExpiresAt] = useState<string | null>(null);
  const [keywords, setKeywords] = useState<KeywordDraft[]>([{ keyword: "", whole_word: true }]);
  const [error, setError] = useState("");
  const [loaded, setLoaded] = useState(!id);
  const { route } = useLocation();

  useEffect(() => {
    if (!id) return;
    api<Filter>(`/api/v2/filters/${id}`)
      .then((filter) => {
        setTitle(filter.title);
        setContexts(filter.context);
        setAction(filter.filter_action === "hide" ? "hide" : "warn");
        setExpiresAt(filter.expires_at);
        setExpiry("keep");
        setKeywords(filter.keywords.map((k) => ({ id: k.id, keyword: k.keyword, whole_word: k.whole_word })));
        setLoaded(true);
      })
      .catch(() => setError(t("common.failed")));
  }, [id]);

  if (!loaded) return error ? <p class="notice" role="alert">{error}</p> : <p class="notice">{t("common.loading")}</p>;

  const setKeyword = (index: number, change: Partial<KeywordDraft>) =>
    setKeywords(keywords.map((k, i) => (i === index ? { ...k, ...change } : k)));
  const toggleContext = (context: FilterContext, on: boolean) =>
    setContexts(on ? [...contexts, context] : contexts.filter((c) => c !== context));

  const save = async (event: Event) => {
    event.preventDefault();
    setError("");
    const body: Record<string, unknown> = {
      title: title.trim(),
      context: contexts,
      filter_action: action,
      keywords_attributes: keywordAttributes(keywords),
    };
    if (expiry !== "keep") body.expires_in = expiry;
    try {
      await api<Filter>(id ? `/api/v2/filters/${id}` : "/api/v2/filters", { method: id ? "PUT" : "POST", body });
      route("/filters");
    } catch (e) {
      setError(e instanceof ApiError ? e.message : t("common.failed"));
    }
  };
  const remove = async () => {
    if (!id || !confirm(t("filters.confirmDelete", { title }))) return;
    await api(`/api/v2/filters/${id}`, { method: "DELETE" });
    route("/filters");
  };

  return (
    <section>
      <h1>{id ? t("filters.editTitle") : t("filters.new")}</h1>
      <form onSubmit={save}>
        <label class="field">
          <span>{t("filters.name")}</span>
          <input value={title} required maxLength={200} onInput={(e) => setTitle(e.currentTarget.value)} />
        </label>
        <fieldset>
          <legend>{t("filters.keywords")}</legend>
          {keywords.map((k, index) =>
            k.destroy ? null : (
              <div key={k.id ?? `new-${index}`} class="keyword-row">
                <label class="field">
                  <span>{t("filters.keyword", { n: index + 1 })}</span>
                  <input value={k.keyword} onInput={(e) => setKeyword(index, { keyword: e.currentTarget.value })} />
                </label>
                <label class="choice">
                  <input type="checkbox" checked={k.whole_word} onChange={(e) => setKeyword(index, { whole_word: e.currentTarget.checked })} />
                  {t("filters.wholeWord")}
                </label>
                <button type="button" class="secondary" onClick={() => setKeyword(index, { destroy: true, keyword: k.id ? k.keyword : "" })}
                  aria-label={t("filters.removeKeyword", { n: index + 1 })}>
                  {t("filters.remove")}
                </button>
              </div>
            ),
          )}
          <button type="button" class="secondary" onClick={() => setKeywords([...keywords, { keyword: "", whole_word: true }])}>
            {t("filters.addKeyword")}
          </button>
        </fieldset>
        <fieldset>
          <legend>{t("filters.contexts")}</legend>
          {FILTER_CONTEXTS.map((context) => (
            <label key={context} class="choice">
              <input type="checkbox" checked={contexts.includes(context)} onChange={(e) => toggleContext(context, e.currentTarget.checked)} />
              {t(`filters.context.${context}`)}
            </label>
          ))}
        </fieldset>
        <fieldset>
          <legend>{t("filters.actionLabel")}</legend>
          {(["warn", "hide"] as const).map((value) => (
            <label key={value} class="choice">
              <input type="radio" name="filter_action" checked={action === value} onChange={() => setAction(value)} />
              {t(`filters.action.${value}`)} — <span class="hint">{t(`filters.actionHint.${value}`)}</span>
            </label>
          ))}
        </fieldset>
        <label class="field">
          <span>{t("filters.expiry")}</span>
          <select value={expiry} onChange={(e) => setExpiry(e.currentTarget.value)}>
            {id && (
              <option value="keep">
                {expiresAt ? t("filters.expiresAt", { date: formatDate(expiresAt) }) : t("filters.never")}
              </option>
            )}
            {EXPIRIES.map((seconds) => (
              <option key={seconds} value={seconds}>{t(`filters.expiry.${seconds || "never"}`)}</option>
            ))}
          </select>
        </label>
        {error && <p class="error" role="alert">{error}</p>}
        <p class="form-actions">
          <button type="submit" disabled={!title.trim() || contexts.length === 0}>{t("common.save")}</button>
          {id && <button type="button" class="secondary danger" onClick={remove}>{t("filters.delete")}</button>}
        </p>
      </form>
    </section>
  );
}
