"""A bare ASGI app (a small JSON "hello" on every path) served exactly as `connecthub serve`
serves ConnectHub: the same uvicorn settings (`connecthub.serving.server_config`: uvloop,
httptools with its timeouts, no access log) and the same supervisor of several processes.
What is left of a request when the application does nothing: the floor of every route.

    python -m compare.bare_app --port 18110 --workers 2     (with bench/ on PYTHONPATH)
"""

from __future__ import annotations

import argparse
import contextlib
from typing import Any

BODY = b'{"hello":"world"}'
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]


async def hello(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    more_body = True
    while more_body:  # read a POST's body as a real handler would
        message = await receive()
        more_body = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})


def create_app() -> Any:
    """The factory uvicorn imports in each server process (`server_config` marks string
    apps as factories, as ConnectHub's `create_app` is)."""
    return hello


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    import uvicorn

    from connecthub import serving
    from connecthub.config import load_settings

    settings = load_settings()
    config = serving.server_config(
        settings,
        "compare.bare_app:create_app",
        host="127.0.0.1",
        port=args.port,
        workers=args.workers,
    )
    if args.workers == 1:
        with contextlib.suppress(KeyboardInterrupt):
            uvicorn.Server(config).run()
        return
    supervisor = serving.Supervisor(
        config,
        [config.bind_socket()],
        startup_timeout=settings.web_startup_timeout_seconds,
        healthcheck_timeout=settings.web_healthcheck_timeout_seconds,
    )
    with contextlib.suppress(KeyboardInterrupt):
        supervisor.run()


if __name__ == "__main__":
    main()
