import { useEffect, useState } from "preact/hooks";
import { useLocation } from "preact-iso";
import { formatDate, t } from "../../i18n";
import { api, type Account } from "../../lib/api";
import type { AdminReport } from "../../lib/entities";
import { failure } from "../settings/common";

interface Note {
  id: string;
  content: string;
  created_at: string;
  account: Account;
}

/** Reports (`/admin/reports`): unresolved ones first; the resolved ones on demand. */
export function AdminReports() {
  const { query, route } = useLocation();
  const resolved = query.resolved === "true";
  const [items, setItems] = useState<AdminReport[] | null>(null);
  const [error, setError] = useState("");
  useEffect(() => {
    setItems(null);
    api<AdminReport[]>(`/api/v1/admin/reports${resolved ? "?resolved=true" : ""}`)
      .then(setItems)
      .catch((e) => setError(failure(e)));
  }, [resolved]);
  return (
    <section>
      <h1>{t("admin.reports")}</h1>
      <div class="filters" role="group" aria-label={t("admin.reportsShown")}>
        <button type="button" class="secondary" aria-pressed={!resolved} onClick={() => route("/admin/reports")}>
          {t("admin.unresolved")}
        </button>
        <button type="button" class="secondary" aria-pressed={resolved} onClick={() => route("/admin/reports?resolved=true")}>
          {t("admin.resolved")}
        </button>
      </div>
      {error && <p class="error" role="alert">{error}</p>}
      {!items && !error && <p class="notice">{t("common.loading")}</p>}
      {items?.length === 0 && <p class="notice">{t("admin.noReports")}</p>}
      <ul class="rows">
        {items?.map((report) => (
          <li key={report.id} class="report-row">
            <a href={`/admin/reports/${report.id}`}>
              {t("admin.reportAbout", { id: report.id, acct: report.target_account.username })}
            </a>
            <span class="acct">
              {t(`admin.category.${categoryKey(report.category)}`)} · {formatDate(report.created_at)} ·{" "}
              {report.assigned_account ? t("admin.assignedTo", { acct: report.assigned_account.username }) : t("admin.unassigned")}
            </span>
          </li>
        ))}
      </ul>
    </section>
  );
}

function categoryKey(category: string): "spam" | "legal" | "violation" | "other" {
  return category === "spam" || category === "legal" || category === "violation" ? category : "other";
}

/** One report (`/admin/reports/:id`): who, about whom, why, the statuses; assign it,
 * resolve or reopen it, write notes, and act on the reported account. */
export function AdminReportDetail({ id, me }: { id: string; me: Account }) {
  const [report, setReport] = useState<AdminReport | null>(null);
  const [notes, setNotes] = useState<Note[]>([]);
  const [note, setNote] = useState("");
  const [error, setError] = useState("");
  const [notice, setNotice] = useState("");

  const load = async () => {
    try {
      setReport(await api<AdminReport>(`/api/v1/admin/reports/${id}`));
      setNotes(await api<Note[]>(`/api/v1/admin/reports/${id}/notes`).catch(() => []));
    } catch (e) {
      setError(failure(e));
    }
  };
  useEffect(() => {
    void load();
  }, [id]);

  const run = async (action: string, done: string) => {
    setError("");
    setNotice("");
    try {
      setReport(await api<AdminReport>(`/api/v1/admin/reports/${id}/${action}`, { method: "POST" }));
      setNotice(done);
    } catch (e) {
      setError(failure(e));
    }
  };
  const addNote = async (event: Event) => {
    event.preventDefault();
    setError("");
    try {
      const made = await api<Note>(`/api/v1/admin/reports/${id}/notes`, { method: "POST", body: { content: note.trim() } });
      setNotes([...notes, made]);
      setNote("");
    } catch (e) {
      setError(failure(e));
    }
  };

  if (!report) return error ? <p class="error" role="alert">{error}</p> : <p class="notice">{t("common.loading")}</p>;
  const mine = report.assigned_account?.id === me.id;
  return (
    <section>
      <h1>{t("admin.reportTitle", { id: report.id })}</h1>
      <dl class="fields admin-facts">
        <div>
          <dt>{t("admin.target")}</dt>
          <dd><a href={`/admin/accounts/${report.target_account.id}`}>@{report.target_account.username}</a></dd>
        </div>
        <div><dt>{t("admin.reporter")}</dt><dd>@{report.account.username}</dd></div>
        <div><dt>{t("admin.categoryLabel")}</dt><dd>{t(`admin.category.${categoryKey(report.category)}`)}</dd></div>
        <div><dt>{t("admin.filed")}</dt><dd>{formatDate(report.created_at)}</dd></div>
        <div>
          <dt>{t("admin.state")}</dt>
          <dd>{report.action_taken ? t("admin.resolvedOn", { date: formatDate(report.action_taken_at ?? report.updated_at) }) : t("admin.open")}</dd>
        </div>
        <div>
          <dt>{t("admin.assignee")}</dt>
          <dd>{report.assigned_account ? `@${report.assigned_account.username}` : t("admin.unassigned")}</dd>
        </div>
      </dl>
      {report.comment && <blockquote class="report-comment">{report.comment}</blockquote>}
      {report.rules.length > 0 && (
        <ul>{report.rules.map((rule) => <li key={rule.id}>{rule.text}</li>)}</ul>
      )}
      {notice && <p role="status">{notice}</p>}
      {error && <p class="error" role="alert">{error}</p>}
      <p class="form-actions">
        {mine ? (
          <button type="button" class="secondary" onClick={() => run("unassign", t("admin.didUnassign"))}>{t("admin.unassign")}</button>
        ) : (
          <button type="button" class="secondary" onClick={() => run("assign_to_self", t("admin.didAssign"))}>{t("admin.assignToMe")}</button>
        )}
        {report.action_taken ? (
          <button type="button" onClick={() => run("reopen", t("admin.didReopen"))}>{t("admin.reopen")}</button>
        ) : (
          <button type="button" onClick={() => run("resolve", t("admin.didResolve"))}>{t("admin.resolve")}</button>
        )}
        <a class="button secondary" href={`/admin/accounts/${report.target_account.id}`}>{t("admin.actOnAccount")}</a>
      </p>
      <h2>{t("admin.reportedStatuses")}</h2>
      {report.statuses.length === 0 && <p class="notice">{t("admin.noStatuses")}</p>}
      {report.statuses.map((status) => (
        <article key={status.id} class="status">
          <p class="acct">{formatDate(status.created_at)}</p>
          {status.spoiler_text && <p class="spoiler">{status.spoiler_text}</p>}
          {/* The server sanitised this HTML (core/html). */}
          <div class="content" dangerouslySetInnerHTML={{ __html: status.content }} />
        </article>
      ))}
      <h2>{t("admin.notes")}</h2>
      <ul class="rows">
        {notes.map((n) => (
          <li key={n.id}>
            <strong>@{n.account.acct}</strong> <span class="acct">{formatDate(n.created_at)}</span>
            <p>{n.content}</p>
          </li>
        ))}
      </ul>
      <form onSubmit={addNote}>
        <label class="field">
          <span>{t("admin.newNote")}</span>
          <textarea rows={3} maxLength={500} required value={note} onInput={(e) => setNote(e.currentTarget.value)} />
        </label>
        <button type="submit" disabled={!note.trim()}>{t("admin.addNote")}</button>
      </form>
    </section>
  );
}
