"""Offensive-language scoring through the API, on both engines: a new or edited public or
unlisted status and a changed profile are scored by a job, and at the threshold a system
report names the score; benign, private and direct posts file nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from connecthub.config import Settings
from connecthub.detection import service as detection
from connecthub.statuses.models import HeldReason, Status, Visibility
from tests.detection.support import BENIGN, OFFENSIVE, report, verdicts, wait_for_verdicts
from tests.social_factories import auth, post_status, user_with_token
from tests.support.queries import counting_queries

# Heuristics out of the way: these tests are about the model.
NO_SPAM = {"spam_new_account_hours": 0}


async def test_an_offensive_public_post_is_reported_and_a_benign_one_is_not(
    app_factory: Callable[..., Any],
) -> None:
    async with app_factory(**NO_SPAM) as (app, client):
        author, token = await user_with_token(app, "author")
        benign = await post_status(client, token, BENIGN)
        offensive = await post_status(client, token, OFFENSIVE)

        [verdict] = await wait_for_verdicts(app, author.id)

        assert verdict.subject == "status"
        assert verdict.subject_id == int(offensive["id"])
        assert verdict.action == "report"
        assert verdict.score >= 0.9
        assert verdict.reason.startswith("offensive language in the status: score ")
        filed = await report(app, verdict.report_id)
        assert filed.system
        assert filed.account_id is None
        assert filed.target_account_id == author.id
        assert filed.category == "other"
        assert filed.status_ids == [int(offensive["id"])]
        assert f"score {verdict.score:.2f}" in filed.comment
        assert int(benign["id"]) not in filed.status_ids


async def test_private_and_direct_posts_are_never_scored(
    app_factory: Callable[..., Any],
) -> None:
    async with app_factory(**NO_SPAM) as (app, client):
        author, token = await user_with_token(app, "author")
        private = await post_status(client, token, OFFENSIVE, visibility="private")
        direct = await post_status(client, token, OFFENSIVE + " @author", visibility="direct")
        unlisted = await post_status(client, token, OFFENSIVE, visibility="unlisted")

        # The unlisted one is judged; the jobs of the others, queued first, are done by then.
        [verdict] = await wait_for_verdicts(app, author.id)
        assert verdict.subject_id == int(unlisted["id"])
        assert {int(private["id"]), int(direct["id"])}.isdisjoint(
            {v.subject_id for v in await verdicts(app, author.id)}
        )


async def test_an_edit_that_turns_offensive_is_reported(
    app_factory: Callable[..., Any],
) -> None:
    async with app_factory(**NO_SPAM) as (app, client):
        author, token = await user_with_token(app, "author")
        status = await post_status(client, token, BENIGN)
        edited = await client.put(
            f"/api/v1/statuses/{status['id']}", json={"status": OFFENSIVE}, headers=auth(token)
        )
        assert edited.status_code == 200, edited.text

        [verdict] = await wait_for_verdicts(app, author.id)
        assert verdict.subject_id == int(status["id"])
        assert (await report(app, verdict.report_id)).status_ids == [int(status["id"])]


async def test_an_offensive_bio_is_reported(app_factory: Callable[..., Any]) -> None:
    async with app_factory(**NO_SPAM) as (app, client):
        author, token = await user_with_token(app, "author")
        changed = await client.patch(
            "/api/v1/accounts/update_credentials",
            data={"display_name": "Polite Person", "note": OFFENSIVE},
            headers=auth(token),
        )
        assert changed.status_code == 200, changed.text

        [verdict] = await wait_for_verdicts(app, author.id)
        assert verdict.subject == "profile"
        assert verdict.reason.startswith("offensive language in the display name or bio")
        filed = await report(app, verdict.report_id)
        assert filed.target_account_id == author.id
        assert filed.status_ids == []


async def test_indonesian_insults_are_caught_by_the_word_list(
    app_factory: Callable[..., Any],
) -> None:
    async with app_factory(**NO_SPAM) as (app, client):
        author, token = await user_with_token(app, "author")
        await post_status(client, token, "anjing saya lucu sekali hari ini")  # "my dog is cute"
        insult = await post_status(client, token, "dasar bangsat, kamu goblok")

        [verdict] = await wait_for_verdicts(app, author.id)
        assert verdict.subject_id == int(insult["id"])


class _Queued:
    """What `queue_status` hands its unit of work."""

    def __init__(self) -> None:
        self.jobs: list[tuple[str, dict[str, Any], str | None]] = []

    def enqueue(self, name: str, payload: dict[str, Any], job_id: str | None = None) -> None:
        self.jobs.append((name, payload, job_id))


@pytest.mark.parametrize(
    ("held", "edit", "new_account", "carries_text"),
    [
        (None, False, False, True),  # an established account's post: a score may be all
        (None, False, True, False),  # a new account's: the spam heuristics read the status
        (None, True, True, True),  # an edit runs no spam heuristics
        (HeldReason.SCORING, False, False, False),  # held for its score: settled by a read
    ],
)
def test_the_text_rides_with_the_job_when_a_score_may_be_all_it_needs(
    held: HeldReason | None, edit: bool, new_account: bool, carries_text: bool
) -> None:
    settings = Settings(environment="test")
    status = Status(
        id=7, visibility=int(Visibility.PUBLIC), spoiler_text="cw", text=OFFENSIVE, held_reason=held
    )
    queued = _Queued()
    detection.queue_status(
        queued,  # type: ignore[arg-type]
        settings,
        status,
        edit=edit,
        new_account=new_account,
    )
    [(_name, payload, _job_id)] = queued.jobs
    assert payload.get("text") == (f"cw\n{OFFENSIVE}" if carries_text else None)


async def test_a_benign_queued_text_is_scored_without_reading_the_status(
    app_factory: Callable[..., Any],
) -> None:
    async with app_factory(**NO_SPAM) as (app, client):
        _author, token = await user_with_token(app, "author")
        status_id = int((await post_status(client, token, BENIGN))["id"])
        engines = app.state.engines
        with counting_queries(app) as statements:
            await detection.score_status(engines, status_id, edit=False, queued_text=BENIGN)
        assert statements == []
        with counting_queries(app) as statements:
            await detection.score_status(engines, status_id, edit=False)
        assert statements  # without it, the status is read


async def test_an_offensive_queued_text_is_judged_on_the_status_as_it_is_now(
    app_factory: Callable[..., Any],
) -> None:
    """Queued offensive, edited benign since: no report (and the edit's own job scores the
    new text)."""
    async with app_factory(**NO_SPAM) as (app, client):
        author, token = await user_with_token(app, "author")
        benign_id = int((await post_status(client, token, BENIGN))["id"])
        engines = app.state.engines
        await detection.score_status(engines, benign_id, edit=False, queued_text=OFFENSIVE)
        offensive_id = int((await post_status(client, token, OFFENSIVE))["id"])
        await detection.score_status(engines, offensive_id, edit=False, queued_text=OFFENSIVE)
        found = await wait_for_verdicts(app, author.id)
        assert {v.subject_id for v in found} == {offensive_id}
