"""The one entry point: `connecthub serve | worker | migrate | admin …`."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import signal
import sys
import tempfile
from collections.abc import Coroutine
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from connecthub.accounts import passwords
from connecthub.config import ConfigurationError, Settings, get_settings

T = TypeVar("T")

# No locals in tracebacks: they would print passwords and SECRET_KEY to the terminal.
app = typer.Typer(
    help="ConnectHub: a social platform server.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
admin_app = typer.Typer(
    help="Administrative tasks.", no_args_is_help=True, pretty_exceptions_show_locals=False
)
app.add_typer(admin_app, name="admin")


@admin_app.callback()
def _admin_logging() -> None:
    """Every admin command that changes an account writes an audit line (actor `cli`) to
    the structured log on stdout, as the server does."""
    from connecthub.ops.logging import configure_logging

    try:
        settings = get_settings()
    except ConfigurationError:
        return  # the command reports it in one line (and `--help` still works)
    configure_logging(settings.log_level, settings.log_format)


def _settings() -> Settings:
    try:
        settings = get_settings()
    except ConfigurationError as exc:
        typer.echo(f"configuration error: {exc}", err=True)
        raise typer.Exit(2) from None
    passwords.configure(settings)  # admin commands hash passwords too
    return settings


def _program() -> str:
    """How this command was invoked (e.g. `.venv/bin/connecthub`), for copy-paste hints."""
    invoked = sys.argv[0]
    return invoked if invoked.endswith("connecthub") else "connecthub"


def _fail(message: str) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(2)


def _run_on_database(work: Coroutine[Any, Any, T]) -> T:
    """Runs a command's work; a database that cannot be reached, does not exist or refuses
    us is reported in one line naming DATABASE_URL (exit 2), never as a traceback."""
    from sqlalchemy.exc import DBAPIError

    from connecthub.ops.logging import scrub_text

    try:
        return asyncio.run(work)
    except (OSError, DBAPIError) as exc:
        cause = getattr(exc, "orig", None) or exc
        reason = scrub_text(str(cause).strip().splitlines()[0] if str(cause).strip() else "")
        raise _fail(
            f"DATABASE_URL: cannot use the database ({reason or type(cause).__name__})"
        ) from None


def _audit(action: str, account_id: int, username: str, **details: object) -> None:
    """The audit line of an admin command that changed an account (actor `cli`)."""
    from connecthub.ops import audit

    audit.record_cli(action, target_account_id=account_id, target_username=username, **details)


async def _ensure_schema(settings: Settings) -> None:
    from connecthub.infra import migrations

    if settings.is_sqlite:
        await migrations.upgrade(settings)
        return
    current, head = await migrations.current_revision(settings), migrations.head_revision()
    if current != head:
        raise _fail(
            f"The database is at migration {current or 'none'} but this release needs {head}: "
            "run `connecthub migrate` first."
        )


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (PORT).")] = None,
    workers: Annotated[int | None, typer.Option(help="Server processes (WEB_CONCURRENCY).")] = None,
) -> None:
    """Serve the HTTP API and streaming. Embedded mode migrates the database first."""
    settings = _settings()
    host = host or settings.host
    port = port or settings.port
    workers = workers or settings.web_concurrency
    if workers > 1 and settings.redis_url is None:
        raise _fail(
            "WEB_CONCURRENCY: more than one server process needs REDIS_URL, so events, "
            "jobs and rate limits are shared between them."
        )
    _run_on_database(_ensure_schema(settings))
    own_metrics_dir = _prepare_metrics_dir() if workers > 1 else None
    mode = "embedded (SQLite, in-process engines)" if settings.is_embedded else "distributed"
    typer.echo(f"ConnectHub is starting in {mode} mode at http://{host}:{port}")
    if settings.smtp_url is None:
        typer.echo(
            f"No SMTP_URL: accounts are confirmed at sign-up; mail goes to {settings.outbox_dir}"
        )
    typer.echo(
        f"Create the first admin with: {_program()} admin create-user "
        "--username alice --email alice@example.com --role admin"
    )
    try:
        _run_uvicorn(settings, host, port, workers)
    finally:
        if own_metrics_dir is not None:
            shutil.rmtree(own_metrics_dir, ignore_errors=True)


def _prepare_metrics_dir() -> str | None:
    """Several workers share metrics through files (prometheus-client's multiprocess
    mode). Files left by an earlier run would be summed forever, so they are wiped.
    Returns the directory when `serve` made it (and so removes it at exit)."""
    existing = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if existing:
        for stale in Path(existing).glob("*.db"):
            stale.unlink(missing_ok=True)
        return None
    created = tempfile.mkdtemp(prefix="connecthub-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = created
    return created


def _run_uvicorn(settings: Settings, host: str, port: int, workers: int) -> None:
    import uvicorn

    uvicorn.run(
        "connecthub.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",
        http="httptools",
        ws="websockets-sansio",
        # Streaming sends the same event to thousands of sockets: compressing it for each
        # one costs ~40 KiB of zlib state per socket and most of the CPU of a fan-out.
        ws_per_message_deflate=False,
        proxy_headers=False,  # the app trusts X-Forwarded-For only from TRUSTED_PROXIES
        server_header=False,
        access_log=False,
        log_config=None,
        timeout_graceful_shutdown=settings.shutdown_drain_seconds,
    )


@app.command()
def worker(
    concurrency: Annotated[int, typer.Option(help="Jobs run at once.", min=1)] = 4,
) -> None:
    """Run background jobs from the durable queue (distributed mode)."""
    settings = _settings()
    if settings.redis_url is None:
        raise _fail("REDIS_URL: not set; in embedded mode jobs run inside `connecthub serve`.")
    asyncio.run(_run_worker(settings, concurrency))


async def _run_worker(settings: Settings, concurrency: int) -> None:
    from connecthub.infra.engines import Engines
    from connecthub.ops.setup import configure_observability
    from connecthub.tasks import register_all

    configure_observability(settings)
    register_all(settings.task_modules)
    engines = Engines.from_settings(settings)
    await engines.start()
    task = asyncio.create_task(engines.run_jobs(concurrency))
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, task.cancel)
    try:
        await task
    except asyncio.CancelledError:
        pass
    finally:
        await engines.stop()


@app.command()
def migrate() -> None:
    """Apply database migrations (safe to run again, and from several pods at once)."""
    from connecthub.infra import migrations

    settings = _settings()
    revision = _run_on_database(migrations.upgrade(settings))
    typer.echo(f"Database is at migration {revision}.")


@admin_app.command("create-user")
def create_user(
    username: Annotated[str, typer.Option(help="The account's username.")],
    email: Annotated[str, typer.Option(help="Sign-in e-mail address.")],
    password: Annotated[
        str | None, typer.Option(help="Password; a random one is made and printed if omitted.")
    ] = None,
    role: Annotated[str, typer.Option(help="user, moderator or admin.")] = "user",
) -> None:
    """Create a confirmed, approved user (reserved names allowed, for staff)."""
    from connecthub.accounts.models import Role

    settings = _settings()
    try:
        chosen_role = Role(role)
    except ValueError:
        raise _fail("--role: must be one of user, moderator, admin") from None
    generated = password is None
    password = password or secrets.token_urlsafe(12)
    account_id = _run_on_database(_create_user(settings, username, email, password, chosen_role))
    _audit("create_user", account_id, username, role=chosen_role.value)
    typer.echo(f"Created {chosen_role.value} @{username}.")
    if generated:
        typer.echo(f"Password: {password}")


async def _create_user(
    settings: Settings, username: str, email: str, password: str, role: object
) -> int:
    from connecthub.accounts import service
    from connecthub.accounts.models import Role
    from connecthub.accounts.password_policy import check_password
    from connecthub.errors import ConnectHubError
    from connecthub.infra.db import Database

    try:
        # Staff passwords follow the same policy as everyone's.
        check_password(password, personal=(username, email))
    except ConnectHubError as exc:
        raise _fail(exc.message) from None
    await _ensure_schema(settings)
    db = Database(settings)
    try:
        async with db.transaction() as session:
            account, _user = await service.create_user(
                session,
                username=username,
                email=email,
                password=password,
                role=role if isinstance(role, Role) else Role.USER,
                allow_reserved=True,
            )
        return account.id
    except ConnectHubError as exc:
        raise _fail(exc.message) from None
    finally:
        await db.dispose()


@admin_app.command("grant-role")
def grant_role(
    username: Annotated[str, typer.Argument(help="The user's username.")],
    role: Annotated[str, typer.Argument(help="user, moderator or admin.")],
) -> None:
    """Change a user's role."""
    from connecthub.accounts.models import Role

    settings = _settings()
    try:
        chosen_role = Role(role)
    except ValueError:
        raise _fail("ROLE: must be one of user, moderator, admin") from None
    account_id = _run_on_database(_grant_role(settings, username, chosen_role))
    _audit("grant_role", account_id, username, role=chosen_role.value)
    typer.echo(f"@{username} is now {chosen_role.value}.")


