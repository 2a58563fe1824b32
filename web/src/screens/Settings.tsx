import { t, locale, setLocale, isLocale } from "../i18n";
import * as store from "../lib/store";

/** Settings, first slice: the app's language, and signing out. */
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
      <p>
        <button type="button" onClick={onLogout}>{t("settings.logout")}</button>
      </p>
    </section>
  );
}
