import { useEffect, useState } from "preact/hooks";
import { useLocation } from "preact-iso";
import { AccountRow } from "../components/AccountRow";
import { Timeline } from "../components/Timeline";
import { t } from "../i18n";
import { follow } from "../live";
import { api, ApiError, type Account } from "../lib/api";
import type { List, RepliesPolicy } from "../lib/entities";

const POLICIES: RepliesPolicy[] = ["list", "followed", "none"];

function message(error: unknown): string {
  return error instanceof ApiError ? error.message : t("common.failed");
}

/** The caller's lists (`/lists`): each opens its timeline or its settings; a form makes a new one. */
export function Lists() {
  const [lists, setLists] = useState<List[] | null>(null);
  const [title, setTitle] = useState("");
  const [error, setError] = useState("");
  const { route } = useLocation();

  useEffect(() => {
    api<List[]>("/api/v1/lists").then(setLists).catch(() => setError(t("common.failed")));
  }, []);

  const create = async (event: Event) => {
    event.preventDefault();
    setError("");
    try {
      const made = await api<List>("/api/v1/lists", { method: "POST", body: { title: title.trim() } });
      setTitle("");
      route(`/lists/${made.id}/edit`);
    } catch (e) {
      setError(message(e));
    }
  };

  return (
    <section>
      <h1>{t("lists.title")}</h1>
      <form class="inline-form" onSubmit={create}>
        <label class="field">
          <span>{t("lists.newTitle")}</span>
          <input value={title} onInput={(e) => setTitle(e.currentTarget.value)} required maxLength={100} />
        </label>
        <button type="submit" disabled={!title.trim()}>{t("lists.create")}</button>
      </form>
      {error && <p class="error" role="alert">{error}</p>}
      {lists === null && !error && <p class="notice">{t("common.loading")}</p>}
      {lists?.length === 0 && <p class="notice">{t("lists.empty")}</p>}
      <ul class="rows">
        {lists?.map((list) => (
          <li key={list.id} class="list-row">
            <a href={`/lists/${list.id}`}>{list.title}</a>
            <a class="button secondary" href={`/lists/${list.id}/edit`} aria-label={t("lists.editNamed", { title: list.title })}>
              {t("lists.edit")}
            </a>
          </li>
        ))}
      </ul>
    </section>
  );
}

/** A list's timeline (`/lists/:id`), live from the `list` stream. */
export function ListTimeline({ id }: { id: string }) {
  const [list, setList] = useState<List | null>(null);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    setFailed(false);
    api<List>(`/api/v1/lists/${id}`).then(setList).catch(() => setFailed(true));
  }, [id]);
  useEffect(() => follow({ stream: "list", list: id }), [id]);
  if (failed) return <p class="notice" role="alert">{t("list.notFound")}</p>;
  return (
    <section>
      <div class="screen-head">
        <h1>{list?.title ?? t("lists.title")}</h1>
        <a class="button secondary" href={`/lists/${id}/edit`}>{t("lists.edit")}</a>
      </div>
      <Timeline path={`/api/v1/timelines/list/${id}`} cacheName={`list:${id}`} stream="list" tag={id} />
    </section>
  );
}

/** A list's settings (`/lists/:id/edit`): title, replies policy, exclusive, members
 * (added through an account search among the people one follows), deletion. */
