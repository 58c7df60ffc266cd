"""Who may use the web calendar, over real HTTP: CSRF on every form, the login and its rate
limit, the session cookie behind a proxy, the loopback rule, no secret on any page, and the
commands `postbot serve` and `postbot passwd`."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import requests

from tests.support import DRY_CONFIG, POSTBOT, clean_env, snapshot
from tests.web.conftest import (
    PASSWORD,
    TEASER,
    USER,
    ServeProject,
    csrf_of,
    enqueue,
    login_config,
    text_of,
)

pytestmark = pytest.mark.timeout(120)

# Recognisable fake credentials under the names the config gives: none may reach a page.
CREDENTIALS = ("MASTODON_ACCESS_TOKEN", "X_CONSUMER_KEY", "X_CONSUMER_SECRET", "X_ACCESS_TOKEN",
               "X_ACCESS_TOKEN_SECRET", "BLUESKY_APP_PASSWORD")  # fmt: skip
SECRETS = {name: f"SECRET-{name}-4711" for name in CREDENTIALS}


# -- CSRF -----------------------------------------------------------------------------------------
POSTS = ["/compose", "/compose/counts", "/posts/{id}/retry", "/posts/{id}/cancel",
         "/posts/{id}/reschedule", "/posts/{id}/resolve", "/login", "/logout"]  # fmt: skip


@pytest.mark.parametrize("path", POSTS)
def test_every_form_is_refused_without_its_csrf_token(
    serve_project: ServeProject, path: str
) -> None:
    served = serve_project()
    s = served.session()
    post_id = enqueue(served, to=["x"])
    csrf = csrf_of(s.get(served.url + "/compose"))
    url = served.url + path.format(id=post_id)
    form = {
        "text": TEASER,
        "when": "+1h",
        "to": "x",
        "at": "+3h",
        "url": "https://x.com/a/status/1",
    }
    before = snapshot(served.db)
    for attempt in (form, {**form, "csrf": "forged"}, {**form, "csrf": csrf + "x"}):
        refused = s.post(url, data=attempt, allow_redirects=False)
        assert refused.status_code == 403, (path, refused.status_code)
        assert "CSRF token does not match" in text_of(refused)
    # The right token, sent by a page on another site (the browser says so), is refused too.
    cross = s.post(url, data={**form, "csrf": csrf}, headers={"Sec-Fetch-Site": "cross-site"})
    assert cross.status_code == 403
    # Another browser's session has its own token.
    assert served.session().post(url, data={**form, "csrf": csrf}).status_code == 403
    assert snapshot(served.db) == before


# -- login --------------------------------------------------------------------------------------
def test_login_logout_and_the_session_cookie(
    serve_project: ServeProject, password_hash: str
) -> None:
    served = serve_project(login_config(password_hash))
    s = served.session()
    away = s.get(served.url + "/posts/1?x=1", allow_redirects=False)
    assert away.status_code == 303 and away.headers["location"] == "/login?next=/posts/1%3Fx%3D1"
    assert "set-cookie" not in away.headers  # no form, no session yet
    assert s.post(served.url + "/compose", data={}).status_code == 403
    assert s.get(served.url + "/static/style.css").status_code == 200
    login = s.get(served.url + "/login?next=/workers")
    cookie = login.headers["set-cookie"]  # the login form's CSRF token needs a session
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    csrf = csrf_of(login)
    form = {"csrf": csrf, "user": USER, "password": "falsch", "next": "/workers"}
    wrong = s.post(served.url + "/login", data=form)
    assert wrong.status_code == 401 and "wrong user name or password" in text_of(wrong)
    assert (
        s.post(
            served.url + "/login", data={**form, "user": "admin", "password": PASSWORD}
        ).status_code
        == 401
    )
    done = s.post(served.url + "/login", data={**form, "password": PASSWORD}, allow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/workers"
    assert s.post(served.url + "/compose", data={"csrf": csrf}).status_code == 403  # a new token
    workers = s.get(served.url + "/workers")
    assert workers.status_code == 200 and f"{USER} · Log out" in text_of(workers)
    for page in ("/week", "/compose", "/attention", "/workers", "/logout"):
        assert password_hash not in s.get(served.url + page).text
    s.post(served.url + "/logout", data={"csrf": csrf_of(s.get(served.url + "/logout"))})
    assert s.get(served.url + "/week", allow_redirects=False).status_code == 303


def test_failed_logins_are_rate_limited(serve_project: ServeProject, password_hash: str) -> None:
    served = serve_project(login_config(password_hash))
    s = served.session()
    csrf = csrf_of(s.get(served.url + "/login"))
    form = {"csrf": csrf, "user": USER, "password": "geraten"}
    assert [s.post(served.url + "/login", data=form).status_code for _ in range(5)] == [401] * 5
    blocked = s.post(
        served.url + "/login", data={**form, "password": PASSWORD}, allow_redirects=False
    )
    assert blocked.status_code == 429
    assert 0 < int(blocked.headers["retry-after"]) <= 900
    assert "too many failed logins" in text_of(blocked)


def test_the_session_cookie_is_secure_only_behind_a_trusted_https_proxy(
    serve_project: ServeProject, password_hash: str
) -> None:
    https = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    trusted = serve_project(login_config(password_hash, 'trusted_proxies = ["127.0.0.1"]'))
    assert (
        "; Secure"
        in trusted.session().get(trusted.url + "/login", headers=https).headers["set-cookie"]
    )
    untrusted = serve_project(login_config(password_hash))
    assert (
        "Secure"
        not in untrusted.session()
        .get(untrusted.url + "/login", headers=https)
        .headers["set-cookie"]
    )


def test_without_a_login_only_loopback_host_names_are_answered(serve_project: ServeProject) -> None:
    served = serve_project()
    s = served.session()
    for host in ("127.0.0.1:8750", "localhost", "[::1]:8750"):
        assert s.get(served.url + "/week", headers={"Host": host}).status_code == 200, host
    rebound = s.get(served.url + "/week", headers={"Host": "attacker.example:8750"})
    assert rebound.status_code == 421
    assert "serves only 127.0.0.1 and localhost without a login" in rebound.text


def test_no_secret_is_rendered(
    serve_project: ServeProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    served = serve_project()
    post_id = enqueue(served)
    s = served.session()
    for path in ("/week?of=2027-03-24", f"/posts/{post_id}", "/attention", "/compose", "/workers",
                 "/api/week?of=2027-03-24"):  # fmt: skip
        body = s.get(served.url + path).text
        for value in SECRETS.values():
            assert value not in body, (path, value)


# -- serve and passwd -----------------------------------------------------------------------------
def test_serve_refuses_an_address_beyond_loopback_without_a_login(tmp_path: Path) -> None:
    from tests.support import assert_refused, make_project

    project = make_project(tmp_path)
    line = assert_refused(project, "serve", "--host", "0.0.0.0")
    assert line == (
        "serve --host 0.0.0.0: not a loopback address, and no login is configured; run"
        " `postbot passwd` and put its [web] user and password_hash in the config, or serve"
        " on 127.0.0.1"
    )
    assert not (project / "var" / "postbot.db").exists()
    proxied = make_project(
        tmp_path / "p", DRY_CONFIG + '\n[web]\ntrusted_proxies = ["127.0.0.1"]\n'
    )
    assert "web.trusted_proxies is set" in assert_refused(proxied, "serve")


def test_postbot_serve_answers_on_loopback(tmp_path: Path) -> None:
    import socket

    from tests.support import make_project, wait_until

    project = make_project(tmp_path)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [*POSTBOT, "serve", "--port", str(port)],
        cwd=project,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:

        def week() -> requests.Response | None:
            try:
                return requests.get(f"http://127.0.0.1:{port}/week", timeout=2)
            except requests.ConnectionError:
                return None

        answer = wait_until(week, timeout=30)
        assert answer is not None and answer.status_code == 200
        assert "Week of" in answer.text
        key = project / "var" / "web-secret"
        assert key.stat().st_mode & 0o777 == 0o600
    finally:
        server.terminate()
        _, err = server.communicate(timeout=20)
    assert f"postbot: serving http://127.0.0.1:{port}/ without a login (loopback only)" in err


def passwd(user: str, password: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*POSTBOT, "passwd", "--user", user, "--password-stdin"],
        input=password + "\n",
        capture_output=True,
        text=True,
        env=clean_env(),
    )


def test_passwd_prints_a_login_the_config_takes(tmp_path: Path) -> None:
    from argon2 import PasswordHasher

    from postbot.config import load_settings

    done = passwd("redaktion", "Grüße-aus-Köln")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith('[web]\nuser = "redaktion"\npassword_hash = "$argon2id$')
    config = tmp_path / "postbot.toml"
    config.write_text(DRY_CONFIG.replace('project_dir = ".."', "") + done.stdout, encoding="utf-8")
    web = load_settings(config, environ={}).web
    assert web.user == "redaktion" and web.password_hash
    assert PasswordHasher().verify(web.password_hash, "Grüße-aus-Köln")
    short = passwd("a", "kurz")
    assert short.returncode == 2
    assert (
        short.stderr == "postbot: error: the password is too short: give at least 10 characters\n"
    )
    spaced = passwd("zwei wörter", "lang-genug-1234")
    assert spaced.returncode == 2 and "--user must be a user name" in spaced.stderr
