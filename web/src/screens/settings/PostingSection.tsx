import { useState } from "preact/hooks";
import { t } from "../../i18n";
import { api, type Account } from "../../lib/api";
import { failure } from "./common";

/** Languages offered as the default language of posts (ISO 639-1). */
const LANGUAGES = ["en", "id", "ms", "jv", "su", "zh", "ja", "ko", "ar", "es", "fr", "de", "pt", "nl", "th", "vi", "tl", "hi"];

interface Props {
  me: Account;
  onAccount: (account: Account) => void;
}

/** Posting defaults: visibility, sensitive media and language (`source[…]` of
 * update_credentials; read back by /api/v1/preferences and the compose box). */
export function PostingSection({ me, onAccount }: Props) {
  const [privacy, setPrivacy] = useState(me.source?.privacy ?? "public");
  const [sensitive, setSensitive] = useState(!!me.source?.sensitive);
  const [language, setLanguage] = useState(me.source?.language ?? "");
  const [error, setError] = useState("");
  const [saved, setSaved] = useState(false);
  const names = new Intl.DisplayNames([document.documentElement.lang || "en"], { type: "language" });

  const save = async (event: Event) => {
    event.preventDefault();
    setError("");
    setSaved(false);
    try {
      const source: Record<string, unknown> = { privacy, sensitive };
      if (language) source.language = language;
      onAccount(await api<Account>("/api/v1/accounts/update_credentials", { method: "PATCH", body: { source } }));
      setSaved(true);
    } catch (e) {
      setError(failure(e));
    }
  };

  return (
    <form onSubmit={save} class="settings-form">
      <h1>{t("settings.section.posting")}</h1>
      <label class="field">
        <span>{t("settings.posting.visibility")}</span>
        <select value={privacy} onChange={(e) => setPrivacy(e.currentTarget.value)}>
          <option value="public">{t("visibility.public")}</option>
          <option value="unlisted">{t("visibility.unlisted")}</option>
          <option value="private">{t("visibility.private")}</option>
        </select>
      </label>
      <label class="field">
        <span>{t("settings.posting.language")}</span>
        <select value={language} onChange={(e) => setLanguage(e.currentTarget.value)}>
          {!language && <option value="">{t("settings.posting.languageUnset")}</option>}
          {LANGUAGES.map((code) => (
            <option key={code} value={code}>{names.of(code) ?? code}</option>
          ))}
        </select>
      </label>
      <label class="choice">
        <input type="checkbox" checked={sensitive} onChange={(e) => setSensitive(e.currentTarget.checked)} />
        {t("settings.posting.sensitive")}
      </label>
      {error && <p class="error" role="alert">{error}</p>}
      {saved && <p role="status">{t("common.saved")}</p>}
      <p class="form-actions">
        <button type="submit">{t("common.save")}</button>
      </p>
    </form>
  );
}
