"""Post files into the queue: every file is checked, and every broken one is reported.

Two ways to import, one set of checks:
- `postbot enqueue --file` is all or nothing: if any file is broken, nothing is written and
  the refusal names every broken file (`BrokenFiles`, one line);
- the daemon's import of the posts folder (`keep_going=True`) writes every good file and
  reports each broken one, so one colleague's typo does not hold up everyone's posts.

A post whose file has left the posts folder is *withdrawn*: `[posts] on_delete` says whether
its queued deliveries are kept (the default: a branch switch or a moved folder must not cancel
a morning's posts) or cancelled. Either way it is reported.

The daemon records what its last import found beside the SQLite database, where `postbot
status`, another process, reads it (`import_record.py`).
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from postbot.config import Settings
from postbot.domain import EXAMPLE_KEY_PREFIX, Status
from postbot.drafts import Plan
from postbot.errors import StateError, UserError
from postbot.file_checks import FileCheck, check_files
from postbot.output import local
from postbot.postfile import SUFFIXES, scan_post_files
from postbot.store import ImportResult, Store, rules

Progress = Callable[[int, int], None]  # (files checked, files in all)


class OnDelete(StrEnum):
    """What a post file's disappearance from the posts folder does to its post."""

    KEEP = "keep"  # its queued deliveries stay queued; a warning says so
    CANCEL = "cancel"  # its queued deliveries are cancelled


@dataclass(frozen=True)
class BrokenFile:
    path: str
    message: str  # one line, naming the file (and line) and what is wrong


@dataclass(frozen=True)
class Withdrawn:
    """A post whose file is gone from the posts folder, and what was done about it."""

    post_id: int
    source: str
    action: OnDelete
    cancelled: int = 0  # deliveries cancelled


@dataclass(frozen=True)
class ImportReport:
    # Every post file looked at (absolute path) -> the key of its post; None if it is broken.
    seen: Mapping[str, str | None] = field(default_factory=dict)
    results: tuple[ImportResult, ...] = ()
    broken: tuple[BrokenFile, ...] = ()
    warnings: tuple[str, ...] = ()
    withdrawn: tuple[Withdrawn, ...] = ()
    readers: int = 1  # the processes that read and checked the files (`file_checks`)

    @property
    def files(self) -> int:
        return len(self.seen)

    def count(self, action: str) -> int:
        return sum(1 for r in self.results if r.action == action)

    def summary(self) -> dict[str, int]:
        """created, updated, unchanged, conflicts, broken: what a person reads at the end."""
        return {
            "created": self.count("created"),
            "updated": self.count("updated"),
            "unchanged": self.count("unchanged"),
            "conflicts": self.count("conflict"),
            "broken": len(self.broken),
        }


class BrokenFiles(UserError):
    """Some files of an all-or-nothing import are broken: one line naming each of them."""

    def __init__(self, broken: Sequence[BrokenFile]) -> None:
        self.broken = tuple(broken)
        if len(broken) == 1:
            message = broken[0].message
        else:
            listed = "; ".join(b.message for b in broken)
            message = f"{len(broken)} post files are broken, nothing was imported: {listed}"
        super().__init__(message)


