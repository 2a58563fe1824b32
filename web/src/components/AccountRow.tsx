import { useState } from "preact/hooks";
import { t } from "../i18n";
import { api, type Account, type Relationship } from "../lib/api";

interface Props {
  account: Account;
  /** The caller's relationship, when known: a follow button is shown. */
  relationship?: Relationship | null;
  /** Extra controls at the end of the row (e.g. "Remove from list"). */
  children?: preact.ComponentChildren;
}

/** An account in a list: avatar, name and handle linking to the profile, optional follow
 * button and extra controls. */
export function AccountRow({ account, relationship: given, children }: Props) {
  const [relationship, setRelationship] = useState(given ?? null);
  const [busy, setBusy] = useState(false);
  const follow = async () => {
    if (!relationship) return;
    setBusy(true);
    const action = relationship.following || relationship.requested ? "unfollow" : "follow";
    try {
      setRelationship(await api<Relationship>(`/api/v1/accounts/${account.id}/${action}`, { method: "POST" }));
    } finally {
      setBusy(false);
    }
  };
  const name = account.display_name || account.username;
  return (
    <li class="account-row">
      <a href={`/@${account.acct}`} class="author">
        <img src={account.avatar} alt="" width="40" height="40" loading="lazy" />
        <span>
          <strong>{name}</strong> <span class="acct">@{account.acct}</span>
        </span>
      </a>
      <span class="row-actions">
        {relationship && (
          <button type="button" class="secondary" disabled={busy} onClick={follow}
            aria-label={`${relationship.following ? t("profile.unfollow") : relationship.requested ? t("profile.cancelRequest") : t("profile.follow")} @${account.acct}`}>
            {relationship.following ? t("profile.unfollow") : relationship.requested ? t("profile.cancelRequest") : t("profile.follow")}
          </button>
        )}
        {children}
      </span>
    </li>
  );
}

/** The caller's relationships with `accounts`, by account id (one request). */
export async function relationshipsOf(accounts: Account[], meId: string): Promise<Map<string, Relationship>> {
  const ids = accounts.filter((a) => a.id !== meId).map((a) => `id[]=${encodeURIComponent(a.id)}`);
  if (!ids.length) return new Map();
  const found = await api<Relationship[]>(`/api/v1/accounts/relationships?${ids.join("&")}`);
  return new Map(found.map((r) => [r.id, r]));
}
