"""Who is calling: the token behind a request, as the HTTP layer and services see it."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime

from connecthub.clock import utcnow


@dataclass(frozen=True)
class TokenInfo:
    token_id: int
    account_id: int | None
    application_id: int | None
    scopes: frozenset[str]
    expires_at: datetime | None
    role: str | None = None
    # Why the user may not act yet (unconfirmed e-mail, awaiting approval); None when they may.
    pending: str | None = None

    def to_json(self) -> bytes:
        data = asdict(self)
        data["scopes"] = sorted(self.scopes)
        data["expires_at"] = self.expires_at.isoformat() if self.expires_at else None
        return json.dumps(data).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> TokenInfo:
        data = json.loads(raw)
        expires = data["expires_at"]
        return cls(
            token_id=data["token_id"],
            account_id=data["account_id"],
            application_id=data["application_id"],
            scopes=frozenset(data["scopes"]),
            expires_at=datetime.fromisoformat(expires) if expires else None,
            role=data.get("role"),
            pending=data.get("pending"),
        )

    @property
    def expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= utcnow()
