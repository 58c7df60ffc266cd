"""Post files: `slot: next`, `every:` and `until:`, strictly, each instead of `at`."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from postbot.errors import UserError
from postbot.postfile import read_post_file

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)


def post(tmp_path: Path, front: str) -> Path:
    path = tmp_path / "p.md"
    path.write_text(f"---\n{textwrap.dedent(front).strip()}\n---\nHallo #Welt\n", "utf-8")
    return path


def test_slot_next(tmp_path: Path) -> None:
    draft = read_post_file(post(tmp_path, "slot: next\nto: [mastodon]"), BERLIN, NOW)
    assert (draft.slot, draft.at, draft.every) == (True, None, None)


def test_every_and_until(tmp_path: Path) -> None:
    path = post(tmp_path, 'every: "mon 09:00"\nuntil: "2027-06-30 23:59"')
    draft = read_post_file(path, BERLIN, NOW)
    assert draft.every == "mon 09:00"
    assert draft.until == datetime(2027, 6, 30, 21, 59, tzinfo=UTC)
    cron = read_post_file(post(tmp_path, 'every: "30 7 * * mon-fri"'), BERLIN, NOW)
    assert cron.every == "30 7 * * mon-fri"


def test_the_rules_change_the_post(tmp_path: Path) -> None:
    plain = read_post_file(post(tmp_path, "id: a"), BERLIN, NOW).content_hash()
    weekly = read_post_file(post(tmp_path, 'id: a\nevery: "mon 09:00"'), BERLIN, NOW)
    slotted = read_post_file(post(tmp_path, "id: a\nslot: next"), BERLIN, NOW)
    assert len({plain, weekly.content_hash(), slotted.content_hash()}) == 3


@pytest.mark.parametrize(
    ("front", "says"),
    [
        ("slot: first", "p.md:2: slot: 'first' is not understood; write 'slot: next'"),
        ("slot: next\nat: 2026-12-24 08:00", "at and slot both say when the post goes out"),
        ('every: "mon 09:00"\nslot: next', "slot and every both say when"),
        ('every: "monday 9"', "p.md:2: every: 'monday 9': 'monday' is not a day"),
        ('every: "0 9 * *"', "every: '0 9 * *' is not understood"),
        ('until: "2027-06-30 23:59"', "p.md:2: until: ends a recurring post; give every:"),
        ('every: "mon 09:00"\nuntil: "+2w"', "until: relative time '+2w' is not allowed"),
        # A falsy `until` is a value too, refused with its line.
        ('every: "mon 09:00"\nuntil: 0', "p.md:3: until: cannot understand the time '0'"),
        ('every: "mon 09:00"\nuntil: ""', "p.md:3: until: empty time"),
        ('every: "mon 09:00"\nuntil: false', "p.md:3: until: must be a date and time"),
    ],
)
def test_anything_else_is_refused_in_one_line(tmp_path: Path, front: str, says: str) -> None:
    with pytest.raises(UserError) as info:
        read_post_file(post(tmp_path, front), BERLIN, NOW)
    assert says in str(info.value)
    assert "\n" not in str(info.value)
