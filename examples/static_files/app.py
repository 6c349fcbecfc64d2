"""Static files: the public/ folder served as a site, and one file sent as a download."""

from pathlib import Path

import uvicorn

from bareasgi import Application
from bareasgi.static import file_response, static_files

PUBLIC = Path(__file__).parent / "public"


async def download(scope, info, matches, content):
    # An attachment: the browser saves the file instead of showing it.
    disposition = (b"content-disposition", b'attachment; filename="notes.txt"')
    return await file_response(scope, PUBLIC / "notes.txt", headers=[disposition])


# no-cache: browsers may keep the files, but must ask each time whether they changed.
files = static_files(PUBLIC, index="index.html", headers=[(b"cache-control", b"no-cache")])

app = Application()
app.http_router.add({"GET", "HEAD"}, "/download", download)
app.http_router.add({"GET", "HEAD"}, "/{path:path}", files)

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=9009)
