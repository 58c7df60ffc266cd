"""Refused through the CLI: one line that says what and how, exit 2, the database unchanged.

Counts below 1, options that `--file` would ignore, a `resolve` URL that is not a post on the
account's platform, arguments that are not UTF-8, and click's own usage errors.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from postbot.domain import Outcome, Status
from postbot.store import Result, open_store
from tests.acceptance.cli_helpers import database, plain_env, refused
from tests.support import make_project, run_postbot


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = make_project(tmp_path_factory.mktemp("cli-refusals"))
    for args in (
        ("enqueue", "Erster Beitrag", "--at", "+1d"),  # 1: queued on all three
        ("enqueue", "Auf X verloren", "--now", "--to", "x"),  # 2: made unknown below
    ):
        assert run_postbot(root, *args, env=plain_env()).returncode == 0
    (root / "posts" / "a.md").write_text("---\nid: a\n---\nAus einer Datei\n", "utf-8")
    # Post 2's X publish went out and its answer was lost, as a worker records it.
    store = open_store(f"sqlite:///{database(root)}")
    try:
        now = datetime.now(UTC)
        [claimed] = store.claim_due("worker", now, 10, timedelta(minutes=5))
        store.record(
            "worker", [Result(claimed.delivery_id, Outcome.UNKNOWN, now, now, Status.UNKNOWN)]
        )
    finally:
        store.dispose()
    return root


@pytest.mark.parametrize(
    "args",
    [["list", "-n", "-1"], ["list", "--limit", "0"], ["log", "-n", "-1"], ["log", "1", "-n", "0"]],
    ids=["list -n -1", "list --limit 0", "log -n -1", "log ID -n 0"],
)
def test_counts_below_one_are_refused(project: Path, args: list[str]) -> None:
    line = refused(project, *args)
    assert "is not in the range x>=1" in line
    assert line.endswith(f"(see 'postbot {args[0]} --help')")


@pytest.mark.parametrize(
    ("options", "named"),
    [
        (["--at", "+5h", "--to", "x", "--tag", "Extra"], "--at, --to, --tag"),
        (["--now"], "--now"),
        (["--link", "https://example.org/a"], "--link"),
        (["--lang", "en"], "--lang"),
    ],
    ids=["--at --to --tag", "--now", "--link", "--lang"],
)
def test_options_a_post_file_says_itself_are_refused_with_file(
    project: Path, options: list[str], named: str
) -> None:
    line = refused(project, "enqueue", "--file", "posts", *options)
    assert line.startswith(f"{named} cannot be combined with --file: a post file says that itself")


def test_resolve_refuses_what_is_not_a_post_url_on_the_accounts_platform(project: Path) -> None:
    for url in ("not a url", "https://mastodon.example/@news/1", "https://x.com"):
        line = refused(project, "resolve", "2", "--published", url)
        assert line == (
            f"post 2: '{url}' is not the address of a post on x (x); give the post's https://"
            " URL as the platform shows it"
        )
    assert refused(project, "resolve", "1", "--published", "https://x.com/a/status/1") == (
        "post 1 has no delivery in state unknown to resolve"
    )
    url = "https://x.com/newsroom/status/1790000000000000001"
    done = run_postbot(project, "resolve", "2", "--published", url, env=plain_env())
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"post 2: x recorded as published at {url}"


@pytest.mark.parametrize(
    "args",
    [
        ["enqueue", "Gr\udcfc\udcdfe aus Bayern"],  # "Grüße" typed on a Latin-1 terminal
        ["enqueue", "Text", "--tag", "M\udcfcnchen"],
        ["enqueue", "--file", "posts/\udcfcber.md"],
    ],
    ids=["text", "hashtag", "file name"],
)
def test_an_argument_that_is_not_utf8_is_refused(project: Path, args: list[str]) -> None:
    line = refused(project, *args)
    assert "is not valid UTF-8" in line and "\\xfc" in line
    assert "set the terminal to UTF-8" in line


@pytest.mark.parametrize(
    "args",
    [["enqueue", "Text", "--at", ""], ["show", "0"], ["show", "zwölf"], ["cancel"], ["lsit"]],
    ids=["empty --at", "id 0", "id not a number", "missing id", "unknown command"],
)
def test_other_usage_errors_are_one_line_too(project: Path, args: list[str]) -> None:
    refused(project, *args)
