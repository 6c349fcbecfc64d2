"""Hello, world: every GET request gets the same line of plain text."""

import uvicorn

from bareasgi import Application, text_writer


async def hello(scope, info, matches, content):
    return 200, [(b"content-type", b"text/plain; charset=utf-8")], text_writer("Hello, World!\n")


app = Application()
app.http_router.add({"GET"}, "/{rest:path}", hello)

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=9009)
