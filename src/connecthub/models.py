"""Every domain's tables, imported in one place so Alembic sees the whole schema."""

from connecthub.accounts import models as accounts_models
from connecthub.infra.db import Base

__all__ = ["Base", "accounts_models"]
