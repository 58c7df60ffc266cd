"""Posting slots through the CLI, as real processes: `--next-slot` at enqueue and reschedule,
two processes enqueueing at once, `postbot slots` over a DST week, a post file's `slot: next`,
and each refusal in one line."""

from __future__ import annotations

import subprocess
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from postbot.slots import Schedule, parse_slots
from tests.acceptance.cli_helpers import refused
from tests.support import DRY_CONFIG, POSTBOT, clean_env, make_project, postbot_json, run_postbot

BERLIN = ZoneInfo("Europe/Berlin")
MASTODON_SLOTS = ["mon-fri 07:30", "mon-fri 12:00", "sat 10:00"]
CONFIG = (
    DRY_CONFIG.replace(
        'credentials = { access_token = "MASTODON_ACCESS_TOKEN" }',
        'credentials = { access_token = "MASTODON_ACCESS_TOKEN" }\n'
        'slots = ["mon-fri 07:30", "mon-fri 12:00", "sat 10:00"]',
    )
    + '\n[queues.desk]\nslots = ["daily 09:00"]\naccounts = ["x"]\n'
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path, CONFIG)


def upcoming(slots: list[str], n: int, after: datetime | None = None) -> list[str]:
    schedule = Schedule(parse_slots(slots), BERLIN)
    times = schedule.after(after or datetime.now(UTC))
    return [next(times).isoformat().replace("+00:00", "Z") for _ in range(n)]


def slots_of(project: Path, env: dict[str, str] | None = None) -> dict[int, dict[str, str]]:
    return {
        p["id"]: {d["account"]: d["slot_at"] for d in p["deliveries"] if d["status"] == "queued"}
        for p in postbot_json(project, "list", env=env)
    }


def enqueue(project: Path, *args: str) -> int:
    done = run_postbot(project, "enqueue", *args)
    assert done.returncode == 0, done.stderr
    return int(done.stdout)


def test_each_target_takes_its_own_first_free_slot(project: Path) -> None:
    first = enqueue(project, "Eins", "--next-slot", "--to", "mastodon", "--to", "x")
    second = enqueue(project, "Zwei", "--next-slot", "--to", "mastodon", "--to", "x")
    masto, desk = upcoming(MASTODON_SLOTS, 2), upcoming(["daily 09:00"], 2)
    assert slots_of(project) == {
        first: {"mastodon": masto[0], "x": desk[0]},
        second: {"mastodon": masto[1], "x": desk[1]},
    }
    shown = run_postbot(project, "show", str(first)).stdout
    assert "(its posting slot)" in shown


def test_cancel_and_reschedule_free_the_slot(project: Path) -> None:
    a = enqueue(project, "A", "--next-slot", "--to", "mastodon")
    b = enqueue(project, "B", "--next-slot", "--to", "mastodon")
    masto = upcoming(MASTODON_SLOTS, 3)
    assert run_postbot(project, "cancel", str(a)).returncode == 0
    c = enqueue(project, "C", "--next-slot", "--to", "mastodon")
    assert slots_of(project)[c] == {"mastodon": masto[0]}  # a's slot, freed by cancel
    done = run_postbot(project, "reschedule", str(b), "--at", "2031-01-06 09:00")
    assert done.returncode == 0, done.stderr
    assert slots_of(project)[b] == {"mastodon": None}
    d = enqueue(project, "D", "--next-slot", "--to", "mastodon")
    assert slots_of(project)[d] == {"mastodon": masto[1]}  # b's old slot
    done = run_postbot(project, "reschedule", str(b), "--next-slot")
    assert done.returncode == 0, done.stderr
    assert "next free slots: mastodon at" in done.stdout
    assert slots_of(project)[b] == {"mastodon": masto[2]}


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_two_processes_enqueueing_at_once_never_take_one_slot(
    backend: str, project: Path, request: pytest.FixtureRequest
) -> None:
    env = clean_env()
    if backend == "postgresql":
        env["POSTBOT_DATABASE_URL"] = request.getfixturevalue("pg_empty_url")
    run_postbot(project, "list", env=env)  # the schema, made once before the race
    rounds = 4
    for r in range(rounds):
        procs = [
            subprocess.Popen(
                [*POSTBOT, "enqueue", f"Runde {r} Prozess {i}", "--next-slot", "--to", "mastodon"],
                cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )
            for i in range(2)
        ]  # fmt: skip
        for proc in procs:
            _out, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err
    taken = [s["mastodon"] for s in slots_of(project, env).values()]
    assert len(taken) == 2 * rounds
    assert [s for s, n in Counter(taken).items() if n > 1] == []
    assert sorted(taken) == upcoming(MASTODON_SLOTS, 2 * rounds)