async def _grant_role(settings: Settings, username: str, role: object) -> int:
    from connecthub.accounts import service
    from connecthub.accounts.models import Role
    from connecthub.errors import ConnectHubError
    from connecthub.infra.engines import Engines
    from connecthub.oauth import tokens

    engines = Engines.from_settings(settings)
    await engines.start()
    try:
        async with engines.db.transaction() as session:
            user = await service.grant_role(
                session, username, role if isinstance(role, Role) else Role.USER
            )
        # Cached tokens carry the role: a demoted moderator must lose the admin API now,
        # not when the copies expire.
        async with engines.db.session(readonly=True) as session:
            await tokens.refresh_cached_tokens(engines, session, user.account_id)
        return user.account_id
    except ConnectHubError as exc:
        raise _fail(exc.message) from None
    finally:
        await engines.stop()


@admin_app.command("approve")
def approve(
    username: Annotated[str, typer.Argument(help="The pending user's username.")],
) -> None:
    """Approve an account waiting for review (registration mode `approval`)."""
    settings = _settings()
    account_id = _run_on_database(_approve(settings, username))
    _audit("approve", account_id, username)
    typer.echo(f"@{username} is approved.")


async def _approve(settings: Settings, username: str) -> int:
    from connecthub.accounts import registration
    from connecthub.errors import ConnectHubError
    from connecthub.infra.db import Database

    db = Database(settings)
    try:
        async with db.transaction() as session:
            user = await registration.approve(session, username)
        return user.account_id
    except ConnectHubError as exc:
        raise _fail(exc.message) from None
    finally:
        await db.dispose()


