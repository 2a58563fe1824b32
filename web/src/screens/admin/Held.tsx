import { useEffect, useState } from "preact/hooks";
import { formatDate, t } from "../../i18n";
import { api, page, type Status } from "../../lib/api";
import type { AdminAccount } from "../../lib/entities";
import { failure } from "../settings/common";

interface HeldStatus {
  id: string;
  reason: string;
  created_at: string;
  account: AdminAccount;
  status: Status;
}

function localPath(url: string): string {
  const parsed = new URL(url, location.origin);
  return parsed.pathname + parsed.search;
}

/** Statuses held for review (`/admin/held`): publish or reject each (docs/status-review.md). */
export function AdminHeld() {
  const [items, setItems] = useState<HeldStatus[] | null>(null);
  const [next, setNext] = useState<string | undefined>();
  const [error, setError] = useState("");
  const [notice, setNotice] = useState("");

  useEffect(() => {
    page<HeldStatus>("/api/v1/admin/held_statuses")
      .then((first) => {
        setItems(first.items);
        setNext(first.links.next);
      })
      .catch((e) => setError(failure(e)));
  }, []);

  const more = async () => {
    if (!next) return;
    const older = await page<HeldStatus>(localPath(next));
    setItems((shown) => [...(shown ?? []), ...older.items]);
    setNext(older.links.next);
  };
  const decide = async (held: HeldStatus, decision: "approve" | "reject") => {
    setError("");
    setNotice("");
    try {
      await api(`/api/v1/admin/held_statuses/${held.id}/${decision}`, { method: "POST" });
      setItems((shown) => (shown ?? []).filter((h) => h.id !== held.id));
      setNotice(t(decision === "approve" ? "admin.held.approved" : "admin.held.rejected"));
    } catch (e) {
      setError(failure(e));
    }
  };

  return (
    <section>
      <h1>{t("admin.held")}</h1>
      {notice && <p role="status">{notice}</p>}
      {error && <p class="error" role="alert">{error}</p>}
      {!items && !error && <p class="notice">{t("common.loading")}</p>}
      {items?.length === 0 && <p class="notice">{t("admin.held.none")}</p>}
      {items?.map((held) => (
        <article key={held.id} class="status" aria-label={held.account.username}>
          <header>
            <a href={`/admin/accounts/${held.account.id}`}>@{held.account.username}</a>
            <span class="acct">{formatDate(held.created_at)} · {held.reason}</span>
          </header>
          {held.status.spoiler_text && <p class="spoiler">{held.status.spoiler_text}</p>}
          {/* The server sanitised this HTML (core/html). */}
          <div class="content" dangerouslySetInnerHTML={{ __html: held.status.content }} />
          <p class="form-actions">
            <button type="button" onClick={() => decide(held, "approve")}>{t("admin.held.approve")}</button>
            <button type="button" class="secondary danger" onClick={() => decide(held, "reject")}>{t("admin.held.reject")}</button>
          </p>
        </article>
      ))}
      {next && <p><button type="button" class="secondary" onClick={more}>{t("admin.more")}</button></p>}
    </section>
  );
}
