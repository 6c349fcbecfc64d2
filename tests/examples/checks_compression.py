"""The compression example under a real server: gzip and deflate decoded by httpx, a live stream."""

from __future__ import annotations

import gzip
import time

from tests.examples.serving import Example, Served


def check(served: Served) -> None:
    client = served.client  # httpx sends accept-encoding: gzip, deflate and decodes the body

    page = client.get("/")
    assert page.status_code == 200
    assert "content-encoding" not in page.headers
    assert '<a href="planets.json">' in page.text

    response = client.get("/planets.json")
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    assert response.headers["vary"] == "Accept-Encoding"
    assert len(response.json()["planets"]) == 500

    # The bytes on the wire: gzip, as long as content-length says, much shorter than the JSON.
    with client.stream("GET", "/planets.json") as response:
        raw = b"".join(response.iter_raw())
    assert len(raw) == int(response.headers["content-length"])
    assert len(raw) * 5 < len(gzip.decompress(raw))

    response = client.get("/planets.json", headers={"accept-encoding": "deflate"})
    assert response.headers["content-encoding"] == "deflate"
    assert response.json()["planets"][-1] == {"id": 500, "name": "Planet 500", "moons": 3}

    response = client.get("/planets.json", headers={"accept-encoding": "identity"})
    assert "content-encoding" not in response.headers
    assert len(response.json()["planets"]) == 500

    # Compressed, the countdown still arrives line by line, half a second apart.
    arrivals: list[tuple[float, str]] = []
    with client.stream("GET", "/countdown") as response:
        assert response.headers["content-encoding"] == "gzip"
        assert "content-length" not in response.headers
        for line in response.iter_lines():
            arrivals.append((time.monotonic(), line))
    assert [line for _, line in arrivals][-2:] == ["1, counting down to lift-off", "Lift-off!"]
    spread = arrivals[-1][0] - arrivals[0][0]
    assert spread > 2.0, f"the lines arrived together ({spread:.3f} s apart): buffered"


EXAMPLE = Example(check, probe_path="/")
