import { useEffect, useState } from "preact/hooks";
import { t, locale, setLocale, isLocale } from "../i18n";
import type { MessageId } from "../i18n";
import * as push from "../lib/push";
import * as state from "../state";
import * as store from "../lib/store";

/** Settings, first slice: the app's language, push notifications, and signing out. */
export function Settings({ onLogout }: { onLogout: () => void }) {
  const choose = (value: string) => {
    if (!isLocale(value)) return;
    setLocale(value);
    void store.set("locale", value);
  };
  return (
    <section>
      <h1>{t("nav.settings")}</h1>
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
