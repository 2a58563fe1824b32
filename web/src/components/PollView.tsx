import { useState } from "preact/hooks";
import { formatDate, locale, t } from "../i18n";
import { api, type Poll } from "../lib/api";

/** A poll in a status: the choices (one or several) until I vote or it ends, then the
 * results with their shares. */
export function PollView({ poll: given, mine }: { poll: Poll; mine: boolean }) {
  const [poll, setPoll] = useState(given);
  const [seen, setSeen] = useState(given);
  // A newer version from the server (the timeline fetched again) replaces what is shown.
  if (given !== seen) {
    setSeen(given);
    setPoll(given);
  }
  const [chosen, setChosen] = useState<number[]>([]);
  const [showResults, setShowResults] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const results = poll.voted || poll.expired || mine || showResults;
  const total = poll.multiple ? (poll.voters_count ?? poll.votes_count) : poll.votes_count;

  const vote = async (event: Event) => {
    event.preventDefault();
    if (!chosen.length) return;
    try {
      setPoll(await api<Poll>(`/api/v1/polls/${poll.id}/votes`, { method: "POST", body: { choices: chosen } }));
      setError(null);
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : String(failure));
    }
  };
  const refresh = async () => setPoll(await api<Poll>(`/api/v1/polls/${poll.id}`));

  const summary = (
    <p class="poll-summary">
      {t("poll.voters", { count: poll.voters_count ?? poll.votes_count })}
      {" · "}
      {poll.expired
        ? t("poll.closed")
        : poll.expires_at
          ? t("poll.closes", { when: formatDate(poll.expires_at) })
          : ""}{" "}
      <button type="button" class="link" onClick={() => void refresh()}>{t("poll.refresh")}</button>
    </p>
  );

  if (results) {
    return (
      <div class="poll">
        <ul class="poll-results">
          {poll.options.map((option, index) => {
            const share = total ? Math.round(((option.votes_count ?? 0) / total) * 100) : 0;
            const own = poll.own_votes?.includes(index);
            return (
              <li key={index} class={own ? "own" : undefined}>
                <span class="poll-bar" style={{ width: `${share}%` }} aria-hidden="true" />
                <span class="poll-label">
                  <strong>{new Intl.NumberFormat(locale(), { style: "percent" }).format(share / 100)}</strong> {option.title}
                  {own && <span class="visually-hidden"> {t("poll.yourChoice")}</span>}
                  {own && <span aria-hidden="true"> ✓</span>}
                </span>
              </li>
            );
          })}
        </ul>
        {summary}
        {showResults && !poll.voted && !poll.expired && !mine && (
          <button type="button" class="secondary" onClick={() => setShowResults(false)}>{t("poll.backToVote")}</button>
        )}
      </div>
    );
  }
  return (
    <form class="poll" onSubmit={vote}>
      <fieldset>
        <legend class="visually-hidden">{poll.multiple ? t("poll.chooseMany") : t("poll.chooseOne")}</legend>
        {poll.options.map((option, index) => (
          <label class="check poll-choice" key={index}>
            <input
              type={poll.multiple ? "checkbox" : "radio"}
              name={`poll-${poll.id}`}
              checked={chosen.includes(index)}
              onChange={(e) =>
                setChosen(
                  poll.multiple
                    ? e.currentTarget.checked
                      ? [...chosen, index]
                      : chosen.filter((c) => c !== index)
                    : [index],
                )
              }
            />{" "}
            {option.title}
          </label>
        ))}
      </fieldset>
      <p class="compose-bar">
        <button type="submit" disabled={!chosen.length}>{t("poll.vote")}</button>
        <button type="button" class="secondary" onClick={() => setShowResults(true)}>{t("poll.seeResults")}</button>
      </p>
      {summary}
      {error && <p class="error" role="alert">{error}</p>}
    </form>
  );
}
