"""The one entry point: `connecthub serve | worker | migrate | admin …`."""

from __future__ import annotations

import asyncio
import gc
import os
import secrets
import shutil
import signal
import sqlite3
import sys
import tempfile
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from connecthub.accounts import passwords
from connecthub.config import ConfigurationError, Settings, get_settings
from connecthub.core import collector
from connecthub.core.tasks import cancel_and_wait

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
jobs_app = typer.Typer(
    help="Background jobs: dead letters (list, retry, drop) and the sweeper (distributed mode).",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(jobs_app, name="jobs")


@admin_app.callback()
@jobs_app.callback()
def _admin_logging() -> None:
    """Every admin and jobs command writes an audit line (actor `cli`) to the structured
    log on stdout, as the server does."""
    from connecthub.ops.logging import configure_logging

    try:
        settings = get_settings()
    except ConfigurationError:
        return  # the command reports it in one line (and `--help` still works)
    configure_logging(settings.log_level, settings.log_format)
    from connecthub.ops import audit

    audit.set_fallback(lambda entry: _persist_audit(settings, entry))


def _persist_audit(settings: Settings, entry: Any) -> None:
    """A command's audit entry recorded outside a unit of work: its row is written in a
    transaction of its own (after the command's work committed)."""
    import structlog

    from connecthub.infra import audit_trail
    from connecthub.infra.db import Database

    async def write() -> None:
        db = Database(settings)
        try:
            async with db.transaction() as session:
                await audit_trail.append(session, [entry])
        finally:
            await db.dispose()

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:  # inside a command's loop a unit of work collects entries (audit.collecting)
        structlog.get_logger(__name__).warning("audit.not_persisted", action=entry.action)
        return
    try:
        asyncio.run(write())
    except Exception as exc:  # the act itself is done: say the row is missing, loudly
        typer.echo(f"warning: the audit row was not written ({type(exc).__name__})", err=True)


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
    # Start-up (migrations, the app's import) only makes objects that live as long as the
    # process: the collector is paused until the app is loaded (serving.ServeConfig.load),
    # or until a supervisor of several server processes starts (serving.run).
    gc.disable()
    if port is not None:
        # The server processes read their settings again: they see this port as PORT, so
        # LOCAL_DOMAIN's default follows it as it follows PORT.
        os.environ["PORT"] = str(port)
        get_settings.cache_clear()
    settings = _settings()
    host = host or settings.host
    port = port or settings.port
    workers = workers or settings.web_concurrency
    if workers > 1 and settings.redis_url is None:
        raise _fail(
            "WEB_CONCURRENCY: more than one server process needs REDIS_URL, so events, "
            "jobs and rate limits are shared between them."
        )
    if settings.liveness_port == port:
        raise _fail("LIVENESS_PORT: must differ from the server's port (PORT or --port).")
    _run_on_database(_ensure_schema(settings))
    own_metrics_dir = _prepare_metrics_dir() if workers > 1 else None
    mode = "embedded (SQLite, in-process engines)" if settings.is_embedded else "distributed"
    typer.echo(f"ConnectHub is starting in {mode} mode at http://{host}:{port}")
    if settings.smtp_url is None:
        typer.echo(
            f"No SMTP_URL: accounts are confirmed at sign-up; mail goes to {settings.outbox_dir}"
        )
    if settings.liveness_port is not None:
        typer.echo(f"Liveness probe: http://{host}:{settings.liveness_port}/health/live")
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
    from connecthub import serving

    serving.run(settings, host=host, port=port, workers=workers)


@app.command()
def worker(
    concurrency: Annotated[int, typer.Option(help="Jobs run at once.", min=1)] = 4,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            help="Serve /metrics on this port (WORKER_METRICS_PORT; none by default).",
            min=1,
            max=65535,
        ),
    ] = None,
    metrics_host: Annotated[
        str | None, typer.Option(help="Address of the /metrics port (WORKER_METRICS_HOST).")
    ] = None,
) -> None:
    """Run background jobs from the durable queue (distributed mode), and the sweeper that
    queues again the must-run work a queue lost."""
    settings = _settings()
    if settings.redis_url is None:
        raise _fail("REDIS_URL: not set; in embedded mode jobs run inside `connecthub serve`.")
    port = metrics_port or settings.worker_metrics_port
    host = metrics_host or settings.worker_metrics_host
    import uvloop

    # On uvloop, as the server: a job is many small awaits (a fan-out ~7 round trips), and
    # asyncio's own loop was over half of the worker's CPU.
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(_run_worker(settings, concurrency, (host, port) if port else None))