export function ListEdit({ id }: { id: string }) {
  const [list, setList] = useState<List | null>(null);
  const [members, setMembers] = useState<Account[]>([]);
  const [query, setQuery] = useState("");
  const [found, setFound] = useState<Account[]>([]);
  const [error, setError] = useState("");
  const [saved, setSaved] = useState(false);
  const { route } = useLocation();

  useEffect(() => {
    Promise.all([api<List>(`/api/v1/lists/${id}`), api<Account[]>(`/api/v1/lists/${id}/accounts?limit=0`)])
      .then(([l, m]) => {
        setList(l);
        setMembers(m);
      })
      .catch((e) => setError(message(e)));
  }, [id]);

  useEffect(() => {
    const q = query.trim();
    if (!q) {
      setFound([]);
      return;
    }
    const timer = setTimeout(() => {
      api<Account[]>(`/api/v1/accounts/search?q=${encodeURIComponent(q)}&following=true&limit=10`)
        .then(setFound)
        .catch(() => setFound([]));
    }, 250);
    return () => clearTimeout(timer);
  }, [query]);

  if (!list) return error ? <p class="notice" role="alert">{error}</p> : <p class="notice">{t("common.loading")}</p>;

  const save = async (event: Event) => {
    event.preventDefault();
    setError("");
    setSaved(false);
    try {
      setList(
        await api<List>(`/api/v1/lists/${id}`, {
          method: "PUT",
          body: { title: list.title.trim(), replies_policy: list.replies_policy, exclusive: !!list.exclusive },
        }),
      );
      setSaved(true);
    } catch (e) {
      setError(message(e));
    }
  };
  const remove = async () => {
    if (!confirm(t("lists.confirmDelete", { title: list.title }))) return;
    await api(`/api/v1/lists/${id}`, { method: "DELETE" });
    route("/lists");
  };
  const add = async (account: Account) => {
    setError("");
    try {
      await api(`/api/v1/lists/${id}/accounts`, { method: "POST", body: { account_ids: [account.id] } });
      setMembers((m) => [...m.filter((a) => a.id !== account.id), account]);
      setQuery("");
    } catch (e) {
      setError(message(e));
    }
  };
  const drop = async (account: Account) => {
    await api(`/api/v1/lists/${id}/accounts?account_ids[]=${account.id}`, { method: "DELETE" });
    setMembers((m) => m.filter((a) => a.id !== account.id));
  };

  return (
    <section>
      <div class="screen-head">
        <h1>{t("lists.editTitle", { title: list.title })}</h1>
        <a class="button secondary" href={`/lists/${id}`}>{t("lists.open")}</a>
      </div>
      <form onSubmit={save}>
        <label class="field">
          <span>{t("lists.name")}</span>
          <input value={list.title} required maxLength={100} onInput={(e) => setList({ ...list, title: e.currentTarget.value })} />
        </label>
        <fieldset>
          <legend>{t("lists.replies")}</legend>
          {POLICIES.map((policy) => (
            <label key={policy} class="choice">
              <input type="radio" name="replies_policy" value={policy} checked={list.replies_policy === policy}
                onChange={() => setList({ ...list, replies_policy: policy })} />
              {t(`lists.replies.${policy}`)}
            </label>
          ))}
        </fieldset>
        <label class="choice">
          <input type="checkbox" checked={!!list.exclusive} onChange={(e) => setList({ ...list, exclusive: e.currentTarget.checked })} />
          {t("lists.exclusive")}
        </label>
        <p class="hint">{t("lists.exclusiveHint")}</p>
        <p class="form-actions">
          <button type="submit">{t("common.save")}</button>
          <button type="button" class="secondary danger" onClick={remove}>{t("lists.delete")}</button>
        </p>
        {saved && <p role="status">{t("common.saved")}</p>}
        {error && <p class="error" role="alert">{error}</p>}
      </form>

      <h2>{t("lists.members")}</h2>
      {members.length === 0 && <p class="notice">{t("lists.noMembers")}</p>}
      <ul class="rows">
        {members.map((account) => (
          <AccountRow key={account.id} account={account}>
            <button type="button" class="secondary" onClick={() => drop(account)}
              aria-label={t("lists.removeNamed", { acct: account.acct })}>{t("lists.remove")}</button>
          </AccountRow>
        ))}
      </ul>
      <label class="field">
        <span>{t("lists.addPeople")}</span>
        <input type="search" value={query} onInput={(e) => setQuery(e.currentTarget.value)} placeholder={t("lists.searchFollowed")} autoComplete="off" />
      </label>
      <ul class="rows" aria-live="polite">
        {found
          .filter((account) => !members.some((m) => m.id === account.id))
          .map((account) => (
            <AccountRow key={account.id} account={account}>
              <button type="button" onClick={() => add(account)} aria-label={t("lists.addNamed", { acct: account.acct })}>
                {t("lists.add")}
              </button>
            </AccountRow>
          ))}
      </ul>
    </section>
  );
}
