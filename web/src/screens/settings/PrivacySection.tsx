import { useEffect, useState } from "preact/hooks";
import { t } from "../../i18n";
import { api, type Account } from "../../lib/api";
import { failure } from "./common";

type DmFrom = "everyone" | "followers" | "nobody";

interface Props {
  me: Account;
  onAccount: (account: Account) => void;
}

/** Privacy: who sees my follows (`hide_collections`), status search (`indexable`), my
 * online presence (ConnectHub's presence extension: `hide_presence`) and who may send me
 * direct messages (`direct_messages_from`). */
export function PrivacySection({ me, onAccount }: Props) {
  const [hideCollections, setHideCollections] = useState(!!me.source?.hide_collections);
  const [indexable, setIndexable] = useState(!!me.source?.indexable);
  const [hidePresence, setHidePresence] = useState<boolean | null>(null);
  const [dmFrom, setDmFrom] = useState<DmFrom | null>(null);
  const [error, setError] = useState("");
  const [saved, setSaved] = useState(false);

  useEffect(() => {
    api<{ hide_presence: boolean }>("/api/v1/connecthub/presence_settings")
      .then((s) => setHidePresence(s.hide_presence))
      .catch((e) => setError(failure(e)));
    api<{ direct_messages_from: DmFrom }>("/api/v1/connecthub/privacy_settings")
      .then((s) => setDmFrom(s.direct_messages_from))
      .catch((e) => setError(failure(e)));
  }, []);

  const save = async (event: Event) => {
    event.preventDefault();
    setError("");
    setSaved(false);
    try {
      const [account] = await Promise.all([
        api<Account>("/api/v1/accounts/update_credentials", {
          method: "PATCH",
          body: { hide_collections: hideCollections, indexable },
        }),
        hidePresence === null
          ? Promise.resolve()
          : api("/api/v1/connecthub/presence_settings", { method: "PATCH", body: { hide_presence: hidePresence } }),
        dmFrom === null
          ? Promise.resolve()
          : api("/api/v1/connecthub/privacy_settings", { method: "PATCH", body: { direct_messages_from: dmFrom } }),
      ]);
      onAccount(account);
      setSaved(true);
    } catch (e) {
      setError(failure(e));
    }
  };

  return (
    <form onSubmit={save} class="settings-form">
      <h1>{t("settings.section.privacy")}</h1>
      <label class="choice">
        <input type="checkbox" checked={hidePresence === true} disabled={hidePresence === null}
          onChange={(e) => setHidePresence(e.currentTarget.checked)} />
        {t("settings.privacy.hidePresence")}
      </label>
      <p class="hint">{t("settings.privacy.hidePresenceHint")}</p>
      <label class="choice">
        <input type="checkbox" checked={hideCollections} onChange={(e) => setHideCollections(e.currentTarget.checked)} />
        {t("settings.privacy.hideCollections")}
      </label>
      <label class="choice">
        <input type="checkbox" checked={indexable} onChange={(e) => setIndexable(e.currentTarget.checked)} />
        {t("settings.privacy.indexable")}
      </label>
      <label class="field">
        <span>{t("settings.privacy.dmFrom")}</span>
        <select value={dmFrom ?? "everyone"} disabled={dmFrom === null} onChange={(e) => setDmFrom(e.currentTarget.value as DmFrom)}>
          <option value="everyone">{t("settings.privacy.dmFrom.everyone")}</option>
          <option value="followers">{t("settings.privacy.dmFrom.followers")}</option>
          <option value="nobody">{t("settings.privacy.dmFrom.nobody")}</option>
        </select>
      </label>
      {error && <p class="error" role="alert">{error}</p>}
      {saved && <p role="status">{t("common.saved")}</p>}
      <p class="form-actions">
        <button type="submit">{t("common.save")}</button>
      </p>
    </form>
  );
}