def import_files(
    settings: Settings,
    store: Store,
    paths: Sequence[str | Path],
    now: datetime,
    *,
    keep_going: bool = False,
    progress: Progress | None = None,
    live: bool = True,
    allow_duplicate: bool = False,
    workers: int | None = None,
) -> ImportReport:
    """Check every post file under `paths`, then write the good ones in one transaction.

    A file whose text went (or goes) to an account within a day is broken too
    (`service.guards`), unless it says `allow_duplicate: true` or `allow_duplicate` is given.

    Without `keep_going` a broken file means nothing is written (`BrokenFiles`). `live`: the
    posts may go out for real, so an example post (`example: true`) is refused; only a
    dry-run daemon imports one. `workers`: the processes that read the files
    (`file_checks.check_files`; None: as many as the import's size and the machine make worth
    it).
    """
    with _collector_paused():
        return _import_files(
            settings, store, paths, now, keep_going, progress, live, allow_duplicate, workers
        )


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector off for the import: it keeps every checked post (a plan, its
    targets and their checks: millions of objects for 100,000 files) until the one write, and
    the collector would walk all of them again and again (a tenth of the import's time at
    20,000 files) to find nothing: none of them is in a cycle, reference counting frees them."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _import_files(
    settings: Settings,
    store: Store,
    paths: Sequence[str | Path],
    now: datetime,
    keep_going: bool,
    progress: Progress | None,
    live: bool,
    allow_duplicate: bool,
    workers: int | None,
) -> ImportReport:
    files, broken = _find(paths)
    items: list[tuple[Plan, datetime | None]] = []
    warnings: list[str] = []
    seen: dict[str, str | None] = {}
    used_by: dict[str, str] = {}  # key -> the file that has it
    readers, checks = check_files(settings, files, now, workers)
    with closing(checks):  # a database error half-way stops the workers at once
        for done, ((path, _), check) in enumerate(zip(files, checks, strict=True), 1):
            try:
                checked = _accept(settings, store, path, check, now, used_by, live)
            except UserError as exc:
                broken.append(BrokenFile(str(path), str(exc)))
                seen[os.path.abspath(path)] = None
            else:
                items.append((checked, check.due))
                warnings.extend(check.warnings)
                seen[os.path.abspath(path)] = checked.draft.key
            if progress is not None:
                progress(done, len(files))
    items = _without_duplicates(settings, store, items, now, broken, seen, allow_duplicate)
    if broken and not keep_going:
        raise BrokenFiles(broken)
    if items and live:
        _withdraw_changed(settings, store, items, now)
    # A new post file with `slot: next` takes its slots as it is stored (store.enqueue_slotted);
    # one stored before keeps the slots it holds (an edit re-renders it in place).
    slotted = [
        (p, d) for p, d in items if p.draft.slot and not store.find_post_by_key(p.draft.key or "")
    ]
    placed = {id(p) for p, _ in slotted}
    rest = [item for item in items if id(item[0]) not in placed]
    results = store.import_plans(rest, now) if rest else []
    results += [_place(settings, store, checked, now) for checked, _ in slotted]
    return ImportReport(seen, tuple(results), tuple(broken), tuple(warnings), readers=readers)


def _place(settings: Settings, store: Store, checked: Plan, now: datetime) -> ImportResult:
    from postbot.slot_config import schedules_for

    accounts = tuple(t.account for t in checked.targets)
    post_id, _ = store.enqueue_slotted(checked, schedules_for(settings, accounts), now)
    return ImportResult(post_id, checked.draft.key or "", "created")


def _without_duplicates(
    settings: Settings,
    store: Store,
    items: list[tuple[Plan, datetime | None]],
    now: datetime,
    broken: list[BrokenFile],
    seen: dict[str, str | None],
    allow: bool,
) -> list[tuple[Plan, datetime | None]]:
    """The items that are no duplicates (service/guards.py); the others become broken files."""
    if allow or not items:
        return items
    from postbot.service.guards import duplicates

    refused = duplicates(store, [p for p, _ in items], now, settings.timezone)
    for index in sorted(refused):
        where = items[index][0].draft.where
        broken.append(BrokenFile(where, refused[index]))
        seen[os.path.abspath(where)] = None
    return [item for i, item in enumerate(items) if i not in refused]


def withdraw_missing(
    store: Store,
    folder: Path,
    report: ImportReport,
    on_delete: OnDelete,
    now: datetime,
    base: Path | None = None,
    *,
    settings: Settings | None = None,
    live: bool = True,
) -> ImportReport:
    """Queued posts of `folder` that no file there stands for any more: keep or cancel them.

    That is a post whose file is gone (deleted, renamed without an `id`, or no longer a post
    file), or whose file now carries another `id`. A broken file still stands for its post.
    `base`: the folder a post's `source` is relative to (the project folder).
    """
    where = os.path.abspath(folder)
    if not os.path.isdir(where) or not os.access(where, os.R_OK | os.X_OK):
        # A folder that is gone or unreadable (a failed mount, a permission slip) says nothing
        # about its files: never take it for every post being deleted.
        return report
    withdrawn: list[Withdrawn] = []
    # Every queued post is read (and every one a server holds, `scheduled`): the store has no
    # query by source folder (yet).
    posts = {p.id: p for s in (Status.QUEUED, Status.SCHEDULED, Status.DRAFT)
             for p in store.list_posts(s)}  # fmt: skip
    for post in posts.values():
        if not post.source.lower().endswith(SUFFIXES):
            continue  # typed at the command line (source "cli"), not from a file
        source = os.path.abspath(os.path.join(base or ".", post.source))
        if os.path.dirname(source) != where:
            continue
        # A recurring post's later occurrences stand for the file the series began with.
        if source in report.seen and report.seen[source] in (None, rules.series_key(post.key)):
            continue
        cancelled = 0
        if on_delete is OnDelete.CANCEL:
            try:
                cancelled = _cancel(store, settings, post.id, now, live)
            except StateError:  # published or cancelled meanwhile: nothing left to cancel
                cancelled = 0
        withdrawn.append(Withdrawn(post.id, post.source, on_delete, cancelled))
    return replace(report, withdrawn=tuple(withdrawn))


