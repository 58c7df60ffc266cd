"""Delivery guarantees under crashes, concurrency and faults: real `postbot` processes, real
databases (SQLite files, PostgreSQL), and the local fake Mastodon, X and Bluesky servers over
real HTTP (see conftest.py for the project config and the fake credentials).

1. crashes: 300 posts (100 per account); `postbot run` SIGKILLed 20 times while posts are
   being sent, restarted each time, then left to reconcile: Mastodon and Bluesky exactly once,
   X never twice (each delivery published or `unknown`), nothing lost.
2. concurrency: four daemons on one SQLite file, then on one PostgreSQL database, 2,000 posts
   due at once: every delivery published exactly once; and processes started together on a
   new PostgreSQL database all get the schema.
3. faults: 30% of post requests fail (500, 429 with a reset ahead, slower than the client's
   timeout): everything published within its attempts, exactly once, retries in `postbot log`,
   never before the reset; refusals fail after one attempt with the platform's message.
4. shutdown: SIGTERM during slow publishes lets them finish and be recorded, exit 0; a
   publish longer than the lease keeps its claim against a second daemon.
5. secrets: no credential in any output, log line, table row or --json, errors included.
6. `postbot accounts check` against the fakes, and with a refused token.
7. the seed teaser published end to end to all three fakes by `postbot run --once`.

The slow ones are marked `slow` but run by default.
"""

from __future__ import annotations

import json
import math
import random
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import SQLAlchemyError

from postbot.config import load_settings
from postbot.drafts import Draft, plan
from postbot.store import open_store
from tests.acceptance.conftest import (
    ACCOUNTS,
    BLUESKY_HANDLE,
    SECRETS,
    Daemon,
    Platforms,
    dump_tables,
    query,
    sqlite_url,
)
from tests.fakes.bluesky_server import Fault as BlueskyFault
from tests.fakes.bluesky_server import delayed as bsky_delayed
from tests.fakes.bluesky_server import invalid_request as bsky_invalid_request
from tests.fakes.bluesky_server import server_error as bsky_server_error
from tests.fakes.bluesky_server import unauthorized as bsky_unauthorized
from tests.fakes.mastodon_server import Fault as MastodonFault
from tests.fakes.mastodon_server import reset_header as mastodon_reset_header
from tests.fakes.x_server import Fault as XFault
from tests.fakes.x_server import problem as x_problem
from tests.support import REPO, run_postbot, wait_until

BSKY_CREATE = "com.atproto.repo.createRecord"
SEED_TEXT = (
    "Lesen Sie hier, wie Xi Jinping am SOZ-Gipfel teilnimmt und über die Zukunft der "
    "Shanghaier Organisation für Zusammenarbeit spricht. #XiJinping #SOZGipfel"
)


def table_rows(output: str) -> dict[str, list[str]]:
    """The rows of a Rich table, by their first cell."""
    rows = {}
    for line in output.splitlines():
        if line.startswith("│"):
            cells = [c.strip() for c in line.strip("│").split("│")]
            rows[cells[0]] = cells
    return rows


