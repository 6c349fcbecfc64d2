"""Startup and shutdown: the ASGI lifespan protocol, for the application and what it mounts."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Sequence
from typing import Any

from .types import ASGIApp, Info, LifespanRequestHandler, Message, Receive, Scope, Send

logger = logging.getLogger("bareasgi")

RETURN_GRACE = 5.0
"""Seconds a mounted application has to return after answering ``lifespan.shutdown``."""


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
    handler that raises, or a mounted application that reports a failure, makes
    the phase fail: the server is told, with a message naming the first error.
    Startup stops there, so that nothing serves half started, and the mounted
    applications that had started are shut down, last first; shutdown still runs
    every other handler, so that one failure leaves no other resource open. A server
    that sends startup a second time gets its answer, but the handlers run only once.
    A mounted application still running ``RETURN_GRACE`` seconds after answering
    shutdown is cancelled, with a warning, so that it cannot hold the server's shutdown.
    """
    children = [_MountedLifespan(app, scope) for app in mounted]
    started = False
    while True:
        message = await receive()
        phase = message["type"].removeprefix("lifespan.")
        if phase == "startup":
            if started:
                logger.warning("The server sent lifespan.startup again; startup runs only once")
                await send({"type": "lifespan.startup.complete"})
                continue
            started = True
            handlers, mounts = startup_handlers, children
        elif phase == "shutdown":
            handlers, mounts = shutdown_handlers, children[::-1]
        else:
            continue
        own = [functools.partial(handler, scope, info, message) for handler in handlers]
        theirs = [functools.partial(child.run, phase) for child in mounts]
        steps = own + theirs if phase == "startup" else theirs + own
        error: Exception | None = None
        for step in steps:
            try:
                await step()
            except Exception as failed:
                logger.exception("A lifespan handler failed")
                error = error or failed
                if phase == "startup":
                    break
        if error is not None:
            if phase == "startup":
                await _stop_started(children)
            failure = f"{phase} failed: {type(error).__name__}: {error}"
            await send({"type": f"lifespan.{phase}.failed", "message": failure})
            return
        await send({"type": f"lifespan.{phase}.complete"})
        if phase == "shutdown":
            return


async def _stop_started(children: list[_MountedLifespan]) -> None:
    """Shut down, last first, the mounted apps that started before startup failed.

    The server sends no shutdown after a failed startup, so they would never hear of it.
    """
    for child in reversed(children):
        if child.started:
            try:
                await child.run("shutdown")
            except Exception:
                logger.exception("A mounted app failed to shut down after startup failed")


class MountedAppFailed(RuntimeError):
    """A mounted application reported that its startup or shutdown failed."""


class _MountedLifespan:
    """Drives one mounted application's lifespan protocol from its parent's."""

    def __init__(self, app: ASGIApp, scope: Scope) -> None:
        self._app = app
        self._to_app: asyncio.Queue[Message] = asyncio.Queue()
        self._from_app: asyncio.Queue[Message | None] = asyncio.Queue()
        self._task: asyncio.Task[Any] | None = None
        # The server's state namespace itself, not a new one: the server copies it into
        # the scope of every request, and the mounted application's requests are the
        # parent's, forwarded. What it stores at startup is then in their scope.
        self._scope = scope
        self.started = False  # answered startup with success: owed a shutdown

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
        self.started = phase == "startup"
        if phase == "shutdown":
            # It may clean up after answering, but one that loops waiting for another
            # message would hold the parent's shutdown, and the server's, for ever.
            done, _ = await asyncio.wait((self._task,), timeout=RETURN_GRACE)
            if not done:
                logger.warning(
                    "The mounted app %r had not returned %s s after its lifespan shutdown; "
                    "it was cancelled",
                    self._app,
                    RETURN_GRACE,
                )
                self._task.cancel()
                await asyncio.wait((self._task,))
                return
            await self._task
