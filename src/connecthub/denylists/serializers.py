"""Mastodon's Admin::IpBlock, Admin::EmailDomainBlock and Admin::CanonicalEmailBlock."""

from __future__ import annotations

from connecthub import entities
from connecthub.core.datetimes import iso
from connecthub.denylists.models import CanonicalEmailBlock, EmailDomainBlock, IpBlock


def ip_block_entity(block: IpBlock) -> entities.AdminIpBlock:
    return {
        "id": str(block.id),
        "ip": block.ip,
        "severity": block.severity,
        "comment": block.comment,
        "created_at": iso(block.created_at),
        "expires_at": iso(block.expires_at),
    }


def email_domain_block_entity(block: EmailDomainBlock) -> entities.AdminEmailDomainBlock:
    # Mastodon's daily history of blocked attempts is not counted here (yet): empty.
    return {
        "id": str(block.id),
        "domain": block.domain,
        "created_at": iso(block.created_at),
        "history": [],
    }


def canonical_email_block_entity(block: CanonicalEmailBlock) -> entities.AdminCanonicalEmailBlock:
    return {"id": str(block.id), "canonical_email_hash": block.canonical_email_hash}
