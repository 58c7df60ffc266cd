"""Posting slots in the web calendar over real HTTP: the week shows each free slot as a place
linking to the composer with its time and accounts; compose's "next free slot" is
`enqueue --next-slot`."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import pytest

from postbot import service
from postbot.slots import Schedule, parse_slots
from tests.web.conftest import TEASER, ServeProject, csrf_of, text_of
from tests.web.test_web_review import SLOTS, SLOTTED

pytestmark = pytest.mark.timeout(120)


def test_the_week_shows_free_slots_linking_to_the_composer(serve_project: ServeProject) -> None:
    served = serve_project(SLOTTED)
    zone = served.app.zone
    now = datetime.now(UTC)
    coming = Schedule(parse_slots(SLOTS), zone).between(now, now + timedelta(days=21))
    filled = service.enqueue_text(served.app, "Vorher", next_slot=True, to=["mastodon"])
    assert filled.due == coming[0]
    s = served.session()
    free = coming[1]
    local = free.astimezone(zone)
    week = s.get(served.url + f"/week?of={local.date().isoformat()}")
    assert week.status_code == 200
    links = re.findall(r'<li class="free"><a href="([^"]+)"><time datetime="([^"]+)">', week.text)
    slots = {at: html.unescape(href) for href, at in links}
    iso = free.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert slots[iso] == f"/compose?at={local.strftime('%Y-%m-%d+%H:%M')}&to=mastodon"
    assert coming[0].strftime("%Y-%m-%dT%H:%M:%SZ") not in slots  # filled: the post is there
    assert all(at > now.strftime("%Y-%m-%dT%H:%M:%SZ") for at in slots)  # none in the past
    assert "free slot" in text_of(week)

    composer = s.get(served.url + slots[iso])
    assert composer.status_code == 200
    assert f'value="{local.strftime("%Y-%m-%d %H:%M")}"' in composer.text
    ticked = re.findall(r'name="to" value="(\w+)" checked', composer.text)
    assert ticked == ["mastodon"]
    assert 'name="next_slot"' in composer.text


def test_compose_into_the_next_free_slot(serve_project: ServeProject) -> None:
    served = serve_project(SLOTTED)
    zone = served.app.zone
    now = datetime.now(UTC)
    _first, second = Schedule(parse_slots(SLOTS), zone).between(now, now + timedelta(days=2))[:2]
    service.enqueue_text(served.app, "Vorher", next_slot=True, to=["mastodon"])
    s = served.session()
    form = {"csrf": csrf_of(s.get(served.url + "/compose")), "text": TEASER, "when": "",
            "next_slot": "1", "to": ["mastodon"], "action": "enqueue"}  # fmt: skip
    done = s.post(served.url + "/compose", data=form)
    assert done.status_code == 200
    post_id = int(done.url.rsplit("/", 1)[1])
    [d] = served.app.store.get_post(post_id).deliveries
    assert (d.due_at, d.slot_at) == (second, second)
    shown = second.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z")
    assert f"post {post_id}: mastodon in the slot {shown}" in text_of(done)
