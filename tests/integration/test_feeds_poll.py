"""Feeds polled for real: the service against the local feed server (real HTTP, real
feedparser) and every store (SQLite, PostgreSQL, memory). Exactly one post per article,
whatever the feed does: re-sends, re-orders, edits, changed GUIDs, floods, errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from postbot.config import parse_settings
from postbot.domain import Status
from postbot.feeds.records import PollResult
from postbot.service import App, review
from postbot.service import feeds as service
from postbot.store import Store
from tests.fakes import images
from tests.fakes.feed_server import MALFORMED, FeedServer, atom, german_news, item, rss
from tests.stores import force_delivery

pytestmark = pytest.mark.timeout(120)
FEED = "/politik.xml"


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as fake:
        yield fake


def make_app(store: Store, server: FeedServer, tmp_path: Path, **feed: Any) -> App:
    raw = {
        "timezone": "Europe/Berlin",
        "language": "de",
        "project_dir": str(tmp_path),
        "database": {"url": store.url},
        "accounts": {"mastodon": {"platform": "mastodon", "base_url": "https://m.example"}},
        "feeds": {"politik": {"url": server.url(FEED), "to": ["mastodon"], **feed}},
    }
    return App(parse_settings(raw, tmp_path / "postbot.toml", {}), store)


def poll(app: App) -> service.PollReport:
    [report] = service.poll_now(app, "politik")
    return report


def posts(app: App) -> list[Any]:
    return sorted(app.store.list_posts(), key=lambda p: p.id)


def test_first_poll_posts_nothing_then_each_new_article_once(
    store: Store, server: FeedServer, tmp_path: Path
) -> None:
    app = make_app(store, server, tmp_path)
    old = german_news(3)
    server.publish(FEED, rss(old))

    first = poll(app)
    assert (first.result, first.listed, first.count("seen")) == (PollResult.OK, 3, 3)
    assert posts(app) == []

    fresh = german_news(2, start=3)
    server.publish(FEED, rss([*fresh, *old]))
    second = poll(app)
    assert second.count("created") == 2
    made = posts(app)
    assert len(made) == 2
    assert {d.status for p in made for d in p.deliveries} == {Status.QUEUED}
    post = next(p for p in made if "(3)" in p.teaser)
    assert post.teaser == "Außenministerin reist nach Kiew (3)"
    assert post.link == "https://www.example-zeitung.de/politik/urn:example-zeitung:3.html"
    assert post.hashtags == ("Politik", "Bundestag", "Klimapolitik")

    # Unchanged: 304 (the ETag was sent), nothing new.
    third = poll(app)
    assert third.result == PollResult.NOT_MODIFIED
    assert server.requests[-1][1].get("if-none-match")
    # Re-ordered and re-sent (a server that ignores ETags): nothing new either.
    server.conditional = False
    server.publish(FEED, rss([*old[::-1], *fresh[::-1]]))
    assert poll(app).count("created") == 0
    assert len(posts(app)) == 2
    [state] = app.store.feed_states()
    assert (state.items_seen, state.posts_created, state.failures) == (5, 2, 0)


def test_the_same_body_again_is_not_read_again_and_a_changed_one_is(
    store: Store, server: FeedServer, tmp_path: Path
) -> None:
    app = make_app(store, server, tmp_path)
    server.conditional = False  # a server that ignores If-None-Match: 200 every time
    old = german_news(2)
    server.publish(FEED, rss(old))
    assert poll(app).result == PollResult.OK
    again = poll(app)  # the same bytes: the same items, nothing parsed or written
    assert (again.result, again.listed, again.outcomes) == (PollResult.NOT_MODIFIED, 0, ())
    server.publish(FEED, rss([*german_news(1, start=2), *old]))
    changed = poll(app)
    assert (changed.result, changed.listed, changed.count("created")) == (PollResult.OK, 3, 1)
    [state] = app.store.feed_states()
    assert (state.items_seen, state.posts_created) == (3, 1)


def test_since_posts_the_articles_after_it_on_the_first_poll(
    store: Store, server: FeedServer, tmp_path: Path
) -> None:
    app = make_app(store, server, tmp_path, since="2026-12-01T09:01:00+01:00")
    server.publish(FEED, rss(german_news(3)))  # published 08:00, 08:01, 08:02 UTC
    assert poll(app).count("created") == 2


def test_an_edited_article_updates_its_post_until_it_went_out(
    store: Store, server: FeedServer, tmp_path: Path
) -> None:
    app = make_app(store, server, tmp_path, template="{title}: {summary}")
    server.publish(FEED, rss([]))
    poll(app)
    server.publish(FEED, rss([item("a1", "Erste Fassung", description="<p>Kurz</p>")]))
    [post_id] = poll(app).created

    server.publish(FEED, rss([item("a1", "Zweite Fassung", description="<p>Länger</p>")]))
    report = poll(app)
    assert report.count("updated") == 1 and report.count("created") == 0
    post = app.store.get_post(post_id)
    assert post.teaser == "Zweite Fassung: Länger"
    assert post.deliveries[0].text.startswith("Zweite Fassung: Länger")

    force_delivery(store, post.deliveries[0].id, Status.PUBLISHED, remote_id="1")
    server.publish(FEED, rss([item("a1", "Dritte Fassung", description="<p>Neu</p>")]))
    assert poll(app).count("conflict") == 1
    assert app.store.get_post(post_id).teaser == "Zweite Fassung: Länger"
    assert len(posts(app)) == 1


def test_a_changed_guid_with_the_same_link_is_the_same_article(
    store: Store, server: FeedServer, tmp_path: Path
) -> None:
    app = make_app(store, server, tmp_path)
    server.publish(FEED, rss([]))
    poll(app)
    link = "https://www.example-zeitung.de/a.html?utm_source=rss&utm_medium=feed"
    server.publish(FEED, rss([item("guid-1", "Artikel", link=link)]))
    assert poll(app).count("created") == 1
    # The CMS re-keys its GUIDs (isPermaLink false), the tracking parameters change.
    moved = "https://www.example-zeitung.de/a.html?utm_source=twitter#kommentare"
    server.publish(FEED, rss([item("guid-2", "Artikel", link=moved)]))
    assert poll(app).count("created") == 0
    # ... then uses the link itself as the GUID (isPermaLink true).
    server.publish(FEED, rss([item(moved, "Artikel", link=moved, permalink=True)]))
    assert poll(app).count("created") == 0
    assert len(posts(app)) == 1


def test_a_flood_of_new_items_is_capped(store: Store, server: FeedServer, tmp_path: Path) -> None:
    app = make_app(store, server, tmp_path, max_per_poll=5)
    server.publish(FEED, rss([]))
    poll(app)
    server.publish(FEED, rss(german_news(500)))
    report = poll(app)
    assert (report.count("created"), report.count("seen")) == (5, 495)
    newest = sorted(p.teaser for p in posts(app))
    assert all(any(f"({n})" in t for t in newest) for n in range(495, 500))
    server.conditional = False
    assert poll(app).count("created") == 0  # the rest are known: never posted later
    assert len(posts(app)) == 5


def test_a_failing_feed_backs_off_and_recovers(
    store: Store, server: FeedServer, tmp_path: Path
) -> None:
    app = make_app(store, server, tmp_path, every="1m")
    server.publish(FEED, rss(german_news(1)))
    server.fail(FEED, 500, times=2)
    one = poll(app)
    two = poll(app)
    assert one.result == two.result == PollResult.ERROR
    assert "HTTP 500" in (two.error or "")
    [state] = app.store.feed_states()
    assert state.failures == 2 and state.watched_since is None
    assert state.next_poll_at is not None and state.polled_at is not None
    assert state.next_poll_at - state.polled_at == 4 * app.settings.feeds["politik"].every
    good = poll(app)
    assert good.result == PollResult.OK and good.count("seen") == 1  # still the first good poll
    assert app.store.feed_states()[0].failures == 0


def test_slow_and_malformed_feeds_are_errors_and_change_nothing(
    store: Store, server: FeedServer, tmp_path: Path
) -> None:
    app = make_app(store, server, tmp_path, timeout=0.5)
    server.publish(FEED, MALFORMED)
    report = poll(app)
    assert report.result == PollResult.ERROR and "malformed" in (report.error or "")
    server.publish(FEED, rss(german_news(1)))
    server.slow(FEED, 3)
    report = poll(app)
    assert report.result == PollResult.ERROR and "within 0.5 s" in (report.error or "")
    assert posts(app) == [] and app.store.feed_states()[0].items_seen == 0


def test_review_makes_drafts_an_edit_updates_the_draft(
    store: Store, server: FeedServer, tmp_path: Path
) -> None:
    app = make_app(store, server, tmp_path, review=True, quiet_hours="23:00-06:00")
    server.publish(FEED, rss([]))
    poll(app)
    server.publish(FEED, rss([item("r1", "Entwurf")]))
    [post_id] = poll(app).created
    assert {d.status for d in app.store.get_post(post_id).deliveries} == {Status.DRAFT}
    server.publish(FEED, rss([item("r1", "Entwurf, korrigiert")]))
    assert poll(app).count("updated") == 1
    [view] = review.drafts(app)
    assert view.post.teaser == "Entwurf, korrigiert"
    done = review.approve(app, post_id, by="anna")
    local = (done.due or app.now()).astimezone(app.zone).time()
    assert not (local.hour >= 23 or local.hour < 6)  # never in the quiet hours
    assert {d.status for d in app.store.get_post(post_id).deliveries} == {Status.QUEUED}
    # Edited after the approval, before it went out: a draft again, reviewed anew.
    server.publish(FEED, rss([item("r1", "Entwurf, zweite Korrektur")]))
    assert poll(app).count("updated") == 1
    assert {d.status for d in app.store.get_post(post_id).deliveries} == {Status.DRAFT}


def test_atom_xhtml_umlauts_entities_and_a_hashtag_map(
    store: Store, server: FeedServer, tmp_path: Path
) -> None:
    app = make_app(store, server, tmp_path, template="{title} – {summary}",
                   hashtags={"Klimapolitik": "Klima"})  # fmt: skip
    server.publish(FEED, atom([]), "application/atom+xml")
    poll(app)
    entry = item("tag:example-zeitung.de,2026:7", "Gr&#252;ne &amp; SPD",
                 description="<p>Ein <em>Gesetz</em> f&#252;r &#8222;alle&#8220;</p>",
                 categories=("Klimapolitik", "Sonstiges"))  # fmt: skip
    server.publish(FEED, atom([entry]), "application/atom+xml")
    [post_id] = poll(app).created
    post = app.store.get_post(post_id)
    assert post.teaser == "Grüne & SPD – Ein Gesetz für „alle“"
    assert post.hashtags == ("Klima",)


def test_an_image_with_a_description_becomes_media_with_alt_text(
    store: Store, server: FeedServer, tmp_path: Path
) -> None:
    app = make_app(store, server, tmp_path, review=True)
    png = images.image(tmp_path / "bild.png", (40, 30)).read_bytes()
    server.publish("/bild.png", png, "image/png")
    server.publish(FEED, rss([]))
    poll(app)
    server.publish(FEED, rss([
        item("m1", "Mit Bild", image=server.url("/bild.png"),
             image_alt="Der Bundestag von außen"),
        item("m2", "Ohne Beschreibung", enclosure=server.url("/bild.png")),
    ]))  # fmt: skip
    report = poll(app)
    assert report.count("created") == 2
    with_alt, without = (app.store.get_post(i) for i in sorted(report.created))
    assert [m.alt for m in with_alt.media] == ["Der Bundestag von außen"]
    assert Path(with_alt.media[0].path).read_bytes() == png
    assert without.media == ()
    notes = {v.post.id: v.notes for v in review.drafts(app)}
    assert "no description (alt text)" in " ".join(notes[without.id])
