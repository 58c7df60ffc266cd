"""The web calendar over real HTTP: every route, login, CSRF, proxies, the loopback rule, and
the actions going through the same service calls as the CLI."""

from __future__ import annotations

import html
import json
import re
import sqlite3
import subprocess
from pathlib import Path

import pytest
import requests

from postbot import service
from postbot.domain import Status
from tests.stores import force_delivery
from tests.support import DRY_CONFIG, POSTBOT, clean_env, run_postbot, snapshot
from tests.web.conftest import PASSWORD, USER, Served, ServeProject, login_config

pytestmark = pytest.mark.timeout(120)

TEASER = "Grüße aus Köln: Lesen Sie hier, wie Xi Jinping am SOZ-Gipfel über die Zukunft spricht"
SECRETS = {
    "MASTODON_ACCESS_TOKEN": "SECRET-MASTO-TOKEN-1234",
    "X_CONSUMER_KEY": "SECRET-X-CONSUMER-KEY-5678",
    "X_CONSUMER_SECRET": "SECRET-X-CONSUMER-SECRET-9012",
    "X_ACCESS_TOKEN": "SECRET-X-ACCESS-TOKEN-3456",
    "X_ACCESS_TOKEN_SECRET": "SECRET-X-ACCESS-SECRET-7890",
    "BLUESKY_HANDLE": "postbot.test",
    "BLUESKY_APP_PASSWORD": "SECRET-BSKY-APP-PASSWORD",
}


def csrf_of(page: requests.Response) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert match, page.text[:500]
    return match.group(1)


def enqueue(served: Served, text: str = TEASER, at: str = "2027-03-24 08:00", **kw: object) -> int:
    return service.enqueue_text(served.app, text, at=at, **kw).post_id  # type: ignore[arg-type]


