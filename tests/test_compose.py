"""deploy/compose: the one-host stack validates against the Compose specification, every
ConnectHub container is locked down and configured with real settings, the migration runs
before web and worker, and nginx's limits agree with the app's."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from connecthub.config import Settings

COMPOSE = Path(__file__).resolve().parent.parent / "deploy" / "compose"
BIN = Path(sys.executable).parent
CONNECTHUB_SERVICES = ("migrate", "web", "worker")


def stack() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((COMPOSE / "compose.yaml").read_text())
    return loaded


@pytest.mark.slow
def test_the_stack_validates_against_the_compose_specification() -> None:
    done = subprocess.run(
        [
            str(BIN / "check-jsonschema"),
            "--builtin-schema",
            "vendor.compose-spec",
            str(COMPOSE / "compose.yaml"),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_stack_has_every_part() -> None:
    assert set(stack()["services"]) == {
        "postgres",
        "pgbouncer",
        "redis",
        "seaweedfs",
        "migrate",
        "web",
        "worker",
        "nginx",
    }


def test_connecthub_containers_are_locked_down_and_configured_with_real_settings() -> None:
    services = stack()["services"]
    settings = {name.upper() for name in Settings.model_fields}
    env_file = (COMPOSE / ".env.example").read_text()
    from_env_file = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]*)=", env_file, re.M))
    assert not from_env_file - settings - {"POSTGRES_PASSWORD"}
    for name in CONNECTHUB_SERVICES:
        service = services[name]
        assert service["command"] == [name if name != "web" else "serve"]
        assert service["read_only"] is True
        assert service["cap_drop"] == ["ALL"]
        assert "no-new-privileges:true" in service["security_opt"]
        assert any(mount.startswith("/tmp") for mount in service["tmpfs"])
        assert not set(service["environment"]) - settings
        configured = set(service["environment"]) | from_env_file
        assert {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "METRICS_TOKEN"} <= configured


def test_the_migration_runs_before_web_and_worker() -> None:
    services = stack()["services"]
    for name in ("web", "worker"):
        assert services[name]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }
    assert services["migrate"]["restart"] == "no"
    # Through PgBouncer, as web and worker.
    assert "@pgbouncer:" in services["migrate"]["environment"]["DATABASE_URL"]


def test_nginx_agrees_with_the_app() -> None:
    conf = (COMPOSE / "nginx.conf").read_text()
    (body,) = re.findall(r"client_max_body_size (\d+)m;", conf)
    assert int(body) * 1024 * 1024 == Settings().max_upload_body_bytes
    streaming = conf[conf.index("location /api/v1/streaming") :]
    streaming = streaming[: streaming.index("}")]
    assert "proxy_set_header Upgrade $http_upgrade;" in streaming
    assert "proxy_buffering off;" in streaming
    assert "X-Forwarded-For $proxy_add_x_forwarded_for" in conf
