"""Slots in the config: on an account, or a named queue shared by several accounts; strict."""

from __future__ import annotations

import textwrap
from datetime import time
from pathlib import Path

import pytest

from postbot.config import load_settings
from postbot.errors import ConfigError, UserError
from postbot.slot_config import schedule_of, schedules_for

CONFIG = """
timezone = "Europe/Berlin"

[accounts.main]
platform = "dryrun"
slots = ["mon-fri 07:30", "sat 10:00"]

[accounts.other]
platform = "dryrun"

[accounts.third]
platform = "dryrun"

[accounts.plain]
platform = "dryrun"

[queues.desk]
slots = ["daily 12:00"]
accounts = ["other", "third"]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "postbot.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def refused(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, text), environ={})
    message = str(info.value)
    assert "\n" not in message
    return message


def test_an_account_and_a_queue_hold_slots(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, CONFIG), environ={})
    main = schedule_of(settings, "main")
    assert main is not None and main.name == "accounts.main"
    assert [s.at for s in main.slots] == [time(7, 30), time(10, 0)]
    for name in ("other", "third"):
        shared = schedule_of(settings, name)
        assert shared is not None and shared.name == "queues.desk"
    assert schedule_of(settings, "plain") is None
    assert settings.queues["desk"].accounts == ("other", "third")


def test_a_target_without_slots_is_refused_in_one_line(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, CONFIG), environ={})
    with pytest.raises(UserError) as info:
        schedules_for(settings, ("main", "plain"))
    assert "account 'plain' has no posting slots for --next-slot" in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (('slots = ["mon-fri 07:30", "sat 10:00"]', 'slots = ["mon-fri 7.30"]'),
         "postbot.toml:6: accounts.main.slots: 'mon-fri 7.30': '7.30' is not a time of day"),
        (('slots = ["mon-fri 07:30", "sat 10:00"]', 'slots = "mon 07:30"'),
         "postbot.toml:6: accounts.main.slots: wrong type (str); write a list of slots"),
        (('slots = ["daily 12:00"]', 'slots = ["weekdays 12:00"]'),
         "queues.desk.slots: 'weekdays 12:00': 'weekdays' is not a day"),
        (('accounts = ["other", "third"]', 'accounts = ["other", "thrid"]'),
         "queues.desk.accounts: unknown account 'thrid'; did you mean 'third'?"),
        (('accounts = ["other", "third"]', 'accounts = ["other", "main"]'),
         "'main' has its slots in accounts.main already"),
        (('accounts = ["other", "third"]', 'acounts = ["other"]'),
         "queues.desk.acounts: unknown key; did you mean 'accounts'?"),
        (('[queues.desk]', '[queue.desk]'), "queue: unknown key; did you mean 'queues'?"),
    ],
)  # fmt: skip
def test_anything_not_understood_is_refused_with_its_line(
    tmp_path: Path, change: tuple[str, str], says: str
) -> None:
    text = CONFIG.replace(*change)
    assert text != CONFIG
    assert says in refused(tmp_path, text)


def test_an_account_in_two_queues_is_refused(tmp_path: Path) -> None:
    text = CONFIG + '\n[queues.late]\nslots = ["daily 18:00"]\naccounts = ["third"]\n'
    assert "'third' has its slots in queues.desk already" in refused(tmp_path, text)


def test_a_queue_needs_slots_and_accounts(tmp_path: Path) -> None:
    text = CONFIG.replace('accounts = ["other", "third"]\n', "")
    assert "queues.desk.accounts is missing" in refused(tmp_path, text)