def cli_json(project: Path, env: dict[str, str], *args: str) -> Any:
    done = run_postbot(project, *args, "--json", env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


# -- 1. crashes ------------------------------------------------------------------------------
CRASH_POSTS = 300  # 100 posts to each account (one account per post)
CRASH_KILLS = 20
CRASH_DELAY = 0.3  # seconds each fake takes to create a post: kills land mid-publish


@pytest.mark.slow
def test_sigkill_at_random_moments_loses_nothing_and_duplicates_nothing(
    platforms: Platforms, tmp_path: Path, start_daemon: Callable[..., Daemon]
) -> None:
    project = platforms.project(tmp_path, daemon={"concurrency": 4})
    env = platforms.env()
    slow_down(platforms, CRASH_DELAY)
    posts = [
        (f"Crashtest {i:03d}: Neues vom Gipfel", (ACCOUNTS[i % 3],)) for i in range(CRASH_POSTS)
    ]
    texts: dict[str, set[str]] = {name: set() for name in ACCOUNTS}
    for text, (_, to) in zip(write_posts(project / "incoming", posts), posts, strict=True):
        texts[to[0]].add(text)
    imported = cli_json(project, env, "enqueue", "--file", "incoming")
    assert [r["action"] for r in imported] == ["created"] * CRASH_POSTS

    rng = random.Random(20261201)
    kills = killed_mid_request = 0
    started = time.monotonic()
    while kills < CRASH_KILLS:
        seen = {id(r) for r in create_requests(platforms)}
        daemon = start_daemon(project, env)

        # Kill it once it is publishing (a new post request reached a fake), at a random
        # moment after that; if nothing is left to publish, at a random moment anyway.
        def publishing(seen: set[int] = seen) -> bool:
            return len(create_requests(platforms)) > len(seen) or not open_work(project)

        wait_until(publishing, timeout=15, interval=0.02)
        time.sleep(rng.uniform(0.0, 1.0))
        # Requests of this daemon the fake is still working on (no answer sent yet).
        in_flight = [
            r for r in create_requests(platforms) if id(r) not in seen and r.status is None
        ]
        daemon.kill()
        kills += 1
        killed_mid_request += bool(in_flight)
    left_after_kills = open_work(project)

    # The last daemon runs undisturbed: leases of the dead ones expire and are reconciled.
    # What is left can be most of the 300 posts on a slow machine (X's are claimed one at a
    # time into free slots, 0.3 s each; a Mastodon reconcile looks through the statuses): the
    # bound is generous, what is asserted is that nothing is lost or sent twice.
    daemon = start_daemon(project, env)
    assert wait_until(lambda: not open_work(project), timeout=150, interval=0.2), (
        f"still open: {open_work(project)}\n{daemon.log()[-3000:]}"
    )
    assert daemon.terminate() == 0, daemon.log()
    took = time.monotonic() - started

    posts = cli_json(project, env, "list")
    deliveries = [d for p in posts for d in p["deliveries"]]
    attempts = cli_json(project, env, "log", "--limit", "100000")
    by_status = Counter((d["account"], d["status"]) for d in deliveries)
    x_unknown = [d for d in deliveries if d["account"] == "x" and d["status"] == "unknown"]
    tweets = dict(zip(platforms.x.tweet_ids, platforms.x.tweets, strict=True))
    tweeted = Counter(t["text"] for t in tweets.values())
    unknown_sent = sum(1 for d in x_unknown if d["text"] in tweeted)
    recovered = sum(1 for a in attempts if a["sent"].get("recovered"))
    summary = (
        f"{kills} SIGKILLs ({killed_mid_request} with a post request in flight), "
        f"{CRASH_POSTS} posts, {len(attempts)} attempts, "
        f"{recovered} found on the platform after a crash and recorded as published, "
        f"X unknown: {len(x_unknown)} ({unknown_sent} of them on X, "
        f"{len(x_unknown) - unknown_sent} never sent), open after the kills: "
        f"{left_after_kills}, Bluesky logins: {platforms.bluesky.login_count}, "
        f"{took:.0f} s; statuses: {dict(by_status)}"
    )
    print(summary)

    assert killed_mid_request >= CRASH_KILLS // 2, summary
    assert recovered > 0, summary  # posts a dead daemon had sent were found, not re-sent
    # Mastodon and Bluesky: every post exactly once, each delivery published, none lost.
    assert by_status[("mastodon", "published")] == CRASH_POSTS // 3, summary
    assert by_status[("bluesky", "published")] == CRASH_POSTS // 3, summary
    assert Counter(s["status"] for s in platforms.mastodon.statuses) == Counter(
        texts["mastodon"]
    ), summary
    assert Counter(r["text"] for r in platforms.bluesky.records.values()) == Counter(
        texts["bluesky"]
    ), summary
    statuses = {s["id"]: s["status"] for s in platforms.mastodon.statuses}
    records = {
        platforms.bluesky.post_uri(k): r["text"] for k, r in platforms.bluesky.records.items()
    }
    for d in deliveries:
        if d["account"] == "mastodon":
            assert statuses[d["remote_id"]] == d["text"], d
        elif d["account"] == "bluesky":
            assert records[d["remote_id"]] == d["text"], d
    # X: nothing twice; each delivery published (and on X) or unknown (left to a person).
    x = [d for d in deliveries if d["account"] == "x"]
    assert len(x) == CRASH_POSTS // 3
    assert {d["status"] for d in x} <= {"published", "unknown"}, summary
    assert max(tweeted.values()) == 1, summary
    assert set(tweeted) <= texts["x"], summary
    for d in x:
        if d["status"] == "published":
            assert tweets[d["remote_id"]]["text"] == d["text"], d
        else:
            assert "worker stopped mid-publish" in d["last_error"], d
    duplicates = [a for a in attempts if "duplicate" in (a["error_message"] or "")]
    assert not duplicates, duplicates  # X would have refused a second send of the same text

    # What the README tells the user to do with an unknown X delivery: check the account,
    # then `postbot retry` the ones that are not there. One that is there, retried by
    # mistake, is refused by X as a duplicate and fails instead of posting twice.
    post_of = {d["id"]: p["id"] for p in posts for d in p["deliveries"]}
    missing = [d for d in x_unknown if d["text"] not in tweeted][:2]
    there = [d for d in x_unknown if d["text"] in tweeted][:1]
    for d in missing + there:
        assert run_postbot(project, "retry", str(post_of[d["id"]]), env=env).returncode == 0
    done = run_postbot(project, "run", "--once", env=env)
    assert done.returncode == 0, done.stderr
    for d in missing + there:
        [after] = cli_json(project, env, "show", str(post_of[d["id"]]))["deliveries"]
        if d in missing:
            assert after["status"] == "published", after
        else:
            assert after["status"] == "failed" and "duplicate" in after["last_error"], after
    assert max(Counter(t["text"] for t in platforms.x.tweets).values()) == 1


def write_posts(folder: Path, posts: Sequence[tuple[str, tuple[str, ...]]]) -> list[str]:
    """Post files (Markdown, due at once) for `postbot enqueue --file`; the texts as rendered."""
    folder.mkdir()
    for i, (teaser, to) in enumerate(posts):
        (folder / f"post-{i:04d}.md").write_text(
            f"---\nid: {folder.name}-{i:04d}\nto: [{', '.join(to)}]\nhashtags: [SOZGipfel]\n"
            f"---\n{teaser}\n",
            encoding="utf-8",
        )
    return [f"{teaser} #SOZGipfel" for teaser, _ in posts]


def slow_down(platforms: Platforms, seconds: float) -> None:
    """Every post-creating request takes `seconds` on all three fakes."""
    platforms.mastodon.fail_faults = (MastodonFault.slow(seconds),)
    platforms.mastodon.fail_rate = 1.0
    platforms.x.fail_faults = (XFault.slow(seconds),)
    platforms.x.fail_rate = 1.0
    platforms.bluesky.set_fail_rate(1.0, methods=[BSKY_CREATE], faults=[bsky_delayed(seconds)])


def create_requests(platforms: Platforms) -> list[Any]:
    """Every post-creating request the fakes received, in arrival order per fake."""
    return [
        *platforms.mastodon.requests_to("/api/v1/statuses", "POST"),
        *platforms.x.requests_to("/2/tweets", "POST"),
        *platforms.bluesky.calls(BSKY_CREATE),
    ]


def open_work(project: Path, url: str | None = None) -> dict[str, int]:
    """Deliveries still queued or publishing, by status (read straight from the database)."""
    rows = query(
        url or sqlite_url(project),
        "SELECT status, count(*) AS n FROM delivery"
        " WHERE status IN ('queued', 'publishing') GROUP BY status",
    )
    return {r["status"]: r["n"] for r in rows}


# -- 2. concurrency --------------------------------------------------------------------------
# Four daemons, started together on a new database, wait idle; then 2,000 posts arrive due
# at once, one delivery each. Most go to `staging`, a dryrun-
# platform account (publishing costs nothing, so the four daemons race each other on the
# claim as hard as they can, and every publish leaves an attempt row to count); 100 each go to
# the three fakes, where a double claim would show up as a second post on the "platform".
# All 2,000 through the fakes would spend the time budget on HTTP in the test process
# (which serves the fakes) rather than on the claim race the test is about.
RACE_DAEMONS = 4
RACE_POSTS = 2_000
RACE_PER_FAKE = 100


@pytest.mark.slow
@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_four_daemons_on_one_database_publish_each_delivery_exactly_once(
    backend: str,
    platforms: Platforms,
    tmp_path: Path,
    start_daemon: Callable[..., Daemon],
    request: pytest.FixtureRequest,
) -> None:
    extra_env: dict[str, str] = {}
    url = sqlite_url(tmp_path)
    if backend == "postgresql":
        url = request.getfixturevalue("pg_empty_url")  # a database of this test's own
        extra_env["POSTBOT_DATABASE_URL"] = url
    project = platforms.project(tmp_path, extra_accounts={"staging": {"platform": "dryrun"}})
    env = platforms.env(**extra_env)

    # All four start together on the new, empty database (each creates the schema if it is
    # not there yet), and wait idle; then 2,000 posts arrive in one transaction.
    daemons = [start_daemon(project, env) for _ in range(RACE_DAEMONS)]
    assert wait_until(lambda: live_workers(url) == RACE_DAEMONS, timeout=60), "\n".join(
        d.log()[-2000:] for d in daemons
    )
    texts = enqueue_directly(project, env, url)
    started = time.monotonic()
    done = wait_until(lambda: not open_work(project, url), timeout=120, interval=0.25)
    took = time.monotonic() - started
    codes = [d.terminate() for d in daemons]
    logs = "\n".join(d.log()[-2000:] for d in daemons)
    assert done, f"still open after {took:.0f} s: {open_work(project, url)}\n{logs}"
    assert codes == [0] * RACE_DAEMONS, logs

    deliveries = query(url, "SELECT id, account, status, text FROM delivery")
    published = query(
        url,
        "SELECT delivery_id, count(*) AS n, min(worker) AS worker FROM attempt"
        " WHERE outcome = 'published' GROUP BY delivery_id",
    )
    per_worker = Counter(r["worker"] for r in published)
    summary = (
        f"{backend}: {RACE_POSTS} deliveries by {RACE_DAEMONS} daemons in {took:.1f} s;"
        f" published per daemon: {sorted(per_worker.values())}"
    )
    print(summary)
    assert len(deliveries) == RACE_POSTS
    assert {d["status"] for d in deliveries} == {"published"}, summary
    assert len(published) == RACE_POSTS, summary
    attempted = query(url, "SELECT count(*) AS n FROM attempt")[0]["n"]
    assert attempted == RACE_POSTS, summary  # not one delivery was even tried twice
    assert max(r["n"] for r in published) == 1, summary  # no delivery published twice
    assert len(per_worker) == RACE_DAEMONS, summary  # every daemon took part in the race
    assert Counter(s["status"] for s in platforms.mastodon.statuses) == Counter(texts["mastodon"])
    assert Counter(t["text"] for t in platforms.x.tweets) == Counter(texts["x"])
    assert Counter(r["text"] for r in platforms.bluesky.records.values()) == Counter(
        texts["bluesky"]
    )


# Each process loads everything, says it is ready, and opens the store the moment the test
# says go: the first start of several workers on one new database, without start-up jitter.
TOGETHER = """
import sys, time
from pathlib import Path
import alembic.command
from postbot.store import open_store
store = open_store(sys.argv[1])
Path(sys.argv[2] + ".ready").write_text("")
while not Path(sys.argv[3]).exists():
    time.sleep(0.001)
store.ensure_schema()
"""


@pytest.mark.postgres
def test_processes_started_together_on_a_new_postgresql_database_all_start(
    platforms: Platforms, tmp_path: Path, pg_empty_url: str
) -> None:
    """One creates the schema, the others wait for it (they used to fail with "cannot create
    or upgrade the database: duplicate key value violates unique constraint
    pg_type_typname_nsp_index": side-by-side CREATE TABLEs)."""
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", TOGETHER, pg_empty_url, str(tmp_path / f"p{i}"), str(go)],
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
        )
        for i in range(6)
    ]
    assert wait_until(lambda: len(list(tmp_path.glob("*.ready"))) == len(procs), timeout=60)
    go.write_text("")
    results = [(p.wait(timeout=60), *p.communicate()) for p in procs]
    assert [code for code, _, _ in results] == [0] * len(procs), results
    project = platforms.project(tmp_path)
    status = cli_json(project, platforms.env(POSTBOT_DATABASE_URL=pg_empty_url), "status")
    assert status["counts"] == {}


