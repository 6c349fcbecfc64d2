"""Startup and shutdown: the ASGI lifespan protocol, for the application and what it mounts."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from .types import ASGIApp, Info, LifespanRequestHandler, Message, Receive, Scope, Send

logger = logging.getLogger("bareasgi")


async def serve_lifespan(
    scope: Scope,
    receive: Receive,
    send: Send,
    info: Info,
    startup_handlers: list[LifespanRequestHandler],
    shutdown_handlers: list[LifespanRequestHandler],
    mounted: Sequence[ASGIApp] = (),
) -> None:
    """Run the startup handlers in order on startup, the shutdown handlers on shutdown.

    Mounted applications get their own lifespan events: they start after the
    application's startup handlers and stop before its shutdown handlers. A
    handler that raises, or a mounted application that reports a failure, stops
    the phase: the server is told it failed, with a message naming the error.
    """
    children = [_MountedLifespan(app, scope) for app in mounted]
    while True:
        message = await receive()
        phase = message["type"].removeprefix("lifespan.")
        if phase not in ("startup", "shutdown"):
            continue
        try:
            if phase == "startup":
                await _run(startup_handlers, scope, info, message)
                for child in children:
                    await child.run("startup")
            else:
                for child in reversed(children):
                    await child.run("shutdown")
                await _run(shutdown_handlers, scope, info, message)
        except Exception as error:
            logger.exception("The %s handler failed", phase)
            failure = f"{phase} failed: {type(error).__name__}: {error}"
            await send({"type": f"lifespan.{phase}.failed", "message": failure})
            return
        await send({"type": f"lifespan.{phase}.complete"})
        if phase == "shutdown":
            return


async def _run(
    handlers: list[LifespanRequestHandler], scope: Scope, info: Info, message: Message
) -> None:
    for handler in handlers:
        await handler(scope, info, message)


class MountedAppFailed(RuntimeError):
    """A mounted application reported that its startup or shutdown failed."""


class _MountedLifespan:
    """Drives one mounted application's lifespan protocol from its parent's."""

    def __init__(self, app: ASGIApp, scope: Scope) -> None:
        self._app = app
        self._to_app: asyncio.Queue[Message] = asyncio.Queue()
        self._from_app: asyncio.Queue[Message | None] = asyncio.Queue()
        self._task: asyncio.Task[Any] | None = None
        self._scope = {**scope, "state": {}}

    async def run(self, phase: str) -> None:
        if self._task is None:
            self._task = asyncio.ensure_future(
                self._app(self._scope, self._to_app.get, self._from_app.put)
            )
            self._task.add_done_callback(lambda _: self._from_app.put_nowait(None))
        if self._task.done():
            return
        await self._to_app.put({"type": f"lifespan.{phase}"})
        reply = await self._from_app.get()
        if reply is None:
            # The application returned or raised: it does not support lifespan, as
            # servers allow. Its error, if any, is logged, not raised.
            if not self._task.cancelled() and self._task.exception() is not None:
                logger.debug("A mounted app ended its lifespan", exc_info=self._task.exception())
            return
        if reply["type"] == f"lifespan.{phase}.failed":
            raise MountedAppFailed(f"{self._app!r}: {reply.get('message', '')}")
        if phase == "shutdown":
            await self._task
