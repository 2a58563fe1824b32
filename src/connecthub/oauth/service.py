"""OAuth 2.0 as Mastodon implements it: app registration, authorization codes with PKCE,
the token grants, revocation, and the user's authorised apps and sessions.

Every secret (client secret, code, access and refresh token) is random, shown once and
stored as a SHA-256 hash. See docs/adr/0004-token-format.md for when refresh tokens are
issued.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy.ext.asyncio import AsyncSession

from connecthub.accounts import sign_in
from connecthub.accounts.models import Account, OAuthApplication, OAuthGrant, OAuthToken
from connecthub.clock import utcnow
from connecthub.errors import NotFound, OAuthError, ValidationFailed
from connecthub.ids import new_id
from connecthub.infra.uow import UnitOfWork
from connecthub.oauth import repository as repo
from connecthub.oauth import tokens
from connecthub.oauth.scopes import is_subset, parse_scopes

OOB = "urn:ietf:wg:oauth:2.0:oob"
CODE_LIFETIME = timedelta(minutes=10)
# Access tokens that come with a refresh token expire; see docs/adr/0004-token-format.md.
REFRESHABLE_ACCESS_SECONDS = 2 * 60 * 60
MAX_REDIRECT_URIS = 20
_PKCE_VALUE = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")

# Redirect URIs: schemes that run code or stay inside the browser are refused; the web's
# own schemes need a host (a browser reads `http:/cb` as `http://cb/`); any other scheme
# is an app's own (`myapp://callback`, RFC 8252's `com.example.app:/cb`), as Mastodon.
_REFUSED_SCHEMES = frozenset(
    {"javascript", "data", "vbscript", "file", "blob", "filesystem", "about"}
)
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443, "ftp": 21}
# RFC 3986's characters only: no spaces, quotes, backslashes, non-ASCII (use xn--).
_URI_CHARACTERS = re.compile(r"^[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+$")
_HOST_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


# --- applications -------------------------------------------------------------------


def _valid_host(host: str) -> bool:
    """A DNS name or IPv4 address in ASCII (IDNA), or an IPv6 address."""
    if ":" in host:
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            return False
        return True
    labels = host.split(".")
    return len(host) <= 253 and all(_HOST_LABEL.match(label) for label in labels)


def redirect_origin(uri: str) -> str:
    """Where a redirect to `uri` lands, as a CSP source: `scheme://host[:port]` for the
    web's schemes (lower case, ASCII, default port left out), `scheme:` for an app's own
    scheme (browsers do not all read a host in those). Raises ValueError saying what is
    wrong: this is the one check of a redirect URI, at registration and before use."""
    if len(uri) > 2000:
        raise ValueError("is too long (at most 2000 characters)")
    if not _URI_CHARACTERS.match(uri):
        raise ValueError("must be an ASCII URI (an international domain in its xn-- form)")
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError:
        raise ValueError("has an invalid host or port") from None
    scheme = parts.scheme
    if not scheme or not (parts.netloc or parts.path.strip("/")):
        raise ValueError("is not an absolute URI")
    if scheme in _REFUSED_SCHEMES:
        raise ValueError(f"uses the {scheme}: scheme, which is not allowed")
    if "#" in uri:
        raise ValueError("must not contain a fragment")
    if scheme not in _DEFAULT_PORTS:
        return f"{scheme}:"  # the app's own: its host is its business, not the CSP's
    host = parts.hostname or ""
    if not _valid_host(host):
        raise ValueError("needs a valid host")
    shown = f"[{host}]" if ":" in host else host
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        shown += f":{port}"
    return f"{scheme}://{shown}"


def parse_redirect_uris(value: str | Sequence[str] | None) -> list[str]:
    """Newline/space separated or a list; each an absolute URI (`redirect_origin`), or
    the out-of-band URN. Kept exactly as sent: clients send them back to compare."""
    items = value.split() if isinstance(value, str) else [str(v).strip() for v in value or []]
    uris = list(dict.fromkeys(item for item in items if item))
    if not uris:
        raise ValidationFailed("redirect_uris", "is required")
    if len(uris) > MAX_REDIRECT_URIS:
        raise ValidationFailed("redirect_uris", f"at most {MAX_REDIRECT_URIS} are allowed")
    for uri in uris:
        if uri == OOB:
            continue
        try:
            redirect_origin(uri)
        except ValueError as exc:
            raise ValidationFailed("redirect_uris", f"{uri!r} {exc}") from None
    return uris


def ordered_scopes(value: str | None, field: str = "scopes") -> list[str]:
    """Known scopes, duplicates dropped, in the order given (Mastodon echoes that order)."""
    try:
        parse_scopes(value)
    except OAuthError as exc:
        raise ValidationFailed(field, exc.message) from None
    return list(dict.fromkeys((value or "read").replace("+", " ").split()))


@dataclass(frozen=True)
class RegisteredApp:
    app: OAuthApplication
    client_secret: str


async def register_app(
    session: AsyncSession,
    *,
    name: str | None,
    redirect_uris: str | Sequence[str] | None,
    scopes: str | None,
    website: str | None,
) -> RegisteredApp:
    name = (name or "").strip()
    if not name:
        raise ValidationFailed("client_name", "is required")
    if len(name) > 60:
        raise ValidationFailed("client_name", "is too long (at most 60 characters)")
    website = (website or "").strip() or None
    if website is not None:
        parts = urlsplit(website)
        if len(website) > 2000 or parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValidationFailed("website", "must be an http(s) URL")
    secret = tokens.generate_secret()
    app = OAuthApplication(
        id=new_id(),
        name=name,
        website=website,
        redirect_uris=parse_redirect_uris(redirect_uris),
        scopes=" ".join(ordered_scopes(scopes)),
        client_id=tokens.generate_secret(),
        client_secret_hash=tokens.hash_secret(secret),
    )
    await repo.add(session, app)
    return RegisteredApp(app=app, client_secret=secret)


async def application_for_token(
    session: AsyncSession, application_id: int | None
) -> OAuthApplication:
    app = await repo.app_by_id(session, application_id) if application_id else None
    if app is None:
        raise NotFound("This token belongs to no application")
    return app


def _invalid_client() -> OAuthError:
    error = OAuthError(
        "invalid_client",
        "Client authentication failed due to unknown client, no client authentication "
        "included, or unsupported authentication method.",
        status_code=401,
    )
    error.headers["WWW-Authenticate"] = 'Basic realm="ConnectHub"'
    return error


async def authenticate_client(
    session: AsyncSession, client_id: str | None, client_secret: str | None
) -> OAuthApplication:
    app = await repo.app_by_client_id(session, client_id) if client_id else None
    expected = app.client_secret_hash if app else tokens.hash_secret("")
    offered = tokens.hash_secret(client_secret or "")
    # Compare even for unknown clients, so timing does not tell which client ids exist.
    if not hmac.compare_digest(expected, offered) or app is None or not client_secret:
        raise _invalid_client()
    return app


# --- authorization requests -----------------------------------------------------------


class AuthorizationPageError(Exception):
    """A request we must not redirect back from (unknown client, unregistered URI)."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class AuthorizationRedirectError(Exception):
    """An RFC 6749 §4.1.2.1 error, sent to the (verified) redirect URI."""

    def __init__(self, redirect_uri: str, state: str | None, code: str, description: str):
        self.redirect_uri = redirect_uri
        self.state = state
        self.code = code
        self.description = description
        super().__init__(description)

    def location(self) -> str:
        return redirect_location(
            self.redirect_uri,
            {"error": self.code, "error_description": self.description, "state": self.state},
        )


