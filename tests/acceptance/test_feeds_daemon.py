"""The acceptance test of feeds: a live daemon (`postbot run`) polls two feeds served on
127.0.0.1 and publishes through the local Mastodon fake. A new article in the first feed is
queued and published once; one in the second (`review = true`) waits as a draft until an
editor approves it, then is published once. Editing either article afterwards changes nothing
that was published, and nothing is posted twice."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from tests.acceptance.conftest import Daemon, Platforms, query, sqlite_url
from tests.fakes.feed_server import FeedServer, german_news, item, rss
from tests.support import postbot_json, run_postbot, wait_until

pytestmark = pytest.mark.timeout(240)


def feeds_config(server: FeedServer) -> str:
    return "\n".join([
        "", "[feeds.news]", f'url = "{server.url("/news.xml")}"', 'to = ["mastodon"]',
        'every = "1s"', 'template = "{title}"',
        "", "[feeds.desk]", f'url = "{server.url("/desk.xml")}"', 'to = ["mastodon"]',
        'every = "1s"', "review = true", "",
    ])  # fmt: skip


def polls_of(project: Path, name: str) -> int:
    return 1 if _polled(project, name) else 0


def test_new_articles_are_published_once_edits_change_nothing_published(
    tmp_path: Path, platforms: Platforms, start_daemon: Callable[..., Daemon]
) -> None:
    with FeedServer() as server:
        server.publish("/news.xml", rss(german_news(2)))
        server.publish("/desk.xml", rss([]))
        project = platforms.project(tmp_path)
        config = project / "config" / "postbot.toml"
        config.write_text(config.read_text() + feeds_config(server), encoding="utf-8")
        env = platforms.env()
        daemon = start_daemon(project, env)
        texts = lambda: [s["status"] for s in platforms.mastodon.statuses]  # noqa: E731

        # The first poll: the two articles already listed are backlog, never posted.
        assert wait_until(lambda: polls_of(project, "news") and polls_of(project, "desk"), 60)
        time.sleep(2)
        assert texts() == [], daemon.log()

        # A new article: queued and published, once.
        new = item("urn:neu", "Eilmeldung: Einigung im Haushaltsstreit", minutes=90)
        server.publish("/news.xml", rss([new, *german_news(2)]))
        assert wait_until(lambda: texts(), 60), daemon.log()
        assert texts()[0].startswith("Eilmeldung: Einigung im Haushaltsstreit")

        # A new article in the reviewed feed: a draft, never published before approval.
        server.publish("/desk.xml", rss([item("urn:d1", "Kommentar: Was der Haushalt bedeutet")]))
        drafts = wait_until(lambda: postbot_json(project, "drafts", env=env), 60)
        [draft] = drafts
        time.sleep(2)
        assert len(texts()) == 1
        done = run_postbot(project, "approve", str(draft["id"]), "--by", "anna", env=env)
        assert done.returncode == 0, done.stderr
        assert wait_until(lambda: len(texts()) == 2, 60), daemon.log()
        assert texts()[1].startswith("Kommentar: Was der Haushalt bedeutet")

        # Both articles edited in place (same GUIDs), the feeds re-ordered: nothing changes.
        server.publish("/news.xml", rss([*german_news(2), item("urn:neu", "Eilmeldung (korr.)")]))
        server.publish("/desk.xml", rss([item("urn:d1", "Kommentar (aktualisiert)")]))
        before = {n: _polled(project, n) for n in ("news", "desk")}
        assert wait_until(lambda: all(_polled(project, n) > before[n] for n in before), 30)
        time.sleep(2)
        assert len(texts()) == 2 and "korr." not in " ".join(texts())
        shown: list[dict[str, Any]] = postbot_json(project, "list", env=env)
        assert {d["status"] for p in shown for d in p["deliveries"]} == {"published"}
        assert not any("korr." in p["text"] or "aktualisiert" in p["text"] for p in shown)
        [review] = postbot_json(project, "show", str(draft["id"]), env=env)["reviews"]
        assert review["by"] == "anna"
        listing = postbot_json(project, "feeds", env=env)
        assert {f["name"]: f["posts_created"] for f in listing} == {"news": 1, "desk": 1}
        assert daemon.terminate() == 0


def _polled(project: Path, name: str) -> str:
    """The feed's last poll as the database says; "" before the daemon made its database."""
    if not (project / "var" / "postbot.db").exists():
        return ""
    try:
        rows = query(sqlite_url(project), "SELECT polled_at FROM feed WHERE name = :n", n=name)
    except OperationalError:  # the schema is being made
        return ""
    return str(rows[0]["polled_at"]) if rows else ""
