"""The web app's rules that need no server: loopback, login rate limit, signing key, snippets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from starlette.datastructures import Headers

from postbot.config import Settings, WebSettings
from postbot.errors import ConfigError
from postbot.platforms.facets import Facet
from postbot.web.ratelimit import FailedLogins
from postbot.web.render import Piece, facet_pieces, snippet
from postbot.web.security import (
    Session,
    check_binding,
    csrf_ok,
    host_is_loopback,
    is_loopback,
    signing_key,
)

LOGIN = WebSettings(user="redaktion", password_hash="$argon2id$...")


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "LOCALHOST"]
)
def test_loopback_addresses(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.5", "10.0.0.1", "example.org",
                                  "localhost.example.org", "", "127.0.0.1.nip.io"])  # fmt: skip
def test_anything_else_is_not_loopback(host: str) -> None:
    assert not is_loopback(host)


def test_binding_beyond_loopback_needs_a_login() -> None:
    check_binding("127.0.0.1", WebSettings())
    check_binding("0.0.0.0", LOGIN)
    with pytest.raises(ConfigError, match=r"^serve --host 0.0.0.0: not a loopback address"):
        check_binding("0.0.0.0", WebSettings())
    with pytest.raises(ConfigError, match=r"web\.trusted_proxies is set"):
        check_binding("127.0.0.1", WebSettings(trusted_proxies=("127.0.0.1",)))
    check_binding("127.0.0.1", WebSettings("a", "$argon2id$...", ("127.0.0.1",)))


@pytest.mark.parametrize(
    ("host", "ok"),
    [("127.0.0.1:8750", True), ("localhost", True), ("[::1]:8750", True), ("[::1]", True),
     ("evil.example:8750", False), ("127.0.0.1.evil.example", False), ("", False)],
)  # fmt: skip
def test_the_host_a_browser_asked_for(host: str, ok: bool) -> None:
    assert host_is_loopback(Headers({"host": host})) is ok


def test_failed_logins_are_counted_per_address_in_a_sliding_window() -> None:
    limiter = FailedLogins(limit=3, window=60)
    for t in (0, 10, 20):
        assert limiter.retry_after("a", t) is None
        limiter.failed("a", t)
    assert limiter.retry_after("a", 30) == 30  # until the first failure is 60 s old
    assert limiter.retry_after("b", 30) is None  # another address is not held back
    assert limiter.retry_after("a", 60) is None  # the first failure left the window
    limiter.failed("a", 61)
    assert limiter.retry_after("a", 62) == 8
    limiter.succeeded("a")
    assert limiter.retry_after("a", 62) is None


def test_failed_logins_from_a_flood_of_addresses_stay_bounded() -> None:
    limiter = FailedLogins(limit=3, window=60, max_addresses=100)
    for i in range(1000):
        limiter.failed(f"10.0.{i // 256}.{i % 256}", float(i) / 1000)
    assert len(limiter._failures) <= 100


def test_a_session_token_is_compared_whole_and_a_login_renews_it() -> None:
    session = Session({})
    assert not session.changed  # no cookie until a form needs a token
    assert not csrf_ok(session, "", Headers({}))
    assert len(session.csrf) >= 40 and session.changed
    assert csrf_ok(session, session.csrf, Headers({}))
    assert not csrf_ok(session, session.csrf[:-1], Headers({}))
    assert not csrf_ok(session, None, Headers({}))
    assert not csrf_ok(session, session.csrf, Headers({"sec-fetch-site": "cross-site"}))
    assert csrf_ok(session, session.csrf, Headers({"sec-fetch-site": "same-origin"}))
    before = session.csrf
    session.log_in("redaktion")
    assert session.user == "redaktion" and session.csrf != before
    assert Session({"csrf": 5, "user": "redaktion"}).user is None  # a damaged session is none


def _settings(tmp_path: Path) -> Settings:
    from zoneinfo import ZoneInfo

    return Settings(ZoneInfo("UTC"), "memory://", {}, project_dir=tmp_path)


def test_the_signing_key_is_made_once_with_mode_600(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    key = signing_key(settings, environ={})
    path = tmp_path / "var" / "web-secret"
    assert path.stat().st_mode & 0o777 == 0o600
    assert len(key) >= 32
    assert signing_key(settings, environ={}) == key
    os.chmod(path, 0o644)
    with pytest.raises(ConfigError, match=r"readable by others \(mode 644\); chmod 600"):
        signing_key(settings, environ={})


def test_the_signing_key_from_the_environment(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    given = "z" * 40
    assert signing_key(settings, environ={"POSTBOT_WEB_SECRET": given}) == given.encode()
    assert not (tmp_path / "var" / "web-secret").exists()
    with pytest.raises(ConfigError, match=r"POSTBOT_WEB_SECRET is too short \(5 characters"):
        signing_key(settings, environ={"POSTBOT_WEB_SECRET": "kurz!"})


def test_snippets_cut_at_a_word() -> None:
    assert snippet("Grüße  aus\nKöln") == "Grüße aus Köln"
    long = "Lesen Sie hier, wie Xi Jinping am SOZ-Gipfel in Astana teilnimmt und spricht"
    assert snippet(long, 40) == "Lesen Sie hier, wie Xi Jinping am…"
    assert snippet("Donaudampfschifffahrtsgesellschaftskapitän", 10) == "Donaudampf…"


def test_facet_pieces_mark_each_link_and_tag() -> None:
    text = "Grüße https://example.org/ä #Köln"
    facets = (Facet("link", 6, 27, "https://example.org/ä"), Facet("tag", 28, 33, "Köln"))
    assert facet_pieces(text, facets) == [
        Piece("Grüße "), Piece("https://example.org/ä", "link"), Piece(" "),
        Piece("#Köln", "tag"),
    ]  # fmt: skip