@dataclass(frozen=True)
class AuthorizationRequest:
    """What the client asked for, checked; carried signed through the consent form."""

    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    state: str | None
    code_challenge: str | None
    code_challenge_method: str | None

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "scopes": list(self.scopes)}

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> AuthorizationRequest:
        def text(key: str) -> str | None:
            value = data.get(key)
            return value if isinstance(value, str) else None

        scopes = data.get("scopes")
        return cls(
            client_id=text("client_id") or "",
            redirect_uri=text("redirect_uri") or "",
            scopes=tuple(s for s in scopes if isinstance(s, str))
            if isinstance(scopes, list)
            else (),
            state=text("state"),
            code_challenge=text("code_challenge"),
            code_challenge_method=text("code_challenge_method"),
        )


async def client_and_redirect(
    session: AsyncSession, client_id: str | None, redirect_uri: str | None
) -> tuple[OAuthApplication, str]:
    """The app and the exact registered redirect URI; never trusts an unregistered one,
    nor one registered before redirect URIs were checked that fails the check now."""
    app = await repo.app_by_client_id(session, client_id) if client_id else None
    if app is None:
        raise AuthorizationPageError("The application is unknown (client_id is not registered).")
    if not redirect_uri:
        if len(app.redirect_uris) != 1:
            raise AuthorizationPageError("The redirect_uri parameter is required.")
        redirect_uri = app.redirect_uris[0]
    if redirect_uri not in app.redirect_uris:
        raise AuthorizationPageError(
            "The redirect URI does not match any URI registered for this application."
        )
    if redirect_uri != OOB:
        try:
            redirect_origin(redirect_uri)
        except ValueError as exc:
            raise AuthorizationPageError(
                f"The application's redirect URI {exc}; it must be registered again."
            ) from None
    return app, redirect_uri


