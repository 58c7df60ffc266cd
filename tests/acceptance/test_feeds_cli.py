"""`postbot feeds` and `postbot feeds poll` as a user runs them (cron), against the local feed
server: what they print, what they refuse (one line, exit 2, nothing written)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.acceptance.cli_helpers import refused
from tests.fakes.feed_server import FeedServer, german_news, item, rss
from tests.support import DRY_CONFIG, make_project, postbot_json, run_postbot

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as fake:
        yield fake


def project_with(tmp_path: Path, feeds: str) -> Path:
    return make_project(tmp_path, DRY_CONFIG + feeds)


def test_feeds_poll_and_the_listing(tmp_path: Path, server: FeedServer) -> None:
    server.publish("/p.xml", rss(german_news(2)))
    project = project_with(tmp_path, f"""
[feeds.politik]
url = "{server.url('/p.xml')}"
to = ["mastodon"]
review = true
""")  # fmt: skip
    [before] = postbot_json(project, "feeds")
    assert (before["name"], before["last_poll"], before["items_seen"]) == ("politik", None, 0)
    assert "never polled" in run_postbot(project, "feeds").stdout

    [first] = postbot_json(project, "feeds", "poll")
    assert first["result"] == "ok" and {i["action"] for i in first["items"]} == {"seen"}
    server.publish("/p.xml", rss([item("neu-1", "Neu: Grüße aus Köln"), *german_news(2)]))
    done = run_postbot(project, "feeds", "poll", "politik")
    assert done.returncode == 0, done.stderr
    assert "1 created" in done.stdout and "post 1 created" in done.stdout
    [after] = postbot_json(project, "feeds")
    assert (after["result"], after["items_seen"], after["posts_created"]) == ("ok", 3, 1)
    assert after["next_poll"] is not None
    text = run_postbot(project, "feeds").stdout
    assert "items seen 3, posts created 1" in text and "review" in text
    [draft] = postbot_json(project, "drafts")
    assert draft["text"] == "Neu: Grüße aus Köln"
    assert "unknown feed 'sport'" in refused(project, "feeds", "poll", "sport")


def test_an_unreachable_feed_is_reported_not_a_crash(tmp_path: Path) -> None:
    project = project_with(tmp_path, """
[feeds.weg]
url = "http://127.0.0.1:9/feed.xml"
timeout = 1
""")  # fmt: skip
    done = run_postbot(project, "feeds", "poll")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("weg: error: cannot fetch http://127.0.0.1:9/feed.xml")
    [state] = postbot_json(project, "feeds")
    assert (state["result"], state["failures"]) == ("error", 1)


def test_a_typo_in_a_feed_table_is_refused_with_its_line(tmp_path: Path) -> None:
    project = project_with(tmp_path, """
[feeds.politik]
url = "https://example.org/rss.xml"
tempalte = "{title}"
""")  # fmt: skip
    message = refused(project, "feeds")
    assert message.endswith("feeds.politik.tempalte: unknown key; did you mean 'template'?"
                            " (known here: delay, every, hashtags, language, max_per_poll,"
                            " quiet_hours, review, since, template, timeout, to, url)")  # fmt: skip
    lines = (project / "config" / "postbot.toml").read_text().splitlines()
    line = next(n for n, text in enumerate(lines, 1) if text.startswith("tempalte"))
    assert message.startswith(f"config/postbot.toml:{line}: ")
