"""Item 14: `enqueue --next-slot` with 10,000 deliveries already queued, against a plain
`enqueue --at` on the same database, alternating, median of each.

The queue: 10,000 deliveries of the slotted account, its first 12 slots already taken (the
next free one is in the first batch the search looks up) and the rest spread over the weeks
after, every 7 minutes, between and on slot times. 14a times the service call (what the
command does, in-process: render, search, insert, commit), where the search's cost shows;
14c the same with the first 200 slots taken (the search runs through five batches); 14b the
commands as new processes, as a user runs them.
"""

from __future__ import annotations

import itertools
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.common import (
    LINK,
    TAGS,
    TEASER,
    clean_env,
    config_text,
    create_schema,
    make_project,
    median,
    open_app,
    seed_sqlite,
)
from benchmarks.startup import postbot_command

SLOTS = '["mon-fri 07:30", "mon-fri 12:00", "mon-fri 17:30", "sat 10:00"]'
TAKEN = 12  # slots already filled: the next free one is in the first batch (16)
DEEP = 200  # 14c: slots already filled: the search runs through five batches


def _queue_times(queued: int, taken: int) -> list[datetime]:
    from zoneinfo import ZoneInfo

    from postbot.slot_config import SLOTS as OPTION
    from postbot.slots import Schedule

    assert OPTION.parse is not None
    schedule = Schedule(OPTION.parse(["mon-fri 07:30", "mon-fri 12:00", "mon-fri 17:30",
                                      "sat 10:00"]), ZoneInfo("Europe/Berlin"))  # fmt: skip
    now = datetime.now(UTC)
    slots = schedule.after(now)
    times = [next(slots) for _ in range(taken)]
    start = max(times) + timedelta(days=1)  # then every 7 minutes: between and on slot times
    times += [start + timedelta(minutes=7 * i) for i in range(queued - taken)]
    return times


def _service(workdir: Path, name: str, queued: int, taken: int, runs: int) -> dict[str, Any]:
    """The service calls, alternating; each slotted post is cancelled again after it was
    timed (not timed), so every run searches past the same `taken` slots."""
    project = workdir / name
    db = project / "var" / "postbot.db"
    config = config_text(f"sqlite:///{db}", {"desk": "mastodon"})
    config_path = make_project(project, config + f"slots = {SLOTS}\n")
    create_schema(f"sqlite:///{db}")
    seed_sqlite(db, queued, {"desk": "mastodon"}, _queue_times(queued, taken))
    from postbot import service

    app = open_app(config_path)
    # A text of its own each time: the same one again would be refused by the duplicate guard,
    # whose lookup both sides pay alike.
    texts = (f"{TEASER} #{TAGS[0]} ({n})" for n in itertools.count())

    def slot() -> float:
        text = next(texts)
        started = time.perf_counter()
        done = service.enqueue_text(app, text, link=LINK, next_slot=True)
        took = time.perf_counter() - started
        app.store.cancel(done.post_id, datetime.now(UTC))
        return took

    def plain() -> float:
        text = next(texts)
        started = time.perf_counter()
        service.enqueue_text(app, text, link=LINK, at="+2h")
        return time.perf_counter() - started

    slot(), plain()  # warm: statements compiled, pages cached
    slotted, given = [], []
    for _ in range(runs):
        slotted.append(slot())
        given.append(plain())
    app.store.dispose()
    return {"next_slot": median(slotted), "at": median(given),
            "next_slot_all": slotted, "at_all": given}  # fmt: skip


def measure(workdir: Path, queued: int, runs: int, cli_runs: int) -> dict[str, Any]:
    common = _service(workdir, "slots", queued, TAKEN, runs)
    deep = _service(workdir, "slots-deep", queued, DEEP, runs)
    project = workdir / "slots"
    texts = (f"{TEASER} #{TAGS[0]} (command {n})" for n in itertools.count())

    def command(*when: str) -> float:
        text = next(texts)
        started = time.perf_counter()
        quiet = subprocess.DEVNULL
        subprocess.run([*postbot_command(), "enqueue", text, "--link", LINK, *when],
                       cwd=project, env=clean_env(), check=True, stdin=quiet, stdout=quiet,
                       stderr=quiet, timeout=120)  # fmt: skip
        return time.perf_counter() - started

    cli_slot, cli_at = [], []
    for _ in range(cli_runs):
        cli_slot.append(command("--next-slot"))
        cli_at.append(command("--at", "+2h"))
    return {
        "queued": queued, "taken": TAKEN, "deep_taken": DEEP,
        "service": common, "deep": deep,
        "cli": {"next_slot": median(cli_slot), "at": median(cli_at),
                "next_slot_all": cli_slot, "at_all": cli_at},
    }  # fmt: skip


def rows(work: Path, s: Any, details: dict[str, Any], Row: Any) -> list[Any]:
    """Item 14's lines of the table (`Row`: benchmarks.run's)."""
    got = measure(work, s.slot_queue, s.slot_runs, s.slot_cli_runs)
    details["14"] = got
    svc, deep, cli = got["service"], got["deep"], got["cli"]
    n = f"{s.slot_queue:,}"
    base = "`enqueue --at +2h` (the service call), same database"
    return [
        Row("14a", 14, f"`enqueue --next-slot` (the service call), {n} deliveries queued,"
            f" the first {got['taken']} slots taken", svc["next_slot"] * 1000, "ms", base,
            svc["at"] * 1000, "<= 1.2 x baseline", svc["next_slot"] <= 1.2 * svc["at"],
            note=f"median of {s.slot_runs}, alternating; one lookup by index of 16 slots"),
        Row("14b", 14, f"`postbot enqueue --next-slot`, a new process, {n} deliveries queued",
            cli["next_slot"], "s", "`postbot enqueue --at +2h`, same database", cli["at"],
            "<= 1.2 x baseline", cli["next_slot"] <= 1.2 * cli["at"],
            note=f"median of {s.slot_cli_runs}, alternating"),
        Row("14c", 14, f"`enqueue --next-slot` (the service call), {n} deliveries queued,"
            f" the first {got['deep_taken']} slots taken", deep["next_slot"] * 1000, "ms", base,
            deep["at"] * 1000, "", None,
            note=f"median of {s.slot_runs}, alternating; five lookups (16, 32 ... 256 slots)"),
    ]  # fmt: skip
