"""A JSON API that pages from other origins may call, with the CORS middleware allowing them."""

from pathlib import Path

import uvicorn

from bareasgi import Application, HTTPError, json_reader, json_response, text_writer
from bareasgi.cors import CORSMiddleware

PAGE = (Path(__file__).parent / "index.html").read_text(encoding="utf-8")

cors = CORSMiddleware(
    allow_origins=["http://localhost:8000"],  # say, a front end on its own dev server
    allow_origin_regex=r"http://127\.0\.0\.1(:\d+)?",  # any port of 127.0.0.1
    allow_methods=["GET", "PUT"],
)


async def index(scope, info, matches, content):
    return 200, [(b"content-type", b"text/html; charset=utf-8")], text_writer(PAGE)


async def get_greeting(scope, info, matches, content):
    return json_response(200, None, {"greeting": info["greeting"]})


async def set_greeting(scope, info, matches, content):
    body = await json_reader(content, scope=scope)
    if not isinstance(body, dict) or not isinstance(body.get("greeting"), str):
        raise HTTPError(400, 'Send a JSON object such as {"greeting": "Bonjour"}.')
    info["greeting"] = body["greeting"]
    return json_response(200, None, {"greeting": info["greeting"]})


app = Application(middlewares=[cors], info={"greeting": "Hello"})
app.http_router.add({"GET"}, "/", index)
app.http_router.add({"GET"}, "/greeting", get_greeting)
app.http_router.add({"PUT"}, "/greeting", set_greeting)

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=9009)
