"""The examples with pages, mounted under /try/NAME as the gallery mounts them.

Served by a real server for the browser tests: every link, form and redirect of
the pages must work under a prefix.
"""

from __future__ import annotations

from bareasgi import Application
from examples.auth.app import app as auth
from examples.templates.app import app as templates

app = Application()
app.mount("/try/auth", auth)
app.mount("/try/templates", templates)
