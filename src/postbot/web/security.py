"""Who may use the web app, and how a request proves it: the loopback rule, the signing key,
signed-cookie sessions, CSRF tokens, trusted proxies.

- Loopback only, unless a login is configured: `serve` refuses any other address without
  `[web] user` and `password_hash` (and so does a configured proxy, which makes a loopback
  server public). Without a login the app answers only requests whose Host is a loopback name,
  so a web page elsewhere cannot reach it through DNS rebinding.
- The signing key is POSTBOT_WEB_SECRET (environment or `.env`, 32 characters or more) or,
  without it, a key generated once into `var/web-secret` under the project folder, mode 0600.
- A session is a signed cookie (itsdangerous, 12 hours): HttpOnly, SameSite=Lax, and Secure
  when the request came over HTTPS. Every session carries a CSRF token; every form sends it
  back and a POST without it (or from another site) is refused.
- X-Forwarded-Proto and X-Forwarded-For are believed only from `[web] trusted_proxies`.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import stat
from collections.abc import Mapping
from http.cookies import CookieError, SimpleCookie
from pathlib import Path
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from postbot.config import Settings, WebSettings
from postbot.errors import ConfigError

SECRET_VARIABLE = "POSTBOT_WEB_SECRET"
MIN_SECRET = 32
SESSION_COOKIE = "postbot_session"
SESSION_SECONDS = 12 * 3600
LOOPBACK_NAMES = ("localhost",)


# -- where the server may listen ------------------------------------------------------------
def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or `localhost`; any other name or address is not (never resolved)."""
    host = host.strip().removeprefix("[").removesuffix("]")
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_binding(host: str, web: WebSettings) -> None:
    """Refuse to serve beyond this machine without a login (ConfigError, one line)."""
    how = "run `postbot passwd` and put its [web] user and password_hash in the config"
    if not web.login and not is_loopback(host):
        raise ConfigError(
            f"serve --host {host}: not a loopback address, and no login is configured;"
            f" {how}, or serve on 127.0.0.1"
        )
    if not web.login and web.trusted_proxies:
        raise ConfigError(
            "web.trusted_proxies is set, so the server is reached through a proxy, and no login"
            f" is configured; {how}"
        )


# -- the signing key ------------------------------------------------------------------------
def key_file(settings: Settings) -> Path:
    return (settings.project_dir or Path.cwd()) / "var" / "web-secret"


def signing_key(settings: Settings, environ: Mapping[str, str] | None = None) -> bytes:
    env = os.environ if environ is None else environ
    given = env.get(SECRET_VARIABLE, "")
    if given:
        if len(given) < MIN_SECRET:
            raise ConfigError(
                f"{SECRET_VARIABLE} is too short ({len(given)} characters; at least {MIN_SECRET},"
                " e.g. from `python -c 'import secrets; print(secrets.token_urlsafe(48))'`)"
            )
        return given.encode()
    return _key_from_file(key_file(settings))


def _key_from_file(path: Path) -> bytes:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _existing_key(path)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot create the web signing key: {exc.strerror}") from None
    key = secrets.token_urlsafe(48).encode()
    with os.fdopen(fd, "wb") as f:
        f.write(key + b"\n")
    return key


def _existing_key(path: Path) -> bytes:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"{path}: the web signing key is readable by others (mode {stat.S_IMODE(mode):o});"
            f" chmod 600 {path}"
        )
    key = path.read_bytes().strip()
    if len(key) < MIN_SECRET:
        raise ConfigError(f"{path}: the web signing key is damaged; delete it to make a new one")
    return key


