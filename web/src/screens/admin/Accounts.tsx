import { useCallback, useEffect, useState } from "preact/hooks";
import { useLocation } from "preact-iso";
import { formatDate, t } from "../../i18n";
import { api, page } from "../../lib/api";
import type { AdminAccount } from "../../lib/entities";
import { failure } from "../settings/common";

const STATUSES = ["", "active", "pending", "disabled", "silenced", "suspended"] as const;

function localPath(url: string): string {
  const parsed = new URL(url, location.origin);
  return parsed.pathname + parsed.search;
}

/** The state words of an account (suspended, limited, …) for a list row or the detail. */
export function marks(account: AdminAccount): string[] {
  const found: string[] = [];
  if (account.suspended) found.push(t("admin.mark.suspended"));
  if (account.silenced) found.push(t("admin.mark.silenced"));
  if (account.sensitized) found.push(t("admin.mark.sensitized"));
  if (account.disabled) found.push(t("admin.mark.disabled"));
  if (!account.approved) found.push(t("admin.mark.pending"));
  return found;
}

/** Accounts (`/admin/accounts`): filtered by state, username, e-mail or IP (the filters
 * live in the address), newest first, more by the `Link` header. */
export function AdminAccounts() {
  const { query, route } = useLocation();
  const [status, setStatus] = useState(query.status ?? "");
  const [username, setUsername] = useState(query.username ?? "");
  const [email, setEmail] = useState(query.email ?? "");
  const [ip, setIp] = useState(query.ip ?? "");
  const [items, setItems] = useState<AdminAccount[] | null>(null);
  const [next, setNext] = useState<string | undefined>();
  const [error, setError] = useState("");

  const search = new URLSearchParams();
  for (const [key, value] of Object.entries({ status: query.status, username: query.username, email: query.email, ip: query.ip })) {
    if (value) search.set(key, value);
  }
  const apiPath = `/api/v2/admin/accounts?${search.toString()}`;
  useEffect(() => {
    setItems(null);
    setError("");
    page<AdminAccount>(apiPath)
      .then((first) => {
        setItems(first.items);
        setNext(first.links.next);
      })
      .catch((e) => setError(failure(e)));
  }, [apiPath]);

  const more = useCallback(async () => {
    if (!next) return;
    const older = await page<AdminAccount>(localPath(next));
    setItems((shown) => [...(shown ?? []), ...older.items]);
    setNext(older.links.next);
  }, [next]);

  const submit = (event: Event) => {
    event.preventDefault();
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries({ status, username: username.trim(), email: email.trim(), ip: ip.trim() })) {
      if (value) params.set(key, value);
    }
    route(`/admin/accounts?${params.toString()}`);
  };

  return (
    <section>
      <h1>{t("admin.accounts")}</h1>
      <form class="admin-filters" onSubmit={submit}>
        <label class="field">
          <span>{t("admin.filter.status")}</span>
          <select value={status} onChange={(e) => setStatus(e.currentTarget.value)}>
            {STATUSES.map((s) => <option key={s} value={s}>{t(`admin.status.${s || "all"}`)}</option>)}
          </select>
        </label>
        <label class="field">
          <span>{t("admin.filter.username")}</span>
          <input value={username} onInput={(e) => setUsername(e.currentTarget.value)} />
        </label>
        <label class="field">
          <span>{t("admin.filter.email")}</span>
          <input value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
        </label>
        <label class="field">
          <span>{t("admin.filter.ip")}</span>
          <input value={ip} onInput={(e) => setIp(e.currentTarget.value)} />
        </label>
        <button type="submit">{t("admin.filter.apply")}</button>
      </form>
      {error && <p class="error" role="alert">{error}</p>}
      {!items && !error && <p class="notice">{t("common.loading")}</p>}
      {items?.length === 0 && <p class="notice">{t("admin.noAccounts")}</p>}
      {items && items.length > 0 && (
        <table class="admin-table">
          <thead>
            <tr>
              <th scope="col">{t("admin.col.account")}</th>
              <th scope="col">{t("admin.col.email")}</th>
              <th scope="col">{t("admin.col.joined")}</th>
              <th scope="col">{t("admin.col.state")}</th>
            </tr>
          </thead>
          <tbody>
            {items.map((item) => (
              <tr key={item.id}>
                <td><a href={`/admin/accounts/${item.id}`}>@{item.username}</a></td>
                <td>{item.email}</td>
                <td>{formatDate(item.created_at)}</td>
                <td>{marks(item).join(", ") || t("admin.mark.active")}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {next && <p><button type="button" class="secondary" onClick={more}>{t("admin.more")}</button></p>}
    </section>
  );
}

type Act = "none" | "sensitive" | "silence" | "disable" | "suspend";
const ACTS: Act[] = ["none", "sensitive", "silence", "disable", "suspend"];

/** One account (`/admin/accounts/:id`): what it is, and the moderator's actions. */
export function AdminAccountDetail({ id }: { id: string }) {
  const [item, setItem] = useState<AdminAccount | null>(null);
  const [act, setAct] = useState<Act>("none");
  const [note, setNote] = useState("");
  const [notify, setNotify] = useState(true);
  const [error, setError] = useState("");
  const [notice, setNotice] = useState("");

  const load = () => api<AdminAccount>(`/api/v1/admin/accounts/${id}`).then(setItem).catch((e) => setError(failure(e)));
  useEffect(() => {
    void load();
  }, [id]);

  const run = async (path: string, body?: unknown, done?: string) => {
    setError("");
    setNotice("");
    try {
      await api(`/api/v1/admin/accounts/${id}/${path}`, { method: "POST", body });
      await load();
      setNotice(done ?? t("admin.done"));
    } catch (e) {
      setError(failure(e));
    }
  };
  const submit = (event: Event) => {
    event.preventDefault();
    if (act === "suspend" && !confirm(t("admin.confirmSuspend", { acct: item?.username ?? "" }))) return;
    void run("action", { type: act, text: note, send_email_notification: notify }, t(`admin.did.${act}`)).then(() => setNote(""));
  };

  if (!item) return error ? <p class="error" role="alert">{error}</p> : <p class="notice">{t("common.loading")}</p>;
  return (
    <section>
      <div class="profile-head">
        <img src={item.account.avatar} alt="" width="64" height="64" />
        <div>
          <h1>{item.account.display_name || item.username}</h1>
          <p class="acct">@{item.username}</p>
        </div>
      </div>
      <dl class="fields admin-facts">
        <div><dt>{t("admin.col.email")}</dt><dd>{item.email}{item.confirmed ? "" : ` (${t("admin.unconfirmed")})`}</dd></div>
        <div><dt>{t("admin.col.joined")}</dt><dd>{formatDate(item.created_at)}</dd></div>
        <div><dt>{t("admin.col.state")}</dt><dd>{marks(item).join(", ") || t("admin.mark.active")}</dd></div>
        {item.role?.name && <div><dt>{t("admin.role")}</dt><dd>{item.role.name}</dd></div>}
        {item.ip && <div><dt>{t("admin.filter.ip")}</dt><dd>{item.ip}</dd></div>}
        {item.invite_request && <div><dt>{t("admin.reason")}</dt><dd>{item.invite_request}</dd></div>}
      </dl>
      {notice && <p role="status">{notice}</p>}
      {error && <p class="error" role="alert">{error}</p>}
      <p class="form-actions">
        {!item.approved && <button type="button" onClick={() => run("approve")}>{t("admin.approve")}</button>}
        {!item.approved && <button type="button" class="secondary danger" onClick={() => run("reject")}>{t("admin.reject")}</button>}
        {item.suspended && <button type="button" class="secondary" onClick={() => run("unsuspend")}>{t("admin.unsuspend")}</button>}
        {item.silenced && <button type="button" class="secondary" onClick={() => run("unsilence")}>{t("admin.unsilence")}</button>}
        {item.sensitized && <button type="button" class="secondary" onClick={() => run("unsensitive")}>{t("admin.unsensitive")}</button>}
        {item.disabled && <button type="button" class="secondary" onClick={() => run("enable")}>{t("admin.enable")}</button>}
      </p>
      <form onSubmit={submit} class="settings-form">
        <h2>{t("admin.actTitle")}</h2>
        <fieldset>
          <legend>{t("admin.actKind")}</legend>
          {ACTS.map((a) => (
            <label key={a} class="choice">
              <input type="radio" name="type" checked={act === a} onChange={() => setAct(a)} />
              {t(`admin.act.${a}`)}
            </label>
          ))}
        </fieldset>
        <label class="field">
          <span>{t("admin.note")}</span>
          <textarea rows={3} value={note} onInput={(e) => setNote(e.currentTarget.value)} />
        </label>
        <label class="choice">
          <input type="checkbox" checked={notify} onChange={(e) => setNotify(e.currentTarget.checked)} />
          {t("admin.notify")}
        </label>
        <p class="form-actions">
          <button type="submit" class={act === "suspend" ? "danger-solid" : undefined}>{t("admin.actSubmit")}</button>
        </p>
      </form>
    </section>
  );
}