@admin_app.command("delete-account")
def delete_account(
    username: Annotated[
        str | None, typer.Option(help="The account to delete (its username).")
    ] = None,
    pending: Annotated[
        bool, typer.Option("--pending", help="Also finish every deletion not yet complete.")
    ] = False,
) -> None:
    """Delete an account: signed out everywhere at once, its data erased here and now, its
    username kept reserved. Run again to finish a deletion that was interrupted."""
    if username is None and not pending:
        raise _fail("--username: required (or --pending to finish interrupted deletions)")
    settings = _settings()
    done = _run_on_database(_delete_accounts(settings, username, pending))
    for account_id, name in done:
        _audit("delete_account", account_id, name)
        typer.echo(f"@{name} is deleted; its data are erased.")
    if not done:
        typer.echo("No deletion was pending.")


async def _delete_accounts(
    settings: Settings, username: str | None, pending: bool
) -> list[tuple[int, str]]:
    from connecthub.errors import ConnectHubError
    from connecthub.infra.engines import Engines
    from connecthub.privacy import deletion
    from connecthub.tasks import register_all

    await _ensure_schema(settings)
    register_all(settings.task_modules)
    engines = Engines.from_settings(settings)
    await engines.start()
    try:
        done = await deletion.delete_now(engines, username=username, pending=pending)
        if settings.redis_url is None:
            await _run_queued_jobs(engines)  # e.g. media purges: this process's queue dies
        return done
    except ConnectHubError as exc:
        raise _fail(exc.message) from None
    finally:
        await engines.stop()


async def _run_queued_jobs(engines: Any) -> None:
    """Run the in-process queue until it is empty (embedded mode: jobs live in memory)."""
    worker = asyncio.create_task(engines.jobs.run_worker(engines, 2))
    try:
        while True:
            await asyncio.sleep(0.05)
            stats = await engines.jobs.stats()
            if stats.ready == 0 and stats.running == 0:
                return
    finally:
        worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await worker


def main() -> None:
    try:
        app()
    except ConfigurationError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        sys.exit(2)
