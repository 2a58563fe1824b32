"""`connecthub flags …`: the flag service from the command line, as an admin (actor `cli` in
the audit log). The command module hands in how to reach the engines (`connecthub.cli`'s
runner, which turns an unreachable database or Redis into one line)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

# The service and the engines are imported when a command runs: every `connecthub`
# invocation builds this command group, and most never use it.
if TYPE_CHECKING:
    from connecthub.config import Settings
    from connecthub.infra.engines import Engines
    from connecthub.infra.uow import UnitOfWork

T = TypeVar("T")
OnEngines = Callable[["Settings", Callable[["Engines"], Awaitable[Any]]], Any]

Key = Annotated[str, typer.Argument(help="The flag's key.")]


def build(on_engines: OnEngines, settings: Callable[[], Settings]) -> typer.Typer:
    flags_app = typer.Typer(
        help="Feature flags: list, show, create, set, kill, enable, rollout, delete, readout.",
        no_args_is_help=True,
        pretty_exceptions_show_locals=False,
    )

    def write(work: Callable[[UnitOfWork], Awaitable[T]]) -> T:
        from connecthub.infra.uow import UnitOfWork
        from connecthub.ops import audit

        async def run(engines: Engines) -> T:
            async with engines.db.session() as session:
                uow = UnitOfWork(engines, session)
                try:
                    with audit.collecting(uow):  # audit rows go in with the change
                        result = await work(uow)
                except BaseException:
                    await uow.rollback()
                    raise
                await uow.commit()  # announced on the bus: every server reloads
                return result

        result: T = _refusals(lambda: on_engines(settings(), run))
        return result

    def read(work: Callable[[Any], Awaitable[T]]) -> T:
        async def run(engines: Engines) -> T:
            async with engines.db.session() as session:
                return await work(session)

        result: T = _refusals(lambda: on_engines(settings(), run))
        return result

    def show(flag: Any) -> None:
        from connecthub.flags.serializers import flag_entity

        typer.echo(json.dumps(flag_entity(flag), indent=2, sort_keys=True))

    @flags_app.command("list")
    def list_flags() -> None:
        """Every flag: key, kind, state, version."""
        service, actor = _service()
        found = read(lambda s: service.list_flags(s, actor))
        if not found:
            typer.echo("No feature flags.")
        for flag in found:
            state = "on" if flag.enabled else "KILLED"
            extra = f", experiment ({flag.experiment['metric']})" if flag.experiment else ""
            typer.echo(
                f"{flag.key}  {flag.kind}  {state}  v{flag.version}  "
                f"{len(flag.rules)} rule(s){extra}"
            )

    @flags_app.command("show")
    def show_flag(key: Key) -> None:
        """One flag, as JSON (the admin API's entity)."""
        service, actor = _service()
        show(read(lambda s: service.get_flag(s, actor, key)))

    @flags_app.command("create")
    def create_flag(
        key: Key,
        kind: Annotated[str, typer.Option(help="boolean, string, number or json.")],
        default: Annotated[str, typer.Option(help='The default value, as JSON (false, "a").')],
        fields: Annotated[
            str, typer.Option("--json", help="More fields as a JSON object (rules, …).")
        ] = "{}",
    ) -> None:
        """Create a flag."""
        service, actor = _service()
        document = {**_object(fields), "key": key, "kind": kind, "default_value": _json(default)}
        show(write(lambda uow: service.create_flag(uow, None, actor, document)))

    @flags_app.command("set")
    def set_fields(
        key: Key,
        fields: Annotated[str, typer.Argument(help="The fields to change, as a JSON object.")],
    ) -> None:
        """Change fields of a flag (as PATCH /api/v1/admin/flags/:key)."""
        service, actor = _service()
        changes = _object(fields)
        show(write(lambda uow: service.update_flag(uow, None, actor, key, changes)))

    @flags_app.command("kill")
    def kill(key: Key) -> None:
        """The kill switch: everyone gets the default value, everywhere at once."""
        service, actor = _service()
        show(write(lambda uow: service.set_enabled(uow, None, actor, key, False)))

    @flags_app.command("enable")
    def enable(key: Key) -> None:
        """Undo the kill switch."""
        service, actor = _service()
        show(write(lambda uow: service.set_enabled(uow, None, actor, key, True)))

    @flags_app.command("rollout")
    def rollout(
        key: Key,
        percentage: Annotated[float, typer.Argument(help="0 to 100.")],
        rule: Annotated[str | None, typer.Option(help="The rule (if several).")] = None,
    ) -> None:
        """Widen, hold or roll back a percentage rollout."""
        service, actor = _service()
        show(write(lambda uow: service.set_rollout(uow, None, actor, key, percentage, rule)))

    @flags_app.command("delete")
    def delete(key: Key) -> None:
        """Delete a flag and its exposures."""
        service, actor = _service()
        write(lambda uow: service.delete_flag(uow, None, actor, key))
        typer.echo(f"Deleted {key}.")

    @flags_app.command("readout")
    def readout(key: Key) -> None:
        """An experiment's readout, as JSON."""
        service, actor = _service()
        from connecthub.flags.serializers import readout_entity

        found = read(lambda s: service.readout(s, actor, key))
        typer.echo(json.dumps(readout_entity(key, found), indent=2))

    return flags_app


def _service() -> tuple[Any, Any]:
    from connecthub.flags import service

    return service, service.Actor.cli()


def _refusals(run: Callable[[], T]) -> T:
    from connecthub.errors import ConnectHubError

    try:
        return run()
    except ConnectHubError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None


def _json(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        typer.echo(f"not JSON: {raw}", err=True)
        raise typer.Exit(2) from None


def _object(raw: str) -> dict[str, Any]:
    value = _json(raw)
    if not isinstance(value, dict):
        typer.echo("the fields must be a JSON object", err=True)
        raise typer.Exit(2)
    return value