async def _run_worker(
    settings: Settings, concurrency: int, metrics_address: tuple[str, int] | None
) -> None:
    from connecthub.infra.engines import Engines
    from connecthub.infra.sweeper import run_sweeper
    from connecthub.ops import metrics
    from connecthub.ops.metrics_server import MetricsServer
    from connecthub.ops.setup import configure_observability
    from connecthub.tasks import register_all

    configure_observability(settings)
    register_all(settings.task_modules)
    engines = Engines.from_settings(settings)
    await engines.start()
    listener: MetricsServer | None = None
    if metrics_address is not None:

        async def refresh() -> None:
            metrics.record_queue(await engines.jobs.stats())

        listener = MetricsServer(settings, *metrics_address, refresh)
        try:
            await listener.start()
        except OSError as exc:
            await engines.stop()
            raise _fail(f"--metrics-port: {exc}") from None
    task = asyncio.create_task(engines.run_jobs(concurrency))
    sweeper = asyncio.create_task(run_sweeper(engines), name="sweeper")
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, task.cancel)
    try:
        await task
    except asyncio.CancelledError:
        pass
    finally:
        await cancel_and_wait(sweeper)
        if listener is not None:
            await listener.stop()
        await engines.stop()


@app.command()
def migrate() -> None:
    """Apply database migrations (safe to run again, and from several pods at once)."""
    from connecthub.infra import migrations

    settings = _settings()
    revision = _run_on_database(migrations.upgrade(settings))
    typer.echo(f"Database is at migration {revision}.")


@app.command("migrate-data")
def migrate_data(
    source: Annotated[str, typer.Option("--from", help="The embedded database: sqlite:///<file>.")],
    target: Annotated[
        str, typer.Option("--to", help="PostgreSQL, a direct connection: postgresql://…")
    ],
    dry_run: Annotated[bool, typer.Option(help="Print the plan and the counts; write nothing.")] = (
        False
    ),
    batch_size: Annotated[int, typer.Option(min=1, help="Rows per batch (one COPY).")] = 5000,
    media_to_s3: Annotated[
        bool,
        typer.Option(help="Also copy the local media files into MEDIA_STORAGE_URL (s3://…)."),
    ] = False,
    media_from: Annotated[
        Path, typer.Option(help="The local media directory (with --media-to-s3).")
    ] = Path("data/media"),
    pause: Annotated[float, typer.Option(hidden=True, help="Seconds between batches.")] = 0.0,
) -> None:
    """Copy an embedded instance (SQLite) into PostgreSQL: resumable, then validated."""
    import sqlite3

    from sqlalchemy.exc import DBAPIError

    from connecthub import models
    from connecthub.infra import data_migration as moving
    from connecthub.ops.logging import scrub_text

    settings = _settings()
    if media_to_s3 and not settings.media_storage_url.startswith("s3://"):
        raise _fail("MEDIA_STORAGE_URL: --media-to-s3 copies into an s3:// store; set it.")
    if media_to_s3 and not media_from.is_dir():
        raise _fail(f"--media-from: no media directory at {media_from}")
    options = moving.Options(source, target, batch_size, dry_run, pause)
    tables = models.Base.metadata.sorted_tables
    try:
        if dry_run:
            asyncio.run(moving.dry_run(options, tables, typer.echo))
            if media_to_s3:
                from connecthub.infra.media_move import survey

                files, size = survey(media_from)
                typer.echo(f"media: {files} files, {size} bytes to copy from {media_from}")
            return
        outcome = asyncio.run(moving.migrate(options, tables, settings, typer.echo))
    except moving.MigrateDataError as exc:
        raise _fail(f"migrate-data: {exc}") from None
    except sqlite3.DatabaseError as exc:
        raise _fail(f"migrate-data: --from: cannot read the SQLite database ({exc})") from None
    except DBAPIError as exc:  # the schema's migration on the target
        reason = scrub_text(str(exc.orig or exc).strip().splitlines()[0])
        raise _fail(f"migrate-data: --to: cannot migrate the target ({reason})") from None
    for line in moving.describe_checks(outcome):
        typer.echo(line)
    media_ok = True
    if media_to_s3:
        media_ok = asyncio.run(_move_media(settings, media_from))
    if not outcome.ok or not media_ok:
        raise typer.Exit(1)
    typer.echo(
        f"Done: {sum(plan.source_rows for plan in outcome.plans)} rows in "
        f"{len(outcome.plans)} tables, {outcome.sequences_reset} sequences reset."
    )


