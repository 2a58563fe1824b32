"""Which local account a WebFinger resource names, and the documents Mastodon serves for
discovery. Links are built from the configured base URL (LOCAL_DOMAIN), never the request's
Host, so a forged Host cannot point a client elsewhere.

A resource is `acct:user@domain` (the `acct:` prefix optional) or the account's profile or
actor URL (`https://domain/@user`, `https://domain/users/user`), as Mastodon accepts. A
resource of another shape is 400; a name on another domain, an unknown name or a suspended
account is 404. There is no federation yet: the `self` link is the account's ActivityPub id
(`uri` in the Account entity), and Mastodon's remote-follow template is left out because
`/authorize_interaction` does not exist here.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit
from xml.sax.saxutils import quoteattr

from sqlalchemy.ext.asyncio import AsyncSession

from connecthub.accounts import service as accounts
from connecthub.config import Settings
from connecthub.errors import BadRequest, NotFound

WEBFINGER_PATH = "/.well-known/webfinger"
PROFILE_PAGE_REL = "http://webfinger.net/rel/profile-page"
_PROFILE_PATH = re.compile(r"^/(?:@|users/)([^/@]+)/?$")


def host_meta(settings: Settings) -> str:
    """The XRD document whose `lrdd` template tells clients where WebFinger is."""
    template = quoteattr(f"{settings.base_url}{WEBFINGER_PATH}?resource={{uri}}")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">\n'
        f'  <Link rel="lrdd" template={template}/>\n'
        "</XRD>\n"
    )


def _bad(problem: str) -> BadRequest:
    return BadRequest(f"resource: {problem}")


def _username_from_acct(settings: Settings, resource: str) -> str:
    username, at, domain = resource.removeprefix("acct:").rpartition("@")
    if not at or not username or not domain:
        raise _bad("must be acct:user@domain or a profile URL")
    if domain.lower() != settings.local_domain.lower():
        raise NotFound()
    return username


def _username_from_url(settings: Settings, resource: str) -> str:
    url = urlsplit(resource)
    match = _PROFILE_PATH.match(url.path)
    if url.netloc.lower() != settings.local_domain.lower() or match is None:
        raise NotFound()
    return match.group(1)


def username_of(settings: Settings, resource: str | None) -> str:
    """The local username a resource names; 400 for a malformed one, 404 for another host."""
    resource = (resource or "").strip()
    if not resource:
        raise _bad("is required")
    if re.match(r"^https?://", resource, re.IGNORECASE):
        return _username_from_url(settings, resource)
    if "@" not in resource:
        raise _bad("must be acct:user@domain or a profile URL")
    return _username_from_acct(settings, resource)


async def account_jrd(
    session: AsyncSession, settings: Settings, resource: str | None
) -> dict[str, Any]:
    """Mastodon's WebFinger document for the local account `resource` names."""
    account = await accounts.visible_local_account(session, username_of(settings, resource))
    if account is None:
        raise NotFound()
    root = settings.base_url
    profile = f"{root}/@{account.username}"
    actor = f"{root}/users/{account.username}"
    return {
        "subject": f"acct:{account.username}@{settings.local_domain}",
        "aliases": [profile, actor],
        "links": [
            {"rel": PROFILE_PAGE_REL, "type": "text/html", "href": profile},
            {"rel": "self", "type": "application/activity+json", "href": actor},
        ],
    }
