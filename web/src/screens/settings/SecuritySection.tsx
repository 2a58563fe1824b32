import { useEffect, useRef, useState } from "preact/hooks";
import { t } from "../../i18n";
import { api } from "../../lib/api";
import { qrDataUri } from "../../lib/qr";
import type { TwoFactorSetup } from "../../lib/entities";
import { failure } from "./common";

type Stage = "loading" | "off" | "enrolling" | "codes" | "on";

/** Two-factor sign-in (ConnectHub's `/api/v1/connecthub/two_factor`): enrol with a QR code
 * of the otpauth URI (or the secret typed by hand), confirm with the password and a code, see
 * the recovery codes once; or turn it off. And changing the password. */
export function SecuritySection() {
  const [stage, setStage] = useState<Stage>("loading");
  const [setup, setSetup] = useState<TwoFactorSetup | null>(null);
  const [qr, setQr] = useState("");
  const [codes, setCodes] = useState<string[]>([]);
  const [password, setPassword] = useState("");
  const [code, setCode] = useState("");
  const [error, setError] = useState("");
  const heading = useRef<HTMLHeadingElement>(null);

  useEffect(() => {
    api<{ enabled: boolean }>("/api/v1/connecthub/two_factor")
      .then((s) => setStage(s.enabled ? "on" : "off"))
      .catch((e) => {
        setError(failure(e));
        setStage("off");
      });
  }, []);
  // Each step's heading takes the focus, so a screen reader announces where the person is.
  useEffect(() => {
    if (stage !== "loading") heading.current?.focus();
  }, [stage]);

  const begin = async () => {
    setError("");
    try {
      const started = await api<TwoFactorSetup>("/api/v1/connecthub/two_factor", { method: "POST" });
      setQr(await qrDataUri(started.provisioning_uri, started.qr_code));
      setSetup(started);
      setStage("enrolling");
    } catch (e) {
      setError(failure(e));
    }
  };
  const confirm = async (event: Event) => {
    event.preventDefault();
    setError("");
    try {
      const done = await api<{ recovery_codes: string[] }>("/api/v1/connecthub/two_factor/confirm", {
        method: "POST",
        body: { password, code: code.replace(/\s/g, "") },
      });
      setCodes(done.recovery_codes);
      setPassword("");
      setCode("");
      setStage("codes");
    } catch (e) {
      setError(failure(e));
    }
  };
  const disable = async (event: Event) => {
    event.preventDefault();
    setError("");
    try {
      await api("/api/v1/connecthub/two_factor", { method: "DELETE", body: { password, code: code.replace(/\s/g, "") } });
      setPassword("");
      setCode("");
      setStage("off");
    } catch (e) {
      setError(failure(e));
    }
  };

  const credentials = (
    <>
      <label class="field">
        <span>{t("settings.twofa.password")}</span>
        <input type="password" autoComplete="current-password" required value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
      </label>
      <label class="field">
        <span>{t("settings.twofa.code")}</span>
        <input inputMode="numeric" autoComplete="one-time-code" required pattern="[0-9 ]{6,7}|[0-9a-fA-F-]{14,19}" value={code}
          onInput={(e) => setCode(e.currentTarget.value)} />
      </label>
    </>
  );

  return (
    <div class="settings-form">
      <h1>{t("settings.section.security")}</h1>
      <h2 ref={heading} tabIndex={-1}>{t("settings.twofa.title")}</h2>
      {stage === "loading" && <p class="notice">{t("common.loading")}</p>}
      {stage === "off" && (
        <>
          <p>{t("settings.twofa.offLead")}</p>
          <button type="button" onClick={begin}>{t("settings.twofa.begin")}</button>
        </>
      )}
      {stage === "enrolling" && setup && (
        <form onSubmit={confirm}>
          <p>{t("settings.twofa.scan")}</p>
          <img class="qr" src={qr} width="200" height="200" alt={t("settings.twofa.qrAlt")} />
          <p>
            {t("settings.twofa.manual")} <code class="secret">{setup.secret.replace(/(.{4})/g, "$1 ").trim()}</code>
          </p>
          {credentials}
          <p class="form-actions">
            <button type="submit">{t("settings.twofa.confirm")}</button>
            <button type="button" class="secondary" onClick={() => setStage("off")}>{t("compose.cancel")}</button>
          </p>
        </form>
      )}
      {stage === "codes" && (
        <>
          <p role="status">{t("settings.twofa.enabled")}</p>
          <p>{t("settings.twofa.codesLead")}</p>
          <ol class="recovery-codes" aria-label={t("settings.twofa.codes")}>
            {codes.map((c) => <li key={c}><code>{c}</code></li>)}
          </ol>
          <button type="button" onClick={() => setStage("on")}>{t("settings.twofa.saved")}</button>
        </>
      )}
      {stage === "on" && (
        <form onSubmit={disable}>
          <p>{t("settings.twofa.onLead")}</p>
          {credentials}
          <p class="form-actions">
            <button type="submit" class="secondary danger">{t("settings.twofa.disable")}</button>
          </p>
        </form>
      )}
      {error && <p class="error" role="alert">{error}</p>}
      <PasswordChange />
    </div>
  );
}

/** Changing the password (`/api/v1/connecthub/password`): other sessions are signed out. */
function PasswordChange() {
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [error, setError] = useState("");
  const [done, setDone] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    setError("");
    setDone(false);
    try {
      await api("/api/v1/connecthub/password", { method: "POST", body: { current_password: current, password: next } });
      setCurrent("");
      setNext("");
      setDone(true);
    } catch (e) {
      setError(failure(e));
    }
  };
  return (
    <form onSubmit={submit}>
      <h2>{t("settings.password.title")}</h2>
      <label class="field">
        <span>{t("settings.password.current")}</span>
        <input type="password" autoComplete="current-password" required value={current} onInput={(e) => setCurrent(e.currentTarget.value)} />
      </label>
      <label class="field">
        <span>{t("settings.password.new")}</span>
        <input type="password" autoComplete="new-password" required minLength={8} value={next} onInput={(e) => setNext(e.currentTarget.value)} />
      </label>
      <p class="hint">{t("settings.password.hint")}</p>
      {error && <p class="error" role="alert">{error}</p>}
      {done && <p role="status">{t("settings.password.changed")}</p>}
      <p class="form-actions">
        <button type="submit">{t("settings.password.submit")}</button>
      </p>
    </form>
  );
}
