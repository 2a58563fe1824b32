"""`connecthub admin documents …`: the privacy policy and the terms of service from the
command line (list, add, publish), and `connecthub admin purge-expired` (one retention run
now). The command module hands in how to reach the engines (`connecthub.cli`'s runner)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from connecthub.ops import audit

# Imported when a command runs: every `connecthub` invocation builds this group.
if TYPE_CHECKING:
    from connecthub.config import Settings
    from connecthub.infra.engines import Engines

OnEngines = Callable[["Settings", Callable[["Engines"], Awaitable[Any]]], Any]


def build(on_engines: OnEngines, settings: Callable[[], Settings]) -> typer.Typer:
    documents_app = typer.Typer(
        help="The privacy policy and the terms of service: list, add, publish.",
        no_args_is_help=True,
        pretty_exceptions_show_locals=False,
    )

    def run(work: Callable[[Engines], Awaitable[Any]]) -> Any:
        from connecthub.errors import ConnectHubError

        try:
            return on_engines(settings(), work)
        except ConnectHubError as exc:
            typer.echo(exc.message, err=True)
            raise typer.Exit(2) from None

    @documents_app.command("list")
    def list_documents() -> None:
        """Every version, drafts included: id, kind, effective date, state."""
        for line in run(_list):
            typer.echo(line)

    @documents_app.command("add")
    def add(
        kind: Annotated[str, typer.Argument(help="privacy_policy or terms_of_service")],
        file: Annotated[Path, typer.Argument(help="The Markdown text (%{domain}: the server).")],
        effective_date: Annotated[
            str, typer.Option("--effective-date", help="YYYY-MM-DD: when it applies.")
        ],
        changelog: Annotated[str, typer.Option(help="What changed, for readers.")] = "",
        publish: Annotated[
            bool, typer.Option("--publish", help="Publish at once (else a draft).")
        ] = False,
    ) -> None:
        """Add a version as a draft (or published with --publish)."""
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            typer.echo(f"FILE: cannot read {file} ({exc})", err=True)
            raise typer.Exit(2) from None
        try:
            effective = date.fromisoformat(effective_date)
        except ValueError:
            typer.echo("--effective-date: must be a date written YYYY-MM-DD", err=True)
            raise typer.Exit(2) from None
        document_id, published = run(
            lambda engines: _add(engines, kind, text, effective, changelog, publish)
        )
        state = "published" if published else "draft"
        typer.echo(f"Added {kind} {effective.isoformat()} (id {document_id}, {state}).")

    @documents_app.command("publish")
    def publish_document(
        document_id: Annotated[int, typer.Argument(help="The id `list` shows.")],
    ) -> None:
        """Publish a draft. Terms effective today or earlier must be accepted again."""
        kind, effective = run(lambda engines: _publish(engines, document_id))
        typer.echo(f"Published {kind} {effective}.")

    return documents_app


async def _in_unit(engines: Engines, work: Callable[[Any], Awaitable[Any]]) -> Any:
    from connecthub.infra.uow import UnitOfWork

    async with engines.db.session() as session:
        uow = UnitOfWork(engines, session)
        try:
            with audit.collecting(uow):  # a publication's audit row commits with it
                result = await work(uow)
        except BaseException:
            await uow.rollback()
            raise
        await uow.commit()
        return result


async def _list(engines: Engines) -> list[str]:
    from connecthub.privacy import documents

    async with engines.db.session(readonly=True) as session:
        rows = await documents.every_document(session)
    return [
        f"{row.id}\t{row.kind}\t{row.effective_date.isoformat()}\t"
        + ("published" if row.published_at else "draft")
        for row in rows
    ]


async def _add(
    engines: Engines, kind: str, text: str, effective: date, changelog: str, publish: bool
) -> tuple[int, bool]:
    from connecthub.privacy import documents

    async def work(uow: Any) -> tuple[int, bool]:
        draft = documents.Draft(text=text, effective_date=effective, changelog=changelog)
        row = await documents.create(uow, kind, draft)
        if publish:
            await documents.publish(uow, row.id, None)
        return row.id, publish

    result: tuple[int, bool] = await _in_unit(engines, work)
    return result


async def _publish(engines: Engines, document_id: int) -> tuple[str, str]:
    from connecthub.privacy import documents

    async def work(uow: Any) -> tuple[str, str]:
        row = await documents.publish(uow, document_id, None)
        return row.kind, row.effective_date.isoformat()

    result: tuple[str, str] = await _in_unit(engines, work)
    return result


async def purge_expired(engines: Engines) -> dict[str, int]:
    from connecthub.privacy import retention

    return await retention.purge(engines)