def test_slots_over_a_dst_week_keep_their_wall_clock_time(project: Path) -> None:
    # The week of the change to summer time (Sunday 28 March 2027 in Berlin): the slots
    # before and after it are 07:30 local, 06:30 UTC before and 05:30 UTC after.
    now = datetime.now(UTC)
    change = datetime(2027, 3, 28, 12, 0, tzinfo=UTC)
    if now > change - timedelta(weeks=1):
        pytest.skip("the 2027 change is past; the unit tests cover DST weeks")
    weeks = (change - now).days // 7  # the 7 days from then hold the change
    post = enqueue(project, "Frühling", "--at", "2027-03-29 07:30", "--to", "mastodon")
    week = postbot_json(project, "slots", "--week", str(weeks))
    [masto] = [p for p in week["places"] if p["name"] == "accounts.mastodon"]
    at_0730 = {s["at"] for s in masto["slots"] if s["slot"] == "mon-fri 07:30"}
    assert "2027-03-26T06:30:00Z" in at_0730 or "2027-03-29T05:30:00Z" in at_0730
    for at in at_0730:
        local = datetime.fromisoformat(at.replace("Z", "+00:00")).astimezone(BERLIN)
        assert (local.hour, local.minute) == (7, 30), at
    monday = next((s for s in masto["slots"] if s["at"] == "2027-03-29T05:30:00Z"), None)
    if monday is not None:  # the Monday after the change: filled by the post given for it
        assert monday["fills"]["mastodon"]["post_id"] == post
    text = run_postbot(project, "slots", "--week", str(weeks)).stdout
    assert "07:30:00 CEST" in text or "07:30:00 CET" in text


def test_slots_shows_free_and_filled(project: Path) -> None:
    post = enqueue(project, "Morgenlage: was heute wichtig ist", "--next-slot", "--to", "x")
    shown = postbot_json(project, "slots")
    [desk] = [p for p in shown["places"] if p["name"] == "queues.desk"]
    fills = [s["fills"]["x"] for s in desk["slots"]]
    assert fills[0] == {"post_id": post, "title": "Morgenlage: was heute wichtig ist",
                        "status": "queued"}  # fmt: skip
    assert all(f is None for f in fills[1:]) and len(fills) == 7
    text = run_postbot(project, "slots").stdout
    assert f"post {post}: Morgenlage" in text and "free" in text


def test_a_post_file_takes_the_next_slot(project: Path) -> None:
    (project / "posts" / "slot.md").write_text(
        "---\nslot: next\nto: [mastodon, x]\n---\nAus der Datei #Slots\n", encoding="utf-8"
    )
    done = run_postbot(project, "enqueue", "--file", "posts/slot.md")
    assert done.returncode == 0, done.stderr
    [(post_id, slots)] = slots_of(project).items()
    assert slots == {"mastodon": upcoming(MASTODON_SLOTS, 1)[0],
                     "x": upcoming(["daily 09:00"], 1)[0]}  # fmt: skip
    again = run_postbot(project, "enqueue", "--file", "posts/slot.md")  # idempotent
    assert again.returncode == 0 and slots_of(project) == {post_id: slots}


def test_refusals_are_one_line_and_change_nothing(project: Path) -> None:
    run_postbot(project, "list")
    assert "give either --at or --next-slot, not both" in refused(
        project, "enqueue", "T", "--next-slot", "--at", "+2h"
    )
    line = refused(project, "enqueue", "T", "--next-slot", "--to", "bluesky")
    assert "account 'bluesky' has no posting slots for --next-slot" in line
    assert "give either --at or --next-slot" in refused(project, "reschedule", "1")
    (project / "posts" / "bad.md").write_text(
        "---\nslot: next\nto: [bluesky]\n---\nText\n", encoding="utf-8"
    )
    assert "slot: next: account 'bluesky' has no posting slots" in refused(
        project, "enqueue", "--file", "posts/bad.md"
    )
    config = project / "config" / "postbot.toml"
    config.write_text(CONFIG.replace('"sat 10:00"', '"sa 10:00"'), encoding="utf-8")
    line = refused(project, "slots")
    assert "accounts.mastodon.slots: 'sa 10:00': 'sa' is not a day" in line
    assert "postbot.toml:" in line
