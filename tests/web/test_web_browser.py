"""The web calendar in a real headless Chromium (Debian's /usr/bin/chromium, driven by
Playwright through `executable_path`; scripts/chromium.sh installs it, nothing is downloaded).

One browser for the module, one served project for the module. The browser runs in another
time zone than the config (New York against Berlin), so every time it shows is the server's.
A screenshot of the week is saved under test-artifacts/ (gitignored).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pytest

from postbot import service
from postbot.domain import Status
from postbot.service import open_app
from tests.stores import force_delivery
from tests.support import REPO, make_project
from tests.web.conftest import Served, serving

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page

pytestmark = pytest.mark.timeout(180)

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
ARTIFACTS = REPO / "test-artifacts"
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    if not os.access(CHROMIUM, os.X_OK):
        message = f"{CHROMIUM} is missing: bash scripts/chromium.sh installs Debian's chromium"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),  # a fresh --user-data-dir
            executable_path=CHROMIUM,
            headless=True,
            args=ARGS,
            viewport={"width": 1400, "height": 900},
            timezone_id="America/New_York",
            locale="de-DE",
        )
        context.set_default_timeout(15_000)
        yield context
        context.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = make_project(tmp_path_factory.mktemp("browser"))
    app = open_app(root / "config" / "postbot.toml")
    with serving(app) as url:
        yield Served(url, app, root)
    app.store.dispose()


@pytest.fixture
def page(browser: BrowserContext) -> Iterator[Page]:
    opened = browser.new_page()
    yield opened
    opened.close()


def enqueue(served: Served, text: str, at: str, to: list[str]) -> list[int]:
    """A post; returns its delivery ids in the order of `to`."""
    post_id = service.enqueue_text(served.app, text, at=at, to=to).post_id
    return [d.id for d in served.app.store.get_post(post_id).deliveries]


def test_the_week_across_the_clock_change_shows_every_chip_at_its_local_time(
    served: Served, page: Page
) -> None:
    enqueue(served, "Vorige Woche: nicht in dieser", "2027-03-21 23:59", ["x"])
    enqueue(served, "Wochenstart: Grüße aus Köln #Köln", "2027-03-22 08:00",
            ["mastodon", "x", "bluesky"])  # fmt: skip
    enqueue(served, "Samstagnacht", "2027-03-27 23:30", ["x"])
    enqueue(served, "Vor der Umstellung", "2027-03-28 01:30", ["mastodon"])
    sky, x = enqueue(
        served, "Nach der Umstellung: Sommerzeit", "2027-03-28 03:30", ["bluesky", "x"]
    )
    force_delivery(served.app.store, x, Status.FAILED, last_error="403 Forbidden")
    force_delivery(served.app.store, sky, Status.PUBLISHED, remote_url="https://bsky.app/p/1")
    enqueue(served, "Nächste Woche", "2027-03-29 00:30", ["mastodon"])

    page.goto(served.url + "/week?of=2027-03-25")
    assert page.locator("h1").inner_text() == "Week of 22 Mar 2027"

    def day(iso: str) -> list[tuple[str, str, list[tuple[str, str]]]]:
        rows = []
        for item in page.locator(f"#d{iso} li").all():
            chips = [
                (b.inner_text(), b.get_attribute("class") or "") for b in item.locator("b").all()
            ]
            time = item.locator("time")
            rows.append((time.inner_text(), time.get_attribute("datetime") or "", chips))
        return rows

    assert day("2027-03-22") == [
        ("08:00", "2027-03-22T07:00:00Z", [("mastodon", "q"), ("x", "q"), ("bluesky", "q")])
    ]
    assert day("2027-03-27") == [("23:30", "2027-03-27T22:30:00Z", [("x", "q")])]
    assert day("2027-03-28") == [
        ("01:30", "2027-03-28T00:30:00Z", [("mastodon", "q")]),
        ("03:30", "2027-03-28T01:30:00Z", [("bluesky", "ok"), ("x", "f")]),
    ]
    for iso in ("2027-03-23", "2027-03-24", "2027-03-25", "2027-03-26"):
        assert day(iso) == []
    assert "CET → CEST" in page.locator("#d2027-03-28 h2").inner_text()
    assert page.locator("#d2027-03-28 b.f").get_attribute("title") == "x: failed"
    # The states have their own colours (a failed chip is not a queued one).
    colour = page.locator("#d2027-03-28 b.f").evaluate("b => getComputedStyle(b).backgroundColor")
    queued = page.locator("#d2027-03-22 b.q").first.evaluate(
        "b => getComputedStyle(b).backgroundColor"
    )
    assert colour != queued
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "week-2027-03-22.png"), full_page=True)
    assert (ARTIFACTS / "week-2027-03-22.png").stat().st_size > 10_000

    page.get_by_role("link", name="next week →").click()
    page.wait_for_url(re.compile(r"of=2027-03-29$"))
    assert day("2027-03-29") == [("00:30", "2027-03-28T22:30:00Z", [("mastodon", "q")])]
    page.get_by_role("link", name="← previous week").click()
    page.locator("#d2027-03-28 a").nth(1).click()  # the post at 03:30
    assert page.locator("h1").inner_text().startswith("Post ")
    assert "403 Forbidden" in page.locator(".target").nth(1).inner_text()


def test_today_is_marked_in_this_week(served: Served, page: Page) -> None:
    page.goto(served.url + "/week")
    today = datetime.now(BERLIN).date()  # the config's zone, not the browser's (New York)
    marked = page.locator(".day.today")
    assert marked.count() == 1
    assert marked.get_attribute("id") == f"d{today.isoformat()}"
    assert "today" in marked.locator("h2").inner_text()


def test_retry_a_failed_delivery_and_see_it_queued_in_the_database(
    served: Served, page: Page
) -> None:
    [mastodon] = enqueue(served, "Eilmeldung: Grüße", "+3h", ["mastodon"])
    post_id = served.app.store.get_delivery(mastodon).post_id
    force_delivery(served.app.store, mastodon, Status.FAILED, last_error="401 Unauthorized")
    assert served.statuses(post_id) == {"mastodon": "failed"}

    page.goto(served.url + "/attention")
    section = page.locator(f"#p{post_id}")
    assert "401 Unauthorized" in section.inner_text()
    section.get_by_role("button", name="Retry").click()
    page.wait_for_url(served.url + "/attention")
    assert (
        f"post {post_id}: 1 delivery queued again, due now" in page.locator(".flash").inner_text()
    )
    assert served.statuses(post_id) == {"mastodon": "queued"}
    assert page.locator(f"#p{post_id}").count() == 0


def test_a_teaser_too_long_for_x_is_refused_by_the_counter(served: Served, page: Page) -> None:
    page.goto(served.url + "/compose")
    submit = page.locator("#submit")
    assert page.locator("#check").is_hidden()  # with JavaScript the counts update by themselves
    page.wait_for_function("document.getElementById('submit').disabled")  # no text yet
    page.locator("#text").press_sequentially("Grüße aus Köln ")
    x_row = page.locator('tr[data-account="x"]')
    x_row.locator("td.count", has_text="14/280").wait_for()  # the server strips the space
    assert submit.is_enabled()
    page.locator("#hashtags").press_sequentially("#Köln")
    x_row.locator("td.count", has_text="20/280").wait_for()  # "Grüße aus Köln #Köln"
    page.locator("#text").fill("Ä" * 276)  # 276 + " #Köln" = 282: too long for X only
    page.locator('tr.over[data-account="x"]').wait_for()
    assert "282/280" in x_row.locator("td.count").inner_text()
    assert "too long" in x_row.inner_text()
    assert page.locator('tr[data-account="mastodon"]').get_attribute("class") == "fits"
    assert submit.is_disabled()
    page.locator("#text").fill("Ä" * 274)  # 280 with the hashtag: fits
    page.locator('tr.fits[data-account="x"]').wait_for()
    assert submit.is_enabled()


def test_approve_a_draft_and_see_it_queued_in_the_next_slot(
    browser: BrowserContext, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from datetime import UTC

    from postbot.slots import Schedule, parse_slots
    from tests.web.test_web_review import SLOTS, SLOTTED, typed_draft

    root = make_project(tmp_path_factory.mktemp("slotted"), SLOTTED)
    app = open_app(root / "config" / "postbot.toml")
    page = browser.new_page()
    try:
        with serving(app) as url:
            served = Served(url, app, root)
            service.enqueue_text(app, "Vorher", next_slot=True, to=["mastodon"])  # the 1st slot
            post_id = typed_draft(served, "Gipfel in Tianjin: Grüße", to=("mastodon",))
            page.goto(url + "/drafts")
            card = page.locator(f"#p{post_id}")
            assert "Gipfel in Tianjin: Grüße" in card.locator("pre.text").inner_text()
            card.locator("textarea").fill("Gipfel in Tianjin: Grüße aus Köln")
            card.get_by_label("next free slot").check()
            card.get_by_role("button", name="Approve").click()
            page.wait_for_url(f"{url}/posts/{post_id}")

            now = datetime.now(UTC)
            second = Schedule(parse_slots(SLOTS), BERLIN).between(
                now, datetime(2100, 1, 1, tzinfo=UTC)
            )[1]
            assert served.statuses(post_id) == {"mastodon": "queued"}
            [d] = app.store.get_post(post_id).deliveries
            assert (d.due_at, d.slot_at) == (second, second)
            assert d.text.startswith("Gipfel in Tianjin: Grüße aus Köln")
            local = second.astimezone(BERLIN).strftime("%Y-%m-%d %H:%M:%S %Z")
            assert f"mastodon in the slot {local}" in page.locator(".flash").inner_text()
            target = page.locator(f"#d{d.id}")
            assert "queued" in target.locator("h2").inner_text()
            assert local in target.inner_text()
            assert "approved by" in page.locator(".reviews").inner_text()

            # The week: the two taken slots are posts, the third is a free place to compose in.
            third = Schedule(parse_slots(SLOTS), BERLIN).between(
                now, datetime(2100, 1, 1, tzinfo=UTC)
            )[2]
            page.goto(f"{url}/week?of={third.astimezone(BERLIN).date().isoformat()}")
            iso = third.strftime("%Y-%m-%dT%H:%M:%SZ")
            assert (
                page.locator(
                    f'li.free time[datetime="{second.strftime("%Y-%m-%dT%H:%M:%SZ")}"]'
                ).count()
                == 0
            )
            page.locator(f'li.free:has(time[datetime="{iso}"]) a').click()
            page.wait_for_url(re.compile(r"/compose\?at="))
            assert page.locator("#when").input_value() == third.astimezone(BERLIN).strftime(
                "%Y-%m-%d %H:%M"
            )
            assert page.locator('input[name="to"][value="mastodon"]').is_checked()
            assert not page.locator('input[name="to"][value="x"]').is_checked()
    finally:
        page.close()
        app.store.dispose()
