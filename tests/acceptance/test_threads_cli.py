"""Threads and variants through the CLI and real `postbot run` processes, against the local fake
Mastodon, X and Bluesky: written with --part, `---` lines and `variants:`; shown by `preview`
and `show`; published as reply chains; and a daemon SIGKILLed between two parts, resumed
without a duplicate part on any platform (X's part in doubt resolved by a person)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.acceptance.cli_helpers import refused
from tests.acceptance.conftest import Daemon, Platforms, query, sqlite_url
from tests.fakes.bluesky_server import delayed as bsky_delayed
from tests.fakes.mastodon_server import Fault as MastodonFault
from tests.fakes.x_server import Fault as XFault
from tests.support import run_postbot, wait_until

pytestmark = pytest.mark.timeout(120)

LINK = "https://example.org/politik/soz-gipfel"
PARTS = ("Teil 2: Putin und Modi reisen an.", "Teil 3: Was das für Europa heißt.")
BSKY_CREATE = "com.atproto.repo.createRecord"


def cli(project: Path, env: dict[str, str], *args: str) -> Any:
    done = run_postbot(project, *args, "--json", env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def enqueue_thread(project: Path, env: dict[str, str], first: str, *extra: str) -> int:
    args = ["enqueue", first, *(a for p in PARTS for a in ("--part", p)), "--link", LINK,
            "--tag", "SOZGipfel", "--now", *extra]  # fmt: skip
    return int(cli(project, env, *args)["id"])


def open_work(project: Path) -> list[dict[str, Any]]:
    return query(sqlite_url(project), "SELECT id, status FROM delivery"
                 " WHERE status IN ('queued', 'publishing')")  # fmt: skip


# -- writing and showing -----------------------------------------------------------------------
def test_a_thread_and_its_variants_are_checked_stored_and_shown(
    platforms: Platforms, tmp_path: Path
) -> None:
    project = platforms.project(tmp_path)
    env = platforms.env()
    shown = enqueue_thread(project, env, "Teil 1: Der Gipfel in Astana.")
    post = cli(project, env, "show", str(shown))
    assert post["text"] == "Teil 1: Der Gipfel in Astana." and post["parts"] == list(PARTS)
    first = f"Teil 1: Der Gipfel in Astana. {LINK} #SOZGipfel"
    for d in post["deliveries"]:
        assert [p["text"] for p in d["parts"]] == [first, *PARTS], d
        assert {p["remote_id"] for p in d["parts"]} == {None}

    preview = cli(project, env, "preview", str(shown), "--to", "mastodon")
    [masto] = preview
    assert [(p["part"], p["count"], p["limit"], p["fits"]) for p in masto["parts"]] == [
        (1, len("Teil 1: Der Gipfel in Astana. ") + 23 + len(" #SOZGipfel"), 500, True),
        (2, len(PARTS[0]), 500, True),
        (3, len(PARTS[1]), 500, True),
    ]
    table = run_postbot(project, "preview", str(shown), env=env)
    assert table.returncode == 0, table.stderr
    assert "3/3" in table.stdout and PARTS[1] in table.stdout

    # A post file: parts split by '---' lines, and a shorter first part for X.
    (project / "posts" / "gipfel.md").write_text(
        f"---\nid: gipfel-thread\nlink: {LINK}\nvariants:\n  x:\n    text: Kurz für X.\n---\n"
        "Teil 1: Der lange Teaser für Mastodon und Bluesky.\n---\nTeil 2 aus der Datei.\n",
        encoding="utf-8",
    )
    [imported] = cli(project, env, "enqueue", "--file", "posts/gipfel.md")
    post = cli(project, env, "show", str(imported["post_id"]))
    assert post["variants"] == [{"name": "x", "text": "Kurz für X."}]
    texts = {d["account"]: [p["text"] for p in d["parts"]] for d in post["deliveries"]}
    assert texts["x"] == [f"Kurz für X. {LINK}", "Teil 2 aus der Datei."]
    assert texts["mastodon"][0].startswith("Teil 1: Der lange Teaser")
    preview = {t["account"]: t for t in cli(project, env, "preview", str(imported["post_id"]))}
    assert preview["x"]["variant"] == "x" and preview["mastodon"]["variant"] is None
    text_view = run_postbot(project, "show", str(imported["post_id"]), env=env).stdout
    assert "variant:  x: text Kurz für X." in text_view
    assert "part 2/2: Teil 2 aus der Datei." in text_view


def test_a_part_too_long_or_a_bad_variant_is_refused_and_nothing_is_written(
    platforms: Platforms, tmp_path: Path
) -> None:
    project = platforms.project(tmp_path)
    run_postbot(project, "status", env=platforms.env())  # the database exists, empty
    message = refused(project, "enqueue", "Kurz", "--part", "x" * 281, "--to", "x", "--now")
    assert message == "command line: text too long for x (x): part 2: 281 characters, limit 280"
    message = refused(project, "enqueue", "--file", "posts", "--part", "Teil 2")
    assert message.startswith("--part cannot be combined with --file")
    (project / "posts" / "bad.md").write_text(
        "---\nid: bad\nvariants:\n  myspace: {text: Hallo}\n---\nText\n", encoding="utf-8"
    )
    message = refused(project, "enqueue", "--file", "posts/bad.md")
    assert message.startswith("posts/bad.md:4: variants.myspace: no account or platform")


# -- publishing ------------------------------------------------------------------------------
def test_run_once_publishes_each_thread_as_a_reply_chain_on_every_platform(
    platforms: Platforms, tmp_path: Path
) -> None:
    project = platforms.project(tmp_path)
    env = platforms.env()
    post_id = enqueue_thread(project, env, "Teil 1: Der Gipfel.")
    done = run_postbot(project, "run", "--once", env=env)
    assert done.returncode == 0, done.stderr
    assert "part 3/3 published" in done.stderr
    assert_chains(platforms, post_id, cli(project, env, "show", str(post_id)))
    attempts = cli(project, env, "log", str(post_id))
    assert sorted((a["account"], a["sent"]["part"]) for a in attempts) == sorted(
        (account, n) for account in ("mastodon", "x", "bluesky") for n in (1, 2, 3)
    )


def test_sigkill_between_parts_resumes_without_a_duplicate_part_on_any_platform(
    platforms: Platforms, tmp_path: Path, start_daemon: Callable[..., Daemon]
) -> None:
    project = platforms.project(tmp_path)
    env = platforms.env()
    # Part 2 takes 1.5 s on every platform (the clients wait 2 s): the daemon dies meanwhile.
    platforms.mastodon.inject("/api/v1/statuses", MastodonFault.passthrough())
    platforms.mastodon.inject("/api/v1/statuses", MastodonFault.slow(1.5))
    platforms.x.inject("/2/tweets", XFault.passthrough())
    platforms.x.inject("/2/tweets", XFault.slow(1.5))
    platforms.bluesky.fail_next(BSKY_CREATE, bsky_delayed(0))
    platforms.bluesky.fail_next(BSKY_CREATE, bsky_delayed(1.5))
    post_id = enqueue_thread(project, env, "Teil 1: Der Gipfel, unterbrochen.")

    daemon = start_daemon(project, env)

    def part_two_sent() -> bool:
        return (
            len(platforms.mastodon.requests_to("/api/v1/statuses", "POST")) >= 2
            and len(platforms.x.requests_to("/2/tweets", "POST")) >= 2
            and len(platforms.bluesky.calls(BSKY_CREATE)) >= 2
        )

    assert wait_until(part_two_sent, timeout=30, interval=0.02), daemon.log()
    daemon.kill()  # part 1 recorded everywhere, part 2 in flight everywhere
    rows = query(sqlite_url(project), "SELECT d.account, d.status, p.idx, p.remote_id"
                 " FROM delivery d JOIN delivery_part p ON p.delivery_id = d.id")  # fmt: skip
    assert {(r["account"], r["status"]) for r in rows} == {
        (a, "publishing") for a in ("mastodon", "x", "bluesky")
    }
    assert sorted((r["account"], r["idx"]) for r in rows if r["remote_id"]) == [
        ("bluesky", 1), ("mastodon", 1), ("x", 1),
    ]  # fmt: skip

    daemon = start_daemon(project, env)
    assert wait_until(lambda: not open_work(project), timeout=30), daemon.log()
    post = cli(project, env, "show", str(post_id))
    status = {d["account"]: d for d in post["deliveries"]}
    assert status["mastodon"]["status"] == status["bluesky"]["status"] == "published"
    # X cannot tell whether part 2 is out: a person looks, finds it, and says so.
    assert status["x"]["status"] == "unknown", daemon.log()
    assert "part 2 of 3" in status["x"]["last_error"]
    assert len(platforms.x.tweets) == 2  # part 2 did get out (after its delay), once
    found = f"https://x.com/i/web/status/{platforms.x.tweet_ids[1]}"
    done = run_postbot(project, "resolve", str(post_id), "--published", found, env=env)
    assert done.returncode == 0, done.stderr
    assert "x part 2 of 3 recorded as published" in done.stdout
    assert wait_until(lambda: len(platforms.x.tweets) == 3 and not open_work(project), 30)
    assert daemon.terminate() == 0, daemon.log()

    post = cli(project, env, "show", str(post_id))
    assert_chains(platforms, post_id, post)
    recovered = [a for a in cli(project, env, "log", str(post_id)) if a["sent"].get("recovered")]
    assert sorted((a["account"], a["sent"]["part"]) for a in recovered) == [
        ("bluesky", 2), ("mastodon", 2),
    ]  # fmt: skip


def assert_chains(platforms: Platforms, post_id: int, post: dict[str, Any]) -> None:
    """Every platform holds the thread exactly once, each part replying to the one before it,
    and `show --json` lists every part's remote id and URL."""
    first = f"Teil 1: Der Gipfel{post['text'].removeprefix('Teil 1: Der Gipfel')} {LINK}"
    deliveries = {d["account"]: d for d in post["deliveries"]}
    assert {d["status"] for d in deliveries.values()} == {"published"}

    statuses = platforms.mastodon.statuses
    assert [s["status"] for s in statuses] == [f"{first} #SOZGipfel", *PARTS]
    assert [s["in_reply_to_id"] for s in statuses] == [None, statuses[0]["id"], statuses[1]["id"]]
    assert [(p["remote_id"], p["remote_url"]) for p in deliveries["mastodon"]["parts"]] == [
        (s["id"], s["entity"]["url"]) for s in statuses
    ]

    ids = platforms.x.tweet_ids
    assert [t["text"] for t in platforms.x.tweets] == [f"{first} #SOZGipfel", *PARTS]
    assert [t.get("reply") for t in platforms.x.tweets] == [
        None, {"in_reply_to_tweet_id": ids[0]}, {"in_reply_to_tweet_id": ids[1]},
    ]  # fmt: skip
    assert [p["remote_url"] for p in deliveries["x"]["parts"]] == [
        f"https://x.com/i/web/status/{i}" for i in ids
    ]

    records = platforms.bluesky.records
    assert sorted(r["text"] for r in records.values()) == sorted([f"{first} #SOZGipfel", *PARTS])
    parts = deliveries["bluesky"]["parts"]
    rkeys = [p["remote_id"].rsplit("/", 1)[-1] for p in parts]
    assert [records[k]["text"] for k in rkeys] == [f"{first} #SOZGipfel", *PARTS]
    for n in (1, 2):
        reply = records[rkeys[n]]["reply"]
        assert reply["root"]["uri"] == parts[0]["remote_id"]
        assert reply["parent"]["uri"] == parts[n - 1]["remote_id"]
        assert reply["parent"]["cid"] == platforms.bluesky.cid_of(rkeys[n - 1])
    assert all(p["remote_url"].startswith("https://bsky.app/profile/") for p in parts)
    assert post["id"] == post_id


