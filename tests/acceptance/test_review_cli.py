"""Drafts through the CLI, as an editor uses them: a post file with `draft: true` waits as a
draft, `drafts` shows it per platform, `approve` (with a changed text, checked again) queues
it, `reject` discards one; `show` tells who decided what, and when."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from postbot.slots import Schedule, parse_slots
from tests.acceptance.cli_helpers import refused
from tests.support import DRY_CONFIG, make_project, postbot_json, run_postbot

pytestmark = pytest.mark.timeout(180)

DRAFT_FILE = """---
id: gipfel-teaser
at: 2031-05-06 09:00
to: [mastodon, bluesky]
draft: true
hashtags: [SOZGipfel]
---
Gipfel in Tianjin: Grüße aus der Redaktion
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = make_project(tmp_path)
    (root / "posts" / "gipfel.md").write_text(DRAFT_FILE, encoding="utf-8")
    done = run_postbot(root, "enqueue", "--file", "posts/gipfel.md")
    assert done.returncode == 0, done.stderr
    return root


def test_a_draft_file_waits_shows_its_preview_and_is_approved(project: Path) -> None:
    [draft] = postbot_json(project, "drafts")
    assert [d["status"] for d in draft["deliveries"]] == ["draft", "draft"]
    assert {p["account"]: p["fits"] for p in draft["preview"]} == {
        "mastodon": True, "bluesky": True,
    }  # fmt: skip
    assert all("#SOZGipfel" in p["text"] for p in draft["preview"])

    done = run_postbot(project, "approve", str(draft["id"]), "--by", "anna")
    assert done.returncode == 0, done.stderr
    assert "approved by anna" in done.stdout

    shown = postbot_json(project, "show", str(draft["id"]))
    assert {d["status"] for d in shown["deliveries"]} == {"queued"}
    [review] = shown["reviews"]
    assert (review["decision"], review["by"]) == ("approved", "anna")
    assert set(review["detail"]["texts"]) == {"mastodon", "bluesky"}
    assert postbot_json(project, "drafts") == []
    text = run_postbot(project, "show", str(draft["id"])).stdout
    assert "approved by anna" in text
    # Re-importing the unchanged file leaves the approval alone.
    run_postbot(project, "enqueue", "--file", "posts/gipfel.md")
    assert {d["status"] for d in postbot_json(project, "show", "1")["deliveries"]} == {"queued"}


def test_a_typed_draft_is_approved_with_a_new_text_checked_again(project: Path) -> None:
    post = postbot_json(project, "enqueue", "Alter Text", "--to", "bluesky", "--at", "+1h")
    # A typed post is queued; a draft is made by files and feeds. Reject needs a draft:
    assert "not a draft" in refused(project, "reject", str(post["id"]))
    [draft] = postbot_json(project, "drafts")
    # A post file's text is the file's: refused here, nothing changed.
    message = refused(project, "approve", str(draft["id"]), "--text", "Neu")
    assert "change its text in the file" in message
    message = refused(project, "approve", str(draft["id"]), "--at", "gestern um 9")
    assert "gestern" in message


def test_reject_discards_a_draft_for_good(project: Path) -> None:
    [draft] = postbot_json(project, "drafts")
    done = run_postbot(project, "reject", str(draft["id"]), "--by", "bernd")
    assert done.returncode == 0, done.stderr
    shown = postbot_json(project, "show", str(draft["id"]))
    assert {d["status"] for d in shown["deliveries"]} == {"cancelled"}
    assert [r["decision"] for r in shown["reviews"]] == ["rejected"]
    assert "not a draft" in refused(project, "approve", str(draft["id"]))


SLOTTED = (
    DRY_CONFIG.replace(
        'credentials = { access_token = "MASTODON_ACCESS_TOKEN" }',
        'credentials = { access_token = "MASTODON_ACCESS_TOKEN" }\nslots = ["daily 07:30"]',
    )
    + '\n[queues.desk]\nslots = ["daily 09:00"]\naccounts = ["bluesky"]\n'
)


def test_approve_next_slot_puts_each_account_in_its_first_free_slot(tmp_path: Path) -> None:
    root = make_project(tmp_path, SLOTTED)
    (root / "posts" / "gipfel.md").write_text(DRAFT_FILE, encoding="utf-8")
    assert run_postbot(root, "enqueue", "--file", "posts/gipfel.md").returncode == 0
    # The first mastodon slot is taken already: the draft gets the one after.
    taken = postbot_json(root, "enqueue", "Vorher", "--next-slot", "--to", "mastodon")
    [first] = postbot_json(root, "show", str(taken["id"]))["deliveries"]
    [draft] = postbot_json(root, "drafts")
    message = refused(root, "approve", str(draft["id"]), "--next-slot", "--at", "+1h")
    assert "--at or --next-slot" in message
    assert postbot_json(root, "drafts") != []  # refused: nothing changed

    done = postbot_json(root, "approve", str(draft["id"]), "--next-slot", "--by", "anna")
    berlin = ZoneInfo("Europe/Berlin")
    now = datetime.now(UTC)
    second = Schedule(parse_slots(["daily 07:30"]), berlin).after(now)
    expected_m = [t for t, _ in zip(second, range(2), strict=False)][1]
    expected_b = next(Schedule(parse_slots(["daily 09:00"]), berlin).after(now))
    shown = postbot_json(root, "show", str(draft["id"]))
    slots = {d["account"]: (d["status"], d["slot_at"]) for d in shown["deliveries"]}
    assert slots == {
        "mastodon": ("queued", iso(expected_m)),
        "bluesky": ("queued", iso(expected_b)),
    }
    assert first["slot_at"] == iso(next(Schedule(parse_slots(["daily 07:30"]), berlin).after(now)))
    assert done["slots"] == {"mastodon": iso(expected_m), "bluesky": iso(expected_b)}
    assert shown["reviews"][0]["by"] == "anna"
    text = run_postbot(root, "show", str(draft["id"])).stdout
    assert "approved by anna" in text


def iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")