# -- sessions -------------------------------------------------------------------------------
class Session:
    """One browser's session: its CSRF token, the user once logged in, a message to show."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = dict(data)
        self.changed = False
        if not isinstance(self.data.get("csrf", ""), str):
            self.data = {}  # a damaged or foreign session is no session

    @property
    def csrf(self) -> str:
        """This session's CSRF token, made (and the cookie set) the first time a form needs it:
        a page without a form sets no cookie."""
        if "csrf" not in self.data:
            self.data["csrf"] = secrets.token_urlsafe(32)
            self.changed = True
        return str(self.data["csrf"])

    @property
    def user(self) -> str | None:
        user = self.data.get("user")
        return user if isinstance(user, str) else None

    def log_in(self, user: str) -> None:
        """A new session (and token) for the user: a token seen before the login is void."""
        self.data = {"csrf": secrets.token_urlsafe(32), "user": user}
        self.changed = True

    def log_out(self) -> None:
        self.data = {"csrf": secrets.token_urlsafe(32)}
        self.changed = True

    def flash(self, message: str) -> None:
        self.data["flash"] = message
        self.changed = True

    def take_flash(self) -> str | None:
        message = self.data.pop("flash", None)
        if message is not None:
            self.changed = True
        return message if isinstance(message, str) else None


def csrf_ok(session: Session, token: str | None, headers: Headers) -> bool:
    """The form's token is the session's, and the browser does not say it came from elsewhere."""
    if headers.get("sec-fetch-site", "") == "cross-site" or "csrf" not in session.data:
        return False
    return bool(token) and secrets.compare_digest(str(token), session.csrf)


class SessionCookie:
    """ASGI middleware: scope["session"] from the signed cookie, written back when it changed."""

    def __init__(self, app: ASGIApp, key: bytes) -> None:
        from itsdangerous import URLSafeTimedSerializer

        self.app = app
        self.signer = URLSafeTimedSerializer(key, salt="postbot.web.session")

    def load(self, cookie_header: str | None) -> Session:
        from itsdangerous import BadData

        if cookie_header:
            cookies: SimpleCookie = SimpleCookie()
            try:
                cookies.load(cookie_header)
            except CookieError:  # a malformed Cookie header is no session, not an error page
                cookies = SimpleCookie()
            morsel = cookies.get(SESSION_COOKIE)
            if morsel is not None:
                try:
                    data = self.signer.loads(morsel.value, max_age=SESSION_SECONDS)
                except BadData:
                    data = {}
                if isinstance(data, dict):
                    return Session(data)
        return Session({})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        session = self.load(Headers(scope=scope).get("cookie"))
        scope["session"] = session

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start" and session.changed:
                value = self.signer.dumps(session.data)
                secure = "; Secure" if scope.get("scheme") == "https" else ""
                MutableHeaders(scope=message).append(
                    "set-cookie",
                    f"{SESSION_COOKIE}={value}; Path=/; Max-Age={SESSION_SECONDS}; HttpOnly;"
                    f" SameSite=Lax{secure}",
                )
            await send(message)

        await self.app(scope, receive, send_with_cookie)


class ProxyHeaders:
    """ASGI middleware: behind a trusted proxy, the scheme and client address it reports."""

    def __init__(self, app: ASGIApp, trusted: tuple[str, ...]) -> None:
        self.app = app
        self.trusted = {ipaddress.ip_address(t) for t in trusted}

    def _trusts(self, scope: Scope) -> bool:
        client = scope.get("client")
        if not client:
            return False
        try:
            return ipaddress.ip_address(client[0]) in self.trusted
        except ValueError:
            return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.trusted and self._trusts(scope):
            headers = Headers(scope=scope)
            scope = dict(scope)
            proto = headers.get("x-forwarded-proto", "").split(",")[-1].strip().lower()
            if proto in ("http", "https"):
                scope["scheme"] = proto
            forwarded = headers.get("x-forwarded-for", "").split(",")[-1].strip()
            if forwarded:  # the proxy's own entry is the last one: the rest the client wrote
                scope["client"] = (forwarded, 0)
        await self.app(scope, receive, send)


def host_is_loopback(headers: Headers) -> bool:
    """The Host a browser asked for is a loopback name (DNS rebinding asks for another)."""
    host = headers.get("host", "")
    name = host.rsplit("]", 1)[0] + "]" if host.startswith("[") else host.rsplit(":", 1)[0]
    return is_loopback(name)
