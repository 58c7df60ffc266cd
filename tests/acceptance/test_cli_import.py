"""Importing post files: one broken file never hides another, nor holds up the good ones.

`enqueue --file` is all or nothing and names every broken file in its one line; the daemon
imports every good file, logs each broken one, and `status` shows them; a post whose file is
deleted is kept (the default) and the log says how to cancel it; an import ends with a summary
and shows progress on a terminal.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.acceptance.cli_helpers import database, on_terminal, plain_env, refused
from tests.support import DRY_CONFIG, make_project, run_postbot, snapshot

LATER = "2099-06-01 09:30"
GOOD = "---\nid: {key}\nat: " + LATER + "\nhashtags: [Gipfel]\n---\nLesen Sie hier: {key}.\n"
BROKEN = {
    "broken.md": "---\nid: [unclosed\n---\nText\n",
    "typo.md": "---\nwhen: tomorrow\n---\nText\n",
    "nobody.md": "---\nto: [myspace]\n---\nText\n",
}


def write(folder: Path, files: dict[str, str]) -> None:
    for name, content in files.items():
        (folder / name).write_text(content, encoding="utf-8")


def good(*keys: str) -> dict[str, str]:
    return {f"{key}.md": GOOD.format(key=key) for key in keys}


def test_enqueue_file_names_every_broken_file_and_writes_nothing(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    assert run_postbot(project, "enqueue", "Schon da", "--at", "+1d").returncode == 0
    write(project / "posts", {**good("a", "b"), **BROKEN})
    line = refused(project, "enqueue", "--file", "posts")
    assert line.startswith("3 post files are broken, nothing was imported: ")
    for message in (
        "posts/broken.md:2: malformed front matter",
        "posts/nobody.md: unknown account 'myspace'",
        "posts/typo.md: unknown front matter key(s): when",
    ):
        assert message in line, line
    assert refused(project, "enqueue", "--file", "posts/typo.md") == (
        "posts/typo.md: unknown front matter key(s): when"
    )


def test_enqueue_file_ends_with_a_summary_and_keeps_its_json(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    write(project / "posts", good("a", "b", "c"))
    done = run_postbot(project, "enqueue", "--file", "posts", env=plain_env())
    assert done.returncode == 0, done.stderr
    assert done.stdout == (
        "3 post files: 3 created, 0 updated, 0 unchanged, 0 conflicts, 0 broken\n"
    )
    assert done.stderr == ""

    (project / "posts" / "c.md").write_text(GOOD.format(key="c") + "Mehr.\n", encoding="utf-8")
    done = run_postbot(project, "enqueue", "--file", "posts", "--json", env=plain_env())
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [
        {"post_id": 1, "key": "a", "action": "unchanged", "message": ""},
        {"post_id": 2, "key": "b", "action": "unchanged", "message": ""},
        {"post_id": 3, "key": "c", "action": "updated", "message": ""},
    ]


def test_import_warns_about_markdown_in_a_file(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    write(project / "posts", {"bold.md": "---\nto: [x]\n---\nHeute **SOZ-Gipfel** in Astana\n"})
    done = run_postbot(project, "enqueue", "--file", "posts", env=plain_env())
    assert done.returncode == 0, done.stderr
    assert done.stderr == (
        "postbot: warning: posts/bold.md: Markdown formatting **SOZ-Gipfel** is sent as typed"
        " to x (they show plain text: no bold or italics)\n"
    )
    assert "1 created" in done.stdout


def test_a_large_import_shows_progress_on_a_terminal_only(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    write(project / "posts", good(*(f"p{i:03d}" for i in range(300))))
    code, shown = on_terminal(
        project, "enqueue", "--file", "posts", env=plain_env(TERM="xterm-256color")
    )
    assert code == 0, shown
    assert "checking post files" in shown
    assert "300 post files: 300 created, 0 updated, 0 unchanged, 0 conflicts, 0 broken" in shown
    assert "p000" not in shown  # a summary, not a line per file

    (project / "posts" / "p000.md").unlink()  # one file fewer: no progress when piped
    write(project / "posts", good("extra"))
    done = run_postbot(project, "enqueue", "--file", "posts", env=plain_env())
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert (
        done.stdout
        == "300 post files: 1 created, 0 updated, 299 unchanged, 0 conflicts, 0 broken\n"
    )


def test_the_daemon_imports_every_good_file_and_reports_each_broken_one(tmp_path: Path) -> None:
    project = make_project(tmp_path, DRY_CONFIG + '\n[posts]\ndir = "posts"\n')
    write(project / "posts", {**good("a", "b"), **BROKEN})
    done = run_postbot(project, "run", "--dry-run", "--once", env=plain_env())
    assert done.returncode == 0, done.stderr
    assert "5 post files: 2 created, 0 updated, 0 unchanged, 0 conflicts, 3 broken" in done.stderr
    for name in BROKEN:
        assert re.search(rf"ERROR .*broken file, not imported: posts/{name}", done.stderr), (
            done.stderr
        )
    listed = json.loads(run_postbot(project, "list", "--json", env=plain_env()).stdout)
    assert sorted(p["key"] for p in listed) == ["a", "b"]

    status = run_postbot(project, "status", env=plain_env()).stdout
    assert re.search(
        r"^posts folder posts: last import \d{4}-\d\d-\d\d \d\d:\d\d:\d\d CES?T: 2 created,"
        r" 0 updated, 0 unchanged, 0 conflicts, 3 broken$",
        status,
        re.MULTILINE,
    ), status
    assert "  broken: posts/typo.md: unknown front matter key(s): when" in status
    last = json.loads(run_postbot(project, "status", "--json", env=plain_env()).stdout)[
        "last_import"
    ]
    assert (last["folder"], last["created"], last["broken"]) == ("posts", 2, 3)
    assert sorted(b["path"] for b in last["broken_files"]) == [f"posts/{n}" for n in sorted(BROKEN)]

    # Mended files are imported at the next run, and status says so.
    for name in BROKEN:
        (project / "posts" / name).unlink()
    run_postbot(project, "run", "--dry-run", "--once", env=plain_env())
    status = run_postbot(project, "status", env=plain_env()).stdout
    assert "0 broken" in status and "broken:" not in status


def test_a_deleted_post_file_keeps_its_post_and_the_log_says_how_to_cancel(tmp_path: Path) -> None:
    project = make_project(tmp_path, DRY_CONFIG + '\n[posts]\ndir = "posts"\non_delete = "keep"\n')
    write(project / "posts", good("a", "b"))
    assert run_postbot(project, "run", "--dry-run", "--once", env=plain_env()).returncode == 0
    (project / "posts" / "a.md").unlink()
    before = snapshot(database(project))
    done = run_postbot(project, "run", "--dry-run", "--once", env=plain_env())
    assert done.returncode == 0, done.stderr
    assert re.search(
        r"WARNING .*import: posts/a.md is gone; post 1 stays queued"
        r' \(posts.on_delete = "keep"\); to stop it: postbot cancel 1$',
        done.stderr,
        re.MULTILINE,
    ), done.stderr
    assert snapshot(database(project))["delivery"] == before["delivery"]
