import { useEffect, useState } from "preact/hooks";
import { t } from "../i18n";
import { api, page, type Account } from "../lib/api";

/** The people asking to follow my locked account: approve or reject each. */
export function FollowRequests() {
  const [items, setItems] = useState<Account[] | null>(null);
  const [done, setDone] = useState<Record<string, "authorize" | "reject">>({});
  const [failed, setFailed] = useState(false);

  useEffect(() => {
    page<Account>("/api/v1/follow_requests?limit=80")
      .then((first) => setItems(first.items))
      .catch(() => setFailed(true));
  }, []);

  const answer = async (account: Account, action: "authorize" | "reject") => {
    await api(`/api/v1/follow_requests/${account.id}/${action}`, { method: "POST" });
    setDone((all) => ({ ...all, [account.id]: action }));
  };

  return (
    <section>
      <h1>{t("requests.title")}</h1>
      {failed && <p class="notice" role="alert">{t("timeline.error")}</p>}
      {items === null && !failed && <p class="notice">{t("common.loading")}</p>}
      {items?.length === 0 && <p class="notice">{t("requests.empty")}</p>}
      <ul class="people">
        {items?.map((account) => (
          <li key={account.id} class="person">
            <a href={`/@${account.acct}`} class="author">
              <img src={account.avatar} alt="" width="40" height="40" />
              <span>
                <strong>{account.display_name || account.username}</strong> <span class="acct">@{account.acct}</span>
              </span>
            </a>
            {done[account.id] ? (
              <p role="status" class="acct">{done[account.id] === "authorize" ? t("requests.approved") : t("requests.rejected")}</p>
            ) : (
              <span class="person-actions">
                <button type="button" onClick={() => void answer(account, "authorize")}
                  aria-label={t("requests.approveWho", { acct: account.acct })}>{t("requests.approve")}</button>
                <button type="button" class="secondary" onClick={() => void answer(account, "reject")}
                  aria-label={t("requests.rejectWho", { acct: account.acct })}>{t("requests.reject")}</button>
              </span>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}
