import { useEffect, useState } from "preact/hooks";
import { formatDate, t } from "../../i18n";
import { api } from "../../lib/api";
import type { DataExport } from "../../lib/entities";
import { failure } from "./common";

/** An archive of my data (`/api/v1/exports`): request one (once a week), follow its state,
 * download it through the signed link while it lasts. */
export function ExportSection() {
  const [exports, setExports] = useState<DataExport[] | null>(null);
  const [error, setError] = useState("");

  const load = () => api<DataExport[]>("/api/v1/exports").then(setExports).catch((e) => setError(failure(e)));
  useEffect(() => {
    void load();
  }, []);
  // While one is being built, look again every few seconds.
  const pending = exports?.some((e) => e.state !== "finished" && e.state !== "failed" && e.state !== "expired");
  useEffect(() => {
    if (!pending) return;
    const timer = setInterval(() => void load(), 5000);
    return () => clearInterval(timer);
  }, [pending]);

  const request = async () => {
    setError("");
    try {
      const made = await api<DataExport>("/api/v1/exports", { method: "POST" });
      setExports([made, ...(exports ?? [])]);
    } catch (e) {
      setError(failure(e));
    }
  };

  return (
    <div class="settings-form">
      <h1>{t("settings.section.export")}</h1>
      <p>{t("settings.export.lead")}</p>
      <button type="button" onClick={request}>{t("settings.export.request")}</button>
      {error && <p class="error" role="alert">{error}</p>}
      {!exports && !error && <p class="notice">{t("common.loading")}</p>}
      <ul class="rows" aria-live="polite">
        {exports?.map((item) => (
          <li key={item.id} class="session-row">
            <span>
              <strong>{formatDate(item.created_at)}</strong>
              <br />
              <span class="acct">
                {t(`settings.export.state.${stateKey(item.state)}`)}
                {item.size != null && ` · ${t("settings.export.size", { mb: (item.size / 1_000_000).toFixed(1) })}`}
                {item.expires_at && ` · ${t("settings.export.expires", { date: formatDate(item.expires_at) })}`}
              </span>
            </span>
            {item.url && item.state === "finished" && (
              <a class="button" href={item.url} download>{t("settings.export.download")}</a>
            )}
          </li>
        ))}
      </ul>
    </div>
  );
}

function stateKey(state: string): "pending" | "processing" | "finished" | "failed" | "expired" {
  return state === "processing" || state === "finished" || state === "failed" || state === "expired" ? state : "pending";
}
