"""The pure parts of feeds: backoff, quiet hours, due times, backlog, the template, hashtags,
canonical links and keys, clean text, what a poll does with an article, and the config."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from postbot.config import load_settings
from postbot.errors import ConfigError
from postbot.feeds import keys, template
from postbot.feeds.parse import clean_text
from postbot.feeds.records import KnownItem
from postbot.feeds.schedule import QuietHours, due_of, is_backlog, next_poll, out_of_quiet_hours
from postbot.links import canonical_url
from postbot.store.review_rules import feed_item_action

BERLIN = ZoneInfo("Europe/Berlin")
T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
EVERY = timedelta(minutes=5)


# -- backoff -------------------------------------------------------------------------------------
def test_a_good_poll_waits_the_interval() -> None:
    assert next_poll(T0, EVERY, 0) == T0 + EVERY


@pytest.mark.parametrize(("failures", "wait"), [(1, 10), (2, 20), (3, 40), (4, 60), (30, 60)])
def test_failures_double_the_wait_up_to_an_hour(failures: int, wait: int) -> None:
    assert next_poll(T0, EVERY, failures) == T0 + timedelta(minutes=wait)


def test_a_long_interval_is_never_shortened_by_the_cap() -> None:
    assert next_poll(T0, timedelta(hours=2), 3) == T0 + timedelta(hours=2)


# -- quiet hours and due times -------------------------------------------------------------------
def test_quiet_hours_across_midnight() -> None:
    quiet = QuietHours.parse("23:00-06:00")
    assert quiet.contains(time(23, 0)) and quiet.contains(time(3, 0))
    assert not quiet.contains(time(6, 0)) and not quiet.contains(time(22, 59))
    # 23:30 Berlin -> 06:00 Berlin next day; 02:00 -> 06:00 the same day.
    late = datetime(2026, 12, 1, 23, 30, tzinfo=BERLIN)
    assert out_of_quiet_hours(late, quiet, BERLIN) == datetime(2026, 12, 2, 6, 0, tzinfo=BERLIN)
    early = datetime(2026, 12, 2, 2, 0, tzinfo=BERLIN)
    assert out_of_quiet_hours(early, quiet, BERLIN) == datetime(2026, 12, 2, 6, 0, tzinfo=BERLIN)
    noon = datetime(2026, 12, 2, 12, 0, tzinfo=BERLIN)
    assert out_of_quiet_hours(noon, quiet, BERLIN) == noon


def test_quiet_hours_within_a_day_and_refusals() -> None:
    quiet = QuietHours.parse("12:00-13:30")
    at = datetime(2026, 12, 2, 12, 10, tzinfo=BERLIN)
    assert out_of_quiet_hours(at, quiet, BERLIN) == datetime(2026, 12, 2, 13, 30, tzinfo=BERLIN)
    for bad in ("23:00", "23-6", "25:00-06:00", "06:00-06:00"):
        with pytest.raises(ValueError):
            QuietHours.parse(bad)


def test_due_is_delay_after_it_appeared_never_before_now() -> None:
    delay = timedelta(minutes=10)
    assert due_of(T0 - timedelta(minutes=3), T0, delay, None, BERLIN) == T0 + timedelta(minutes=7)
    assert due_of(T0 - timedelta(hours=1), T0, delay, None, BERLIN) == T0
    assert due_of(None, T0, delay, None, BERLIN) == T0 + delay
    assert due_of(T0 + timedelta(days=1), T0, delay, None, BERLIN) == T0 + delay  # future: now
    night = datetime(2026, 12, 1, 23, 55, tzinfo=BERLIN)
    quiet = QuietHours.parse("23:00-06:00")
    assert due_of(night, night, timedelta(0), quiet, BERLIN) == datetime(
        2026, 12, 2, 6, 0, tzinfo=BERLIN
    )


def test_only_the_first_poll_has_a_backlog() -> None:
    assert is_backlog(T0, True, None) and is_backlog(None, True, T0)
    assert not is_backlog(T0, True, T0) and is_backlog(T0 - timedelta(seconds=1), True, T0)
    assert not is_backlog(T0 - timedelta(days=400), False, None)


# -- template and hashtags -----------------------------------------------------------------------
def test_template_fields_and_placement() -> None:
    shown = template.render("{title}: {summary}", "Titel", "Text", "https://e.org/a", ["Köln"])
    assert (shown.text, shown.link, shown.hashtags) == ("Titel: Text", "https://e.org/a", ("Köln",))
    inline = template.render("{title} {link} {hashtags}", "T", "", "https://e.org/a", ["A", "B"])
    assert (inline.text, inline.link, inline.hashtags) == ("T https://e.org/a #A #B", None, ())


@pytest.mark.parametrize(
    ("bad", "said"),
    [("{titel}", "unknown field {titel}"), ("{title", "is not a template"),
     ("{title!r}", "takes no format"), ("{title:>10}", "takes no format"),
     ("{link}", "must contain {title} or {summary}"), ("{0}", "unknown field")],
)  # fmt: skip
def test_template_refusals(bad: str, said: str) -> None:
    with pytest.raises(ValueError, match=said.replace("{", r"\{").replace("}", r"\}")):
        template.check(bad)


def test_categories_as_hashtags() -> None:
    assert template.hashtags_of(["Klima Krise", "Köln", "2026", "köln"], None) == (
        "KlimaKrise", "Köln",
    )  # fmt: skip
    mapping = {"Klimapolitik": "Klima"}
    assert template.hashtags_of(["Klimapolitik", "Sonstiges"], mapping) == ("Klima",)


def test_shorten_cuts_at_a_word() -> None:
    assert template.shorten("Die Abgeordneten stimmten zu", 20) == "Die Abgeordneten…"
    assert template.shorten("kurz", 20) == "kurz"


# -- links and keys ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("https://www.Example.de/a.html?utm_source=rss&utm_medium=x#top",
         "https://www.example.de/a.html"),
        ("HTTPS://example.de:443/a?b=2&a=1&fbclid=xyz", "https://example.de/a?a=1&b=2"),
        ("http://example.de:8080/a?id=7&gclid=1&mc_cid=2", "http://example.de:8080/a?id=7"),
        ("https://example.de", "https://example.de/"),
        ("https://example.de/ä?q=ü", "https://example.de/ä?q=%C3%BC"),
    ],
)  # fmt: skip
def test_canonical_url(url: str, canonical: str) -> None:
    assert canonical_url(url) == canonical


def test_article_keys() -> None:
    assert keys.article_keys(" g1 ", "https://e.de/a?utm_x=1") == ("i:g1", "l:https://e.de/a")
    assert keys.article_keys(None, "https://e.de/a") == ("l:https://e.de/a",)
    long = keys.article_keys("x" * 2000, None)[0]
    assert len(long) < 100 and long.startswith("i:sha256:")
    a = keys.content_hash("T", "S", ["c"], None, None)
    assert a == keys.content_hash("T", "S", ["c"], None, None)
    assert a != keys.content_hash("T", "S2", ["c"], None, None)


# -- clean text ----------------------------------------------------------------------------------
def test_clean_text() -> None:
    html = "<p>Gr&uuml;&szlig;e &bdquo;aus&ldquo; <b>K&ouml;ln</b></p><br/>zweite&nbsp;Zeile"
    assert clean_text(html) == "Grüße „aus“ Köln zweite Zeile"
    assert clean_text("<script>alert(1)</script>Text <style>p{}</style>") == "Text"
    assert clean_text("Hallo &amp;amp; Welt") == "Hallo & Welt"
    assert clean_text("  schlicht \n Text ") == "schlicht Text"
    assert clean_text(None) == ""


# -- what a poll does with an article ------------------------------------------------------------
def test_feed_item_actions() -> None:
    known = KnownItem(1, "i:a", "h1", 7)
    never_posted = KnownItem(1, "i:a", "h1", None)
    assert feed_item_action(None, "h", True, 0, 0) == "created"
    assert feed_item_action(None, "h", False, 0, 0) == "seen"
    assert feed_item_action(known, "h1", True, 0, 1) == "unchanged"
    assert feed_item_action(known, "h2", True, 0, 1) == "updated"
    assert feed_item_action(known, "h2", True, 1, 1) == "conflict"
    assert feed_item_action(known, "h2", True, 0, 0) == "kept"
    assert feed_item_action(never_posted, "h2", True, 0, 0) == "noted"


# -- config ----------------------------------------------------------------------------------------
BASE = """
timezone = "Europe/Berlin"
language = "de"

