"""The web calendar over real HTTP: every page, compose, and the actions going through the
same service calls as the CLI. (Who may use it: test_web_access.py.)"""

from __future__ import annotations

import json
import re
import sqlite3

import pytest

from postbot import service
from postbot.domain import Status
from tests.stores import force_delivery
from tests.support import run_postbot, snapshot
from tests.web.conftest import TEASER, ServeProject, csrf_of, enqueue, text_of

pytestmark = pytest.mark.timeout(120)


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
        "/workers": ["No daemon is running", "queued 3", "x: $0.00 spent in"],
        "/drafts": ["Drafts", "No drafts waiting"],
        "/feeds": ["Feeds", "No feeds configured"],
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
def test_the_composer_refuses_a_duplicate_unless_its_box_is_ticked(
    serve_project: ServeProject,
) -> None:
    served = serve_project()
    s = served.session()

    def compose(**extra: str) -> object:
        form = {
            "csrf": csrf_of(s.get(served.url + "/compose")), "text": TEASER,
            "when": "2027-03-24 08:00", "to": ["x"], "action": "enqueue", **extra,
        }  # fmt: skip
        return s.post(served.url + "/compose", data=form, allow_redirects=False)

    assert compose().status_code == 303
    before = snapshot(served.db)
    again = compose()
    assert again.status_code == 400
    assert "the same text as post 1, queued to x at" in text_of(again)
    assert snapshot(served.db) == before
    assert compose(allow_duplicate="1").status_code == 303


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
        "2027-03-24 08:00", "--to", "mastodon", "--to", "bluesky", "--allow-duplicate",
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
        ({"now": "1"}, "compose: give a time, or tick 'now' or 'next free slot': only one"),
        ({"next_slot": "1"}, "compose: give a time, or tick 'now' or 'next free slot': only one"),
        ({"when": "", "next_slot": "1"}, "account 'x' has no posting slots"),
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


def test_the_database_is_the_clis(serve_project: ServeProject) -> None:
    """What the pages read is what `postbot list` reads: one database, no copy."""
    served = serve_project()
    post_id = enqueue(served, to=["x"])
    with sqlite3.connect(served.db) as conn:
        conn.execute("UPDATE delivery SET status = 'missed' WHERE post_id = ?", (post_id,))
    attention = text_of(served.session().get(served.url + "/attention"))
    assert f"Post {post_id}" in attention and "missed" in attention


def test_the_post_page_shows_every_part_of_a_thread_and_each_accounts_variant(
    serve_project: ServeProject,
) -> None:
    served = serve_project()
    posts = served.root / "posts"
    (posts / "thread.md").write_text(
        "---\nid: thread\nat: 2027-03-24 08:00\nto: [mastodon, x]\nvariants:\n  x:\n"
        "    parts: [Kurz für X, Zweiter Teil für X]\n---\n"
        "Teil 1: Xi übernimmt den Vorsitz.\n---\nTeil 2: Putin und Modi reisen an.\n---\n"
        "Teil 3: Für Europa geht es um Energie.\n",
        encoding="utf-8",
    )
    post_id = service.import_paths(served.app, [posts / "thread.md"]).results[0].post_id
    html = served.session().get(served.url + f"/posts/{post_id}").text
    sections = [" ".join(re.sub(r"<[^>]+>", " ", part).split()) for part in html.split("<section")]
    [mastodon] = [t for t in sections if "> mastodon mastodon" in t[:60]]
    [x] = [t for t in sections if "> x x " in t[:40]]
    for n, text in enumerate(["Teil 1: Xi", "Teil 2: Putin", "Teil 3: Für Europa"], 1):
        assert f"part {n} of 3 {text}" in mastodon
    assert "sent the variant x" in x
    assert "part 1 of 2 Kurz für X" in x and "part 2 of 2 Zweiter Teil für X" in x
    assert "Teil 2" not in x


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