async def _move_media(settings: Settings, root: Path) -> bool:
    from connecthub.infra.media_move import copy_media
    from connecthub.infra.storage import StorageError, storage_from_settings

    store = storage_from_settings(settings)
    try:
        report = await copy_media(root, store)
    except StorageError as exc:
        typer.echo(f"media: the store failed ({type(exc).__name__}: {exc})", err=True)
        return False
    finally:
        await store.close()
    typer.echo(report.describe())
    return report.ok


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


@admin_app.command("verify-audit")
def verify_audit() -> None:
    """Walk the audit log's hash chain: exit 0 with the row count when intact, 1 naming
    the first row that was edited, removed or forged otherwise."""
    settings = _settings()
    verdict = _run_on_database(_verify_audit(settings))
    if verdict.bad_id is None:
        typer.echo(f"Audit log intact: {verdict.intact} row(s).")
        return
    typer.echo(
        f"Audit log broken at row {verdict.bad_id}: {verdict.reason} "
        f"({verdict.intact} row(s) intact before it).",
        err=True,
    )
    raise typer.Exit(1)


async def _verify_audit(settings: Settings) -> Any:
    from connecthub.infra import audit_trail
    from connecthub.infra.db import Database

    await _ensure_schema(settings)
    db = Database(settings)
    try:
        async with db.session() as session:  # the primary: a replica may lag
            return await audit_trail.verify(session)
    finally:
        await db.dispose()


@admin_app.command("rotate-vapid-key")
def rotate_vapid_key() -> None:
    """Replace the instance's Web Push (VAPID) key and remove every push subscription: apps
    subscribe again with the new key. Restart the web and worker processes afterwards."""
    settings = _settings()
    keys, removed = _run_on_database(_rotate_vapid_key(settings))
    if keys is None:
        typer.echo("The key comes from VAPID_PRIVATE_KEY: change it there.")
    else:
        typer.echo(f"New VAPID public key: {keys.public_key}")
    typer.echo(f"{removed} push subscription(s) removed. Restart the web and worker processes.")


async def _rotate_vapid_key(settings: Settings) -> tuple[Any, int]:
    from connecthub.infra.db import Database
    from connecthub.push import service

    await _ensure_schema(settings)
    db = Database(settings)
    try:
        return await service.rotate_vapid_keys(db)
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
        await cancel_and_wait(worker)


# --- connecthub jobs ----------------------------------------------------------------------

JobIds = Annotated[list[str] | None, typer.Argument(help="Job ids, as `jobs list` shows them.")]
AllOption = Annotated[bool, typer.Option("--all", help="Every dead letter.")]


def _queue_settings() -> Settings:
    settings = _settings()
    if settings.redis_url is None:
        raise _fail(
            "REDIS_URL: not set; in embedded mode the queue lives inside `connecthub serve`, "
            "whose dead letters show on its /metrics and in its log, and end with it."
        )
    return settings


def _on_engines(settings: Settings, work: Callable[[Any], Awaitable[T]]) -> T:
    """Runs `work(engines)`; Redis or the database out of reach is one line (exit 2)."""
    from connecthub.infra import redis
    from connecthub.infra.engines import Engines
    from connecthub.ops.logging import scrub_text

    async def run() -> T:
        engines = Engines.from_settings(settings)
        await engines.start()
        try:
            return await work(engines)
        finally:
            await engines.stop()

    try:
        return _run_on_database(run())
    except Exception as exc:
        if redis.unavailable_reason(exc) is None:
            raise
        raise _fail(f"REDIS_URL: cannot use Redis ({scrub_text(str(exc))})") from None