def test_the_example_thread_fits_every_account_of_the_shipped_config(tmp_path: Path) -> None:
    """docs/examples/soz-gipfel-thread.md, previewed as the README says, with the repository's
    own config/postbot.toml (a copy, so nothing is written to the checkout)."""
    import shutil

    from tests.support import REPO, clean_env, make_project

    project = make_project(tmp_path, (REPO / "config" / "postbot.toml").read_text("utf-8"))
    shutil.copy(REPO / "docs" / "examples" / "soz-gipfel-thread.md", project / "thread.md")
    env = clean_env(POSTBOT_DATABASE_URL=f"sqlite:///{tmp_path}/example.db")
    done = run_postbot(project, "enqueue", "--file", "thread.md", "--json", env=env)
    # An example post: only a dry run imports it (README, "Example posts").
    assert done.returncode == 2 and "example post (example: true)" in done.stderr, done.stderr
    from postbot.config import load_settings
    from postbot.drafts import plan
    from postbot.postfile import read_post_file

    settings = load_settings(project / "config" / "postbot.toml")
    checked = plan(read_post_file(project / "thread.md", settings.timezone), settings)
    assert {t.account: (len(t.texts), t.variant, t.fits) for t in checked.targets} == {
        "mastodon": (3, None, True), "bluesky": (3, "bluesky", True), "x": (3, "x", True),
    }  # fmt: skip
