"""What every handler shares: the App, the templates, the login rule, and how a page is sent.

Service calls block (they talk to the database), so handlers run them in the thread pool
(`call`); the event loop only parses requests and sends pages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as default
from typing import Any, TypeVar

from jinja2 import Environment
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse

from postbot.errors import UserError
from postbot.service import App
from postbot.web.coalesce import Coalescer
from postbot.web.ratelimit import FailedLogins
from postbot.web.render import render
from postbot.web.security import Session, csrf_ok

T = TypeVar("T")


@dataclass
class Web:
    app: App
    env: Environment
    login: bool  # a login is configured: every page but /login needs a session with a user
    coalescer: Coalescer[bytes] = default(default_factory=Coalescer)  # the week's pages
    failed_logins: FailedLogins = default(default_factory=FailedLogins)

    def render(self, name: str, **context: Any) -> str:
        return render(self.env, name, login=self.login, **context)


def web_of(request: Request) -> Web:
    web: Web = request.app.state.web
    return web


def session_of(request: Request) -> Session:
    session: Session = request.scope["session"]
    return session


async def call(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return await run_in_threadpool(function, *args, **kwargs)


def page(request: Request, name: str, code: int = 200, /, **context: Any) -> HTMLResponse:
    """A page with what every page shows: the user, this session's CSRF token, a message."""
    session = session_of(request)
    body = web_of(request).render(
        name,
        user=session.user,
        csrf=session.csrf,
        flash=session.take_flash(),
        path=request.url.path,
        **context,
    )
    return HTMLResponse(body, status_code=code)


class Forbidden(UserError):
    """A request the app refuses to act on: a form without this session's CSRF token."""


async def checked_form(request: Request) -> FormData:
    """The posted form, once it has shown this session's CSRF token (every form carries it)."""
    form = await request.form()
    token = form.get("csrf")
    if not csrf_ok(session_of(request), token if isinstance(token, str) else None, request.headers):
        raise Forbidden(
            "this form is out of date or came from another site (its CSRF token does not"
            " match): reload the page and send it again"
        )
    return form


def field(form: FormData, name: str) -> str:
    """A text field of the form ('' when missing)."""
    value = form.get(name)
    return value if isinstance(value, str) else ""


def local_path(value: str, default: str) -> str:
    """Where to go after a form: a path on this site only, never another site's address."""
    if value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return default
