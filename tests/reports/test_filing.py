"""`POST /api/v1/reports` as Mastodon: the Report entity, the statuses a reporter may name
(the target's, and only those they can read), categories and rules, the comment's limit,
the write:reports scope."""

from __future__ import annotations

from typing import Any

from tests.factories import create_token
from tests.reports.support import filed, report
from tests.social_factories import follow, post_status, user_with_token


async def test_a_report_answers_the_report_entity(app: Any, client: Any) -> None:
    _reporter, token = await user_with_token(app, "reporter")
    target, target_token = await user_with_token(app, "target")
    status = await post_status(client, target_token, "buy cheap pills")

    answer = await filed(
        client, token, target.id, status_ids=[status["id"]], comment="spam!", forward=True
    )

    assert answer["action_taken"] is False
    assert answer["action_taken_at"] is None
    assert answer["category"] == "other"
    assert answer["comment"] == "spam!"
    assert answer["forwarded"] is False  # no federation: nothing is forwarded
    assert answer["status_ids"] == [status["id"]]
    assert answer["rule_ids"] == []
    assert answer["target_account"]["id"] == str(target.id)
    assert answer["target_account"]["username"] == "target"


async def test_rules_make_a_violation_and_must_exist(app: Any, client: Any) -> None:
    _reporter, token = await user_with_token(app, "reporter")
    target, _ = await user_with_token(app, "target")

    answer = await filed(client, token, target.id, rule_ids=["2", "3"])
    assert answer["category"] == "violation"
    assert answer["rule_ids"] == ["2", "3"]
    # Form-encoded, as Mastodon's web client sends it.
    form = await client.post(
        "/api/v1/reports",
        data={"account_id": str(target.id), "category": "violation", "rule_ids[]": ["1"]},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert form.status_code == 200, form.text
    assert form.json()["rule_ids"] == ["1"]
    spam = await filed(client, token, target.id, category="spam", rule_ids=[])
    assert spam["category"] == "spam"

    for fields, field in (
        ({"rule_ids": ["4"]}, "rule_ids"),
        ({"category": "violation"}, "rule_ids"),
        ({"category": "rude"}, "category"),
        ({"rule_ids": ["one"]}, "rule_ids"),
        ({"comment": "x" * 1001}, "comment"),
        ({"status_ids": ["abc"]}, "status_ids"),
        ({"status_ids": [str(n) for n in range(1, 102)]}, "status_ids"),
    ):
        refused = await report(client, token, target.id, **fields)
        assert refused.status_code == 422, (fields, refused.text)
        assert field in refused.json()["error"]
    assert (await report(client, token, target.id, comment="x" * 1000)).status_code == 200


async def test_only_statuses_of_the_target_the_reporter_can_read(app: Any, client: Any) -> None:
    reporter, token = await user_with_token(app, "reporter")
    target, target_token = await user_with_token(app, "target")
    _other, other_token = await user_with_token(app, "other")
    private = await post_status(client, target_token, "for followers", visibility="private")
    direct = await post_status(client, target_token, "just me", visibility="direct")
    theirs = await post_status(client, other_token, "someone else's")

    for status_id in (private["id"], direct["id"], theirs["id"], "99999999"):
        refused = await report(client, token, target.id, status_ids=[status_id])
        assert refused.status_code == 404, refused.text
        assert refused.json() == {"error": "Record not found"}

    await follow(app, reporter.id, target.id)
    answer = await filed(client, token, target.id, status_ids=[private["id"]])
    assert answer["status_ids"] == [private["id"]]


async def test_bad_targets_and_missing_scope(app: Any, client: Any) -> None:
    reporter, token = await user_with_token(app, "reporter")
    target, _ = await user_with_token(app, "target")

    missing = await client.post(
        "/api/v1/reports", json={}, headers={"Authorization": f"Bearer {token}"}
    )
    assert missing.status_code == 422
    assert "account_id" in missing.json()["error"]
    assert (await report(client, token, 99999999)).status_code == 404
    assert (await report(client, token, "abc")).status_code == 422
    myself = await report(client, token, reporter.id)
    assert myself.status_code == 422

    read_only = await create_token(app, reporter.id, scopes=frozenset({"read"}))
    assert (await report(client, read_only, target.id)).status_code == 403
    scoped = await create_token(app, reporter.id, scopes=frozenset({"write:reports"}))
    assert (await report(client, scoped, target.id)).status_code == 200
    anonymous = await client.post("/api/v1/reports", json={"account_id": str(target.id)})
    assert anonymous.status_code == 401