async def check_authorization_request(
    session: AsyncSession, params: Mapping[str, str]
) -> tuple[OAuthApplication, AuthorizationRequest]:
    app, redirect_uri = await client_and_redirect(
        session, params.get("client_id"), params.get("redirect_uri")
    )
    state = params.get("state") or None

    def refuse(code: str, description: str) -> AuthorizationRedirectError:
        return AuthorizationRedirectError(redirect_uri, state, code, description)

    if params.get("response_type") != "code":
        raise refuse("unsupported_response_type", "Only response_type=code is supported.")
    try:
        requested = parse_scopes(params.get("scope") or params.get("scopes"))
    except OAuthError as exc:
        raise refuse("invalid_scope", exc.message) from None
    if not is_subset(requested, frozenset(app.scopes.split())):
        raise refuse("invalid_scope", "The requested scope exceeds the application's scopes.")
    challenge = params.get("code_challenge") or None
    method = params.get("code_challenge_method") or None
    if method is not None and method != "S256":
        raise refuse("invalid_request", "code_challenge_method must be S256 (plain is refused).")
    if challenge is not None:
        if method is None:
            raise refuse("invalid_request", "code_challenge_method=S256 is required.")
        if not _PKCE_VALUE.match(challenge):
            raise refuse("invalid_request", "code_challenge is not a valid S256 challenge.")
    elif method is not None:
        raise refuse("invalid_request", "code_challenge is required with code_challenge_method.")
    raw_scope = (params.get("scope") or params.get("scopes") or "read").replace("+", " ")
    return app, AuthorizationRequest(
        client_id=app.client_id,
        redirect_uri=redirect_uri,
        scopes=tuple(dict.fromkeys(raw_scope.split())),
        state=state,
        code_challenge=challenge,
        code_challenge_method=method,
    )


def redirect_location(redirect_uri: str, params: Mapping[str, str | None]) -> str:
    """`redirect_uri` with `params` added to its query (keeping any it already has)."""
    parts = urlsplit(redirect_uri)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query += [(key, value) for key, value in params.items() if value is not None]
    return urlunsplit(parts._replace(query=urlencode(query)))


async def sign_in_for_authorization(
    uow: UnitOfWork, email: str, password: str, otp_code: str | None
) -> Account:
    """The one credential check, behind the per-e-mail sign-in limiter."""
    _user, account = await sign_in.attempt_sign_in(
        uow.engines,
        uow.session,
        email=email,
        password=password,
        otp_code=otp_code,
        ip=uow.client_ip,
    )
    return account


async def create_grant(
    session: AsyncSession, app: OAuthApplication, request: AuthorizationRequest, account_id: int
) -> str:
    """A single-use authorization code, valid for ten minutes."""
    code = tokens.generate_secret()
    grant = OAuthGrant(
        id=new_id(),
        code_hash=tokens.hash_secret(code),
        application_id=app.id,
        account_id=account_id,
        redirect_uri=request.redirect_uri,
        scopes=" ".join(request.scopes),
        code_challenge=request.code_challenge,
        code_challenge_method=request.code_challenge_method,
        expires_at=utcnow() + CODE_LIFETIME,
    )
    await repo.add(session, grant)
    return code


# --- token grants -------------------------------------------------------------------


class GrantReplayed(OAuthError):
    """A used code or a rotated refresh token came back: the tokens it produced are
    revoked, and that revocation must be committed even though the request fails."""

    def __init__(self, description: str) -> None:
        super().__init__("invalid_grant", description)


