"""Forms and uploads: an HTML form, and a handler that reads its fields.

The handler hashes each uploaded file as it reads it.
"""
# Needs: bareasgi[forms]

import hashlib
import os
from pathlib import Path

from bareasgi import (
    Application,
    Content,
    HttpResponse,
    Info,
    RouteMatches,
    Scope,
    text_response,
    text_writer,
)
from bareasgi.forms import UploadedFile, read_form

PAGE = (Path(__file__).parent / "index.html").read_text(encoding="utf-8")
MiB = 1024 * 1024


async def index(
    scope: Scope, info: Info, matches: RouteMatches, content: Content
) -> HttpResponse:
    headers = [(b"content-type", b"text/html; charset=utf-8")]
    return 200, headers, text_writer(PAGE)


async def sha256(upload: UploadedFile) -> str:
    """The SHA-256 of an uploaded file, read a piece at a time."""
    digest = hashlib.sha256()
    while chunk := await upload.read(64 * 1024):
        digest.update(chunk)
    return digest.hexdigest()


async def submit(
    scope: Scope, info: Info, matches: RouteMatches, content: Content
) -> HttpResponse:
    form = await read_form(
        scope,
        content,
        max_size=5 * MiB,  # the whole body
        max_file_size=2 * MiB,  # each file
        max_files=3,
        max_fields=10,
    )
    async with form:  # closes the files, deleting their temporary copies
        lines = [
            f"name: {form.get('name', '')}",
            f"comment: {form.get('comment', '')}",
        ]
        for upload in form.get_all("files"):
            # A file input left empty still sends a part, with an empty file
            # name.
            if isinstance(upload, UploadedFile) and upload.filename:
                digest = await sha256(upload)
                lines.append(f"file: {upload.filename}, {upload.size} bytes")
                lines.append(f"  sha256 {digest}")
    return text_response(200, None, "\n".join(lines) + "\n")


app = Application()
app.http_router.add({"GET"}, "/", index)
app.http_router.add({"POST"}, "/submit", submit)

if __name__ == "__main__":
    import uvicorn

    port = int(os.environ.get("PORT", "8000"))
    uvicorn.run(app, host="127.0.0.1", port=port)
