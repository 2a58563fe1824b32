"""Offensive-language scoring through the API, on both engines: a new or edited public or
unlisted status and a changed profile are scored by a job, and at the threshold a system
report names the score; benign, private and direct posts file nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.detection.support import BENIGN, OFFENSIVE, report, verdicts, wait_for_verdicts
from tests.social_factories import auth, post_status, user_with_token

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
