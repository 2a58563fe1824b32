"""`reports.service.file_system_report`: the report the classifier files, with no reporter,
on statuses of any visibility, its evidence kept."""

from __future__ import annotations

from typing import Any

import pytest

from connecthub.errors import NotFound, ValidationFailed
from tests.reports.support import file_system, stored
from tests.social_factories import post_status, user_with_token


async def test_a_system_report_keeps_its_statuses_whatever_their_visibility(
    app: Any, client: Any
) -> None:
    author, token = await user_with_token(app, "author")
    public = await post_status(client, token, "you are all idiots")
    private = await post_status(client, token, "followers only insult", visibility="private")

    report_id = await file_system(app, author.id, [int(public["id"]), int(private["id"])])

    assert isinstance(report_id, int)
    report, evidence = await stored(app, report_id)
    assert report is not None
    assert report.account_id is None
    assert report.system
    assert report.target_account_id == author.id
    assert report.category == "violation"
    assert report.rule_ids == []
    assert report.status_ids == [int(public["id"]), int(private["id"])]
    assert [row.text for row in evidence] == ["you are all idiots", "followers only insult"]
    assert evidence[1].entity["visibility"] == "private"
    assert evidence[0].entity["content"] == public["content"]


async def test_a_system_report_without_statuses(app: Any) -> None:
    author, _ = await user_with_token(app, "author")
    report_id = await file_system(app, author.id, [], category="spam", comment="")
    report, evidence = await stored(app, report_id)
    assert report is not None
    assert report.category == "spam"
    assert evidence == []


async def test_statuses_of_another_account_or_unknown_ones_are_refused(
    app: Any, client: Any
) -> None:
    author, _ = await user_with_token(app, "author")
    _other, other_token = await user_with_token(app, "other")
    theirs = await post_status(client, other_token, "not the author's")

    with pytest.raises(NotFound):
        await file_system(app, author.id, [int(theirs["id"])])
    with pytest.raises(NotFound):
        await file_system(app, author.id, [123456789])
    with pytest.raises(NotFound):
        await file_system(app, 987654321, [])
    with pytest.raises(ValidationFailed) as refused:
        await file_system(app, author.id, [], category="rude")
    assert refused.value.field == "category"
    with pytest.raises(ValidationFailed):
        await file_system(app, author.id, [], comment="x" * 1001)
