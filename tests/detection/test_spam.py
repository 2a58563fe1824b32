"""Spam heuristics for new accounts, on both engines: bursts of links, mentions, the same
text, follows and sign-ups from one address range trip, each decision names its reason and
files a spam report; `SPAM_ACTION` may also rate-limit posting or hold the login."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select, update

from connecthub.accounts.models import Account, User
from connecthub.clock import utcnow
from connecthub.detection.models import DetectionVerdict
from tests.accounts.support import api_sign_up
from tests.detection.support import eventually, reasons, report, verdicts, wait_for_verdicts
from tests.social_factories import auth, post_status, user_with_token

# The model out of the way: these tests are about the heuristics.
NO_MODEL = {"detection_report_threshold": 1.0}


async def test_a_link_burst_trips_and_names_its_reason(app_factory: Callable[..., Any]) -> None:
    async with app_factory(spam_links_limit=4, **NO_MODEL) as (app, client):
        spammer, token = await user_with_token(app, "spammer")
        await post_status(client, token, "deals https://a.example/1 https://a.example/2")
        last = await post_status(client, token, "more https://a.example/3 https://a.example/4")

        [verdict] = await wait_for_verdicts(app, spammer.id)
        assert verdict.subject == "account"
        assert verdict.action == "report"
        assert verdict.reason.startswith("spam heuristic links: 4 links posted within 3600 s")
        assert "(limit 4)" in verdict.reason
        filed = await report(app, verdict.report_id)
        assert filed.category == "spam"
        assert filed.status_ids == [int(last["id"])]
        assert verdict.reason in filed.comment


async def test_the_same_text_posted_again_and_again_trips_once_per_window(
    app_factory: Callable[..., Any],
) -> None:
    async with app_factory(spam_repeats_limit=3, spam_mentions_limit=2, **NO_MODEL) as (
        app,
        client,
    ):
        spammer, token = await user_with_token(app, "spammer")
        for text in ("Buy now!", "buy   NOW!", "Buy now!", "Buy now!"):
            await post_status(client, token, text)
        # Queued last, tripping on its own: once it is decided the posts before it are too.
        await post_status(client, token, "something else @someone @nobody")

        found = await wait_for_verdicts(app, spammer.id, count=2)
        repeats = [r for r in reasons(found) if r.startswith("spam heuristic repeats: ")]
        assert len(repeats) == 1
        assert "posts of the same text" in repeats[0]


async def test_old_accounts_are_not_judged_by_the_heuristics(
    app_factory: Callable[..., Any],
) -> None:
    async with app_factory(spam_links_limit=1, **NO_MODEL) as (app, client):
        veteran, token = await user_with_token(app, "veteran")
        async with app.state.engines.db.transaction() as session:
            await session.execute(
                update(Account)
                .where(Account.id == veteran.id)
                .values(created_at=utcnow() - timedelta(days=30))
            )
        await post_status(client, token, "https://a.example/1 https://a.example/2")
        newcomer, other = await user_with_token(app, "newcomer")
        await post_status(client, other, "https://a.example/3 https://a.example/4")

        await wait_for_verdicts(app, newcomer.id)
        assert await verdicts(app, veteran.id) == []


async def test_a_follow_burst_trips(app_factory: Callable[..., Any]) -> None:
    async with app_factory(spam_follows_limit=3, **NO_MODEL) as (app, client):
        spammer, token = await user_with_token(app, "spammer")
        for name in ("a1", "a2", "a3"):
            target, _ = await user_with_token(app, name)
            followed = await client.post(
                f"/api/v1/accounts/{target.id}/follow", headers=auth(token)
            )
            assert followed.status_code == 200, followed.text

        [verdict] = await wait_for_verdicts(app, spammer.id)
        assert verdict.reason.startswith("spam heuristic follows: 3 follows within")
        assert (await report(app, verdict.report_id)).category == "spam"


async def test_sign_ups_from_one_range_trip(app_factory: Callable[..., Any]) -> None:
    async with app_factory(spam_sign_ups_per_range_limit=2, peer="203.0.113.7", **NO_MODEL) as (
        app,
        client,
    ):
        first = await api_sign_up(app, client, "first")
        second = await api_sign_up(app, client, "second")
        assert first.status_code == 200, first.text
        assert second.status_code == 200, second.text

        async with app.state.engines.db.session() as session:
            found = list(await session.scalars(select(DetectionVerdict)))
        [verdict] = found
        assert verdict.reason.startswith(
            "spam heuristic sign_ups: 2 sign-ups from 203.0.113.0/24 within"
        )
        filed = await report(app, verdict.report_id)
        assert filed.category == "spam"
        assert filed.target_account_id == verdict.account_id


async def test_a_rate_limited_account_cannot_post_and_is_told_why(
    app_factory: Callable[..., Any],
) -> None:
    async with app_factory(spam_mentions_limit=3, spam_action="rate_limit", **NO_MODEL) as (
        app,
        client,
    ):
        spammer, token = await user_with_token(app, "spammer")
        await post_status(client, token, "hey @a @b @c look")
        await wait_for_verdicts(app, spammer.id)

        # The limit is set right after the decision's commit: the next post meets it.
        async def refused() -> httpx.Response | None:
            answer = await client.post(
                "/api/v1/statuses", json={"status": "again"}, headers=auth(token)
            )
            return answer if answer.status_code == 429 else None

        answer = await eventually(refused)
        assert answer.json()["error"].startswith(
            "Posting is limited for now: spam heuristic mentions: 3 mentions posted"
        )


async def test_a_held_account_waits_for_approval(app_factory: Callable[..., Any]) -> None:
    async with app_factory(spam_repeats_limit=2, spam_action="hold", **NO_MODEL) as (
        app,
        client,
    ):
        spammer, token = await user_with_token(app, "spammer")
        await post_status(client, token, "same")
        await post_status(client, token, "same")
        [verdict] = await wait_for_verdicts(app, spammer.id)
        assert verdict.action == "hold"

        # Signed out everywhere right after the decision's commit (tokens, caches).
        async def locked_out() -> httpx.Response | None:
            answer = await client.get("/api/v1/accounts/verify_credentials", headers=auth(token))
            return answer if answer.status_code in (401, 403) else None

        await eventually(locked_out)
        async with app.state.engines.db.session() as session:
            user = await session.scalar(select(User).where(User.account_id == spammer.id))
        assert user is not None
        assert not user.approved
