"""The denylists' rules: who may change them (the Manage Blocks permission: admins), the
changes themselves (each one audited with its before and after), and the checks that
sign-up and sign-in run.

Sign-up (`check_sign_up`, a sign-up hook: the API, the web form and OpenID Connect alike):
an IP block of severity sign_up_block or no_access refuses it (403), sign_up_requires_approval
leaves the new account pending; an e-mail whose domain (or a parent domain) is blocked, or
whose canonical form is blocked, is refused (422 naming `email`). With EMAIL_DOMAIN_MX_CHECK
the domain's mail exchangers are resolved (mx.py) and a blocked one refuses it too.
Sign-in (`check_sign_in`, a sign-in gate: the OAuth password grant, the authorize page and
the web form): a no_access block refuses it (403). Expired IP blocks count for nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from connecthub.accounts.roles import Permission, has_permission
from connecthub.accounts.sign_in import AccessBlocked
from connecthub.accounts.signup_hooks import Joined
from connecthub.clock import utcnow
from connecthub.config import Settings
from connecthub.core.datetimes import iso
from connecthub.core.pagination import Page
from connecthub.denylists import gate, repository, rules
from connecthub.denylists.models import CanonicalEmailBlock, EmailDomainBlock, IpBlock
from connecthub.denylists.rules import Severity
from connecthub.errors import Forbidden, NotFound, ValidationFailed
from connecthub.ids import MAX_ID
from connecthub.infra.uow import UnitOfWork
from connecthub.ops import audit

AUDIT_EVENT = "denylists.changed"
NOT_ALLOWED = "This action is not allowed"
SIGN_UP_REFUSED = "This action is not allowed"  # Mastodon's words for a blocked sign-up
MAX_COMMENT = 1000


def require_manager(account_id: int, role: str | None, action: str, target: str) -> None:
    """Only roles with Manage Blocks (admins); a refusal is audited."""
    if has_permission(role, Permission.MANAGE_BLOCKS):
        return
    audit.record(
        "denylists.refused",
        actor=audit.account_actor(account_id),
        action=action,
        outcome=audit.Outcome.REFUSED,
        target_type=target,
        reason=NOT_ALLOWED,
    )
    raise Forbidden(NOT_ALLOWED)


def _changed(
    account_id: int, action: str, target: str, block_id: int, before: Any, after: Any
) -> None:
    audit.record(
        AUDIT_EVENT,
        actor=audit.account_actor(account_id),
        action=action,
        outcome=audit.Outcome.DONE,
        target_type=target,
        target_id=block_id,
        before=before,
        after=after,
    )


async def _found(session: AsyncSession, model: Any, block_id: int) -> Any:
    found = await repository.get(session, model, block_id) if 0 < block_id <= MAX_ID else None
    if found is None:
        raise NotFound()
    return found


async def page_of(session: AsyncSession, model: Any, page: Page) -> list[Any]:
    return await repository.page_of(session, model, page)


async def show(session: AsyncSession, model: Any, block_id: int) -> Any:
    return await _found(session, model, block_id)


# --- IP blocks ------------------------------------------------------------------------------


def _ip_state(block: IpBlock) -> dict[str, Any]:
    return {
        "ip": block.ip,
        "severity": block.severity,
        "comment": block.comment,
        "expires_at": iso(block.expires_at),
    }


def severity_of(value: str | None, *, required: bool) -> Severity | None:
    if value is None or value == "":
        if required:
            raise ValidationFailed("severity", "is required")
        return None
    try:
        return Severity(value)
    except ValueError:
        choices = ", ".join(s.value for s in Severity)
        raise ValidationFailed("severity", f"must be one of {choices}") from None


def expiry_of(seconds: int | None, now: datetime) -> datetime | None:
    return None if seconds is None else now + timedelta(seconds=seconds)


async def create_ip_block(
    uow: UnitOfWork,
    account_id: int,
    *,
    ip: str,
    severity: Severity,
    comment: str,
    expires_in: int | None,
) -> IpBlock:
    cidr = str(rules.network(ip))
    if await repository.ip_block_by_ip(uow.session, cidr) is not None:
        raise ValidationFailed("ip", "has already been taken")
    now = utcnow()
    block = IpBlock(
        ip=cidr,
        severity=severity.value,
        comment=comment,
        created_at=now,
        updated_at=now,
        expires_at=expiry_of(expires_in, now),
    )
    uow.session.add(block)
    await uow.session.flush()
    _changed(account_id, "create_ip_block", "IpBlock", block.id, None, _ip_state(block))
    gate.announce(uow)
    return block


async def update_ip_block(
    uow: UnitOfWork,
    account_id: int,
    block_id: int,
    *,
    ip: str | None,
    severity: Severity | None,
    comment: str | None,
    expires_in: int | None,
    expires_given: bool,
) -> IpBlock:
    block: IpBlock = await _found(uow.session, IpBlock, block_id)
    before = _ip_state(block)
    if ip is not None:
        cidr = str(rules.network(ip))
        other = await repository.ip_block_by_ip(uow.session, cidr)
        if other is not None and other.id != block.id:
            raise ValidationFailed("ip", "has already been taken")
        block.ip = cidr
    if severity is not None:
        block.severity = severity.value
    if comment is not None:
        block.comment = comment
    now = utcnow()
    if expires_given:
        block.expires_at = expiry_of(expires_in, now)
    block.updated_at = now
    await uow.session.flush()
    _changed(account_id, "update_ip_block", "IpBlock", block.id, before, _ip_state(block))
    gate.announce(uow)
    return block


async def delete_block(uow: UnitOfWork, account_id: int, model: Any, block_id: int) -> None:
    block = await _found(uow.session, model, block_id)
    kind = model.__name__
    before = _state_of(block)
    await uow.session.delete(block)
    await uow.session.flush()
    _changed(account_id, f"delete_{_snake(kind)}", kind, block_id, before, None)
    if model is IpBlock:
        gate.announce(uow)


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


def _state_of(block: Any) -> dict[str, Any]:
    if isinstance(block, IpBlock):
        return _ip_state(block)
    if isinstance(block, EmailDomainBlock):
        return {"domain": block.domain}
    return {"canonical_email_hash": block.canonical_email_hash}


# --- e-mail blocks --------------------------------------------------------------------------


async def create_email_domain_block(
    uow: UnitOfWork, account_id: int, domain: str
) -> EmailDomainBlock:
    if not domain.strip():
        raise ValidationFailed("domain", "is required")
    name = rules.email_domain(domain)
    if await repository.email_domain_block(uow.session, name) is not None:
        raise ValidationFailed("domain", "has already been taken")
    block = EmailDomainBlock(domain=name, created_at=utcnow())
    uow.session.add(block)
    await uow.session.flush()
    _changed(
        account_id,
        "create_email_domain_block",
        "EmailDomainBlock",
        block.id,
        None,
        _state_of(block),
    )
    return block


async def create_canonical_email_block(
    uow: UnitOfWork, account_id: int, *, email: str | None, digest: str | None
) -> CanonicalEmailBlock:
    if email:
        digest = rules.canonical_email_hash(email)
    elif digest:
        digest = digest.strip().lower()
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise ValidationFailed("canonical_email_hash", "must be a SHA-256 hex digest")
    else:
        raise ValidationFailed("email", "is required (or canonical_email_hash)")
    if await repository.canonical_blocks_for(uow.session, digest):
        raise ValidationFailed("canonical_email_hash", "has already been taken")
    block = CanonicalEmailBlock(canonical_email_hash=digest, created_at=utcnow())
    uow.session.add(block)
    await uow.session.flush()
    kind = "CanonicalEmailBlock"
    _changed(account_id, "create_canonical_email_block", kind, block.id, None, _state_of(block))
    return block


async def canonical_blocks_matching(
    session: AsyncSession, email: str
) -> Sequence[CanonicalEmailBlock]:
    if not email.strip():
        raise ValidationFailed("email", "is required")
    return await repository.canonical_blocks_for(session, rules.canonical_email_hash(email))


# --- the checks -----------------------------------------------------------------------------


async def ip_severity(session: AsyncSession, ip: str | None) -> Severity | None:
    """The strongest live block covering `ip`, if any."""
    if not ip:
        return None
    order = list(Severity)
    found = [
        Severity(block.severity)
        for block in await repository.live_ip_blocks(session, utcnow())
        if rules.contains(block.ip, ip)
    ]
    return max(found, key=order.index) if found else None


async def email_blocked(session: AsyncSession, email: str, *, mx_check: bool) -> bool:
    domain_part = email.strip().rpartition("@")[2]
    try:
        domain = rules.email_domain(domain_part, "email")
    except ValidationFailed:
        return False  # the address itself is checked (and refused) by the sign-up
    candidates = rules.covering_domains(domain)
    if mx_check:
        # The resolver (dnspython, ~25 ms of a process's start) loads with the first check.
        from connecthub.denylists import mx

        for host in await mx.exchangers(domain):
            candidates += rules.covering_domains(host)
    if await repository.email_domain_blocks_among(session, candidates):
        return True
    return bool(await repository.canonical_blocks_for(session, rules.canonical_email_hash(email)))


async def check_sign_up(uow: UnitOfWork, email: str) -> bool:
    """Raises when the sign-up is refused; True when it must wait for approval."""
    severity = await ip_severity(uow.session, uow.client_ip)
    refused = severity in (Severity.SIGN_UP_BLOCK, Severity.NO_ACCESS)
    if refused:
        _refused_sign_up(uow, "ip_block", severity)
        raise Forbidden(SIGN_UP_REFUSED)
    mx_check = uow.engines.settings.email_domain_mx_check
    if await email_blocked(uow.session, email, mx_check=mx_check):
        _refused_sign_up(uow, "email_block", None)
        raise ValidationFailed("email", "is on a blocked e-mail provider")
    return severity is Severity.SIGN_UP_REQUIRES_APPROVAL


def _refused_sign_up(uow: UnitOfWork, reason: str, severity: Severity | None) -> None:
    audit.record(
        "denylists.sign_up_refused",
        actor="anonymous",
        action="sign_up",
        outcome=audit.Outcome.REFUSED,
        reason=reason,
        severity=severity.value if severity else None,
    )


async def check_sign_in(session: AsyncSession, ip: str | None) -> None:
    if await ip_severity(session, ip) is Severity.NO_ACCESS:
        raise AccessBlocked()


async def sign_up_hook(uow: UnitOfWork, _settings: Settings, joined: Joined) -> None:
    """Registered at app start (app.py): runs inside every sign-up's unit of work."""
    if await check_sign_up(uow, joined.user.email):
        joined.user.approved = False