def _cancel(
    store: Store, settings: Settings | None, post_id: int, now: datetime, live: bool
) -> int:
    """A withdrawn post's deliveries cancelled, those a server holds withdrawn from it first."""
    if settings is None:
        return store.cancel(post_id, now)
    from postbot.service.recurring import cancel_post  # a series stops with it

    return cancel_post(settings, store, post_id, now, live=live)[0]


def _withdraw_changed(
    settings: Settings, store: Store, items: Sequence[tuple[Plan, datetime | None]], now: datetime
) -> None:
    """Posts a server holds whose file changed: withdrawn from the server before the import
    re-renders them (service/serverside.py). Nothing to do without such posts."""
    held = {p.key: p for p in store.list_posts(Status.SCHEDULED)}
    if not held:
        return
    changed = [
        held[plan.draft.key] for plan, _ in items
        if plan.draft.key in held and held[plan.draft.key].content_hash != plan.draft.content_hash()
    ]  # fmt: skip
    if changed:
        from postbot.service.serverside import withdraw

        withdraw(settings, store, changed, now)


def log_lines(folder: Path, report: ImportReport) -> list[tuple[int, str]]:
    """The daemon's log of one import: a summary, then each problem on its own line."""
    import logging

    counts = ", ".join(f"{n} {name}" for name, n in report.summary().items())
    lines = [(logging.INFO, f"import {folder}: {report.files} post files: {counts}")]
    for r in report.results:
        if r.action == "conflict":
            lines.append((logging.WARNING, f"import {r.key}: {r.message}"))
        elif r.action != "unchanged":
            lines.append((logging.DEBUG, f"import {r.key}: {r.action} post {r.post_id}"))
    for b in report.broken:
        lines.append((logging.ERROR, f"import: broken file, not imported: {b.message}"))
    for warning in report.warnings:
        lines.append((logging.WARNING, f"import: {warning}"))
    for w in report.withdrawn:
        setting = f'(posts.on_delete = "{w.action}")'
        if w.action is OnDelete.CANCEL:
            done = f"cancelled {w.cancelled} queued deliveries of post {w.post_id} {setting}"
        else:
            done = (
                f"post {w.post_id} stays queued {setting}; to stop it: postbot cancel {w.post_id}"
            )
        lines.append((logging.WARNING, f"import: {w.source} is gone; {done}"))
    return lines


# -- checks ---------------------------------------------------------------------------------
def _find(paths: Sequence[str | Path]) -> tuple[list[tuple[Path, bool]], list[BrokenFile]]:
    """The post files to read, each with whether it was found in a folder (not named)."""
    files: list[tuple[Path, bool]] = []
    broken: list[BrokenFile] = []
    for raw in paths:
        try:
            found = scan_post_files([raw])
        except UserError as exc:
            broken.append(BrokenFile(str(raw), str(exc)))
            continue
        for path, in_folder in found:
            if _utf8_name(path):
                files.append((path, in_folder))
            else:
                shown = os.fsencode(path).decode("utf-8", "backslashreplace")
                broken.append(
                    BrokenFile(shown, f"{shown}: the file name is not valid UTF-8; rename it")
                )
    return files, broken


def _accept(
    settings: Settings,
    store: Store,
    path: Path,
    check: FileCheck,
    now: datetime,
    used_by: dict[str, str],
    live: bool,
) -> Plan:
    """A file's plan, after the checks that need the other files or the database (in file
    order: the first file with an id keeps it); UserError naming the file if it is refused."""
    if check.key is None:  # unreadable: nothing else to say of it
        raise UserError(check.error)
    key = check.key
    if key in used_by:
        raise UserError(f"{path}: id '{key}' is also used by {used_by[key]}")
    used_by[key] = str(path)
    if check.plan is None:
        raise UserError(check.error)
    checked, draft = check.plan, check.plan.draft
    if draft.until is not None and draft.until < now:
        stored = store.find_post_by_key(key)
        if stored is None or stored.content_hash != draft.content_hash():
            raise UserError(f"{path}: until {local(draft.until, settings.timezone)} is in the past")
    if draft.at is not None and draft.at < now:
        stored = store.find_post_by_key(key)
        if stored is None or stored.content_hash != draft.content_hash():
            raise UserError(
                f"{path}: at {local(draft.at, settings.timezone)} is in the past;"
                " remove 'at' to post now"
            )
    if live and key.startswith(EXAMPLE_KEY_PREFIX):
        raise UserError(
            f"{path}: an example post (example: true) is published by dry runs only;"
            " delete the file, or remove `example: true` to publish it for real"
        )
    return checked


def _utf8_name(path: Path) -> bool:
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
