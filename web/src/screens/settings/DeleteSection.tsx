import { useEffect, useState } from "preact/hooks";
import { t } from "../../i18n";
import { api } from "../../lib/api";
import { failure } from "./common";

/** Deleting the account (`POST /api/v1/connecthub/account_deletion`): the password (and a
 * two-factor code when it is on) confirms it; the app then signs out. */
export function DeleteSection({ onDeleted }: { onDeleted: () => void }) {
  const [password, setPassword] = useState("");
  const [code, setCode] = useState("");
  const [understood, setUnderstood] = useState(false);
  const [twoFactor, setTwoFactor] = useState(false);
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    api<{ enabled: boolean }>("/api/v1/connecthub/two_factor").then((s) => setTwoFactor(s.enabled)).catch(() => undefined);
  }, []);

  const submit = async (event: Event) => {
    event.preventDefault();
    setError("");
    setBusy(true);
    try {
      const body: Record<string, string> = { password };
      if (twoFactor) body.otp_attempt = code.replace(/\s/g, "");
      await api("/api/v1/connecthub/account_deletion", { method: "POST", body });
      onDeleted();
    } catch (e) {
      setError(failure(e));
      setBusy(false);
    }
  };

  return (
    <form onSubmit={submit} class="settings-form">
      <h1>{t("settings.section.delete")}</h1>
      <p>{t("settings.delete.lead")}</p>
      <p><a href="/settings/export">{t("settings.delete.exportFirst")}</a></p>
      <label class="field">
        <span>{t("settings.twofa.password")}</span>
        <input type="password" autoComplete="current-password" required value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
      </label>
      {twoFactor && (
        <label class="field">
          <span>{t("settings.twofa.code")}</span>
          <input inputMode="numeric" autoComplete="one-time-code" required value={code} onInput={(e) => setCode(e.currentTarget.value)} />
        </label>
      )}
      <label class="choice">
        <input type="checkbox" checked={understood} onChange={(e) => setUnderstood(e.currentTarget.checked)} />
        {t("settings.delete.understood")}
      </label>
      {error && <p class="error" role="alert">{error}</p>}
      <p class="form-actions">
        <button type="submit" class="danger-solid" disabled={!understood || !password || busy}>{t("settings.delete.submit")}</button>
      </p>
    </form>
  );
}
