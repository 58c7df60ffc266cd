"""A big import reads its files in worker processes (`postbot.file_checks`): what it reports and
what it writes are exactly what the same import read in process reports and writes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from postbot import importing
from postbot.config import parse_settings
from postbot.file_checks import MANY, check_files, default_workers
from postbot.importing import BrokenFiles, ImportReport
from postbot.postfile import scan_post_files
from postbot.store import open_store

ACCOUNTS: dict[str, dict[str, Any]] = {
    "mastodon": {"platform": "mastodon", "base_url": "https://mastodon.example"},
    "x": {"platform": "x"},
    "bluesky": {"platform": "bluesky", "base_url": "https://bsky.example"},
}
NOW = datetime.now(UTC).replace(microsecond=0)
FILES = 620  # three chunks of files for the workers (250 each)


def _write_posts(folder: Path) -> None:
    """Good posts, and among them every kind of refusal, spread over the workers' chunks."""
    folder.mkdir()
    at = (NOW + timedelta(days=1)).isoformat()
    for i in range(FILES):
        text = f"Lesen Sie hier, wie es in Astana weitergeht, Teil {i}. Grüße aus Köln"
        front = f"at: {at}\nhashtags: [SOZGipfel, Folge{i}]\nlink: https://example.org/{i}\n"
        if i == 7:
            front = "at: [unclosed\n"  # malformed YAML
        elif i == 260:
            text = "ü" * 501  # too long for Mastodon and X
        elif i == 300:
            front += "id: shared\n"
        elif i == 555:
            front += "id: shared\n"  # the id of file 300, in another chunk
        elif i == 400:
            front = f"at: {(NOW - timedelta(days=1)).isoformat()}\n"  # already past
        elif i == 410:
            front += "example: true\n"  # only dry runs publish it
        elif i == 500:
            text = "Lesen Sie hier, wie es in Astana weitergeht, Teil 3. Grüße aus Köln"
            front = f"at: {at}\nhashtags: [SOZGipfel, Folge3]\nlink: https://example.org/3\n"
        elif i == 600:
            text = "Ein *fetter* Hinweis"  # Markdown marks: a warning, not a refusal
        (folder / f"p{i:04d}.md").write_text(f"---\n{front}---\n{text}\n", encoding="utf-8")


def _import(tmp_path: Path, name: str, workers: int, keep_going: bool) -> tuple[Any, ...]:
    project = tmp_path / name
    project.mkdir()
    store = open_store(f"sqlite:///{project / 'postbot.db'}")
    store.ensure_schema()
    raw = {"timezone": "Europe/Berlin", "language": "de", "database": {"url": store.url},
           "accounts": ACCOUNTS, "project_dir": str(tmp_path)}  # fmt: skip
    settings = parse_settings(raw, project / "postbot.toml", {})
    try:
        report: ImportReport | str = importing.import_files(
            settings, store, [tmp_path / "posts"], NOW, keep_going=keep_going, workers=workers
        )
    except BrokenFiles as exc:
        report = str(exc)
    rows = [
        (p.key, p.teaser, p.content_hash, [(d.account, d.text, d.status, d.due_at)
                                           for d in store.get_post(p.id).deliveries])
        for p in store.list_posts()
    ]  # fmt: skip
    store.dispose()
    return report, rows


@pytest.mark.parametrize("keep_going", [True, False])
def test_workers_report_and_write_what_one_process_does(tmp_path: Path, keep_going: bool) -> None:
    _write_posts(tmp_path / "posts")
    alone, alone_rows = _import(tmp_path, "alone", 0, keep_going)
    shared, shared_rows = _import(tmp_path, "workers", 2, keep_going)
    if keep_going:
        assert isinstance(alone, ImportReport) and isinstance(shared, ImportReport)
        assert (alone.readers, shared.readers) == (1, 2)  # the workers did read the files
        assert shared.results == alone.results
        assert shared.broken == alone.broken
        assert shared.warnings == alone.warnings
        assert shared.seen == alone.seen
        broken = {Path(b.path).name: b.message for b in shared.broken}
        assert sorted(broken) == ["p0007.md", "p0260.md", "p0400.md", "p0410.md", "p0500.md",
                                  "p0555.md"]  # fmt: skip
        assert "id 'shared' is also used by" in broken["p0555.md"]
        assert broken["p0555.md"].endswith("p0300.md")
        assert len(alone_rows) == FILES - len(broken)
        assert any("p0600.md" in warning for warning in shared.warnings)
    else:
        assert isinstance(alone, str) and shared == alone
        assert alone.startswith("6 post files are broken, nothing was imported")
        assert alone_rows == []
    assert shared_rows == alone_rows


def test_a_small_import_reads_in_process() -> None:
    # Starting workers costs more than reading a few files; in a process with threads (the
    # daemon's) a fork is never safe.
    assert default_workers(MANY - 1) == 0


def test_checks_closed_early_leave_no_worker_behind(tmp_path: Path) -> None:
    # The importer closes the checks when the database fails half-way: the workers stop.
    import multiprocessing

    _write_posts(tmp_path / "posts")
    raw = {"timezone": "Europe/Berlin", "language": "de", "accounts": ACCOUNTS,
           "database": {"url": f"sqlite:///{tmp_path / 'x.db'}"}}  # fmt: skip
    settings = parse_settings(raw, tmp_path / "postbot.toml", {})
    readers, checks = check_files(settings, scan_post_files([tmp_path / "posts"]), NOW, 2)
    first = next(checks)
    assert readers == 2 and first.plan is not None
    assert multiprocessing.active_children()  # the workers are at it
    checks.close()
    assert multiprocessing.active_children() == []