[accounts.mastodon]
platform = "mastodon"
base_url = "https://m.example"

[feeds.politik]
url = "https://example.org/politik.xml"
"""


def _load(tmp_path: Path, more: str) -> object:
    path = tmp_path / "postbot.toml"
    path.write_text(textwrap.dedent(BASE + more), encoding="utf-8")
    return load_settings(path, {})


def test_a_full_feed_table(tmp_path: Path) -> None:
    settings = _load(tmp_path, """
        to = ["mastodon"]
        every = "2m"
        review = true
        template = "{title}: {summary}"
        hashtags = { "Klimapolitik" = "#Klima" }
        language = "de-DE"
        delay = 10
        quiet_hours = "23:00-06:00"
        max_per_poll = 3
        since = "2026-12-01 00:00"
        """)  # fmt: skip
    feed = settings.feeds["politik"]  # type: ignore[attr-defined]
    assert feed.every == timedelta(minutes=2) and feed.delay == timedelta(minutes=10)
    assert feed.hashtags == {"Klimapolitik": "Klima"} and str(feed.quiet_hours) == "23:00-06:00"
    assert feed.since == datetime(2026, 12, 1, tzinfo=BERLIN) and feed.review is True
    defaults = _load(tmp_path, "").feeds["politik"]  # type: ignore[attr-defined]
    assert defaults.every == timedelta(minutes=5) and defaults.template == "{title}"


@pytest.mark.parametrize(
    ("more", "said"),
    [
        ('evrey = "5m"', "feeds.politik.evrey: unknown key; did you mean 'every'?"),
        ('template = "{titel}"', "feeds.politik.template: has an unknown field {titel}"),
        ('to = ["masto"]', "unknown account 'masto'; did you mean 'mastodon'?"),
        ('quiet_hours = "23-6"', "quiet_hours: '23-6' must be a span of local time"),
        ('every = "often"', "'often' is not a duration"),
        ("max_per_poll = 0", "max_per_poll must be positive"),
        ('since = "gestern"', "'gestern' is not a date and time"),
        ('hashtags = { "Klima Politik" = "Klima Politik" }', "invalid hashtag"),
        ('language = "deutsch!"', "must be a language tag"),
        ("review = 1", "wrong type"),
    ],
)  # fmt: skip
def test_feed_config_refusals_name_the_line(tmp_path: Path, more: str, said: str) -> None:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, more)
    message = str(info.value)
    assert said in message, message
    assert message.startswith(f"{tmp_path / 'postbot.toml'}:") and "\n" not in message


def test_a_feed_without_url_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "postbot.toml"
    path.write_text(BASE.replace('url = "https://example.org/politik.xml"', 'to = ["mastodon"]'))
    with pytest.raises(ConfigError, match="needs url"):
        load_settings(path, {})
