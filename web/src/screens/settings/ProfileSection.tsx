import { useState } from "preact/hooks";
import { t } from "../../i18n";
import { api, type Account } from "../../lib/api";
import { failure } from "./common";

const MAX_FIELDS = 4;

interface Props {
  me: Account;
  onAccount: (account: Account) => void;
}

/** Profile: display name, bio, fields, avatar and header, locked, bot, discoverable
 * (PATCH /api/v1/accounts/update_credentials, multipart when an image is chosen). */
export function ProfileSection({ me, onAccount }: Props) {
  const [name, setName] = useState(me.display_name);
  const [note, setNote] = useState(me.source?.note ?? "");
  const [fields, setFields] = useState(() => {
    const given = me.source?.fields ?? me.fields ?? [];
    return Array.from({ length: MAX_FIELDS }, (_, i) => ({ name: given[i]?.name ?? "", value: given[i]?.value ?? "" }));
  });
  const [locked, setLocked] = useState(me.locked);
  const [bot, setBot] = useState(!!me.bot);
  const [discoverable, setDiscoverable] = useState(!!(me.source?.discoverable ?? me.discoverable));
  const [avatar, setAvatar] = useState<File | null>(null);
  const [header, setHeader] = useState<File | null>(null);
  const [avatarUrl, setAvatarUrl] = useState(me.avatar);
  const [headerUrl, setHeaderUrl] = useState(me.header);
  const [state, setState] = useState<"idle" | "saving" | "saved">("idle");
  const [error, setError] = useState("");

  const pick = (file: File | undefined, kind: "avatar" | "header") => {
    if (!file) return;
    const preview = URL.createObjectURL(file);
    if (kind === "avatar") {
      setAvatar(file);
      setAvatarUrl(preview);
    } else {
      setHeader(file);
      setHeaderUrl(preview);
    }
  };

  const save = async (event: Event) => {
    event.preventDefault();
    setError("");
    setState("saving");
    const form = new FormData();
    form.set("display_name", name);
    form.set("note", note);
    fields.forEach((field, i) => {
      form.set(`fields_attributes[${i}][name]`, field.name);
      form.set(`fields_attributes[${i}][value]`, field.value);
    });
    form.set("locked", String(locked));
    form.set("bot", String(bot));
    form.set("discoverable", String(discoverable));
    if (avatar) form.set("avatar", avatar);
    if (header) form.set("header", header);
    try {
      const updated = await api<Account>("/api/v1/accounts/update_credentials", { method: "PATCH", form });
      onAccount(updated);
      setAvatar(null);
      setHeader(null);
      setAvatarUrl(updated.avatar);
      setHeaderUrl(updated.header);
      setState("saved");
    } catch (e) {
      setError(failure(e));
      setState("idle");
    }
  };

  return (
    <form onSubmit={save} class="settings-form">
      <h1>{t("settings.section.profile")}</h1>
      <div class="profile-images">
        <img class="header-preview" src={headerUrl} alt={t("settings.profile.headerPreview")} />
        <img class="avatar-preview" src={avatarUrl} alt={t("settings.profile.avatarPreview")} width="80" height="80" />
      </div>
      <label class="field">
        <span>{t("settings.profile.avatar")}</span>
        <input type="file" name="avatar" accept="image/png,image/jpeg,image/gif,image/webp" onChange={(e) => pick(e.currentTarget.files?.[0], "avatar")} />
      </label>
      <label class="field">
        <span>{t("settings.profile.header")}</span>
        <input type="file" name="header" accept="image/png,image/jpeg,image/gif,image/webp" onChange={(e) => pick(e.currentTarget.files?.[0], "header")} />
      </label>
      <label class="field">
        <span>{t("settings.profile.displayName")}</span>
        <input value={name} maxLength={30} onInput={(e) => setName(e.currentTarget.value)} />
      </label>
      <label class="field">
        <span>{t("settings.profile.bio")}</span>
        <textarea rows={4} maxLength={500} value={note} onInput={(e) => setNote(e.currentTarget.value)} />
      </label>
      <fieldset>
        <legend>{t("settings.profile.fields")}</legend>
        {fields.map((field, i) => (
          <div key={i} class="field-pair">
            <label class="field">
              <span>{t("settings.profile.fieldName", { n: i + 1 })}</span>
              <input value={field.name} maxLength={255} onInput={(e) => setFields(fields.map((f, j) => (j === i ? { ...f, name: e.currentTarget.value } : f)))} />
            </label>
            <label class="field">
              <span>{t("settings.profile.fieldValue", { n: i + 1 })}</span>
              <input value={field.value} maxLength={255} onInput={(e) => setFields(fields.map((f, j) => (j === i ? { ...f, value: e.currentTarget.value } : f)))} />
            </label>
          </div>
        ))}
      </fieldset>
      <label class="choice">
        <input type="checkbox" checked={locked} onChange={(e) => setLocked(e.currentTarget.checked)} />
        {t("settings.profile.locked")}
      </label>
      <p class="hint">{t("settings.profile.lockedHint")}</p>
      <label class="choice">
        <input type="checkbox" checked={bot} onChange={(e) => setBot(e.currentTarget.checked)} />
        {t("settings.profile.bot")}
      </label>
      <label class="choice">
        <input type="checkbox" checked={discoverable} onChange={(e) => setDiscoverable(e.currentTarget.checked)} />
        {t("settings.profile.discoverable")}
      </label>
      {error && <p class="error" role="alert">{error}</p>}
      {state === "saved" && <p role="status">{t("common.saved")}</p>}
      <p class="form-actions">
        <button type="submit" disabled={state === "saving"}>{t("common.save")}</button>
      </p>
    </form>
  );
}
