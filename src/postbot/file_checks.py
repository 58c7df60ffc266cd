"""The part of an import that needs no database: each post file read, rendered and checked for
its accounts (`drafts.plan`), in this process or, for a big import, in worker processes.

A worker process is a fork of this one, so it knows the settings and every registered platform
without being sent them. One is used per core when there are many files (`MANY`), the machine
has cores to spare, the system forks (Linux), and this process runs one thread: a fork copies
only the calling thread, and a lock another thread held (the daemon's dispatcher, a log
handler) would stay locked in the copy for good. The daemon's import therefore reads in
process, as does any small import, where starting workers would cost more than it saves.

Each file's outcome comes back in file order, whichever process read it, and the checks that
need the database or the other files (an id used twice, a time already past) are the
importer's, in that same order: the report is the same either way.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Generator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from postbot.config import Settings
from postbot.drafts import Plan, plan, plan_warnings
from postbot.errors import UserError
from postbot.platforms.base import Platform
from postbot.postfile import read_post_file

MANY = 2_000  # files: below this, an import reads in process
_CHUNK = 250  # files a worker reads per task: few round trips, an even share at the end
_MAX_WORKERS = 8


@dataclass(frozen=True)
class FileCheck:
    """One post file, read and planned, or why not (its path is the caller's: a path is the
    dearest part of a check to send back from a worker)."""

    key: str | None = None  # its post's key, once the file could be read
    plan: Plan | None = None  # None: `error` says what is wrong
    error: str = ""  # one line, naming the file; "" when `plan` is given
    due: datetime | None = None  # when it goes out: `at`, or a recurring post's first time
    warnings: tuple[str, ...] = ()  # `drafts.plan_warnings`


def check_files(
    settings: Settings,
    files: Sequence[tuple[Path, bool]],
    now: datetime,
    workers: int | None = None,
) -> tuple[int, Generator[FileCheck, None, None]]:
    """(the processes reading, each file's check in the order of `files`). `files`: (path,
    found in a folder). `workers`: how many worker processes; None lets the import's size and
    the machine decide, 0 reads in this process. Close the checks if you stop early: the
    workers then stop too."""
    count = default_workers(len(files)) if workers is None else workers
    if count < 1:
        return 1, _in_process(settings, files, now)
    return count, _in_workers(settings, files, now, count)


def default_workers(files: int) -> int:
    """Worker processes for an import of `files` files: 0 (read in process) unless forking is
    safe, there are many files and more than one core."""
    if files < MANY or sys.platform != "linux" or threading.active_count() > 1:
        return 0
    cores = len(os.sched_getaffinity(0))
    return min(cores, _MAX_WORKERS) if cores > 1 else 0


def check_file(
    settings: Settings,
    path: Path,
    in_folder: bool,
    now: datetime,
    platforms: dict[str, Platform],
) -> FileCheck:
    """Read, render and check one file for its accounts; `platforms` is kept across files."""
    try:
        # Keys relative to the project folder: the daemon run from another folder must know
        # the same file by the same key, or it would post it again.
        draft = read_post_file(path, settings.timezone, now, order=settings.date_order,
                               base=settings.project_dir, in_folder=in_folder)  # fmt: skip
    except UserError as exc:
        return FileCheck(error=str(exc))
    if draft.language is None and settings.language:
        draft = replace(draft, language=settings.language)
    key = draft.key or ""
    try:
        checked = plan(draft, settings, platforms=platforms)
        if draft.slot:
            from postbot.slot_config import schedules_for

            try:
                schedules_for(settings, tuple(t.account for t in checked.targets))
            except UserError as exc:
                raise UserError(f"{path}: slot: next: {exc}") from None
        # A recurring rule without an occurrence (before `until`) is refused here.
        due = _first_due(settings, checked, now)
        warnings = tuple(plan_warnings(checked))
    except UserError as exc:
        return FileCheck(key, error=str(exc))
    # Worked out here, by the worker, and sent with the plan: the store and the duplicate
    # guard ask for them.
    checked.draft.content_hash()
    for target in checked.targets:
        target.text_hash  # noqa: B018
    return FileCheck(key, checked, "", due, warnings)


def _first_due(settings: Settings, checked: Plan, now: datetime) -> datetime | None:
    """When an imported post is due: its `at`, or a recurring post's first occurrence."""
    draft = checked.draft
    if draft.every is None:
        return draft.at
    from postbot.service.recurring import first_occurrence

    return first_occurrence(settings, draft.every, draft.until, now, f"{draft.where}: every")


def _in_process(
    settings: Settings, files: Sequence[tuple[Path, bool]], now: datetime
) -> Generator[FileCheck, None, None]:
    platforms: dict[str, Platform] = {}
    for path, in_folder in files:
        yield check_file(settings, path, in_folder, now, platforms)


# -- worker processes ---------------------------------------------------------------------------
_WORKER: tuple[Settings, datetime, dict[str, Platform]] | None = None


def _in_workers(
    settings: Settings, files: Sequence[tuple[Path, bool]], now: datetime, count: int
) -> Generator[FileCheck, None, None]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    chunks = [list(files[i : i + _CHUNK]) for i in range(0, len(files), _CHUNK)]
    # Forked, the workers are given the settings as they are in memory (nothing pickled);
    # with fork, every worker starts now, before the pool's own thread does.
    pool = ProcessPoolExecutor(
        count, mp_context=multiprocessing.get_context("fork"), initializer=_start_worker,
        initargs=(settings, now),
    )  # fmt: skip
    try:
        for checks in pool.map(_check_chunk, chunks):
            yield from checks
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _start_worker(settings: Settings, now: datetime) -> None:
    import signal

    global _WORKER
    _WORKER = (settings, now, {})
    # Ctrl-C reaches the whole process group: the importer stops the pool (its tasks not yet
    # begun are cancelled), and a worker must not die first with a traceback of its own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _check_chunk(files: list[tuple[Path, bool]]) -> list[FileCheck]:
    assert _WORKER is not None, "a worker's settings are set when it starts"
    settings, now, platforms = _WORKER
    return [check_file(settings, path, in_folder, now, platforms) for path, in_folder in files]