@dataclass(frozen=True)
class ClientContext:
    """Where a token request comes from, kept on the token for the sessions list."""

    ip: str | None
    user_agent: str | None


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _requested_scopes(value: str | None, allowed: str, default: str = "read") -> frozenset[str]:
    requested = parse_scopes(value, default=default)
    if not is_subset(requested, frozenset(allowed.split())):
        raise OAuthError("invalid_scope", "The requested scope exceeds the granted scopes.")
    return requested


async def _issue(
    uow: UnitOfWork,
    app: OAuthApplication,
    *,
    account_id: int | None,
    scopes: frozenset[str],
    refreshable: bool,
    family_id: int | None,
    client: ClientContext,
) -> tokens.IssuedToken:
    issued = await tokens.issue_token(
        uow.session,
        account_id=account_id,
        application_id=app.id,
        scopes=scopes,
        expires_in=REFRESHABLE_ACCESS_SECONDS if refreshable else None,
        with_refresh=refreshable,
        family_id=family_id,
    )
    issued.row.last_used_ip = client.ip
    issued.row.user_agent = (client.user_agent or "")[:512] or None
    return issued


def pkce_matches(verifier: str, challenge: str) -> bool:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    return hmac.compare_digest(computed, challenge)


async def _replayed_code(uow: UnitOfWork, grant: OAuthGrant) -> None:
    """RFC 6749 §4.1.2: a code used twice revokes the tokens it produced."""
    await tokens.revoke_tokens(uow, await repo.live_tokens(uow.session, family_id=grant.id))
    raise GrantReplayed("The authorization code was already used; its tokens are revoked.")


async def exchange_code(
    uow: UnitOfWork,
    app: OAuthApplication,
    params: Mapping[str, str],
    *,
    refreshable: bool,
    client: ClientContext,
) -> tokens.IssuedToken:
    code = params.get("code")
    if not code:
        raise OAuthError("invalid_request", "The code parameter is required.")
    grant = await repo.grant_by_code_hash(uow.session, tokens.hash_secret(code))
    invalid = OAuthError(
        "invalid_grant",
        "The authorization code is invalid, expired, revoked, does not match the redirect "
        "URI used in the authorization request, or was issued to another client.",
    )
    if grant is None or grant.application_id != app.id:
        raise invalid
    if grant.used_at is not None:
        await _replayed_code(uow, grant)
    if _aware(grant.expires_at) <= utcnow() or params.get("redirect_uri") != grant.redirect_uri:
        raise invalid
    verifier = params.get("code_verifier")
    if grant.code_challenge is None:
        if verifier:
            raise OAuthError("invalid_grant", "code_verifier given but no code_challenge was.")
    elif not verifier or not _PKCE_VALUE.match(verifier):
        raise OAuthError("invalid_grant", "A valid code_verifier is required (PKCE).")
    elif not pkce_matches(verifier, grant.code_challenge):
        raise OAuthError("invalid_grant", "The code_verifier does not match the code_challenge.")
    if not await repo.claim_grant(uow.session, grant.id, utcnow()):
        await _replayed_code(uow, grant)  # lost a race with another redemption
    return await _issue(
        uow,
        app,
        account_id=grant.account_id,
        scopes=frozenset(grant.scopes.split()),
        refreshable=refreshable,
        family_id=grant.id,  # ties the tokens to their code, for the replay rule above
        client=client,
    )


async def client_credentials(
    uow: UnitOfWork, app: OAuthApplication, params: Mapping[str, str], *, client: ClientContext
) -> tokens.IssuedToken:
    scopes = _requested_scopes(params.get("scope"), app.scopes)
    return await _issue(
        uow, app, account_id=None, scopes=scopes, refreshable=False, family_id=None, client=client
    )


async def refresh(
    uow: UnitOfWork, app: OAuthApplication, params: Mapping[str, str], *, client: ClientContext
) -> tokens.IssuedToken:
    raw = params.get("refresh_token")
    if not raw:
        raise OAuthError("invalid_request", "The refresh_token parameter is required.")
    old = await repo.token_by_refresh_hash(uow.session, tokens.hash_secret(raw))
    if old is None or old.application_id != app.id:
        raise OAuthError("invalid_grant", "The refresh token is invalid.")
    if old.revoked_at is not None and old.refreshed_at is None:
        raise OAuthError("invalid_grant", "The refresh token was revoked.")
    if old.revoked_at is not None or not await repo.claim_refresh(uow.session, old.id, utcnow()):
        # A rotated refresh token came back: someone holds a copy. Kill the family.
        await tokens.revoke_tokens(
            uow, await repo.live_tokens(uow.session, family_id=old.family_id)
        )
        raise GrantReplayed("The refresh token was already used; its whole family is revoked.")
    await _forget_after_commit(uow, [old])
    scopes = _requested_scopes(params.get("scope"), old.scopes, default=old.scopes)
    return await _issue(
        uow,
        app,
        account_id=old.account_id,
        scopes=scopes,
        refreshable=True,
        family_id=old.family_id,
        client=client,
    )


