"""`connecthub emoji add <shortcode> <file>`: a custom emoji from the command line, as an
operator (actor `cli` in the audit log). The command module hands in how to reach the
engines (`connecthub.cli`'s runner, which turns an unreachable database into one line)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

# The service and the engines are imported when the command runs: every `connecthub`
# invocation builds this command group, and most never use it.
if TYPE_CHECKING:
    from connecthub.config import Settings
    from connecthub.infra.engines import Engines

OnEngines = Callable[["Settings", Callable[["Engines"], Awaitable[Any]]], Any]


def build(on_engines: OnEngines, settings: Callable[[], Settings]) -> typer.Typer:
    emoji_app = typer.Typer(
        help="Custom emojis: add.", no_args_is_help=True, pretty_exceptions_show_locals=False
    )

    @emoji_app.command("add")
    def add(
        shortcode: Annotated[str, typer.Argument(help="The shortcode, without colons.")],
        file: Annotated[Path, typer.Argument(help="A PNG, GIF or WebP image (256 KiB at most).")],
        category: Annotated[str | None, typer.Option(help="The picker's category.")] = None,
        hidden: Annotated[bool, typer.Option("--hidden", help="Left out of pickers.")] = False,
    ) -> None:
        """Add a custom emoji: `:shortcode:` in statuses, names and bios shows it."""
        from connecthub.errors import ConnectHubError

        try:
            data = file.read_bytes()
        except OSError as exc:
            typer.echo(f"FILE: cannot read {file} ({exc.strerror})", err=True)
            raise typer.Exit(2) from None
        try:
            on_engines(settings(), lambda engines: _add(engines, shortcode, data, category, hidden))
        except ConnectHubError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(2) from None
        typer.echo(f"Added :{shortcode.strip(':')}:.")

    return emoji_app


async def _add(
    engines: Engines, shortcode: str, data: bytes, category: str | None, hidden: bool
) -> None:
    from connecthub.emojis import service
    from connecthub.infra.uow import UnitOfWork
    from connecthub.media.service import Incoming
    from connecthub.media.sniffing import SNIFF_BYTES
    from connecthub.ops import audit

    async def read() -> bytes:
        return data

    image = Incoming(field="file", size=len(data), head=data[:SNIFF_BYTES], read=read)
    async with engines.db.session() as session:
        uow = UnitOfWork(engines, session)
        try:
            with audit.collecting(uow):  # the audit row goes in with the emoji
                await service.create(
                    uow,
                    engines.settings,
                    None,
                    None,
                    code=shortcode,
                    image=image,
                    category_name=category,
                    visible_in_picker=not hidden,
                )
        except BaseException:
            await uow.rollback()
            raise
        await uow.commit()
