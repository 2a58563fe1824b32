import { useEffect, useState } from "preact/hooks";
import { Dialog } from "../components/Dialog";
import { Timeline } from "../components/Timeline";
import { t } from "../i18n";
import { api, type Account, type Relationship } from "../lib/api";

type Tab = "posts" | "replies" | "media";
const TABS: Tab[] = ["posts", "replies", "media"];
/** Mute durations offered, in seconds (0: until unmuted). */
export const MUTE_DURATIONS = [0, 300, 1800, 3600, 21600, 86400, 259200, 604800] as const;

function tabPath(id: string, tab: Tab): string {
  const base = `/api/v1/accounts/${id}/statuses`;
  if (tab === "posts") return `${base}?exclude_replies=true`;
  if (tab === "media") return `${base}?only_media=true`;
  return base;
}

function MuteDialog({ acct, onMute, onClose }: { acct: string; onMute: (duration: number, notifications: boolean) => void; onClose: () => void }) {
  const [duration, setDuration] = useState(0);
  const [notifications, setNotifications] = useState(true);
  const label = (seconds: number) =>
    seconds === 0
      ? t("profile.mute.forever")
      : seconds < 3600
        ? t("compose.poll.minutes", { count: seconds / 60 })
        : seconds < 86400
          ? t("compose.poll.hours", { count: seconds / 3600 })
          : t("compose.poll.days", { count: seconds / 86400 });
  return (
    <Dialog title={t("profile.mute.title", { acct })} onClose={onClose}>
      <p>{t("profile.mute.explain")}</p>
      <label class="field">
        <span>{t("profile.mute.duration")}</span>
        <select value={String(duration)} onChange={(e) => setDuration(Number(e.currentTarget.value))}>
          {MUTE_DURATIONS.map((seconds) => <option key={seconds} value={String(seconds)}>{label(seconds)}</option>)}
        </select>
      </label>
      <label class="check">
        <input type="checkbox" checked={notifications} onChange={(e) => setNotifications(e.currentTarget.checked)} />{" "}
        {t("profile.mute.notifications")}
      </label>
      <p class="compose-bar">
        <button type="button" onClick={() => onMute(duration, notifications)}>{t("profile.mute")}</button>
      </p>
    </Dialog>
  );
}

/** A profile: header, bio, fields, counts, follow / unfollow / requests, message, block,
 * mute (for a while), and their posts in tabs (posts, posts and replies, media). */
export function Profile({ acct, me }: { acct: string; me: Account }) {
  const [account, setAccount] = useState<Account | null>(null);
  const [relationship, setRelationship] = useState<Relationship | null>(null);
  const [failed, setFailed] = useState(false);
  const [tab, setTab] = useState<Tab>("posts");
  const [muting, setMuting] = useState(false);
  const [confirmBlock, setConfirmBlock] = useState(false);

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

  const relate = async (action: string, body?: unknown) => {
    if (!account) return;
    setRelationship(await api<Relationship>(`/api/v1/accounts/${account.id}/${action}`, { method: "POST", body }));
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
        {relationship && !relationship.blocking && (
          <button type="button" onClick={follow}>{followLabel}</button>
        )}
      </div>
      {relationship && (
        <p class="profile-actions">
          {!relationship.blocking && <a class="button secondary" href={`/messages/to/${account.acct}`}>{t("profile.message")}</a>}
          {relationship.muting ? (
            <button type="button" class="secondary" onClick={() => void relate("unmute")}>{t("profile.unmute")}</button>
          ) : (
            <button type="button" class="secondary" onClick={() => setMuting(true)}>{t("profile.mute")}</button>
          )}
          {relationship.blocking ? (
            <button type="button" class="secondary" onClick={() => void relate("unblock")}>{t("profile.unblock")}</button>
          ) : (
            <button type="button" class="secondary" onClick={() => setConfirmBlock(true)}>{t("profile.block")}</button>
          )}
        </p>
      )}
      {relationship?.muting && <p class="badge" role="status">{t("profile.muted")}</p>}
      {relationship?.blocking && <p class="badge" role="status">{t("profile.blocked")}</p>}
      {account.id === me.id && account.locked && (
        <p><a href="/follow_requests">{t("requests.title")}</a></p>
      )}
      {muting && (
        <MuteDialog acct={account.acct} onClose={() => setMuting(false)} onMute={(duration, notifications) => {
          setMuting(false);
          void relate("mute", { duration, notifications });
        }} />
      )}
      {confirmBlock && (
        <Dialog title={t("profile.block.title", { acct: account.acct })} onClose={() => setConfirmBlock(false)}>
          <p>{t("profile.block.explain")}</p>
          <p class="compose-bar">
            <button type="button" onClick={() => {
              setConfirmBlock(false);
              void relate("block");
            }}>{t("profile.block")}</button>
          </p>
        </Dialog>
      )}
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
      <div class="tabs" role="tablist" aria-label={t("profile.tabs")}>
        {TABS.map((name) => (
          <button key={name} type="button" role="tab" id={`tab-${name}`} aria-selected={tab === name} aria-controls="profile-panel"
            tabIndex={tab === name ? 0 : -1} class={tab === name ? undefined : "secondary"}
            onClick={() => setTab(name)}
            onKeyDown={(e) => {
              const step = e.key === "ArrowRight" ? 1 : e.key === "ArrowLeft" ? -1 : 0;
              if (!step) return;
              const next = TABS[(TABS.indexOf(tab) + step + TABS.length) % TABS.length]!;
              setTab(next);
              document.getElementById(`tab-${next}`)?.focus();
            }}>
            {t(`profile.tab.${name}`)}
          </button>
        ))}
      </div>
      <div role="tabpanel" id="profile-panel" aria-labelledby={`tab-${tab}`}>
        <Timeline key={tab} path={tabPath(account.id, tab)} cacheName={`account:${account.id}:${tab}`} />
      </div>
    </section>
  );
}
