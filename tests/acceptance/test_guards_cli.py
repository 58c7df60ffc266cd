"""The duplicate guard and the X cost guard through the CLI, against the local fake X (real
`postbot` processes, real HTTP): a repeated text is refused in one line (exit 2, nothing
stored) unless allowed; preview shows what X bills; status shows the month's spend; a post
that would exceed an account's monthly budget is held, visibly, and goes out once the budget
allows."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from postbot.config import load_settings
from postbot.drafts import Draft, plan
from postbot.store import open_store
from tests.acceptance.cli_helpers import refused
from tests.acceptance.conftest import Daemon, Platforms, query
from tests.support import run_postbot, wait_until

pytestmark = pytest.mark.timeout(120)

FIRST = "Der Gipfel in Astana beginnt https://example.org/soz?utm_source=x"
SAME = "der  GIPFEL in Astana beginnt https://Example.org/soz#oben"


def cli(project: Path, env: dict[str, str], *args: str, json_out: bool = True) -> Any:
    done = run_postbot(project, *args, *(("--json",) if json_out else ()), env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if json_out else done.stdout


def count(url: str, sql: str) -> int:
    return int(query(url, sql)[0]["n"])


def post_file(project: Path, name: str, text: str, *extra: str) -> Path:
    path = project / "posts" / name
    front = "\n".join(("---", f"id: {name[:-3]}", "to: [x]", *extra, "---", ""))
    path.write_text(front + text + "\n", encoding="utf-8")
    return path


# -- duplicate guard -----------------------------------------------------------------------------
def test_the_same_text_to_the_same_account_is_refused_unless_allowed(
    platforms: Platforms, tmp_path: Path
) -> None:
    project = platforms.project(tmp_path)
    env = platforms.env()
    first = cli(project, env, "enqueue", FIRST, "--to", "x", "--at", "2099-01-05 08:00")["id"]

    # Whitespace, case, tracking parameters and the fragment aside, it is the same text.
    line = refused(project, "enqueue", SAME, "--to", "x", "--at", "2099-01-05 09:00")
    assert re.fullmatch(
        rf"command line: the same text as post {first}, queued to x at"
        r" \d{4}-\d\d-\d\d \d\d:\d\d:\d\d CET \(within 24 hours\); .*--allow-duplicate.*",
        line,
    ), line
    # preview says so before anyone tries (a warning: a preview stores nothing).
    shown = run_postbot(project, "preview", SAME, "--to", "x", env=env)
    assert shown.returncode == 0, shown.stderr
    assert f"enqueue would refuse it: the same text as post {first}, queued to x" in shown.stderr
    fresh = run_postbot(project, "preview", "Ein ganz anderer Text", "--to", "x", env=env)
    assert "would refuse" not in fresh.stderr
    # To another account it is no duplicate; with --allow-duplicate it is queued as asked.
    cli(project, env, "enqueue", SAME, "--to", "mastodon", "--at", "2099-01-05 09:00")
    again = cli(project, env, "enqueue", SAME, "--to", "x", "--now", "--allow-duplicate")
    assert again["id"] != first

    # Once published it still counts (within the day): the daemon sends both, then a third is
    # refused as a duplicate of what went out.
    done = run_postbot(project, "run", "--once", env=env)
    assert done.returncode == 0, done.stderr
    assert len(platforms.x.tweets) == 1
    line = refused(project, "enqueue", FIRST.upper(), "--to", "x", "--now")
    assert f"the same text as post {again['id']}, published to x at" in line


def test_a_post_file_is_no_duplicate_of_itself_but_of_another_file(
    platforms: Platforms, tmp_path: Path
) -> None:
    project = platforms.project(tmp_path)
    env = platforms.env()
    post_file(project, "a.md", FIRST)
    cli(project, env, "enqueue", "--file", "posts/a.md")
    # Imported again, unchanged or changed: it is the same post, not a duplicate of it.
    assert [r["action"] for r in cli(project, env, "enqueue", "--file", "posts/a.md")] == [
        "unchanged"
    ]
    post_file(project, "b.md", SAME)
    line = refused(project, "enqueue", "--file", "posts/b.md")
    assert line.startswith("posts/b.md: the same text as post 1, queued to x at"), line
    # Two new files with one text in one import: the second is refused, nothing is written.
    post_file(project, "c.md", "Noch ein Text")
    post_file(project, "d.md", "noch  ein TEXT")
    line = refused(project, "enqueue", "--file", "posts/c.md", "--file", "posts/d.md")
    assert "posts/d.md: the same text as posts/c.md, both to x in this import" in line
    # allow_duplicate: true (a key of the closed set) lets b go; a wrong value is refused.
    post_file(project, "b.md", SAME, "allow_duplicate: yes please")
    line = refused(project, "enqueue", "--file", "posts/b.md")
    assert "allow_duplicate must be true or false" in line
    post_file(project, "b.md", SAME, "allow_duplicate: true")
    assert cli(project, env, "enqueue", "--file", "posts/b.md")[0]["action"] == "created"


# -- cost guard for X ----------------------------------------------------------------------------
def test_preview_shows_what_x_bills_for_each_delivery(platforms: Platforms, tmp_path: Path) -> None:
    project = platforms.project(tmp_path, account_options={"x": {"link_placement": "reply"}})
    env = platforms.env()
    rows = cli(project, env, "preview", "Der Gipfel", "--part", "Teil 2")
    costs = {r["account"]: r["cost_usd"] for r in rows}
    assert costs == {"mastodon": None, "x": "0.03", "bluesky": None}  # 2 posts at $0.015
    post = cli(project, env, "enqueue", "Der Gipfel", "--link", "https://example.org/soz",
               "--to", "x", "--at", "2099-01-05 08:00")  # fmt: skip
    # link_placement = "reply": the link reply is billed as a post with a URL, on top.
    [row] = cli(project, env, "preview", str(post["id"]))
    assert row["cost_usd"] == "0.215"
    shown = cli(project, env, "preview", str(post["id"]), json_out=False)
    assert "cost: x: X bills $0.215 for it (2 post(s), 1 with a link)" in shown


def budget_config(platforms: Platforms, root: Path, budget: float) -> str:
    return platforms.config(root, account_options={"x": {"monthly_budget": budget}})


def test_a_post_over_the_monthly_budget_is_held_then_sent_when_the_budget_allows(
    platforms: Platforms, tmp_path: Path
) -> None:
    project = platforms.project(tmp_path, account_options={"x": {"monthly_budget": 0.25}})
    env = platforms.env()
    cli(project, env, "enqueue", "Eins https://example.org/1", "--to", "x", "--now")
    assert run_postbot(project, "run", "--once", env=env).returncode == 0
    assert len(platforms.x.tweets) == 1

    held = cli(project, env, "enqueue", "Zwei https://example.org/2", "--to", "x", "--now")["id"]
    done = run_postbot(project, "run", "--once", env=env)
    assert done.returncode == 0, done.stderr
    assert len(platforms.x.tweets) == 1  # $0.20 spent, $0.20 more would exceed $0.25
    assert "held by the monthly budget" in done.stderr

    [spend] = cli(project, env, "status")["spend"]
    assert spend["account"] == "x" and spend["spent_usd"] == "0.20" and spend["posts"] == 1
    assert spend["monthly_budget_usd"] == "0.25" and spend["held"] == 1
    assert "$0.20 would exceed it" in spend["held_reason"]
    status_text = cli(project, env, "status", json_out=False)
    wanted = r"x: \$0\.20 spent in \w+ \d{4} \(1 post\(s\) billed by X\), monthly budget \$0\.25"
    assert re.search(wanted + r"; 1 due post\(s\) held: ", status_text), status_text
    [delivery] = cli(project, env, "show", str(held))["deliveries"]
    assert delivery["status"] == "queued"  # never dropped: queued, with the reason
    assert delivery["waiting"]["reason"] == "budget"
    assert "monthly budget of $0.25" in delivery["waiting"]["note"]
    listed = cli(project, env, "list", json_out=False)
    assert re.search(rf"{held}\s+x\s+held", listed), listed

    # The budget is raised: the held post goes out with the next pass, and only it.
    (project / "config" / "postbot.toml").write_text(
        budget_config(platforms, tmp_path, 0.5), encoding="utf-8"
    )
    assert run_postbot(project, "run", "--once", env=env).returncode == 0
    assert [t["text"] for t in platforms.x.tweets] == [
        "Eins https://example.org/1",
        "Zwei https://example.org/2",
    ]
    [spend] = cli(project, env, "status")["spend"]
    assert spend["spent_usd"] == "0.40" and spend["held"] == 0 and spend["held_reason"] is None


@pytest.mark.postgres
def test_three_daemons_on_postgresql_together_keep_one_monthly_budget(
    platforms: Platforms,
    tmp_path: Path,
    start_daemon: Callable[..., Daemon],
    request: pytest.FixtureRequest,
) -> None:
    url = request.getfixturevalue("pg_empty_url")
    project = platforms.project(
        tmp_path, database_url=url, account_options={"x": {"monthly_budget": 1.0}}
    )
    env = platforms.env(POSTBOT_DATABASE_URL=url)
    assert run_postbot(project, "status", env=env).returncode == 0  # creates the schema
    daemons = [start_daemon(project, env) for _ in range(3)]
    assert wait_until(lambda: count(url, "SELECT count(*) AS n FROM heartbeat") == 3, 60)

    # Twelve posts with a link, $0.20 each, all due at once: $1.00 pays for five.
    settings = load_settings(project / "config" / "postbot.toml", environ=env)
    store = open_store(url)
    try:
        now = datetime.now(UTC)
        store.enqueue_many([
            (plan(Draft(teaser=f"Meldung {i:02d}", link=f"https://example.org/{i}", to=("x",)),
                  settings), now)
            for i in range(12)
        ], now)  # fmt: skip
    finally:
        store.dispose()
    assert wait_until(lambda: len(platforms.x.tweets) >= 5, 30)
    assert wait_until(lambda: count(url, "SELECT count(*) AS n FROM delivery"
                                         " WHERE status = 'publishing'") == 0, 30)  # fmt: skip
    time.sleep(1.5)  # time enough for any daemon to overshoot
    codes = [d.terminate() for d in daemons]
    logs = "\n".join(d.log()[-2000:] for d in daemons)
    assert codes == [0, 0, 0], logs
    assert len(platforms.x.tweets) == 5, logs
    statuses = {r["status"]: r["n"] for r in query(
        url, "SELECT status, count(*) AS n FROM delivery GROUP BY status")}  # fmt: skip
    assert statuses == {"published": 5, "queued": 7}
    assert "held by the monthly budget" in logs
    [spend] = cli(project, env, "status")["spend"]
    assert (spend["spent_usd"], spend["held"]) == ("1.00", 7)
