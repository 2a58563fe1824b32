import { ErrorBoundary, lazy } from "preact-iso";
import { t, locale, setLocale, isLocale } from "../i18n";
import type { Account } from "../lib/api";
import * as store from "../lib/store";

// Each section is its own chunk, loaded when opened.
const ProfileSection = lazy(() => import("./settings/ProfileSection").then((m) => m.ProfileSection));
const PrivacySection = lazy(() => import("./settings/PrivacySection").then((m) => m.PrivacySection));
const PostingSection = lazy(() => import("./settings/PostingSection").then((m) => m.PostingSection));
const SecuritySection = lazy(() => import("./settings/SecuritySection").then((m) => m.SecuritySection));
const SessionsSection = lazy(() => import("./settings/SessionsSection").then((m) => m.SessionsSection));
const ExportSection = lazy(() => import("./settings/ExportSection").then((m) => m.ExportSection));
const DeleteSection = lazy(() => import("./settings/DeleteSection").then((m) => m.DeleteSection));

const SECTIONS = ["profile", "privacy", "posting", "security", "sessions", "export", "delete"] as const;

interface Props {
  me: Account;
  onLogout: () => void;
  /** A section changed the account (profile edit): the app takes the new one. */
  onAccount: (account: Account) => void;
}

/** Settings (`/web/settings`): the sections, the app's language, signing out. */
export function Settings({ onLogout }: { onLogout: () => void }) {
  const choose = (value: string) => {
    if (!isLocale(value)) return;
    setLocale(value);
    void store.set("locale", value);
  };
  return (
    <section>
      <h1>{t("nav.settings")}</h1>
      <ul class="rows settings-index">
        {SECTIONS.map((section) => (
          <li key={section}>
            <a href={`/web/settings/${section}`}>{t(`settings.section.${section}`)}</a>
          </li>
        ))}
        <li>
          <a href="/web/filters">{t("settings.section.filters")}</a>
        </li>
      </ul>
      <label class="field">
        <span>{t("settings.language")}</span>
        <select value={locale()} onChange={(e) => choose(e.currentTarget.value)}>
          <option value="en" lang="en">English</option>
          <option value="id" lang="id">Bahasa Indonesia</option>
        </select>
      </label>
      <p>
        <button type="button" onClick={onLogout}>{t("settings.logout")}</button>
      </p>
    </section>
  );
}

/** One settings section (`/web/settings/:section`), loaded on demand. */
export function SettingsSection({ section, me, onLogout, onAccount }: Props & { section: string }) {
  let body;
  switch (section) {
    case "profile": body = <ProfileSection me={me} onAccount={onAccount} />; break;
    case "privacy": body = <PrivacySection me={me} onAccount={onAccount} />; break;
    case "posting": body = <PostingSection me={me} onAccount={onAccount} />; break;
    case "security": body = <SecuritySection />; break;
    case "sessions": body = <SessionsSection />; break;
    case "export": body = <ExportSection />; break;
    case "delete": body = <DeleteSection onDeleted={onLogout} />; break;
    default: return <p class="notice">{t("common.notFound")}</p>;
  }
  return (
    <section>
      <p class="breadcrumb"><a href="/web/settings">{t("nav.settings")}</a></p>
      <ErrorBoundary>{body}</ErrorBoundary>
    </section>
  );
}
