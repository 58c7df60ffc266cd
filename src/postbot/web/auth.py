"""Logging in and out. The password is checked against the argon2 hash from the config;
failures are counted per client address (`ratelimit`), and past the limit the login answers
429 with Retry-After, before any password is checked."""

from __future__ import annotations

import secrets
import time

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from postbot.web.context import call, checked_form, field, local_path, page, session_of, web_of


def _verify(password_hash: str, password: str) -> bool:
    from argon2 import PasswordHasher
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return PasswordHasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def login_form(request: Request) -> Response:
    next_path = local_path(request.query_params.get("next", ""), "/week")
    return page(request, "login.html", next_path=next_path, error=None)


async def login(request: Request) -> Response:
    web = web_of(request)
    form = await checked_form(request)
    next_path = local_path(field(form, "next"), "/week")
    settings = web.app.settings.web
    if not web.login or settings.user is None or settings.password_hash is None:
        return RedirectResponse(next_path, status_code=303)  # nothing to log in to
    address = request.client.host if request.client else "-"
    wait = web.failed_logins.retry_after(address, time.monotonic())
    if wait is not None:
        seconds = int(wait) + 1
        message = f"too many failed logins: try again in {seconds} s"
        response = page(request, "login.html", 429, next_path=next_path, error=message)
        response.headers["Retry-After"] = str(seconds)
        return response
    user_ok = secrets.compare_digest(field(form, "user").encode(), settings.user.encode())
    # The hash is checked even for a wrong user name, so the answer takes as long either way.
    password_ok = await call(_verify, settings.password_hash, field(form, "password"))
    if not (user_ok and password_ok):
        web.failed_logins.failed(address, time.monotonic())
        message = "wrong user name or password"
        return page(request, "login.html", 401, next_path=next_path, error=message)
    web.failed_logins.succeeded(address)
    session_of(request).log_in(settings.user)
    return RedirectResponse(next_path, status_code=303)


async def logout_form(request: Request) -> Response:
    return page(request, "logout.html")


async def logout(request: Request) -> Response:
    await checked_form(request)
    session_of(request).log_out()
    return RedirectResponse("/login" if web_of(request).login else "/week", status_code=303)
