"""Run a script as ``python SCRIPT`` would, but with every server it starts moved to PORT.

Usage: ``python tests/run_example_main.py PORT examples/NAME/app.py``

The examples' ``if __name__ == "__main__":`` blocks serve on a fixed port (9009), which a
test cannot rely on being free. This launcher patches uvicorn's ``Config`` (behind
``uvicorn.run``) and hypercorn's ``Config.bind`` (behind ``hypercorn.asyncio.serve`` and the
other entry points) so that whatever the script asks for, the server listens on
``127.0.0.1:PORT``; then it runs the script with :func:`runpy.run_path` under the name
``__main__``, with ``sys.argv`` and ``sys.path[0]`` set as the interpreter would set them.
Nothing else about the script changes.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path
from typing import Any


def _move_uvicorn(port: int) -> None:
    import uvicorn

    original_init = uvicorn.Config.__init__

    def init(self: uvicorn.Config, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        self.host = "127.0.0.1"
        self.port = port

    uvicorn.Config.__init__ = init  # type: ignore[method-assign]


def _move_hypercorn(port: int) -> None:
    from hypercorn.config import Config

    def nowhere(self: Config) -> list[str]:
        return []

    def ignore(self: Config, value: object) -> None:
        pass

    Config.bind = property(lambda self: [f"127.0.0.1:{port}"], ignore)  # type: ignore[assignment]
    Config.insecure_bind = property(nowhere, ignore)  # type: ignore[assignment]
    Config.quic_bind = property(nowhere, ignore)  # type: ignore[assignment]


def main(argv: list[str]) -> None:
    if len(argv) != 3:
        sys.exit(__doc__)
    port = int(argv[1])
    script = Path(argv[2]).resolve()
    _move_uvicorn(port)
    _move_hypercorn(port)
    sys.argv = [argv[2]]
    sys.path[0] = str(script.parent)
    runpy.run_path(str(script), run_name="__main__")


if __name__ == "__main__":
    main(sys.argv)