def text_of(page: requests.Response) -> str:
    """The page's text, tags dropped and entities read, as a person reads it."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page.text)).split())


# -- every page ---------------------------------------------------------------------------------
def test_every_page_renders_in_utf8_with_german_text_unharmed(serve_project: ServeProject) -> None:
    served = serve_project()
    post_id = enqueue(served, hashtags=["SOZGipfel", "Köln"], link="https://example.org/ä")
    s = served.session()
    pages = {
        "/week?of=2027-03-24": ["Week of 22 Mar 2027", "Grüße aus Köln", "08:00", "mastodon"],
        f"/posts/{post_id}": [TEASER, "#SOZGipfel", "#Köln", "https://example.org/ä",
                              "graphemes", "UTF-8 bytes", "No attempts yet"],
        "/attention": ["Nothing needs attention"],
        "/compose": ["Compose a post", "mastodon", "bluesky"],
        "/workers": ["No daemon is running", "queued 3"],
        "/login": ["Log in"],
        "/logout": ["Log out"],
    }  # fmt: skip
    for path, expected in pages.items():
        page = s.get(served.url + path)
        assert page.status_code == 200, (path, page.text)
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        assert "default-src 'self'" in page.headers["content-security-policy"]
        assert page.headers["cache-control"] == "no-store"
        shown = text_of(page)
        for words in expected:
            assert words in shown, (path, words)
    assert s.get(served.url + "/", allow_redirects=False).headers["location"] == "/week"
    for asset in ("/static/style.css", "/static/compose.js"):
        assert s.get(served.url + asset).status_code == 200


def test_the_week_as_json_is_the_show_json_shape_of_its_posts(serve_project: ServeProject) -> None:
    served = serve_project()
    inside = enqueue(served, at="2027-03-28 03:30")  # Sunday, after the clocks went forward
    enqueue(served, at="2027-03-29 00:30")  # the next Monday: another week
    rows = served.session().get(served.url + "/api/week?of=2027-03-22").json()
    assert [r["id"] for r in rows] == [inside]
    assert rows[0]["text"] == TEASER
    assert {d["due_at"] for d in rows[0]["deliveries"]} == {"2027-03-28T01:30:00Z"}


def test_refusals_are_pages_with_the_one_line(serve_project: ServeProject) -> None:
    served = serve_project()
    s = served.session()
    bad_week = s.get(served.url + "/week?of=2027-3-1")
    assert bad_week.status_code == 400
    assert "week: '2027-3-1' is not a date; write it as YYYY-MM-DD" in text_of(bad_week)
    far = s.get(served.url + "/api/week?of=9999-12-31")
    assert far.status_code == 400 and "week: 9999-12-31 is out of range" in text_of(far)
    assert s.get(served.url + "/posts/4711").status_code == 404
    assert "no post with id 4711" in text_of(s.get(served.url + "/posts/4711"))
    assert s.get(served.url + "/nowhere").status_code == 404
    unknown = s.get(served.url + "/compose?to=nobody")
    assert unknown.status_code == 400 and "unknown account 'nobody'" in text_of(unknown)


# -- compose: the same post as `postbot enqueue` ------------------------------------------------
def test_a_post_composed_in_the_browser_is_the_post_enqueue_makes(
    serve_project: ServeProject,
) -> None:
    served = serve_project()
    s = served.session()
    form = {
        "csrf": csrf_of(s.get(served.url + "/compose")),
        "text": TEASER, "hashtags": "#SOZGipfel, Köln XiJinping", "link": "https://example.org/ä",
        "language": "de", "when": "2027-03-24 08:00", "to": ["mastodon", "bluesky"],
        "action": "enqueue",
    }  # fmt: skip
    done = s.post(served.url + "/compose", data=form, allow_redirects=False)
    assert done.status_code == 303, text_of(done)
    web_id = int(done.headers["location"].rsplit("/", 1)[1])
    assert "post " + str(web_id) + ": due 2027-03-24 08:00:00 CET to mastodon, bluesky" in (
        text_of(s.get(served.url + done.headers["location"]))
    )
    cli = run_postbot(
        served.root, "enqueue", TEASER, "--tag", "SOZGipfel", "--tag", "Köln", "--tag",
        "XiJinping", "--link", "https://example.org/ä", "--lang", "de", "--at",
        "2027-03-24 08:00", "--to", "mastodon", "--to", "bluesky",
    )  # fmt: skip
    assert cli.returncode == 0, cli.stderr
    cli_id = int(cli.stdout)

    def shown(post_id: int) -> dict[str, object]:
        out = run_postbot(served.root, "show", str(post_id), "--json")
        assert out.returncode == 0, out.stderr
        post = json.loads(out.stdout)
        for key in ("id", "key", "created_at"):
            post.pop(key)
        for d in post["deliveries"]:
            d.pop("id")
        return post

    assert shown(web_id) == shown(cli_id)
    assert shown(web_id)["hashtags"] == ["SOZGipfel", "Köln", "XiJinping"]


def test_a_text_too_long_for_x_is_refused_by_the_server(serve_project: ServeProject) -> None:
    served = serve_project()
    s = served.session()
    csrf = csrf_of(s.get(served.url + "/compose"))
    long_text = "Ä" * 281
    form = {"csrf": csrf, "text": long_text, "when": "+2h", "to": ["mastodon", "x"]}
    counts = s.post(served.url + "/compose/counts", data=form)
    assert 'data-fits="false"' in counts.text
    assert re.search(r'data-account="x">.*?281/280 <strong>too long</strong>', counts.text, re.S)
    assert re.search(r'data-account="mastodon">.*?281/500', counts.text, re.S)
    before = snapshot(served.db)
    refused = s.post(served.url + "/compose", data={**form, "action": "enqueue"})
    assert refused.status_code == 400
    assert "text too long for x (x): 281 characters, limit 280" in text_of(refused)
    assert long_text in refused.text  # the form keeps what was typed
    assert snapshot(served.db) == before
    short = s.post(served.url + "/compose/counts", data={**form, "text": "Ä" * 280})
    assert 'data-fits="true"' in short.text


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"when": "", "now": ""}, "compose: give a time (e.g. 2027-03-29 08:00"),
        ({"now": "1"}, "compose: give a time or tick 'now', not both"),
        ({"to": []}, "compose: tick at least one account"),
        ({"when": "gestern 8 Uhr"}, "cannot understand the time 'gestern 8 Uhr'"),
        ({"hashtags": "#zwei wörter#"}, "invalid hashtag 'wörter#'"),
        ({"text": "   "}, "the post text is empty"),
    ],
)
def test_compose_refusals_change_nothing(
    serve_project: ServeProject, change: dict[str, object], message: str
) -> None:
    served = serve_project()
    s = served.session()
    form = {"csrf": csrf_of(s.get(served.url + "/compose")), "text": TEASER, "when": "+2h",
            "to": ["x"], "action": "enqueue", **change}  # fmt: skip
    before = snapshot(served.db)
    refused = s.post(served.url + "/compose", data=form)
    assert refused.status_code == 400
    assert message in text_of(refused)
    assert snapshot(served.db) == before


def test_check_counts_without_javascript_shows_the_server_preview(
    serve_project: ServeProject,
) -> None:
    served = serve_project()
    s = served.session()
    form = {
        "csrf": csrf_of(s.get(served.url + "/compose")), "text": "Grüße", "hashtags": "Köln",
        "link": "https://example.org/ä", "when": "+2h", "to": ["bluesky"], "action": "check",
    }  # fmt: skip
    checked = s.post(served.url + "/compose", data=form)
    assert checked.status_code == 200
    shown = text_of(checked)
    assert "Grüße https://example.org/ä #Köln" in shown
    assert "graphemes 33/300" in shown and "UTF-8 bytes 37/3000" in shown
    assert snapshot(served.db)["post"] == []


# -- actions: the CLI's service calls -----------------------------------------------------------
def test_retry_cancel_reschedule_and_resolve(serve_project: ServeProject) -> None:
    served = serve_project()
    s = served.session()
    post_id = enqueue(served, to=["mastodon", "x"])
    mastodon, x = served.app.store.get_post(post_id).deliveries
    force_delivery(served.app.store, x.id, Status.FAILED, last_error="403 Forbidden: duplicate")
    page = s.get(served.url + "/attention")
    assert "duplicate" in text_of(page)
    csrf = csrf_of(page)

    retried = s.post(
        served.url + f"/posts/{post_id}/retry",
        data={"csrf": csrf, "next": "/attention"},
        allow_redirects=False,
    )
    assert retried.headers["location"] == "/attention"
    assert served.statuses(post_id) == {"mastodon": "queued", "x": "queued"}
    assert f"post {post_id}: 1 delivery queued again, due now" in text_of(
        s.get(served.url + "/attention")
    )

    moved = s.post(
        served.url + f"/posts/{post_id}/reschedule", data={"csrf": csrf, "at": "2027-03-25 07:30"}
    )
    assert "2 deliveries due 2027-03-25 07:30:00 CET" in text_of(moved)

    force_delivery(served.app.store, x.id, Status.UNKNOWN)
    found = "https://x.com/news/status/1771"
    s.post(
        served.url + f"/posts/{post_id}/resolve", data={"csrf": csrf, "account": "x", "url": found}
    )
    assert served.statuses(post_id)["x"] == "published"
    assert served.app.store.get_delivery(x.id).remote_url == found

    cancelled = s.post(served.url + f"/posts/{post_id}/cancel", data={"csrf": csrf})
    assert served.statuses(post_id) == {"mastodon": "cancelled", "x": "published"}
    assert "1 delivery cancelled" in text_of(cancelled)
    assert served.app.store.get_delivery(mastodon.id).status == Status.CANCELLED


def test_an_action_the_state_does_not_allow_is_refused_with_the_cli_line(
    serve_project: ServeProject,
) -> None:
    served = serve_project()
    s = served.session()
    post_id = enqueue(served, to=["x"])
    csrf = csrf_of(s.get(served.url + "/compose"))
    before = snapshot(served.db)
    refused = s.post(served.url + f"/posts/{post_id}/retry", data={"csrf": csrf})
    assert refused.status_code == 409
    assert f"cannot retry post {post_id}: its deliveries are queued" in text_of(refused)
    bad_url = s.post(served.url + f"/posts/{post_id}/resolve", data={"csrf": csrf, "url": "x"})
    assert bad_url.status_code == 409
    assert snapshot(served.db) == before


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
            if value.startswith("SECRET"):
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


def test_the_database_is_the_clis(serve_project: ServeProject) -> None:
    """What the pages read is what `postbot list` reads: one database, no copy."""
    served = serve_project()
    post_id = enqueue(served, to=["x"])
    with sqlite3.connect(served.db) as conn:
        conn.execute("UPDATE delivery SET status = 'missed' WHERE post_id = ?", (post_id,))
    attention = text_of(served.session().get(served.url + "/attention"))
    assert f"Post {post_id}" in attention and "missed" in attention


def test_the_post_page_shows_media_with_alt_text_and_serves_only_the_posts_images(
    serve_project: ServeProject,
) -> None:
    from tests.fakes.images import image

    served = serve_project()
    posts = served.root / "posts"
    image(posts / "gipfel.jpg", (40, 30))
    (posts / "gipfel.md").write_text(
        "---\nid: gipfel\nat: 2027-03-24 08:00\nto: [mastodon]\nmedia:\n  - path: gipfel.jpg\n"
        "    alt: Gruppenfoto beim SOZ-Gipfel in Astana – Staatschefs vor Flaggen\n---\n"
        "Grüße vom Gipfel\n",
        encoding="utf-8",
    )
    report = service.import_paths(served.app, [posts / "gipfel.md"])
    post_id = report.results[0].post_id
    s = served.session()
    page = s.get(served.url + f"/posts/{post_id}")
    assert 'alt="Gruppenfoto beim SOZ-Gipfel in Astana – Staatschefs vor Flaggen"' in page.text
    assert "alt: Gruppenfoto beim SOZ-Gipfel in Astana – Staatschefs vor Flaggen" in text_of(page)
    served_image = s.get(served.url + f"/posts/{post_id}/media/0")
    assert served_image.status_code == 200
    assert served_image.headers["content-type"] == "image/jpeg"
    assert served_image.content == (posts / "gipfel.jpg").read_bytes()
    assert s.get(served.url + f"/posts/{post_id}/media/1").status_code == 404
    assert s.get(served.url + f"/posts/{post_id}/media/..%2F..%2Fconfig").status_code == 404
