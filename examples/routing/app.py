"""Typed path variables: each route answers with the name, Python type and value it matched."""

import uvicorn

from bareasgi import Application, text_response


async def echo(scope, info, matches, content):
    lines = [f"{name}: {type(value).__name__} = {value}\n" for name, value in matches.items()]
    return text_response(200, None, "".join(lines))


app = Application()
# Each route is GET only: a POST to a path one of them matches is a 405 with an allow header.
app.http_router.add({"GET"}, "/users/{name}", echo)  # one non-empty segment, as a str
app.http_router.add({"GET"}, "/items/{id:int}", echo)  # /items/abc does not match: 404
app.http_router.add({"GET"}, "/prices/{amount:float}", echo)
app.http_router.add({"GET"}, "/day/{when:datetime:%Y-%m-%d}", echo)  # any strptime format
app.http_router.add({"GET"}, "/files/{rest:path}", echo)  # the rest of the path, slashes too

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=9009)
