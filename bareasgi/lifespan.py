"""Startup and shutdown: the ASGI lifespan protocol."""

from __future__ import annotations

import logging

from .types import Info, LifespanRequestHandler, Receive, Scope, Send

logger = logging.getLogger("bareasgi")


async def serve_lifespan(
    scope: Scope,
    receive: Receive,
    send: Send,
    info: Info,
    startup_handlers: list[LifespanRequestHandler],
    shutdown_handlers: list[LifespanRequestHandler],
) -> None:
    """Run the startup handlers in order on startup, the shutdown handlers on shutdown.

    A handler that raises stops the phase: the server is told it failed, with a
    message naming the error, and the error is logged with its traceback.
    """
    while True:
        message = await receive()
        phase = message["type"].removeprefix("lifespan.")
        if phase not in ("startup", "shutdown"):
            continue
        handlers = startup_handlers if phase == "startup" else shutdown_handlers
        try:
            for handler in handlers:
                await handler(scope, info, message)
        except Exception as error:
            logger.exception("The %s handler failed", phase)
            failure = f"{phase} failed: {type(error).__name__}: {error}"
            await send({"type": f"lifespan.{phase}.failed", "message": failure})
            return
        await send({"type": f"lifespan.{phase}.complete"})
        if phase == "shutdown":
            return
