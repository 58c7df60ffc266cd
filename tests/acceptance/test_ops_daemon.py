"""Running as a service, through real `postbot run` processes and the local fake platforms:

- /metrics scraped over HTTP while the daemon publishes, its counts checked against the
  database; /healthz and /readyz;
- /readyz turns unready when the SQLite file is made unwritable (`chattr +i`: root writes
  through a plain chmod, never through the immutable flag);
- an alert reaches a local webhook (Apprise `json://` on 127.0.0.1) once per incident, for each
  trigger: a delivery failed, unknown, missed, an account's credentials refused, and no
  heartbeat (the dead-man alert `postbot doctor --alert` sends from cron).
"""

from __future__ import annotations

import functools
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.acceptance.conftest import SECRETS, Daemon, Platforms, query, sqlite_url
from tests.fakes.alert_receiver import TOKEN, AlertReceiver
from tests.fakes.mastodon_server import Fault as MastodonFault
from tests.fakes.x_server import Fault as XFault
from tests.support import run_postbot, wait_until

pytestmark = pytest.mark.timeout(180)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except urllib.error.URLError:  # not listening (yet)
        return 0, ""


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a Prometheus text page: (name, sorted labels) -> value."""
    from prometheus_client.parser import text_string_to_metric_families

    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def of(found: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str) -> dict[Any, float]:
    """The samples of one metric, by their labels."""
    return {labels: v for (n, labels), v in found.items() if n == name}


def enqueue(project: Path, env: dict[str, str], text: str, *args: str) -> str:
    done = run_postbot(project, "enqueue", text, *args, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def settled(project: Path) -> bool:
    rows = query(
        sqlite_url(project),
        "SELECT count(*) AS n FROM delivery WHERE status = 'publishing'"
        " OR (status = 'queued' AND next_attempt_at <= CURRENT_TIMESTAMP"
        " AND account != 'x')",
    )
    return rows[0]["n"] == 0


def failed(project: Path, post: str) -> bool:
    rows = query(sqlite_url(project), f"SELECT status FROM delivery WHERE post_id = {post}")
    return bool(rows[0]["status"] == "failed")


@pytest.fixture
def receiver() -> Iterator[AlertReceiver]:
    with AlertReceiver() as r:
        yield r


# -- metrics and health ---------------------------------------------------------------------
def test_metrics_scraped_from_a_publishing_daemon_match_the_database(
    platforms: Platforms, tmp_path: Path, start_daemon: Callable[..., Daemon]
) -> None:
    port = free_port()
    project = platforms.project(
        tmp_path,
        daemon={"metrics": f"127.0.0.1:{port}"},
        account_options={"x": {"pace": "2/1h"}},
    )
    env = platforms.env()
    platforms.mastodon.inject("/api/v1/statuses", MastodonFault.unprocessable())
    for n in range(4):
        enqueue(project, env, f"Meldung {n} vom Gipfel", "--now")
    enqueue(project, env, "Später", "--at", "+2h", "--to", "bluesky")
    daemon = start_daemon(project, env)
    base = f"http://127.0.0.1:{port}"
    assert wait_until(lambda: get(f"{base}/healthz")[0] == 200, timeout=30), daemon.log()
    assert wait_until(lambda: settled(project), timeout=60), daemon.log()[-3000:]

    status, text = get(f"{base}/metrics")
    assert status == 200
    found = samples(text)
    url = sqlite_url(project)
    by_state = {
        (r["status"], r["account"]): r["n"]
        for r in query(
            url, "SELECT status, account, count(*) AS n FROM delivery GROUP BY status, account"
        )
    }
    # Deliveries this daemon moved to a state: what the database says they are in.
    moved = {
        dict(labels)["state"] + "/" + dict(labels)["account"]: v
        for labels, v in of(found, "postbot_deliveries_total").items()
    }
    assert moved == {f"{s}/{a}": float(n) for (s, a), n in by_state.items() if s != "queued"}
    assert by_state[("failed", "mastodon")] == 1 and by_state[("published", "x")] == 2
    # What the database holds now, but for the final states the counter above follows and
    # the queue (its due part is postbot_queue_due).
    held = {
        dict(labels)["state"] + "/" + dict(labels)["account"]: v
        for labels, v in of(found, "postbot_deliveries").items()
    }
    assert held == {
        f"{s}/{a}": float(n)
        for (s, a), n in by_state.items()
        if s not in ("published", "cancelled", "queued")
    }
    attempts = {
        (r["platform"], r["outcome"]): r["n"]
        for r in query(
            url,
            "SELECT d.platform, a.outcome, count(*) AS n FROM attempt a"
            " JOIN delivery d ON d.id = a.delivery_id GROUP BY d.platform, a.outcome",
        )
    }
    assert {
        (dict(k)["platform"], dict(k)["outcome"]): v
        for k, v in of(found, "postbot_publish_attempts_total").items()
    } == {k: float(n) for k, n in attempts.items()}
    # Histograms: one duration per attempt, one lateness per publish, by platform.
    durations = {
        dict(k)["platform"]: v
        for k, v in of(found, "postbot_publish_duration_seconds_count").items()
    }
    assert durations == {
        p: float(sum(n for (q, _), n in attempts.items() if q == p))
        for p in ("mastodon", "x", "bluesky")
    }
    lateness = {
        dict(k)["platform"]: v
        for k, v in of(found, "postbot_publish_lateness_seconds_count").items()
    }
    assert lateness == {"mastodon": 3.0, "x": 2.0, "bluesky": 4.0}
    # Gauges, read from the database at the scrape: x waits for its pace with 2 due.
    due = {dict(k)["account"]: v for k, v in of(found, "postbot_queue_due").items()}
    assert due == {"mastodon": 0.0, "x": 2.0, "bluesky": 0.0}
    assert of(found, "postbot_account_paced_out") == {(("account", "x"),): 1.0}
    assert of(found, "postbot_account_pace_used") == {(("account", "x"),): 2.0}
    [next_due] = query(
        url, "SELECT min(next_attempt_at) AS t FROM delivery WHERE status = 'queued'"
    )
    assert next_due["t"] is not None
    assert of(found, "postbot_queue_next_due_timestamp_seconds")
    [(worker,)] = [(r["worker"],) for r in query(url, "SELECT worker FROM heartbeat")]
    beats = of(found, "postbot_worker_heartbeat_timestamp_seconds")
    assert [dict(k)["worker"] for k in beats] == [worker]
    assert abs(next(iter(beats.values())) - time.time()) < 30
    assert of(found, "postbot_deliveries_publishing") == {(): 0.0}
    assert of(found, "postbot_database_up") == {(): 1.0}

    status, body = get(f"{base}/readyz")
    assert status == 200, body
    assert body.splitlines()[0] == "ready"
    assert get(f"{base}/nothing")[0] == 404
    assert daemon.terminate() == 0


def _chattr(flag: str, path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["chattr", flag, str(path)], capture_output=True, text=True)


def test_readyz_is_unready_while_the_database_file_is_unwritable(
    platforms: Platforms, tmp_path: Path, start_daemon: Callable[..., Daemon]
) -> None:
    port = free_port()
    project = platforms.project(tmp_path, daemon={"metrics": f"127.0.0.1:{port}"})
    env = platforms.env()
    enqueue(project, env, "Vorher", "--now")
    daemon = start_daemon(project, env)
    base = f"http://127.0.0.1:{port}"
    assert wait_until(lambda: get(f"{base}/readyz")[0] == 200, timeout=30), daemon.log()
    db = project / "var" / "postbot.db"
    # As root, chmod does not stop a write; the immutable flag does (ext4, xfs, btrfs, tmpfs).
    made = _chattr("+i", db) if shutil.which("chattr") else None
    if made is None or made.returncode != 0:
        reason = f"cannot make {db} immutable: {made.stderr.strip() if made else 'no chattr'}"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI is set: this test must run)")
        pytest.skip(reason)
    try:
        status, body = get(f"{base}/readyz")
        assert status == 503, body
        lines = body.splitlines()
        assert lines[0] == "not ready"
        assert any(
            line.startswith("writable: ") and f"{db} is read-only" in line for line in lines
        ), body
        assert get(f"{base}/healthz")[0] == 200  # the process lives: not a restart matter
    finally:
        _chattr("-i", db)
    assert wait_until(lambda: get(f"{base}/readyz")[0] == 200, timeout=10)
    assert daemon.terminate() == 0


# -- alerts -----------------------------------------------------------------------------------
def alert_config(platforms: Platforms, root: Path, **alerts: Any) -> Path:
    from tests.support import make_project

    text = platforms.config(root, account_options={"bluesky": {"max_lateness": "1s"}})
    lines = ["", "[alerts]", 'urls_from = ["POSTBOT_ALERT_URL"]', 'rate = "20/1h"']
    lines += [f"{k} = {v!r}" for k, v in alerts.items()]
    return make_project(root, text + "\n".join(lines) + "\n")


def mentions(messages: list[dict[str, Any]], needle: str) -> int:
    return sum(m["message"].count(needle) for m in messages)


def test_each_trigger_alerts_once_per_incident(
    platforms: Platforms,
    tmp_path: Path,
    start_daemon: Callable[..., Daemon],
    receiver: AlertReceiver,
) -> None:
    project = alert_config(platforms, tmp_path, dead_man_minutes=0.05)
    env = platforms.env(POSTBOT_ALERT_URL=receiver.apprise_url)
    # missed: due in a second, bluesky's max_lateness is 1 s, the daemon starts 2.5 s later.
    missed = enqueue(project, env, "Zu spät", "--at", "+1s", "--to", "bluesky")
    time.sleep(2.5)
    # failed: Mastodon refuses the text; unknown: X never answers (no idempotency on X).
    platforms.mastodon.inject("/api/v1/statuses", MastodonFault.unprocessable())
    platforms.x.inject("/2/tweets", XFault.slow(3))
    refused = enqueue(project, env, "Abgelehnt", "--now", "--to", "mastodon")
    silent = enqueue(project, env, "Ohne Antwort", "--now", "--to", "x")
    daemon = start_daemon(project, env)
    assert receiver.wait_for(
        lambda m: (
            all(mentions(m, f"post {p} ") for p in (refused, silent)) and mentions(m, "missed")
        ),
        timeout=30,
    ), (receiver.messages, daemon.log()[-3000:])

    # credentials: the daemon restarts with a refused token; three posts fail, one alert.
    assert daemon.terminate() == 0
    wrong = {**env, "MASTODON_ACCESS_TOKEN": "WRONG-MASTO-TOKEN-0000"}
    posts = [enqueue(project, env, f"Token {n}", "--now", "--to", "mastodon") for n in range(3)]
    daemon = start_daemon(project, wrong)
    assert receiver.wait_for(lambda m: mentions(m, "credentials refused"), timeout=30), daemon.log()
    assert wait_until(
        lambda: (
            query(
                sqlite_url(project),
                "SELECT count(*) AS n FROM delivery"
                f" WHERE status = 'failed' AND post_id IN ({', '.join(posts)})",
            )[0]["n"]
            == 3
        ),
        timeout=30,
    )

    # dead man: the daemon dies (its heartbeat row stays); cron's doctor --alert tells, once.
    daemon.kill()
    time.sleep(3.5)  # dead_man_minutes = 0.05: 3 s
    for _ in range(2):
        done = run_postbot(project, "doctor", "--alert", env=env)
        assert done.returncode == 1, done.stdout + done.stderr
        assert "heartbeat: no heartbeat for" in done.stdout
    assert receiver.wait_for(
        lambda m: mentions(m, "no postbot worker sent a heartbeat"), timeout=10
    )
    time.sleep(1)  # time enough for a (wrong) second message
    messages = receiver.messages
    assert mentions(messages, f"post {refused} -> mastodon: failed") == 1, messages
    assert mentions(messages, f"post {silent} -> x: outcome unknown") == 1, messages
    assert mentions(messages, "bluesky: 1 post(s) missed") == 1, messages
    assert mentions(messages, "account mastodon (mastodon): credentials refused") == 1, messages
    assert mentions(messages, "no postbot worker sent a heartbeat") == 1, messages
    assert all(m["path"] == f"/hook/{TOKEN}" for m in messages)
    # Never a secret: not the alert URL's token, not a credential, in alerts, logs or output.
    shown = [m["title"] + m["message"] for m in messages] + [daemon.log(), done.stdout, done.stderr]
    for secret in (TOKEN, receiver.apprise_url, *SECRETS, "WRONG-MASTO-TOKEN-0000"):
        assert not any(secret in s for s in shown), secret
    assert missed  # the post that went stale


def test_alerts_keep_the_rate_and_fold_the_rest_into_one_digest(
    platforms: Platforms,
    tmp_path: Path,
    start_daemon: Callable[..., Daemon],
    receiver: AlertReceiver,
) -> None:
    project = alert_config(platforms, tmp_path)
    config = project / "config" / "postbot.toml"
    config.write_text(config.read_text().replace('rate = "20/1h"', 'rate = "2/1h"'))
    env = platforms.env(POSTBOT_ALERT_URL=receiver.apprise_url)
    daemon = start_daemon(project, env)
    for n in range(6):
        platforms.mastodon.inject("/api/v1/statuses", MastodonFault.unprocessable())
        post = enqueue(project, env, f"Abgelehnt {n}", "--now", "--to", "mastodon")
        assert wait_until(functools.partial(failed, project, post), timeout=20)
    time.sleep(1.5)
    assert len(receiver.messages) == 2, receiver.messages
    pending = query(
        sqlite_url(project), "SELECT count(*) AS n FROM incident WHERE message_id IS NULL"
    )
    assert pending[0]["n"] == 4  # they wait for the rate; the next slot sends them as one digest
    assert daemon.terminate() == 0
    assert Counter(m["title"].split(":")[0] for m in receiver.messages) == {"postbot": 2}