def live_workers(url: str) -> int:
    """Daemons with a heartbeat row (0 while the schema does not exist yet)."""
    try:
        return int(query(url, "SELECT count(*) AS n FROM heartbeat")[0]["n"])
    except SQLAlchemyError:
        return 0


def enqueue_directly(project: Path, env: dict[str, str], url: str) -> dict[str, list[str]]:
    """2,000 posts due now, through the library (one transaction): as `postbot enqueue` would
    store them, without 2,000 process starts. Returns the rendered texts per fake account."""
    settings = load_settings(project / "config" / "postbot.toml", environ=env)
    store = open_store(url)
    try:
        store.ensure_schema()
        now = datetime.now(UTC)
        items = []
        texts: dict[str, list[str]] = {name: [] for name in ACCOUNTS}
        for i in range(RACE_POSTS):
            account = ACCOUNTS[i % 3] if i < 3 * RACE_PER_FAKE else "staging"
            draft = Draft(teaser=f"Wettlauf {i:04d}: vier Daemons, ein Gipfel", to=(account,))
            built = plan(draft, settings)
            items.append((built, now))
            if account in texts:
                texts[account].append(built.targets[0].text)
        store.enqueue_many(items, now)
    finally:
        store.dispose()
    return texts


# -- 3. faults -------------------------------------------------------------------------------
FAULT_POSTS = 30  # to all three accounts: 90 deliveries
FAIL_RATE = 0.3
MAX_ATTEMPTS = 8
SLOW = 3.0  # seconds: longer than the client timeout (2 s)


