import { useEffect, useState } from "preact/hooks";
import { ErrorBoundary, lazy } from "preact-iso";
import { t, locale, setLocale, isLocale } from "../i18n";
import type { MessageId } from "../i18n";
import type { Account } from "../lib/api";
import * as push from "../lib/push";
import * as state from "../state";
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

/** Settings (`/settings`): the sections, the app's language, signing out. */
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
            <a href={`/settings/${section}`}>{t(`settings.section.${section}`)}</a>
          </li>
        ))}
        <li>
          <a href="/filters">{t("settings.section.filters")}</a>
        </li>
      </ul>
      <label class="field">
        <span>{t("settings.language")}</span>
        <select value={locale()} onChange={(e) => choose(e.currentTarget.value)}>
          <option value="en" lang="en">English</option>
          <option value="id" lang="id">Bahasa Indonesia</option>
        </select>
      </label>
      <PushSettings />
      <p>
        <button type="button" onClick={onLogout}>{t("settings.logout")}</button>
      </p>
    </section>
  );
}

/** One settings section (`/settings/:section`), loaded on demand. */
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
      <p class="breadcrumb"><a href="/settings">{t("nav.settings")}</a></p>
      <ErrorBoundary>{body}</ErrorBoundary>
    </section>
  );
}

const ALERT_LABELS: Record<push.AlertType, MessageId> = {
  mention: "settings.push.alert.mention",
  status: "settings.push.alert.status",
  reblog: "settings.push.alert.reblog",
  follow: "settings.push.alert.follow",
  follow_request: "settings.push.alert.followRequest",
  favourite: "settings.push.alert.favourite",
  poll: "settings.push.alert.poll",
  update: "settings.push.alert.update",
};

/** Push notifications on this device: one switch, then the kinds of notification. */
function PushSettings() {
  const key = state.current()?.instance.configuration.vapid?.public_key;
  const supported = push.isSupported() && Boolean(key);
  const [enabled, setEnabled] = useState(false);
  const [alerts, setAlerts] = useState<push.Alerts>(push.allAlerts());
  const [busy, setBusy] = useState(supported);
  const [message, setMessage] = useState<MessageId | null>(null);

  useEffect(() => {
    if (!supported) return;
    push
      .current()
      .then((found) => {
        setEnabled(found !== null);
        if (found) setAlerts(push.alertsOf(found));
      })
      .catch(() => setMessage("settings.push.failed"))
      .finally(() => setBusy(false));
  }, [supported]);

  const run = async (work: () => Promise<void>) => {
    setBusy(true);
    setMessage(null);
    try {
      await work();
    } catch (error) {
      setMessage(error instanceof push.PermissionDenied ? "settings.push.denied" : "settings.push.failed");
    } finally {
      setBusy(false);
    }
  };

  const toggle = (on: boolean) =>
    run(async () => {
      if (on) {
        const saved = await push.subscribe(key!, alerts);
        setAlerts(push.alertsOf(saved));
        setEnabled(true);
        setMessage("settings.push.on");
      } else {
        await push.unsubscribe();
        setEnabled(false);
        setMessage("settings.push.off");
      }
    });

  const change = (type: push.AlertType, on: boolean) => {
    const next = { ...alerts, [type]: on };
    setAlerts(next);
    if (enabled) void run(async () => setAlerts(push.alertsOf(await push.update(next))));
  };

  return (
    <fieldset class="push-settings">
      <legend>{t("settings.push.title")}</legend>
      {!supported ? (
        <p>{t("settings.push.unsupported")}</p>
      ) : (
        <>
          <label class="check">
            <input type="checkbox" checked={enabled} disabled={busy} onChange={(e) => void toggle(e.currentTarget.checked)} />
            <span>{t("settings.push.enable")}</span>
          </label>
          <fieldset class="push-alerts" disabled={busy}>
            <legend>{t("settings.push.alerts")}</legend>
            {push.ALERT_TYPES.map((type) => (
              <label class="check" key={type}>
                <input type="checkbox" name={`alert-${type}`} checked={alerts[type]} onChange={(e) => change(type, e.currentTarget.checked)} />
                <span>{t(ALERT_LABELS[type])}</span>
              </label>
            ))}
          </fieldset>
        </>
      )}
      <p role="status" class="push-status">{message ? t(message) : ""}</p>
    </fieldset>
  );
}
