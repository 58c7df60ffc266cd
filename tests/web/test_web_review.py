"""The Drafts page over real HTTP: every draft previewed per platform, approve (at a time, in
the next free slot, with a changed text checked again), reject; CSRF on each form; who decided
shown on the post page. Each is `postbot approve`'s and `reject`'s own service call."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from postbot import service
from postbot.drafts import plan
from postbot.slots import Schedule, parse_slots
from tests.support import DRY_CONFIG
from tests.web.conftest import TEASER, Served, ServeProject, csrf_of, text_of

pytestmark = pytest.mark.timeout(120)

SLOTS = ["daily 07:30", "daily 18:00"]
SLOTTED = DRY_CONFIG.replace(
    'credentials = { access_token = "MASTODON_ACCESS_TOKEN" }',
    f'credentials = {{ access_token = "MASTODON_ACCESS_TOKEN" }}\nslots = {SLOTS!r}'.replace(
        "'", '"'
    ),
)
POST_FILE = """---
id: gipfel
at: 2031-05-06 09:00
to: [mastodon, bluesky]
draft: true
---
Gipfel in Tianjin: was auf dem Spiel steht
"""


def typed_draft(served: Served, text: str = TEASER, to: tuple[str, ...] = ("mastodon", "x")) -> int:
    """A draft as a feed with `review = true` makes one (a text the editor may change)."""
    app = served.app
    draft = service.typed_draft(app, text, hashtags=["SOZGipfel"], to=to)
    held = replace(draft, hold=True, key="feed:tagesschau:" + text[:20])
    due = datetime(2031, 5, 6, 7, 0, tzinfo=UTC)
    return app.store.enqueue(plan(held, app.settings), due, app.now())


def test_the_drafts_page_previews_each_draft_per_platform(serve_project: ServeProject) -> None:
    served = serve_project()
    s = served.session()
    empty = s.get(served.url + "/drafts")
    assert empty.status_code == 200 and "No drafts waiting" in text_of(empty)
    post_id = typed_draft(served)
    (served.root / "posts" / "gipfel.md").write_text(POST_FILE, encoding="utf-8")
    service.import_paths(served.app, [served.root / "posts" / "gipfel.md"])
    filed = post_id + 1
    page = s.get(served.url + "/drafts")
    shown = text_of(page)
    assert page.status_code == 200
    assert f"Draft {post_id}" in shown and f"Draft {filed}" in shown
    assert "Grüße aus Köln" in shown and "#SOZGipfel" in shown
    assert "graphemes" in shown  # the counts, as on the post page
    assert "due 2031-05-06 09:00:00 CEST" in shown  # the configured zone, to the second
    # A typed (feed) draft's text is editable here; a post file's is changed in its file.
    section = page.text.split(f'id="p{post_id}"')[1].split("</section>")[0]
    assert '<textarea name="text"' in section and TEASER in section
    filed_section = page.text.split(f'id="p{filed}"')[1].split("</section>")[0]
    assert "<textarea" not in filed_section
    assert 'name="csrf"' in filed_section
    assert "Drafts" in text_of(s.get(served.url + "/week"))  # in the navigation


def test_approve_with_a_changed_text_at_a_time_is_recorded_on_the_post_page(
    serve_project: ServeProject,
) -> None:
    served = serve_project()
    post_id = typed_draft(served)
    s = served.session()
    token = csrf_of(s.get(served.url + "/drafts"))
    done = s.post(
        served.url + f"/drafts/{post_id}/approve",
        data={"csrf": token, "text": "Neuer Text:\r\nGrüße aus Köln", "when": "2031-05-07 10:00"},
        allow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == f"/posts/{post_id}"
    assert served.statuses(post_id) == {"mastodon": "queued", "x": "queued"}
    post = served.app.store.get_post(post_id)
    assert post.teaser == "Neuer Text:\nGrüße aus Köln"  # line breaks as typed, not CRLF
    assert {d.due_at for d in post.deliveries} == {datetime(2031, 5, 7, 8, 0, tzinfo=UTC)}
    page = text_of(s.get(served.url + f"/posts/{post_id}"))
    assert f"post {post_id} approved by " in page  # the message
    assert "approved by" in page and "(text edited)" in page
    assert "due 2031-05-07 10:00:00 CEST" in page
    assert "No drafts waiting" in text_of(s.get(served.url + "/drafts"))


def test_approve_into_the_next_free_slot(serve_project: ServeProject) -> None:
    served = serve_project(SLOTTED)
    taken = service.enqueue_text(served.app, "Vorher", next_slot=True, to=["mastodon"])
    post_id = typed_draft(served, to=("mastodon",))
    s = served.session()
    token = csrf_of(s.get(served.url + "/drafts"))
    done = s.post(
        served.url + f"/drafts/{post_id}/approve",
        data={"csrf": token, "text": TEASER, "when": "", "next_slot": "1"},
    )
    assert done.status_code == 200 and done.url.endswith(f"/posts/{post_id}")
    berlin = served.app.zone
    first, second = Schedule(parse_slots(SLOTS), berlin).between(
        datetime.now(UTC), datetime(2100, 1, 1, tzinfo=UTC)
    )[:2]
    assert taken.due == first
    [d] = served.app.store.get_post(post_id).deliveries
    assert (d.status, d.due_at, d.slot_at) == ("queued", second, second)
    assert served.app.store.get_post(post_id).teaser == TEASER  # unchanged: not edited
    local = second.astimezone(berlin).strftime("%Y-%m-%d %H:%M:%S %Z")
    assert f"mastodon in the slot {local}" in text_of(done)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"when": "+1h", "next_slot": "1"}, "give a time or tick 'next free slot', not both"),
        ({"when": "gestern um 9"}, "gestern"),
        ({"text": "Ä" * 290}, "too long"),
        ({"next_slot": "1"}, "has no posting slots"),
        ({"text": ""}, "the text is empty"),
        ({"text": " \r\n "}, "the text is empty"),
    ],
)
def test_a_refused_approval_changes_nothing_and_keeps_what_was_typed(
    serve_project: ServeProject, fields: dict[str, str], message: str
) -> None:
    served = serve_project()
    post_id = typed_draft(served)
    s = served.session()
    token = csrf_of(s.get(served.url + "/drafts"))
    refused = s.post(served.url + f"/drafts/{post_id}/approve", data={"csrf": token, **fields})
    assert refused.status_code == 400
    assert message in text_of(refused)
    assert served.statuses(post_id) == {"mastodon": "draft", "x": "draft"}
    assert served.app.store.reviews(post_id) == []
    if fields.get("text", "").strip():
        assert fields["text"] in refused.text  # kept in the form


def test_reject_and_csrf(serve_project: ServeProject) -> None:
    served = serve_project()
    post_id = typed_draft(served)
    s = served.session()
    for verb in ("approve", "reject"):
        forged = s.post(served.url + f"/drafts/{post_id}/{verb}", data={"csrf": "forged"})
        assert forged.status_code == 403 and "CSRF" in text_of(forged)
    assert served.statuses(post_id) == {"mastodon": "draft", "x": "draft"}
    token = csrf_of(s.get(served.url + "/drafts"))
    done = s.post(served.url + f"/drafts/{post_id}/reject", data={"csrf": token})
    assert done.url.endswith("/drafts")
    assert f"post {post_id} rejected by " in text_of(done)
    assert served.statuses(post_id) == {"mastodon": "cancelled", "x": "cancelled"}
    assert "rejected by" in text_of(s.get(served.url + f"/posts/{post_id}"))
    again = s.post(served.url + f"/drafts/{post_id}/approve", data={"csrf": token})
    assert again.status_code == 409 and "not a draft" in text_of(again)
    missing = s.post(served.url + "/drafts/4711/reject", data={"csrf": token})
    assert missing.status_code == 404