class ResetAhead(Mapping[str, str]):
    """Rate-limit headers whose reset lies `seconds` ahead of the moment they are sent (a
    fault is built once, but drawn for requests throughout the test)."""

    def __init__(self, seconds: float, render: Callable[[float], dict[str, str]]) -> None:
        self.seconds = seconds
        self.render = render

    def _now(self) -> dict[str, str]:
        return self.render(time.time() + self.seconds)

    def __getitem__(self, key: str) -> str:
        return self._now()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._now())

    def __len__(self) -> int:
        return len(self._now())


def mastodon_429() -> MastodonFault:
    def render(at: float) -> dict[str, str]:
        reset = datetime.fromtimestamp(at, UTC)
        return {
            "X-RateLimit-Limit": "300",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": mastodon_reset_header(reset),
        }

    return MastodonFault("status", 429, {"error": "Too many requests"}, ResetAhead(1.5, render))


def x_429() -> XFault:
    def render(at: float) -> dict[str, str]:
        return {"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(math.ceil(at))}

    return XFault("status", 429, x_problem(429, "Too Many Requests"), ResetAhead(1.0, render))


def bluesky_429() -> BlueskyFault:
    def render(at: float) -> dict[str, str]:
        return {
            "ratelimit-limit": "3000",
            "ratelimit-remaining": "0",
            "ratelimit-reset": str(math.ceil(at)),
            "ratelimit-policy": "3000;w=300",
        }

    return BlueskyFault(
        "error", status=429, error="RateLimitExceeded", message="Rate Limit Exceeded",
        headers=ResetAhead(1.0, render),
    )  # fmt: skip


@pytest.mark.slow
def test_transient_faults_are_retried_to_exactly_one_post_and_refusals_fail_at_once(
    platforms: Platforms, tmp_path: Path, start_daemon: Callable[..., Daemon]
) -> None:
    project = platforms.project(tmp_path, retry={"max_attempts": MAX_ATTEMPTS})
    env = platforms.env()
    # Server errors, rate limits with a reset a second or two ahead, and answers slower than
    # the client waits (Mastodon and Bluesky: the post is stored after the client gave up).
    # Each kind once for sure, then at random for FAIL_RATE of the post requests. X gets no
    # slow answers here: a timeout on X is an unknown outcome, never retried (checked below).
    masto_faults = (MastodonFault.server_error(), mastodon_429(), MastodonFault.slow(SLOW))
    x_faults = (XFault.server_error(500), x_429())
    bsky_faults = (bsky_server_error(), bluesky_429(), bsky_delayed(SLOW))
    for masto_fault in masto_faults:
        platforms.mastodon.inject("/api/v1/statuses", masto_fault)
    for x_fault in x_faults:
        platforms.x.inject("/2/tweets", x_fault)
    for bsky_fault in bsky_faults:
        platforms.bluesky.fail_next(BSKY_CREATE, bsky_fault)
    platforms.mastodon.fail_faults, platforms.mastodon.fail_rate = masto_faults, FAIL_RATE
    platforms.x.fail_faults, platforms.x.fail_rate = x_faults, FAIL_RATE
    platforms.bluesky.set_fail_rate(FAIL_RATE, methods=[BSKY_CREATE], faults=bsky_faults)

    texts = write_posts(
        project / "incoming",
        [(f"Störung {i:02d}: der Gipfel tagt", ACCOUNTS) for i in range(FAULT_POSTS)],
    )
    assert len(cli_json(project, env, "enqueue", "--file", "incoming")) == FAULT_POSTS
    started = time.monotonic()
    daemon = start_daemon(project, env)
    assert wait_until(lambda: not open_work(project), timeout=90, interval=0.25), (
        f"{open_work(project)}\n{daemon.log()[-3000:]}"
    )
    took = time.monotonic() - started

    posts = cli_json(project, env, "list")
    deliveries = [d for p in posts for d in p["deliveries"]]
    logged = cli_json(project, env, "log", "--limit", "100000")
    transient = Counter(
        (a["account"], a["http_status"]) for a in logged if a["outcome"] == "transient"
    )
    summary = (
        f"{len(deliveries)} deliveries in {took:.1f} s, {len(logged)} attempts, at most "
        f"{max(d['attempts'] for d in deliveries)} per delivery; transient (account, HTTP): "
        f"{dict(sorted(transient.items(), key=str))}"
    )
    print(summary)
    # Every post published, each within its attempts, exactly once on every platform.
    assert {d["status"] for d in deliveries} == {"published"}, summary
    assert max(d["attempts"] for d in deliveries) <= MAX_ATTEMPTS
    assert Counter(s["status"] for s in platforms.mastodon.statuses) == Counter(texts)
    assert Counter(t["text"] for t in platforms.x.tweets) == Counter(texts)
    assert Counter(r["text"] for r in platforms.bluesky.records.values()) == Counter(texts)
    # The retries are in the log: server errors and rate limits on every platform, and the
    # slow answers (no HTTP status: the client gave up) on Mastodon and Bluesky.
    for account in ACCOUNTS:
        assert transient[(account, 500)] >= 1, summary
        assert transient[(account, 429)] >= 1, summary
    for account in ("mastodon", "bluesky"):
        assert transient[(account, None)] >= 1, summary
    assert {a["outcome"] for a in logged} == {"published", "transient"}
    assert len(logged) == len(deliveries) + sum(transient.values())
    # A re-send after a timeout carried the same Idempotency-Key (Mastodon) and record key
    # (Bluesky): that, not luck, is why the slow first request did not make a second post.
    keys: dict[str, set[str]] = {}
    for r in platforms.mastodon.requests_to("/api/v1/statuses", "POST"):
        keys.setdefault(r.params["status"], set()).add(r.headers["idempotency-key"])
    assert all(len(k) == 1 for k in keys.values()) and len(keys) == FAULT_POSTS
    rkeys: dict[str, set[str]] = {}
    for call in platforms.bluesky.calls(BSKY_CREATE):
        rkeys.setdefault(call.json["record"]["text"], set()).add(call.json["rkey"])
    assert all(len(k) == 1 for k in rkeys.values()) and len(rkeys) == FAULT_POSTS
    # No retry before the rate limit's reset (1 to 2 s ahead; the backoff alone would retry
    # after 0.1 to 0.2 s the first time).
    store = open_store(sqlite_url(project))
    try:
        attempts = sorted(store.attempts(None, 100_000), key=lambda a: a.started_at)
    finally:
        store.dispose()
    waited = []
    for a in attempts:
        if a.http_status == 429:
            later = [b for b in attempts if b.delivery_id == a.delivery_id
                     and b.started_at > a.started_at]  # fmt: skip
            waited.append((later[0].started_at - a.finished_at).total_seconds())
    assert waited and min(waited) >= 0.9, sorted(waited)

    # Refusals: one attempt, failed at once, with the platform's own words.
    platforms.mastodon.fail_rate = platforms.x.fail_rate = 0
    platforms.bluesky.set_fail_rate(0)
    platforms.mastodon.inject("/api/v1/statuses", MastodonFault.unprocessable())
    platforms.x.inject("/2/tweets", XFault.forbidden("You are not permitted to post here."))
    platforms.bluesky.fail_next(
        BSKY_CREATE, bsky_invalid_request("Invalid app.bsky.feed.post record: too many langs")
    )
    done = run_postbot(project, "enqueue", "Abgelehnt", "--now", env=env)
    assert done.returncode == 0, done.stderr
    refused = done.stdout.strip()
    assert wait_until(
        lambda: (
            {d["status"] for d in cli_json(project, env, "show", refused)["deliveries"]}
            == {"failed"}
        ),
        timeout=15,
    ), daemon.log()[-3000:]
    shown = {d["account"]: d for d in cli_json(project, env, "show", refused)["deliveries"]}
    assert {name: d["attempts"] for name, d in shown.items()} == {n: 1 for n in ACCOUNTS}
    assert (
        "Validation failed: Text character limit of 500 exceeded"
        in (shown["mastodon"]["last_error"])
    )
    assert "You are not permitted to post here." in shown["x"]["last_error"]
    assert "Invalid app.bsky.feed.post record: too many langs" in shown["bluesky"]["last_error"]
    tried = cli_json(project, env, "log", refused)
    assert sorted((a["account"], a["outcome"], a["http_status"]) for a in tried) == [
        ("bluesky", "permanent", 400), ("mastodon", "permanent", 422), ("x", "permanent", 403),
    ]  # fmt: skip

    # An X post whose answer never comes: `unknown`, not re-sent (X has no idempotency key).
    platforms.x.inject("/2/tweets", XFault.slow(SLOW))
    done = run_postbot(project, "enqueue", "Ohne Antwort", "--now", "--to", "x", env=env)
    assert done.returncode == 0, done.stderr
    silent = done.stdout.strip()
    assert wait_until(
        lambda: cli_json(project, env, "show", silent)["deliveries"][0]["status"] == "unknown",
        timeout=15,
    ), daemon.log()[-3000:]
    [delivery] = cli_json(project, env, "show", silent)["deliveries"]
    assert delivery["attempts"] == 1
    assert "may or may not have been published" in delivery["last_error"]
    assert platforms.x.wait_for(lambda fake: any(t["text"] == "Ohne Antwort" for t in fake.tweets))
    time.sleep(1)  # time enough for a (wrong) re-send
    assert sum(1 for r in platforms.x.requests if r.json == {"text": "Ohne Antwort"}) == 1
    assert daemon.terminate() == 0, daemon.log()[-3000:]


# -- 4. shutdown -----------------------------------------------------------------------------
def test_sigterm_lets_slow_publishes_finish_and_be_recorded(
    platforms: Platforms, tmp_path: Path, start_daemon: Callable[..., Daemon]
) -> None:
    slow = {"timeout": 10}  # the client waits longer than the slow server takes
    project = platforms.project(tmp_path, account_options={name: slow for name in ACCOUNTS})
    env = platforms.env()
    delay = 2.5
    platforms.mastodon.inject("/api/v1/statuses", MastodonFault.slow(delay))
    platforms.x.inject("/2/tweets", XFault.slow(delay))
    platforms.bluesky.delay_next("com.atproto.repo.createRecord", delay)
    done = run_postbot(project, "enqueue", "Gleich geht es los #Gipfel", "--now", env=env)
    assert done.returncode == 0, done.stderr
    post_id = done.stdout.strip()

    daemon = start_daemon(project, env)
    assert wait_until(
        lambda: (
            platforms.mastodon.requests_to("/api/v1/statuses", "POST")
            and platforms.x.requests_to("/2/tweets", "POST")
            and platforms.bluesky.calls("com.atproto.repo.createRecord")
        ),
        timeout=20,
    ), daemon.log()
    signalled = time.monotonic()
    code = daemon.terminate(timeout=30)
    took = time.monotonic() - signalled
    log = daemon.log()
    assert code == 0, log
    assert "SIGTERM received" in log and "Traceback" not in log
    assert 1.0 < took < delay + 5, f"exited {took:.1f} s after SIGTERM: it did not wait"

    shown = cli_json(project, env, "show", post_id)
    assert {d["account"]: d["status"] for d in shown["deliveries"]} == {
        name: "published" for name in ACCOUNTS
    }, log
    attempts = cli_json(project, env, "log", post_id)
    assert sorted((a["account"], a["outcome"]) for a in attempts) == [
        (name, "published") for name in sorted(ACCOUNTS)
    ]
    assert len(platforms.mastodon.statuses) == 1
    assert len(platforms.x.tweets) == 1
    assert len(platforms.bluesky.records) == 1
    assert cli_json(project, env, "status")["workers"] == []  # said goodbye


def test_publish_longer_than_the_lease_keeps_its_claim_against_a_second_daemon(
    platforms: Platforms, tmp_path: Path, start_daemon: Callable[..., Daemon]
) -> None:
    """The lease is 3 s, X takes 5 s to answer: the publishing daemon renews its lease, so
    the second daemon never takes the delivery over (which, on X, would make it `unknown`)."""
    project = platforms.project(tmp_path, account_options={"x": {"timeout": 10}})
    env = platforms.env()
    platforms.x.inject("/2/tweets", XFault.slow(5))
    done = run_postbot(project, "enqueue", "Langsam, aber sicher", "--now", "--to", "x", env=env)
    assert done.returncode == 0, done.stderr
    post_id = done.stdout.strip()

    first = start_daemon(project, env)
    assert wait_until(lambda: platforms.x.requests_to("/2/tweets", "POST"), timeout=20)
    second = start_daemon(project, env)
    assert wait_until(
        lambda: (
            cli_json(project, env, "show", post_id)["deliveries"][0]["status"]
            not in ("queued", "publishing")
        ),
        timeout=20,
    ), first.log()
    [delivery] = cli_json(project, env, "show", post_id)["deliveries"]
    [attempt] = cli_json(project, env, "log", post_id)
    assert second.alive() and len(cli_json(project, env, "status")["workers"]) == 2
    assert first.terminate() == 0 and second.terminate() == 0
    assert delivery["status"] == "published", second.log()
    assert attempt["outcome"] == "published" and delivery["attempts"] == 1
    assert delivery["remote_id"] == platforms.x.tweet_ids[0]
    assert len(platforms.x.tweets) == 1
    assert "stopped mid-publish" not in second.log()


# -- 5. secrets ------------------------------------------------------------------------------
def test_no_command_log_row_or_json_output_shows_a_credential(
    platforms: Platforms, tmp_path: Path, start_daemon: Callable[..., Daemon]
) -> None:
    project = platforms.project(tmp_path, retry={"max_attempts": 3})
    env = platforms.env()
    outputs: dict[str, str] = {}

    def run(*args: str, code: int | None = 0, **extra: str) -> str:
        done = run_postbot(project, *args, env=platforms.env(**extra) if extra else env)
        name = " ".join(args)
        outputs[f"{name} (stdout)"] = done.stdout
        outputs[f"{name} (stderr)"] = done.stderr
        if code is not None:
            assert done.returncode == code, f"{name}: {done.stdout}{done.stderr}"
        return done.stdout

    # Errors happen: a refused token on Mastodon, server errors and a refused token on X,
    # a server error and a refused session on Bluesky.
    platforms.mastodon.inject("/api/v1/statuses", MastodonFault.unauthorized())
    platforms.mastodon.inject("/api/v1/statuses", MastodonFault.server_error(), times=2)
    platforms.x.inject("/2/tweets", XFault.server_error(500), times=2)
    platforms.x.inject("/2/tweets", XFault.unauthorized())
    platforms.bluesky.fail_next("com.atproto.repo.createRecord", bsky_server_error())
    platforms.bluesky.fail_next("com.atproto.repo.createRecord", bsky_unauthorized())

    first = run("enqueue", "Erster Teaser zum Gipfel", "--tag", "SOZGipfel", "--now").strip()
    second = json.loads(run("enqueue", "Zweiter Teaser", "--now", "--json"))["id"]
    third = run("enqueue", "Dritter Teaser", "--now", "--to", "x").strip()

    daemon = start_daemon(project, env, "--log-format", "json")
    settled = wait_until(
        lambda: not ({"queued", "publishing"} & set(cli_json(project, env, "status")["counts"])),
        timeout=60,
    )
    assert daemon.terminate() == 0, daemon.log()
    assert settled, daemon.log()
    outputs["daemon log"] = daemon.log()
    # A one-shot run with every library's debug logging on, after one more error.
    platforms.mastodon.inject("/api/v1/statuses", MastodonFault.unauthorized())
    platforms.x.inject("/2/tweets", XFault.server_error(503))
    run("enqueue", "Vierter Teaser", "--now")
    run("run", "--once", "--log-format", "json", "--log-level", "DEBUG")

    run("show", first)
    run("show", first, "--json")
    run("log", third)
    run("preview", first)
    run("preview", str(second), "--json")
    run("list")
    listed = json.loads(run("list", "--json"))
    run("log")
    logged = json.loads(run("log", "--json"))
    run("status")
    run("status", "--json")
    run("accounts", "check")
    run("accounts", "check", "--json")
    # Refusals while checking: a refused token, an X server error, and a wrong app password
    # (without the stored session, so the password is sent).
    session_file = project / "var" / "bluesky.session"
    session = session_file.read_text(encoding="utf-8")
    session_file.unlink()
    wrong_password = "SECRET-BSKY-WRONG-PASSWORD"
    for as_json in (True, False):
        platforms.mastodon.inject(
            "/api/v1/accounts/verify_credentials", MastodonFault.unauthorized()
        )
        platforms.x.inject("/2/users/me", XFault.server_error(500))
        args = ("accounts", "check", *(["--json"] if as_json else []))
        shown = run(*args, code=1, BLUESKY_APP_PASSWORD=wrong_password)
        if as_json:
            checked = json.loads(shown)

    # The errors did happen (so there was something to leak) ...
    assert {a["outcome"] for a in logged} >= {"published", "transient", "permanent"}
    assert {a["http_status"] for a in logged} >= {401, 500}
    assert any(d["status"] == "failed" for p in listed for d in p["deliveries"])
    assert [r["ok"] for r in checked] == [False, False, False]
    assert '"level": "warning"' in outputs["daemon log"]
    assert '"level": "debug"' in outputs["run --once --log-format json --log-level DEBUG (stderr)"]
    # ... and no credential is anywhere: output, logs, database, session file.
    secrets = (*SECRETS, wrong_password)
    leaks = [
        f"{secret!r} in {where}"
        for where, content in outputs.items()
        for secret in secrets
        if secret in content
    ]
    for table, rows in dump_tables(sqlite_url(project)).items():
        for row in rows:
            for secret in secrets:
                if secret in repr(row):
                    leaks.append(f"{secret!r} in table {table}: {row}")
    leaks += [f"{s!r} in the Bluesky session file" for s in secrets if s in session]
    assert not leaks, "\n".join(leaks)


# -- 6. accounts check -----------------------------------------------------------------------
def test_accounts_check_logs_in_to_every_fake_and_names_a_refused_token(
    platforms: Platforms, tmp_path: Path
) -> None:
    project = platforms.project(tmp_path)

    wide = {"COLUMNS": "250"}  # one table row per line
    done = run_postbot(project, "accounts", "check", env=platforms.env(**wide))
    assert done.returncode == 0, done.stdout + done.stderr
    rows = table_rows(done.stdout)
    assert rows["mastodon"] == ["mastodon", "mastodon", "@postbot_test", "OK"]
    assert rows["x"] == ["x", "x", "@postbot_test", "OK"]
    assert rows["bluesky"] == ["bluesky", "bluesky", f"@{BLUESKY_HANDLE}", "OK"]
    checked = cli_json(project, platforms.env(), "accounts", "check")
    assert {r["account"]: (r["ok"], r["identity"]) for r in checked} == {
        "mastodon": (True, "@postbot_test"),
        "x": (True, "@postbot_test"),
        "bluesky": (True, f"@{BLUESKY_HANDLE}"),
    }

    wrong = "WRONG-MASTO-TOKEN-0000"  # the fake answers 401 "The access token is invalid"
    env = platforms.env(MASTODON_ACCESS_TOKEN=wrong, **wide)
    done = run_postbot(project, "accounts", "check", env=env)
    assert done.returncode == 1, done.stdout + done.stderr
    rows = table_rows(done.stdout)
    assert rows["mastodon"][2] == "-"  # logged in as nobody
    assert "HTTP 401" in rows["mastodon"][3]
    assert "The access token is invalid" in rows["mastodon"][3]
    assert rows["x"][3] == "OK" and rows["bluesky"][3] == "OK"
    done_json = run_postbot(project, "accounts", "check", "--json", env=env)
    assert done_json.returncode == 1
    by_account = {r["account"]: r for r in json.loads(done_json.stdout)}
    assert by_account["mastodon"]["ok"] is False
    assert "HTTP 401" in by_account["mastodon"]["error"]
    assert "The access token is invalid" in by_account["mastodon"]["error"]
    assert by_account["x"]["ok"] and by_account["bluesky"]["ok"]
    for output in (done.stdout, done.stderr, done_json.stdout, done_json.stderr):
        assert wrong not in output
        for secret in SECRETS:
            assert secret not in output


# -- 7. end to end ---------------------------------------------------------------------------
def test_seed_teaser_published_to_all_three_platforms(platforms: Platforms, tmp_path: Path) -> None:
    project = platforms.project(tmp_path, posts_dir="posts")
    shutil.copy(REPO / "docs" / "examples" / "soz-gipfel-teaser.txt", project / "posts")
    env = platforms.env()

    done = run_postbot(project, "run", "--once", env=env)
    assert done.returncode == 0, done.stderr
    assert "handled 3 deliveries" in done.stderr

    [status] = platforms.mastodon.statuses
    assert status["status"] == SEED_TEXT
    assert status["language"] == "de"
    assert status["idempotency_key"].startswith("postbot-")
    [request] = platforms.mastodon.requests_to("/api/v1/statuses", "POST")
    assert request.headers["idempotency-key"] == status["idempotency_key"]
    [post] = cli_json(project, env, "list")

    [record] = platforms.bluesky.records.values()
    assert record["text"] == SEED_TEXT
    assert record["langs"] == ["de"]
    encoded = SEED_TEXT.encode("utf-8")
    expected = []
    for tag in ("XiJinping", "SOZGipfel"):
        start = encoded.index(f"#{tag}".encode())
        expected.append((start, start + len(f"#{tag}".encode()), tag))
    assert expected[0][0] != SEED_TEXT.index("#XiJinping")  # "ü" twice: bytes != characters
    facets = [
        (f["index"]["byteStart"], f["index"]["byteEnd"], f["features"][0]["tag"])
        for f in record["facets"]
    ]
    assert facets == expected
    assert all(f["features"][0]["$type"] == "app.bsky.richtext.facet#tag" for f in record["facets"])

    [tweet] = platforms.x.tweets
    assert tweet["text"] == SEED_TEXT

    shown = cli_json(project, env, "show", str(post["id"]))
    by_account = {d["account"]: d for d in shown["deliveries"]}
    assert {d["status"] for d in by_account.values()} == {"published"}
    masto = by_account["mastodon"]
    assert masto["remote_id"] == status["id"]
    assert masto["remote_url"] == status["entity"]["url"]
    x = by_account["x"]
    assert x["remote_id"] == platforms.x.tweet_ids[0]
    assert x["remote_url"] == f"https://x.com/i/web/status/{x['remote_id']}"
    [rkey] = platforms.bluesky.records
    bsky = by_account["bluesky"]
    assert bsky["remote_id"] == platforms.bluesky.post_uri(rkey)
    assert bsky["remote_url"] == f"https://bsky.app/profile/{BLUESKY_HANDLE}/post/{rkey}"
    # The log says where each post went, with links that work.
    for delivery in (masto, x, bsky):
        assert f"published {delivery['remote_url']}" in done.stderr, done.stderr
