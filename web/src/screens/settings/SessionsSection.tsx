import { useEffect, useState } from "preact/hooks";
import { formatDate, t } from "../../i18n";
import { api } from "../../lib/api";
import type { AuthorizedApp, SessionInfo } from "../../lib/entities";
import { failure } from "./common";

/** Authorised apps and sessions (ConnectHub's `/api/v1/connecthub/authorized_apps` and
 * `/sessions`), each revocable at once; this session is marked and cannot be revoked here
 * (signing out does that). */
export function SessionsSection() {
  const [apps, setApps] = useState<AuthorizedApp[] | null>(null);
  const [sessions, setSessions] = useState<SessionInfo[] | null>(null);
  const [error, setError] = useState("");
  const [notice, setNotice] = useState("");

  const load = () => {
    api<AuthorizedApp[]>("/api/v1/connecthub/authorized_apps").then(setApps).catch((e) => setError(failure(e)));
    api<SessionInfo[]>("/api/v1/connecthub/sessions").then(setSessions).catch((e) => setError(failure(e)));
  };
  useEffect(load, []);

  const revokeSession = async (session: SessionInfo) => {
    setError("");
    try {
      await api(`/api/v1/connecthub/sessions/${session.id}`, { method: "DELETE" });
      setNotice(t("settings.sessions.revoked"));
      load();
    } catch (e) {
      setError(failure(e));
    }
  };
  const revokeApp = async (app: AuthorizedApp) => {
    if (!confirm(t("settings.apps.confirm", { name: app.name }))) return;
    setError("");
    try {
      await api(`/api/v1/connecthub/authorized_apps/${app.id}`, { method: "DELETE" });
      setNotice(t("settings.apps.revoked", { name: app.name }));
      load();
    } catch (e) {
      setError(failure(e));
    }
  };

  const currentApp = sessions?.find((s) => s.current)?.application_id;
  return (
    <div class="settings-form">
      <h1>{t("settings.section.sessions")}</h1>
      {notice && <p role="status">{notice}</p>}
      {error && <p class="error" role="alert">{error}</p>}
      <h2>{t("settings.sessions.title")}</h2>
      {!sessions && <p class="notice">{t("common.loading")}</p>}
      <ul class="rows">
        {sessions?.map((session) => (
          <li key={session.id} class="session-row">
            <span>
              <strong>{session.application ?? t("settings.sessions.unknownApp")}</strong>
              {session.current && <span class="quiet-badge"> {t("settings.sessions.current")}</span>}
              <br />
              <span class="acct">
                {t("settings.sessions.since", { date: formatDate(session.created_at) })}
                {session.last_used_ip && ` · ${session.last_used_ip}`}
                {session.user_agent && ` · ${session.user_agent.slice(0, 80)}`}
              </span>
            </span>
            {!session.current && (
              <button type="button" class="secondary danger" onClick={() => revokeSession(session)}
                aria-label={t("settings.sessions.revokeNamed", { name: session.application ?? t("settings.sessions.unknownApp"), date: formatDate(session.created_at) })}>
                {t("settings.sessions.revoke")}
              </button>
            )}
          </li>
        ))}
      </ul>
      <h2>{t("settings.apps.title")}</h2>
      {!apps && <p class="notice">{t("common.loading")}</p>}
      {apps?.length === 0 && <p class="notice">{t("settings.apps.none")}</p>}
      <ul class="rows">
        {apps?.map((app) => (
          <li key={app.id} class="session-row">
            <span>
              <strong>{app.name}</strong>
              <br />
              <span class="acct">
                {app.scopes.join(" ")} · {t("settings.apps.sessions", { count: app.sessions_count })}
                {app.last_used_at && ` · ${t("settings.apps.lastUsed", { date: formatDate(app.last_used_at) })}`}
              </span>
            </span>
            {app.id !== currentApp && (
              <button type="button" class="secondary danger" onClick={() => revokeApp(app)}
                aria-label={t("settings.apps.revokeNamed", { name: app.name })}>
                {t("settings.apps.revoke")}
              </button>
            )}
          </li>
        ))}
      </ul>
    </div>
  );
}
