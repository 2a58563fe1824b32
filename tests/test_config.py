"""Settings come from the environment (or `.env`); a bad value stops the process with one
line naming the variable, no traceback, exit code 2.

`connecthub serve` runs in the test process (tests/cli_runner.py) for the refusals; one test
starts the installed command as a real process."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from connecthub.config import (
    DEFAULT_SECRET,
    ConfigurationError,
    Environment,
    RateLimit,
    Settings,
    load_settings,
)
from tests.cli_runner import CliResult, run_cli
from tests.conftest import TestEnv, connecthub_command, start_server, stop_process
from tests.support import probe

# Variables a developer's shell might carry that would change what these tests see.
OURS = {name.upper() for name in Settings.model_fields}


def clean_environ(**values: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in OURS}
    env.update(values)
    return env


def run_serve(workdir: Path, **values: str) -> CliResult:
    """`connecthub serve` in `workdir` (where `.env` is read), refused before it binds."""
    return run_cli(clean_environ(**values), "serve", cwd=workdir)


def run_serve_process(workdir: Path, **values: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        connecthub_command("serve"),
        cwd=workdir,
        env=clean_environ(**values),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def assert_refused(result: CliResult | subprocess.CompletedProcess[str], variable: str) -> str:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert variable in lines[0]
    return lines[0]


@pytest.mark.parametrize(
    ("values", "variable"),
    [
        ({"PORT": "abc"}, "PORT"),
        ({"PORT": "70000"}, "PORT"),
        ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
        ({"RATE_LIMIT_IP": "oops"}, "RATE_LIMIT_IP"),
        ({"REDIS_URL": "memcached://x"}, "REDIS_URL"),
        ({"TRUSTED_PROXIES": "10.0.0.0/8,not-a-network"}, "TRUSTED_PROXIES"),
        ({"LOG_LEVEL": "loud"}, "LOG_LEVEL"),
        ({"ENVIRONMENT": "staging"}, "ENVIRONMENT"),
        ({"ENVIRONMENT": "production"}, "SECRET_KEY"),
        ({"ENVIRONMENT": "production", "SECRET_KEY": "short"}, "SECRET_KEY"),
        ({"ENVIRONMENT": "production", "SECRET_KEY": DEFAULT_SECRET}, "SECRET_KEY"),
    ],
)
def test_bad_values_stop_serve_with_one_line(
    tmp_path: Path, values: dict[str, str], variable: str
) -> None:
    result = run_serve(tmp_path, **values)
    line = assert_refused(result, variable)
    assert line.startswith("configuration error: ")


def test_the_production_refusal_says_what_to_do(tmp_path: Path) -> None:
    line = assert_refused(run_serve(tmp_path, ENVIRONMENT="production"), "SECRET_KEY")
    assert "production" in line


@pytest.mark.processes
@pytest.mark.timeout(600)
def test_the_installed_command_refuses_in_one_line(tmp_path: Path) -> None:
    """The real `python -m connecthub serve` process: the refusal is its whole output, with
    exit code 2, whether the bad value comes from the environment or from `.env`."""
    line = assert_refused(run_serve_process(tmp_path, ENVIRONMENT="production"), "SECRET_KEY")
    assert line.startswith("configuration error: ")
    (tmp_path / ".env").write_text("PORT=abc\n")
    assert_refused(run_serve_process(tmp_path), "PORT")


def test_several_workers_without_redis_are_refused(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'db.sqlite'}"
    result = run_serve(tmp_path, WEB_CONCURRENCY="2", DATABASE_URL=database)
    assert_refused(result, "WEB_CONCURRENCY")


def test_a_dotenv_file_in_the_working_directory_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("# local settings\nRATE_LIMIT_IP=oops\n")
    assert_refused(run_serve(tmp_path), "RATE_LIMIT_IP")

    # A good value is read too: two workers without Redis are refused before anything starts.
    database = f"sqlite:///{tmp_path / 'db.sqlite'}"
    (tmp_path / ".env").write_text(f"WEB_CONCURRENCY=2\nDATABASE_URL={database}\n")
    assert_refused(run_serve(tmp_path), "WEB_CONCURRENCY")


def test_the_environment_wins_over_dotenv(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("PORT=abc\n")
    database = f"sqlite:///{tmp_path / 'db.sqlite'}"
    # The good PORT from the environment is used, so the next check is the one that fails.
    result = run_serve(tmp_path, PORT="8123", WEB_CONCURRENCY="2", DATABASE_URL=database)
    assert_refused(result, "WEB_CONCURRENCY")


@pytest.fixture
def no_settings_in_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in OURS:
        monkeypatch.delenv(name, raising=False)


@pytest.mark.usefixtures("no_settings_in_environ")
def test_defaults_are_the_embedded_mode() -> None:
    settings = load_settings(_env_file=None)
    assert settings.environment is Environment.DEVELOPMENT
    assert settings.is_embedded
    assert settings.redis_url is None
    assert settings.otel_exporter_otlp_endpoint is None
    assert settings.sentry_dsn is None
    assert settings.behind_tls is False
    assert str(settings.rate_limit_ip) == "300/300"


@pytest.mark.usefixtures("no_settings_in_environ")
def test_values_are_parsed() -> None:
    settings = load_settings(
        _env_file=None,
        rate_limit_ip="10/60",
        trusted_proxies="10.0.0.0/8, 2001:db8::/32",
        redis_url="",
        database_url="postgresql://u@db/connecthub",
        instance_languages="en,id,,fr",
    )
    assert (settings.rate_limit_ip.count, settings.rate_limit_ip.period) == (10, 60)
    assert settings.trusted_proxies == ["10.0.0.0/8", "2001:db8::/32"]
    assert settings.redis_url is None
    assert not settings.is_sqlite
    assert settings.instance_languages == ["en", "id", "fr"]


@pytest.mark.usefixtures("no_settings_in_environ")
def test_errors_name_every_bad_variable_on_one_line() -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_settings(_env_file=None, port="abc", rate_limit_token="1/0")
    message = str(caught.value)
    assert "\n" not in message
    assert "PORT" in message
    assert "RATE_LIMIT_TOKEN" in message


@pytest.mark.usefixtures("no_settings_in_environ")
def test_a_long_secret_is_accepted_in_production() -> None:
    settings = load_settings(_env_file=None, environment="production", secret_key="s" * 48)
    assert settings.environment is Environment.PRODUCTION
    assert settings.password_grant_enabled is False


@pytest.mark.usefixtures("no_settings_in_environ")
@pytest.mark.parametrize("environment", ["production", "development"])
def test_fast_password_hashing_is_refused_outside_tests(environment: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_settings(
            _env_file=None,
            environment=environment,
            secret_key="s" * 48,
            fast_password_hashing_for_tests=True,
        )
    assert "FAST_PASSWORD_HASHING_FOR_TESTS" in str(caught.value)
    assert "ENVIRONMENT=test" in str(caught.value)
    allowed = load_settings(
        _env_file=None, environment="test", fast_password_hashing_for_tests=True
    )
    assert allowed.fast_password_hashing_for_tests


@pytest.mark.usefixtures("no_settings_in_environ")
def test_a_short_metrics_token_is_refused() -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_settings(_env_file=None, metrics_token="guessable")
    assert "METRICS_TOKEN" in str(caught.value)


def test_rate_limit_text() -> None:
    assert str(RateLimit.parse("5/1800")) == "5/1800"
    for bad in ("5", "a/b", "0/10", "5/-1", "1/2/3"):
        with pytest.raises(ValueError, match="count"):
            RateLimit.parse(bad)


@pytest.mark.usefixtures("no_settings_in_environ")
def test_without_local_domain_the_instance_is_this_machine_at_its_port(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert load_settings(_env_file=None).local_domain == "localhost:8000"
    monkeypatch.setenv("PORT", "9000")
    assert load_settings(_env_file=None).local_domain == "localhost:9000"
    monkeypatch.setenv("LOCAL_DOMAIN", "")  # set but empty: as if unset
    assert load_settings(_env_file=None).local_domain == "localhost:9000"
    monkeypatch.setenv("LOCAL_DOMAIN", "social.example")
    assert load_settings(_env_file=None).local_domain == "social.example"


@pytest.mark.processes
def test_serve_on_another_port_emits_links_to_that_port(test_env: TestEnv) -> None:
    """`connecthub serve --port P` without LOCAL_DOMAIN: the server's processes read their
    settings again, and see P as well (links, media URLs and OAuth redirects reach it)."""
    server = start_server(test_env, LOCAL_DOMAIN="")
    try:
        port = server.url.rsplit(":", 1)[1]
        instance = probe.get(f"{server.url}/api/v1/instance", timeout=30).json()
        assert instance["uri"] == f"localhost:{port}"
        metadata = probe.get(f"{server.url}/.well-known/oauth-authorization-server", timeout=30)
        assert metadata.json()["issuer"] == f"http://localhost:{port}/"
    finally:
        stop_process(server.process)
