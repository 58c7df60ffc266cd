"""The web app put together: routes, middleware, error pages.

Middleware, outermost first: trusted proxy headers, security headers on every answer, the
session cookie, then the guard (loopback Host without a login; a logged-in session with one).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from postbot.errors import NotFound, PostbotError, StateError, UserError
from postbot.service import App
from postbot.web import auth, forms, pages, review
from postbot.web.context import Forbidden, Web, page
from postbot.web.render import STATIC, environment
from postbot.web.security import ProxyHeaders, SessionCookie, host_is_loopback

if TYPE_CHECKING:
    import uvicorn

PUBLIC = ("/login", "/static/")
# Everything from this site only: no inline script or style, no framing, forms post here.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)


def create_app(app: App, key: bytes) -> Starlette:
    web = Web(app, environment(app.zone), login=app.settings.web.login)
    routes = [
        Route("/", lambda request: RedirectResponse("/week", status_code=303)),
        Route("/week", pages.week),
        Route("/api/week", pages.week_json),
        Route("/posts/{post_id:int}", pages.post),
        Route("/posts/{post_id:int}/media/{index:int}", pages.media),
        Route("/posts/{post_id:int}/retry", forms.retry, methods=["POST"]),
        Route("/posts/{post_id:int}/cancel", forms.cancel, methods=["POST"]),
        Route("/posts/{post_id:int}/reschedule", forms.reschedule, methods=["POST"]),
        Route("/posts/{post_id:int}/resolve", forms.resolve, methods=["POST"]),
        Route("/attention", pages.attention),
        Route("/drafts", review.drafts),
        Route("/drafts/{post_id:int}/approve", review.approve, methods=["POST"]),
        Route("/drafts/{post_id:int}/reject", review.reject, methods=["POST"]),
        Route("/compose", forms.compose),
        Route("/compose", forms.compose_post, methods=["POST"]),
        Route("/compose/counts", forms.counts, methods=["POST"]),
        Route("/feeds", pages.feeds),
        Route("/workers", pages.workers),
        Route("/login", auth.login_form),
        Route("/login", auth.login, methods=["POST"]),
        Route("/logout", auth.logout_form),
        Route("/logout", auth.logout, methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    middleware = [
        Middleware(ProxyHeaders, trusted=app.settings.web.trusted_proxies),
        Middleware(SecurityHeaders),
        Middleware(SessionCookie, key=key),
        Middleware(Guard, login=web.login),
    ]
    handlers = {PostbotError: error_page, HTTPException: http_error_page}
    starlette = Starlette(routes=routes, middleware=middleware, exception_handlers=handlers)
    starlette.state.web = web
    return starlette


def server(asgi: ASGIApp, host: str, port: int, log_level: str = "info") -> uvicorn.Server:
    """The uvicorn server `postbot serve` runs (the tests too). Uvicorn's own proxy headers are
    off: X-Forwarded-* count only from [web] trusted_proxies, which `ProxyHeaders` decides."""
    import uvicorn

    config = uvicorn.Config(
        asgi,
        host=host,
        port=port,
        proxy_headers=False,
        server_header=False,
        log_level=log_level,
        lifespan="off",
    )
    return uvicorn.Server(config)


def status_of(exc: PostbotError) -> int:
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, Forbidden):
        return 403
    if isinstance(exc, StateError):
        return 409
    return 400 if isinstance(exc, UserError) else 503


async def error_page(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PostbotError)
    return page(request, "error.html", status_of(exc), message=str(exc))


async def http_error_page(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = "no such page" if exc.status_code == 404 else exc.detail
    return page(request, "error.html", exc.status_code, message=message)


class Guard:
    """Without a login: only requests for a loopback Host. With one: a logged-in session for
    every page but the login itself."""

    def __init__(self, app: ASGIApp, login: bool) -> None:
        self.app = app
        self.login = login

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        response: Response | None = None
        if not self.login:
            if not host_is_loopback(Headers(scope=scope)):
                response = PlainTextResponse(
                    "postbot serves only 127.0.0.1 and localhost without a login: configure"
                    " [web] user and password_hash (postbot passwd) to reach it by another name",
                    status_code=421,
                )
        elif scope["session"].user is None and not path.startswith(PUBLIC):
            if scope["method"] in ("GET", "HEAD"):
                query = scope.get("query_string", b"").decode("latin-1")
                target = path + (f"?{query}" if query else "")
                response = RedirectResponse(f"/login?next={_quote(target)}", status_code=303)
            else:
                response = PlainTextResponse("log in first", status_code=403)
        if response is not None:
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _quote(path: str) -> str:
    from urllib.parse import quote

    return quote(path, safe="/")


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["content-security-policy"] = CSP
                headers["x-content-type-options"] = "nosniff"
                headers["x-frame-options"] = "DENY"
                headers["referrer-policy"] = "same-origin"
                headers["cache-control"] = "public, max-age=3600" if static else "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)
