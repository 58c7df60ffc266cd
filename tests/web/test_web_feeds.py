"""The Feeds page over real HTTP, with feeds polled for real from the local feed server: each
feed's last poll and its result, items seen, posts created, next poll (`postbot feeds`)."""

from __future__ import annotations

import pytest

from postbot import service
from postbot.service import feeds as feeds_service
from tests.fakes.feed_server import FeedServer, german_news, item, rss
from tests.support import DRY_CONFIG
from tests.web.conftest import ServeProject, text_of

pytestmark = pytest.mark.timeout(120)


def test_the_feeds_page_shows_what_every_feed_did(serve_project: ServeProject) -> None:
    with FeedServer() as server:
        server.publish("/p.xml", rss(german_news(2)))
        served = serve_project(DRY_CONFIG + f"""
[feeds.politik]
url = "{server.url('/p.xml')}"
to = ["mastodon"]
review = true

[feeds.weg]
url = "http://127.0.0.1:9/feed.xml"
timeout = 1

[feeds.intern]
url = "http://redaktion:geheim-passwort@127.0.0.1:9/intern.xml"
every = "1h"
""")  # fmt: skip
        s = served.session()
        before = text_of(s.get(served.url + "/feeds"))
        assert before.count("never polled") == 3
        feeds_service.poll_now(served.app, "politik")
        server.publish("/p.xml", rss([item("neu-1", "Neu: Grüße aus Köln"), *german_news(2)]))
        feeds_service.poll_now(served.app, "politik")
        feeds_service.poll_now(served.app, "weg")
        page = s.get(served.url + "/feeds")
    assert page.status_code == 200
    shown = text_of(page)
    [politik] = [v.state for v in feeds_service.feeds(served.app) if v.settings.name == "politik"]
    [weg] = [v.state for v in feeds_service.feeds(served.app) if v.settings.name == "weg"]
    assert politik is not None and weg is not None and politik.next_poll_at is not None
    row = text_of_row(page.text, "politik")
    zone = served.app.zone
    assert "politik review" in row and "5m" in row and " ok " in f" {row} "
    assert f"{politik.polled_at.astimezone(zone):%Y-%m-%d %H:%M:%S %Z}" in row
    assert f"{politik.next_poll_at.astimezone(zone):%Y-%m-%d %H:%M:%S %Z}" in row
    assert " 3 1 " in f" {row} "  # items seen 3, posts created 1
    weg_row = text_of_row(page.text, "weg")
    assert "error" in weg_row and "1 in a row, backing off" in weg_row
    assert weg.error is not None and weg.error.split()[0] in weg_row
    assert "never polled" in text_of_row(page.text, "intern")
    assert "geheim-passwort" not in page.text and "redaktion:" not in page.text
    assert "http://127.0.0.1:9/intern.xml" in shown
    # The article's draft waits on the Drafts page, its text editable there.
    drafts = s.get(served.url + "/drafts")
    assert "Neu: Grüße aus Köln" in text_of(drafts) and "<textarea" in drafts.text
    assert [v.post.teaser for v in service.review.drafts(served.app)] == ["Neu: Grüße aus Köln"]


def text_of_row(page: str, feed: str) -> str:
    import html
    import re

    row = page.split(f'<tr id="feed-{feed}">')[1].split("</tr>")[0]
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", row)).split())