async def _forget_after_commit(uow: UnitOfWork, rows: Sequence[OAuthToken]) -> None:
    for row in rows:
        uow.after_commit(
            functools.partial(
                tokens.forget_tokens, uow.engines, [row.token_hash], row.account_id, [row.id]
            )
        )


SECOND_FACTOR_HINT = (
    "One-time code required: two-factor authentication is enabled for this account. "
    "Send the code from your authenticator app (or a recovery code) as otp_attempt."
)


async def password_grant(
    uow: UnitOfWork,
    app: OAuthApplication,
    params: Mapping[str, str],
    *,
    refreshable: bool,
    client: ClientContext,
) -> tokens.IssuedToken:
    email = params.get("username") or ""
    password = params.get("password") or ""
    if not email or not password:
        raise OAuthError(
            "invalid_request", "username (the e-mail address) and password are required."
        )
    scopes = _requested_scopes(params.get("scope"), app.scopes)
    otp = params.get("otp_attempt") or params.get("otp") or None
    try:
        _user, account = await sign_in.attempt_sign_in(
            uow.engines,
            uow.session,
            email=email,
            password=password,
            otp_code=otp,
            ip=uow.client_ip,
        )
    except sign_in.SecondFactorRequired:
        raise OAuthError("invalid_grant", SECOND_FACTOR_HINT) from None
    except sign_in.SignInError as exc:
        raise OAuthError("invalid_grant", exc.message) from None
    return await _issue(
        uow,
        app,
        account_id=account.id,
        scopes=scopes,
        refreshable=refreshable,
        family_id=None,
        client=client,
    )


# --- revocation, apps and sessions --------------------------------------------------


async def revoke(uow: UnitOfWork, app: OAuthApplication, raw_token: str) -> None:
    """RFC 7009: revoke the token if it is this client's; say nothing either way."""
    row = await repo.token_by_secret_hash(uow.session, tokens.hash_secret(raw_token))
    if row is not None and row.application_id == app.id:
        await tokens.revoke_tokens(uow, [row])


async def live_sessions(
    session: AsyncSession, account_id: int
) -> Sequence[tuple[OAuthToken, OAuthApplication | None]]:
    return await repo.live_sessions(session, account_id)


@dataclass(frozen=True)
class AuthorizedAppSummary:
    app: OAuthApplication
    scopes: list[str]
    first_created_at: datetime
    last_created_at: datetime
    sessions: int


async def authorized_apps(session: AsyncSession, account_id: int) -> list[AuthorizedAppSummary]:
    grouped: dict[int, list[OAuthToken]] = {}
    apps: dict[int, OAuthApplication] = {}
    for token, app in await repo.live_sessions(session, account_id):
        if app is None:
            continue
        apps[app.id] = app
        grouped.setdefault(app.id, []).append(token)
    summaries = []
    for app_id, rows in grouped.items():
        scopes = list(dict.fromkeys(scope for row in rows for scope in row.scopes.split()))
        created = [_aware(row.created_at) for row in rows]
        summaries.append(
            AuthorizedAppSummary(apps[app_id], scopes, min(created), max(created), len(rows))
        )
    return sorted(summaries, key=lambda item: item.last_created_at, reverse=True)


async def revoke_app(uow: UnitOfWork, account_id: int, app_id: int) -> None:
    revoked = await tokens.revoke_account_tokens(uow, account_id, application_id=app_id)
    if revoked == 0:
        raise NotFound()
    await repo.delete_pending_grants(uow.session, account_id, app_id)


async def revoke_session(uow: UnitOfWork, account_id: int, token_id: int) -> None:
    rows = await repo.live_tokens(uow.session, account_id=account_id)
    chosen = [row for row in rows if row.id == token_id]
    if not chosen:
        raise NotFound()
    await tokens.revoke_tokens(uow, chosen)
