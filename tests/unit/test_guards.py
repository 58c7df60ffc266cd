"""The guards' pure rules: links made canonical, texts normalised, the duplicate decision,
what X bills, the month in the configured zone, and the monthly budget decision."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from postbot.config import Settings, load_settings
from postbot.costs import (
    Budget,
    BudgetState,
    Prices,
    budget_state,
    budgets_of,
    cost_of,
    fits,
    money,
    month_bounds,
    parse_money,
    usd,
)
from postbot.domain import Status
from postbot.duplicates import Earlier, earlier_match, normalise, text_hash
from postbot.errors import ConfigError
from postbot.links import canonical_links, canonical_url, find_urls, has_url, is_tracking

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")
D = Decimal


# -- links -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("https://example.org/a?utm_source=x&utm_medium=y", "https://example.org/a"),
        ("https://example.org/a?id=3&fbclid=abc#top", "https://example.org/a?id=3"),
        (
            "https://Example.ORG/a?gclid=1&mc_cid=2&mc_eid=3&b=2&a=1",
            "https://example.org/a?a=1&b=2",  # what is left, sorted
        ),
        ("HTTPS://example.org", "https://example.org/"),
        ("https://example.org:443/a/", "https://example.org/a/"),  # a trailing slash is kept
        ("https://example.org/Path/Case", "https://example.org/Path/Case"),  # paths keep case
        ("https://example.org/a?UTM_Campaign=z&q=", "https://example.org/a?q="),
        ("not a url", "not a url"),
    ],
)
def test_canonical_url_drops_tracking_and_fragment(url: str, canonical: str) -> None:
    assert canonical_url(url) == canonical


def test_tracking_parameters_are_one_list_with_prefixes() -> None:
    assert is_tracking("utm_content") and is_tracking("FBCLID") and is_tracking("mc_cid")
    assert not is_tracking("id") and not is_tracking("utmost")


def test_links_are_found_without_sentence_punctuation() -> None:
    text = "Lesen Sie (https://example.org/a?utm_source=x). Und http://b.example/c!"
    assert find_urls(text) == ["https://example.org/a?utm_source=x", "http://b.example/c"]
    assert canonical_links(text) == "Lesen Sie (https://example.org/a). Und http://b.example/c!"
    assert has_url(text) and not has_url("example.org ohne Schema")


# -- duplicates ----------------------------------------------------------------------------------
def test_texts_are_normalised_for_whitespace_case_and_tracking() -> None:
    a = "Der Gipfel\n\nbeginnt  https://example.org/soz?utm_source=x #SOZ"
    b = "der gipfel beginnt https://EXAMPLE.org/soz#oben #soz"
    assert normalise(a) == normalise(b) == "der gipfel beginnt https://example.org/soz #soz"
    assert text_hash(a) == text_hash(b)
    assert text_hash(a) != text_hash("Der Gipfel endet https://example.org/soz #SOZ")


def earlier(status: Status, created: timedelta, updated: timedelta, key: str = "k1") -> Earlier:
    return Earlier(7, key, "x", status, NOW - created, NOW - updated)


def test_a_queued_or_published_post_within_the_day_is_a_duplicate() -> None:
    queued = earlier(Status.QUEUED, timedelta(hours=23), timedelta(hours=23))
    assert earlier_match([queued], "new", NOW) == queued
    published = earlier(Status.PUBLISHED, timedelta(days=3), timedelta(hours=2))
    assert earlier_match([published], None, NOW) == published  # it went out 2 h ago


def test_older_ones_failed_ones_and_the_post_itself_are_no_duplicates() -> None:
    old = earlier(Status.PUBLISHED, timedelta(days=3), timedelta(hours=25))
    stale = earlier(Status.QUEUED, timedelta(hours=25), timedelta(hours=25))
    failed = earlier(Status.FAILED, timedelta(hours=1), timedelta(hours=1))
    cancelled = earlier(Status.CANCELLED, timedelta(hours=1), timedelta(hours=1))
    itself = earlier(Status.QUEUED, timedelta(hours=1), timedelta(hours=1), key="posts/a.md")
    assert earlier_match([old, stale, failed, cancelled, itself], "posts/a.md", NOW) is None


def test_example_posts_and_what_a_dry_run_published_do_not_count_as_sent() -> None:
    example = earlier(Status.PUBLISHED, timedelta(hours=1), timedelta(hours=1), key="example:a")
    assert earlier_match([example], "posts/b.txt", NOW) is None  # only dry runs publish it
    assert earlier_match([earlier(Status.QUEUED, timedelta(hours=1), timedelta(hours=1))],
                         "example:b", NOW) is None  # fmt: skip
    # A dry run's "published" goes out for real after golive: it counts as queued, when queued.
    demo = Earlier(7, "k1", "x", Status.PUBLISHED, NOW - timedelta(hours=30), NOW, dry_run=True)
    assert not demo.sent and earlier_match([demo], None, NOW) is None
    recent = Earlier(7, "k1", "x", Status.PUBLISHED, NOW - timedelta(hours=3), NOW, dry_run=True)
    assert earlier_match([recent], None, NOW) == recent and recent.at == recent.created_at


def test_the_latest_match_is_named() -> None:
    a = earlier(Status.PUBLISHED, timedelta(hours=9), timedelta(hours=8))
    b = Earlier(9, "k2", "x", Status.QUEUED, NOW - timedelta(hours=1), NOW)
    assert earlier_match([a, b], None, NOW) == b


# -- costs ---------------------------------------------------------------------------------------
def test_every_post_is_billed_and_a_link_costs_more() -> None:
    prices = Prices()  # X's published prices
    assert prices.post == D("0.015") and prices.post_with_link == D("0.200")
    assert cost_of(["Nur Text"], prices) == D("0.015")
    assert cost_of(["Mit Link https://example.org"], prices) == D("0.200")
    # A thread: every part; link_placement = "reply": the link reply is billed as a link post.
    assert cost_of(["Teil 1", "Teil 2", "Teil 3"], prices) == D("0.045")
    assert cost_of(["Der Gipfel #SOZ", "https://example.org/soz"], prices) == D("0.215")
    assert cost_of([], prices) == 0


def test_money_is_shown_in_dollars_and_parsed_strictly() -> None:
    assert money(D("0.215")) == "$0.215" and money(D("0.2")) == "$0.20"
    assert money(D("12")) == "$12.00" and usd(D("0.030")) == "0.03"
    assert parse_money(0.015) == D("0.015") and parse_money(25) == D(25)
    for bad in (-1, "abc", float("nan"), float("inf")):
        with pytest.raises(ValueError, match="US dollars"):
            parse_money(bad)


def test_the_month_is_the_configured_zones() -> None:
    # 23:30 UTC on 30 November is already December in Berlin.
    start, end = month_bounds(datetime(2026, 11, 30, 23, 30, tzinfo=UTC), BERLIN)
    assert start == datetime(2026, 11, 30, 23, 0, tzinfo=UTC)
    assert end == datetime(2026, 12, 31, 23, 0, tzinfo=UTC)
    # December -> January of the next year; a summer month starts at 22:00 UTC.
    end = month_bounds(datetime(2026, 12, 15, tzinfo=UTC), BERLIN)[1]
    assert end.astimezone(BERLIN) == datetime(2027, 1, 1, tzinfo=BERLIN)
    assert month_bounds(datetime(2026, 7, 15, tzinfo=UTC), BERLIN)[0].hour == 22


# -- the budget decision -------------------------------------------------------------------------
def test_deliveries_go_while_they_fit_and_the_first_that_does_not_holds_the_rest() -> None:
    assert fits(D("0"), [D("0.2"), D("0.2")], D("0.5")) == 2
    assert fits(D("0.2"), [D("0.2"), D("0.2")], D("0.5")) == 1
    assert fits(D("0.4"), [D("0.2"), D("0.015")], D("0.5")) == 0  # no jumping the queue
    assert fits(D("0.3"), [D("0.2")], D("0.5")) == 1  # exactly the budget: still within it
    assert fits(D("0"), [], D("0")) == 0
    assert fits(D("0"), [D("0.015")], D("0")) == 0


def test_the_reason_says_what_holds_it_and_how_it_goes_out() -> None:
    month_end = datetime(2026, 12, 31, 23, 0, tzinfo=UTC)
    state = BudgetState("x", D("0.25"), D("0.2"), month_end, held=1, next_cost=D("0.2"))
    assert state.out
    assert state.reason() == (
        "held: $0.20 of the monthly budget of $0.25 spent, $0.20 would exceed it; goes out in"
        " the next month or when monthly_budget is raised"
    )
    too_dear = BudgetState("x", D("0.1"), D("0"), month_end, held=1, next_cost=D("0.2"))
    assert "more than the monthly budget of $0.10" in too_dear.reason()
    assert not BudgetState("x", D("1"), D("0"), month_end).out


# -- the config ----------------------------------------------------------------------------------
def _settings(tmp_path: Path, text: str) -> Settings:
    path = tmp_path / "postbot.toml"
    path.write_text(text, encoding="utf-8")
    return load_settings(path, environ={})


DRYRUN = '[accounts.m]\nplatform = "dryrun"\n'
X_ACCOUNT = '[accounts.x]\nplatform = "x"\ncredentials = { user_token = "X_USER_TOKEN" }\n'


def test_prices_and_budgets_come_from_the_config(tmp_path: Path) -> None:
    default = _settings(tmp_path, X_ACCOUNT)
    assert default.x_prices == Prices(D("0.015"), D("0.200"))
    assert budgets_of(default.accounts.values(), default.x_prices, default.timezone) == {}
    given = _settings(
        tmp_path, '[x_prices]\npost = 0.01\npost_with_link = 0.25\n' + X_ACCOUNT
        + "monthly_budget = 25\n",
    )  # fmt: skip
    assert given.x_prices == Prices(D("0.01"), D("0.25"))
    assert budgets_of(given.accounts.values(), given.x_prices, given.timezone)["x"].amount == D(25)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "[x_prices]\npostt = 0.01\n",
            r"postbot.toml:2: x_prices.postt: unknown key; did you mean 'post'",
        ),
        (
            "[x_prices]\npost = -1\n",
            r"postbot.toml:2: x_prices.post must be a number of US dollars",
        ),
        (
            '[x_prices]\npost = "cheap"\n',
            r"x_prices.post: wrong type \(str\); write a number of US",
        ),
        (X_ACCOUNT + "monthly_budget = -5\n", r"accounts.x.monthly_budget must be a number of US"),
        (
            '[accounts.m]\nplatform = "dryrun"\nmonthly_budget = 5\n',
            r"accounts.m.monthly_budget: unknown key",
        ),
    ],
)
def test_a_bad_price_or_budget_is_refused_in_one_line(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        _settings(tmp_path, text)
    assert re.search(message, str(refused.value)), str(refused.value)
    assert "\n" not in str(refused.value)


def test_the_month_after_a_claim_names_what_the_budget_holds() -> None:
    budget = Budget(D("1.00"), Prices(), BERLIN)
    end = datetime(2027, 1, 1, tzinfo=BERLIN)
    costs = [D("0.200"), D("0.200"), D("0.200")]
    all_in = budget_state("x", budget, D("0.40"), end, costs[:2], 2, lambda: 99)
    assert (all_in.held, all_in.next_cost, all_in.out) == (0, None, False)
    held = budget_state("x", budget, D("0.80"), end, costs, 2, lambda: 5)
    assert (held.held, held.next_cost, held.spent, held.out) == (5, D("0.200"), D("0.80"), True)
