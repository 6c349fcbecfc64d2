"""Static files: the public/ folder served as a site.

One file is also sent as a download.
"""

import os
from pathlib import Path

from bareasgi import (
    Application,
    Content,
    HttpResponse,
    Info,
    RouteMatches,
    Scope,
)
from bareasgi.static import file_response, static_files

PUBLIC = Path(__file__).parent / "public"


async def download(
    scope: Scope, info: Info, matches: RouteMatches, content: Content
) -> HttpResponse:
    # An attachment: the browser saves the file instead of showing it.
    disposition = b'attachment; filename="notes.txt"'
    headers = [(b"content-disposition", disposition)]
    return await file_response(scope, PUBLIC / "notes.txt", headers=headers)


# no-cache: browsers may keep the files, but must ask each time whether they
# changed.
NO_CACHE = [(b"cache-control", b"no-cache")]
files = static_files(PUBLIC, index="index.html", headers=NO_CACHE)

app = Application()
app.http_router.add({"GET", "HEAD"}, "/download", download)
app.http_router.add({"GET", "HEAD"}, "/{path:path}", files)

if __name__ == "__main__":
    import uvicorn

    port = int(os.environ.get("PORT", "8000"))
    uvicorn.run(app, host="127.0.0.1", port=port)
