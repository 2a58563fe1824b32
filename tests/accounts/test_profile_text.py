"""A bio and a field value are rendered by the same plain-text-to-HTML rule as a status:
a link ends before trailing punctuation and carries the same `rel`."""

from __future__ import annotations

from tests.accounts.support import bearer
from tests.factories import create_token, create_user

UPDATE = "/api/v1/accounts/update_credentials"
TEXT = "Read https://example.com/a."
LINK = (
    '<a href="https://example.com/a" target="_blank" rel="nofollow noopener noreferrer">'
    "https://example.com/a</a>"
)


async def test_a_bio_link_stops_before_the_full_stop_and_matches_a_status(app, client):
    account, _ = await create_user(app, "alice")
    token = await create_token(app, account.id, scopes=frozenset({"read", "write"}))
    profile = await client.patch(
        UPDATE,
        data={
            "note": TEXT,
            "fields_attributes[0][name]": "Site",
            "fields_attributes[0][value]": TEXT,
        },
        headers=bearer(token),
    )
    assert profile.status_code == 200, profile.text
    status = await client.post("/api/v1/statuses", data={"status": TEXT}, headers=bearer(token))
    assert status.status_code == 200, status.text

    expected = f"<p>Read {LINK}.</p>"
    assert status.json()["content"] == expected
    assert profile.json()["note"] == expected
    assert profile.json()["fields"][0]["value"] == expected
