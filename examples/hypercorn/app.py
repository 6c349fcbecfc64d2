"""Starting the server from your own code: hypercorn's serve() with a Config.

main() also shows a clean stop.
"""

import asyncio
import os
from collections.abc import Awaitable, Callable

from bareasgi import (
    Application,
    Content,
    HttpResponse,
    Info,
    RouteMatches,
    Scope,
    bytes_writer,
)

app = Application()


@app.on_http_request({"GET"}, "/hello-world")
async def hello_world(
    scope: Scope, info: Info, matches: RouteMatches, content: Content
) -> HttpResponse:
    headers = [(b"content-type", b"text/plain; charset=utf-8")]
    return 200, headers, bytes_writer(b"Hello, World!\n")


async def main(
    bind: str,
    shutdown_trigger: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Serve on `bind` until `shutdown_trigger`, an async function, returns.

    Without a trigger, hypercorn stops on Ctrl+C or SIGTERM. Either way it
    stops accepting connections, then gives the requests in flight time to
    finish.
    """
    # Imported here, where the server is started, so that another server
    # (`uvicorn app:app`) can serve `app` without hypercorn installed.
    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    config = Config()
    config.bind = [bind]
    config.graceful_timeout = 5.0  # seconds
    # hypercorn types the scope and messages as TypedDicts, which mypy does
    # not match with bareasgi's plain mappings; the app is ASGI all the same.
    await serve(
        app,  # type: ignore[arg-type]
        config,
        shutdown_trigger=shutdown_trigger,
    )


if __name__ == "__main__":
    port = int(os.environ.get("PORT", "8000"))
    asyncio.run(main(f"127.0.0.1:{port}"))
