"""The X cost guard in the web calendar over real HTTP: each X delivery's cost on the post
page (every part counted), a delivery the monthly budget holds with its reason, and the
month's X spend on the status (workers) page, as `preview`, `show` and `status` say them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from postbot import service
from postbot.domain import Status
from tests.stores import force_delivery
from tests.support import DRY_CONFIG
from tests.web.conftest import ServeProject, text_of

pytestmark = pytest.mark.timeout(120)

BUDGETED = DRY_CONFIG.replace('platform = "x"\n', 'platform = "x"\nmonthly_budget = 0.25\n')


def test_costs_held_deliveries_and_the_months_spend(serve_project: ServeProject) -> None:
    served = serve_project(BUDGETED)
    app = served.app
    s = served.session()
    assert "X this month" in text_of(s.get(served.url + "/workers"))
    # One X post with a link went out this month: $0.20 of the $0.25 budget.
    sent = service.enqueue_text(app, "Gestern: Grüße aus Köln", link="https://example.org/ä",
                                at="+1h", to=["x"])  # fmt: skip
    [d] = app.store.get_post(sent.post_id).deliveries
    force_delivery(app.store, d.id, Status.PUBLISHED, updated_at=datetime.now(UTC),
                   remote_url="https://x.com/i/1")  # fmt: skip
    # A thread of two to X and one to Mastodon: X bills each part; Mastodon nothing.
    thread = service.enqueue_text(app, "Der Gipfel beginnt", parts=["Teil 2: Tianjin"],
                                  at="+2h", to=["x", "mastodon"])  # fmt: skip
    page = s.get(served.url + f"/posts/{thread.post_id}")
    x_id, mastodon_id = [d.id for d in app.store.get_post(thread.post_id).deliveries]
    x_part = page.text.split(f'id="d{x_id}"')[1].split("</section>")[0]
    assert "cost: X bills $0.03 for it (2 post(s), every part billed)" in text_of_html(x_part)
    mastodon_part = page.text.split(f'id="d{mastodon_id}"')[1].split("</section>")[0]
    assert "cost:" not in mastodon_part

    # A due X post with a link ($0.20) would exceed the budget: held, queued, with the reason.
    held = service.enqueue_text(app, "Eilmeldung: Grüße", link="https://example.org/b",
                                at="+3h", to=["x"])  # fmt: skip
    [h] = app.store.get_post(held.post_id).deliveries
    past = datetime.now(UTC) - timedelta(minutes=1)
    force_delivery(app.store, h.id, Status.QUEUED, due_at=past, next_attempt_at=past)
    shown = text_of(s.get(served.url + f"/posts/{held.post_id}"))
    assert "budget (held by the monthly budget) until" in shown
    assert "monthly budget of $0.25" in shown
    assert served.statuses(held.post_id) == {"x": "queued"}
    status = text_of(s.get(served.url + "/workers"))
    month = datetime.now(app.zone).strftime("%B %Y")
    assert f"x: $0.20 spent in {month} (1 post(s) billed by X), monthly budget $0.25" in status
    assert "1 due post(s) held" in status
    for page_path in ("/workers", f"/posts/{held.post_id}"):
        assert "X_CONSUMER_SECRET" not in s.get(served.url + page_path).text


def text_of_html(fragment: str) -> str:
    import html
    import re

    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())
