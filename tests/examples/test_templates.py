"""The templates example: Jinja2 pages, a form posted back, a 303, assets."""

import pytest

from bareasgi.testing import TestClient
from examples.templates.app import MAX_ITEMS, app

FORM = {"content-type": "application/x-www-form-urlencoded"}


@pytest.fixture(autouse=True)
def fresh_list():
    app.info["items"][:] = ["Milk", "Bread"]


async def test_the_page_lists_the_items_inside_the_layout():
    response = await TestClient(app).get("/")
    assert response.status == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    page = response.text
    assert "<title>Shopping list</title>" in page
    assert "<h1>Shopping list</h1>" in page
    assert '<link rel="stylesheet" href="static/style.css">' in page
    assert "<li>Milk</li>\n" in page
    assert "<li>Bread</li>\n" in page
    assert '<form method="post" action="items">' in page
    assert "Rendered with Jinja2" in page


async def test_an_empty_list_says_so():
    app.info["items"].clear()
    response = await TestClient(app).get("/")
    assert '<li class="empty">Nothing yet.</li>' in response.text


async def test_adding_an_item_redirects_to_the_list_with_a_303():
    client = TestClient(app)
    response = await client.post("/items", headers=FORM, body="item=Eggs")
    assert response.status == 303
    assert response.headers["location"] == "./"
    assert response.body == b""
    assert "<li>Eggs</li>" in (await client.get("/")).text


async def test_what_a_visitor_types_is_escaped_not_run():
    client = TestClient(app)
    body = "item=%3Cscript%3Ealert(1)%3C%2Fscript%3E"
    await client.post("/items", headers=FORM, body=body)
    page = (await client.get("/")).text
    assert "<li>&lt;script&gt;alert(1)&lt;/script&gt;</li>" in page
    assert "<script>" not in page


@pytest.mark.parametrize("body", ["", "item=", "item=%20", "item=" + "x" * 81])
async def test_a_missing_or_overlong_item_shows_the_form_again_with_a_422(body):
    response = await TestClient(app).post("/items", headers=FORM, body=body)
    assert response.status == 422
    assert '<p class="error" role="alert">' in response.text
    assert "Give an item of 1 to 80 characters." in response.text
    assert app.info["items"] == ["Milk", "Bread"]


async def test_what_was_typed_is_kept_in_the_form_escaped():
    body = "item=" + "%22" * 81
    response = await TestClient(app).post("/items", headers=FORM, body=body)
    assert 'value="' + "&#34;" * 81 + '"' in response.text


async def test_the_list_keeps_only_the_newest_items():
    client = TestClient(app)
    for number in range(MAX_ITEMS + 5):
        await client.post("/items", headers=FORM, body=f"item=n{number}")
    items = app.info["items"]
    assert len(items) == MAX_ITEMS
    assert items[-1] == f"n{MAX_ITEMS + 4}"


async def test_a_body_that_is_not_a_form_is_a_415_and_a_huge_one_a_413():
    client = TestClient(app)
    wrong = await client.post("/items", json={"item": "Eggs"})
    assert wrong.status == 415
    huge = await client.post("/items", headers=FORM, body="item=" + "x" * 5000)
    assert huge.status == 413


async def test_the_stylesheet_is_served_from_the_static_folder():
    response = await TestClient(app).get("/static/style.css")
    assert response.status == 200
    assert response.headers["content-type"] == "text/css; charset=utf-8"
    assert "font-family" in response.text
    assert (await TestClient(app).get("/static/../app.py")).status == 404


async def test_links_and_redirects_work_under_a_prefix():
    client = TestClient(app, root_path="/try/templates")
    page = await client.get("/")
    assert page.status == 200
    assert (await client.get("/static/style.css")).status == 200
    # Relative: the browser resolves both against /try/templates/.
    assert 'href="static/style.css"' in page.text
    assert 'action="items"' in page.text
    response = await client.post("/items", headers=FORM, body="item=Tea")
    assert response.headers["location"] == "./"
