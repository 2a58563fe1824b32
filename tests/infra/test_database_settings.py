"""The database topology settings (docs/database.md) refuse what cannot work, naming the
variable."""

from __future__ import annotations

import pytest

from connecthub.config import ConfigurationError, load_settings

PG = "postgresql://app@127.0.0.1:6432/connecthub"


def test_a_pooler_or_a_direct_url_needs_postgresql():
    with pytest.raises(ConfigurationError, match="DATABASE_POOLER"):
        load_settings(database_url="sqlite:///x.db", database_pooler="transaction")
    with pytest.raises(ConfigurationError, match="DATABASE_DIRECT_URL"):
        load_settings(database_url="sqlite:///x.db", database_direct_url=PG)
    with pytest.raises(ConfigurationError, match="DATABASE_POOLER: Input should be"):
        load_settings(database_url=PG, database_pooler="session")


def test_read_your_writes_must_outlast_the_lag_bound():
    with pytest.raises(ConfigurationError, match="DATABASE_READ_YOUR_WRITES_SECONDS"):
        load_settings(
            database_url=PG,
            database_replica_max_lag_seconds=30,
            database_read_your_writes_seconds=10,
        )
    settings = load_settings(
        database_url=PG,
        database_pooler="transaction",
        database_direct_url="postgresql://app@127.0.0.1:5432/connecthub",
        database_read_your_writes_seconds=0,
    )
    assert settings.database_pooler == "transaction"
    assert settings.database_direct_url.endswith(":5432/connecthub")
