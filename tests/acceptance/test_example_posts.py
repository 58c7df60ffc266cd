"""The shipped example post never reaches real accounts by accident: only a dry run publishes
it; a live daemon and `postbot enqueue --file` refuse it; `postbot golive` cancels it."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.support import REPO, make_project, postbot_json, run_postbot, snapshot

CONFIG = """
project_dir = ".."
timezone = "Europe/Berlin"
language = "de"

[database]
url = "sqlite:///var/postbot.db"

[posts]
dir = "posts"

[accounts.mastodon]
platform = "dryrun"

[accounts.x]
platform = "dryrun"

[accounts.bluesky]
platform = "dryrun"
"""
EXAMPLE = REPO / "posts" / "soz-gipfel-teaser.md"


def project_with_example(tmp_path: Path) -> Path:
    root = make_project(tmp_path, CONFIG)
    shutil.copy(EXAMPLE, root / "posts" / EXAMPLE.name)
    return root


def test_a_live_daemon_never_imports_the_example(tmp_path: Path) -> None:
    project = project_with_example(tmp_path)
    done = run_postbot(project, "run", "--once")
    assert done.returncode == 0, done.stderr
    assert "handled 0 deliveries" in done.stderr
    assert (
        "posts/soz-gipfel-teaser.md: an example post (example: true) is published by dry runs"
        " only; delete the file, or remove `example: true` to publish it for real"
    ) in done.stderr
    assert postbot_json(project, "list") == []


def test_enqueue_file_refuses_the_example(tmp_path: Path) -> None:
    project = project_with_example(tmp_path)
    assert run_postbot(project, "status").returncode == 0  # the database exists
    before = snapshot(project / "var" / "postbot.db")
    done = run_postbot(project, "enqueue", "--file", "posts/")
    assert done.returncode == 2
    assert "an example post (example: true) is published by dry runs only" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert snapshot(project / "var" / "postbot.db") == before


def test_a_dry_run_publishes_it_and_golive_cancels_it(tmp_path: Path) -> None:
    project = project_with_example(tmp_path)
    demo = run_postbot(project, "run", "--dry-run", "--once")
    assert demo.returncode == 0 and "handled 3 deliveries" in demo.stderr, demo.stderr
    [post] = postbot_json(project, "list")
    assert post["key"] == "example:soz-gipfel-teaser-markdown"
    assert {(d["status"], d["dry_run"]) for d in post["deliveries"]} == {("published", True)}

    went = run_postbot(project, "golive")
    assert went.returncode == 0, went.stderr
    assert went.stdout.startswith(f"cancelled example post(s) {post['id']}: only dry runs")
    [after] = postbot_json(project, "list")
    assert {d["status"] for d in after["deliveries"]} == {"cancelled"}

    live = run_postbot(project, "run", "--once")
    assert live.returncode == 0, live.stderr
    assert "handled 0 deliveries" in live.stderr
    [still] = postbot_json(project, "list")
    assert {d["status"] for d in still["deliveries"]} == {"cancelled"}


def test_a_live_start_refuses_an_example_a_dry_run_left_queued(tmp_path: Path) -> None:
    project = make_project(tmp_path, CONFIG)
    (project / "posts" / "later.md").write_text(
        "---\nid: spaeter\nexample: true\nat: 2031-01-05 08:00\n---\nEin Beispiel für später\n",
        encoding="utf-8",
    )
    demo = run_postbot(project, "run", "--dry-run", "--once")  # imports it, due in 2031
    assert demo.returncode == 0, demo.stderr
    [example] = postbot_json(project, "list")
    db = project / "var" / "postbot.db"
    before = snapshot(db)
    live = run_postbot(project, "run", "--once")
    assert live.returncode == 2
    assert live.stderr.strip() == (
        f"postbot: error: example post(s) {example['id']} are queued (a dry run imported them)"
        " and would go out for real: run `postbot golive` (it cancels them), or"
        " `postbot cancel ID`"
    )
    assert snapshot(db) == before
    assert run_postbot(project, "golive").returncode == 0
    assert run_postbot(project, "run", "--once").returncode == 0
