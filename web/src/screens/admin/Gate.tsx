import { useEffect, useState } from "preact/hooks";
import { t } from "../../i18n";
import type { Account } from "../../lib/api";
import * as auth from "../../lib/auth";
import { isModerator } from "../../lib/entities";

/** The moderation screens need the moderation scopes (`admin:read admin:write`), which the
 * app asks for only when a moderator first opens them: one more pass through the authorize
 * page; the new token replaces the old one. Accounts without a moderating role never see
 * these screens. */
export function ModerationGate({ me, children }: { me: Account; children: preact.ComponentChildren }) {
  const [granted, setGranted] = useState<boolean | null>(null);
  useEffect(() => {
    void auth.grantedScopes().then((scopes) => setGranted(scopes.includes("admin:read") && scopes.includes("admin:write")));
  }, []);
  if (!isModerator(me)) return <p class="notice" role="alert">{t("admin.notAllowed")}</p>;
  if (granted === null) return <p class="notice">{t("common.loading")}</p>;
  if (!granted) {
    const grant = async () => location.assign(await auth.authorizeUrl(auth.MODERATION_SCOPES, location.pathname + location.search));
    return (
      <section>
        <h1>{t("admin.title")}</h1>
        <p>{t("admin.grantLead")}</p>
        <button type="button" onClick={grant}>{t("admin.grant")}</button>
      </section>
    );
  }
  return (
    <>
      <nav class="subnav" aria-label={t("admin.title")}>
        <a href="/admin/accounts">{t("admin.accounts")}</a>
        <a href="/admin/reports">{t("admin.reports")}</a>
        <a href="/admin/held">{t("admin.held")}</a>
      </nav>
      {children}
    </>
  );
}
