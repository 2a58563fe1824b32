import { useEffect, useState } from "preact/hooks";
import { Timeline } from "../components/Timeline";
import { t } from "../i18n";
import { api, type Account, type Relationship } from "../lib/api";

/** A profile: header, bio, fields, counts, follow / unfollow, and their posts. */
export function Profile({ acct, me }: { acct: string; me: Account }) {
  const [account, setAccount] = useState<Account | null>(null);
  const [relationship, setRelationship] = useState<Relationship | null>(null);
  const [failed, setFailed] = useState(false);

  useEffect(() => {
    setAccount(null);
    setFailed(false);
    api<Account>(`/api/v1/accounts/lookup?acct=${encodeURIComponent(acct)}`)
      .then(async (found) => {
        setAccount(found);
        if (found.id !== me.id) {
          const [rel] = await api<Relationship[]>(`/api/v1/accounts/relationships?id[]=${found.id}`);
          setRelationship(rel ?? null);
        }
      })
      .catch(() => setFailed(true));
  }, [acct, me.id]);

  const follow = async () => {
    if (!account || !relationship) return;
    const action = relationship.following || relationship.requested ? "unfollow" : "follow";
    setRelationship(await api<Relationship>(`/api/v1/accounts/${account.id}/${action}`, { method: "POST" }));
  };

  if (failed) return <p class="notice" role="alert">{t("profile.notFound")}</p>;
  if (!account) return <p class="notice">{t("common.loading")}</p>;
  const followLabel = relationship?.following
    ? t("profile.unfollow")
    : relationship?.requested
      ? t("profile.cancelRequest")
      : t("profile.follow");
  return (
    <section class="profile">
      <div class="profile-head">
        <img src={account.avatar} alt="" width="80" height="80" />
        <div>
          <h1>{account.display_name || account.username}</h1>
          <p class="acct">@{account.acct}{account.locked ? ` 🔒` : ""}</p>
        </div>
        {relationship && (
          <button type="button" onClick={follow}>{followLabel}</button>
        )}
      </div>
      {relationship?.followed_by && <p class="badge">{t("profile.followsYou")}</p>}
      <div class="bio" dangerouslySetInnerHTML={{ __html: account.note }} />
      {account.fields && account.fields.length > 0 && (
        <dl class="fields">
          {account.fields.map((field) => (
            <div key={field.name}>
              <dt>{field.name}</dt>
              <dd dangerouslySetInnerHTML={{ __html: field.value }} />
            </div>
          ))}
        </dl>
      )}
      <p class="counts">
        {t("profile.posts", { count: account.statuses_count })} · {t("profile.following", { count: account.following_count })} ·{" "}
        {t("profile.followers", { count: account.followers_count })}
      </p>
      <Timeline path={`/api/v1/accounts/${account.id}/statuses`} cacheName={`account:${account.id}`} />
    </section>
  );
}