def _chosen(job_ids: list[str] | None, every: bool) -> list[str] | None:
    """The ids a retry or drop names, or None for `--all`."""
    if every and job_ids:
        raise _fail("JOB_IDS: give job ids or --all, not both")
    if not every and not job_ids:
        raise _fail("JOB_IDS: give the ids of the dead letters (see `jobs list`), or --all")
    return None if every else job_ids


def _age(seconds: float) -> str:
    minutes, _ = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days}d {hours}h"
    return f"{hours}h {minutes}m" if hours else f"{minutes}m"


@jobs_app.command("list")
def jobs_list(
    limit: Annotated[int, typer.Option(help="Dead letters shown, oldest first.", min=1)] = 50,
) -> None:
    """Show the dead letters: jobs that failed every attempt, oldest first."""
    from datetime import UTC, datetime

    from connecthub.clock import epoch_ms
    from connecthub.ops import audit

    settings = _queue_settings()

    async def read(engines: Any) -> tuple[Any, Any]:
        return await engines.jobs.stats(), await engines.jobs.dead_letters(limit)

    stats, letters = _on_engines(settings, read)
    audit.record_cli("jobs_list", dead_letters=stats.dead)
    if not stats.dead:
        typer.echo("No dead letters.")
        return
    typer.echo(
        f"{stats.dead} dead letter(s), the oldest {_age(stats.oldest_dead_age_seconds)} old"
        + (f"; the {len(letters)} oldest:" if len(letters) < stats.dead else ":")
    )
    now = epoch_ms() / 1000
    for letter in letters:
        died = datetime.fromtimestamp(letter.died_at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        typer.echo(
            f"\n{letter.job_id}  {letter.name}  attempts={letter.attempts}"
            f"  died={died} ({_age(now - letter.died_at)} ago)"
        )
        typer.echo(f"  error:   {letter.last_error.splitlines()[0] if letter.last_error else '-'}")
        typer.echo(f"  payload: {letter.payload}")


def _settle(retry: bool, job_ids: list[str] | None, every: bool) -> None:
    """Retry or drop dead letters: one audit line and one output line per job settled."""
    from connecthub.ops import audit

    chosen = _chosen(job_ids, every)
    settings = _queue_settings()

    async def settle(engines: Any) -> list[Any]:
        if retry:
            return list(await engines.jobs.retry_dead(chosen))
        return list(await engines.jobs.drop_dead(chosen))

    done = _on_engines(settings, settle)
    verb = "Retried" if retry else "Dropped"
    for letter in done:
        action = "jobs_retry" if retry else "jobs_drop"
        audit.record_cli(action, job_id=letter.job_id, job=letter.name)
        typer.echo(f"{verb} {letter.job_id} ({letter.name}).")
    settled = {letter.job_id for letter in done}
    missing = [job_id for job_id in chosen or [] if job_id not in settled]
    for job_id in missing:
        typer.echo(f"{job_id}: not a dead letter (already retried, dropped or expired)", err=True)
    if every and not done:
        typer.echo("No dead letters.")
    if missing:
        raise typer.Exit(2)


@jobs_app.command("retry")
def jobs_retry(job_ids: JobIds = None, every: AllOption = False) -> None:
    """Queue dead letters again, each with a fresh set of attempts."""
    _settle(True, job_ids, every)


@jobs_app.command("drop")
def jobs_drop(job_ids: JobIds = None, every: AllOption = False) -> None:
    """Forget dead letters for good."""
    _settle(False, job_ids, every)


@jobs_app.command("sweep")
def jobs_sweep() -> None:
    """Queue again now the must-run work the database says is pending past the grace
    period (what the workers' sweeper does every JOBS_SWEEP_INTERVAL_SECONDS)."""
    from connecthub.infra.sweeper import sweep_once
    from connecthub.ops import audit
    from connecthub.tasks import register_all

    settings = _queue_settings()
    register_all(settings.task_modules)
    queued: dict[str, int] = _on_engines(settings, sweep_once)
    audit.record_cli("jobs_sweep", **{f"queued_{kind}": count for kind, count in queued.items()})
    for kind, count in queued.items():
        typer.echo(f"{kind}: {count} queued")


# --- connecthub flags (src/connecthub/flags/cli.py) -----------------------------------------


def _flags_app() -> typer.Typer:
    from connecthub.flags.cli import build

    flags_app = build(_on_engines, _settings)
    flags_app.callback()(_admin_logging)  # audit lines on stdout, as `admin` writes them
    return flags_app


app.add_typer(_flags_app(), name="flags")


def _emoji_app() -> typer.Typer:
    from connecthub.emojis.cli import build

    emoji_app = build(_on_engines, _settings)
    emoji_app.callback()(_admin_logging)  # audit lines on stdout, as `admin` writes them
    return emoji_app


app.add_typer(_emoji_app(), name="emoji")


def _documents_app() -> typer.Typer:
    from connecthub.privacy.cli import build

    return build(_on_engines, _settings)


admin_app.add_typer(_documents_app(), name="documents")


# --- connecthub backup (infra/backup.py, docs/backups.md) -------------------------------------

backup_app = typer.Typer(
    help="Embedded mode: back up the SQLite database, media and settings; restore them.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(backup_app, name="backup")
backup_app.callback()(_admin_logging)  # audit lines on stdout, as `admin` writes them


def _megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB"


@backup_app.command("create")
def backup_create(
    path: Annotated[Path, typer.Argument(help="A new (or empty) directory for the backup.")],
) -> None:
    """Write an online, consistent snapshot of the SQLite database, the media directory and
    the settings a restore needs, with a manifest; the server keeps serving meanwhile."""
    from connecthub.infra import backup
    from connecthub.ops import audit

    settings = _settings()
    try:
        summary = backup.create(settings, path)
    except (backup.BackupError, OSError, sqlite3.Error) as exc:
        raise _fail(str(exc)) from None
    audit.record_cli("backup_create", path=str(path.resolve()), rows=summary.rows)
    typer.echo(
        f"Backup written to {path}: {summary.rows} rows in {summary.tables} tables "
        f"({_megabytes(summary.database_bytes)}), {summary.media_files} media files "
        f"({_megabytes(summary.media_bytes)}) in {summary.seconds:.1f} s."
    )
    typer.echo(f"It holds SECRET_KEY ({backup.SETTINGS_FILE}): keep it as safe as the key.")


@backup_app.command("restore")
def backup_restore(
    path: Annotated[Path, typer.Argument(help="A directory written by `backup create`.")],
    data_dir: Annotated[
        Path, typer.Option(help="The new (or empty) data directory to restore into.")
    ] = Path("data"),
) -> None:
    """Restore a backup into an empty data directory and verify it (manifest digests,
    PRAGMA integrity_check, every table's row count, media sizes and digests)."""
    from connecthub.infra import backup

    try:
        summary = backup.restore(path, data_dir)
    except (backup.BackupError, OSError, sqlite3.Error) as exc:
        raise _fail(str(exc)) from None
    env_file = data_dir / backup.RESTORED_SETTINGS_FILE
    typer.echo(
        f"Restored into {data_dir}: {summary.rows} rows in {summary.tables} tables, "
        f"{summary.media_files} media files; integrity_check ok, row counts match the "
        f"manifest ({summary.seconds:.1f} s)."
    )
    typer.echo(
        f"Its settings are in {env_file}: start with `set -a; . {env_file}; set +a; "
        f"{_program()} serve`."
    )


@admin_app.command("purge-expired")
def purge_expired() -> None:
    """Run the retention job now: purge what the RETENTION_* periods say is due."""
    from connecthub.privacy.cli import purge_expired as run

    done = _on_engines(_settings(), run)
    for rule, count in done.items():
        typer.echo(f"{rule}: {count}")


def main() -> None:
    # A command imports what it needs as it starts: with the collector's defaults its passes
    # over those objects were a fifth of a command's start (core/collector.py).
    collector.use_long_lived_thresholds()
    try:
        app()
    except ConfigurationError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        sys.exit(2)
