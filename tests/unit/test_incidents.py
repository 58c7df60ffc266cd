"""What a recorded attempt means to an operator (postbot.ops.incidents, pure), and what of an
alert URL is a secret (postbot.ops.alerts.url_secrets)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from postbot.dispatch.events import Recorded
from postbot.domain import Claimed, Outcome, Result, Status, Worker
from postbot.operations import Incident, IncidentKind
from postbot.ops import incidents
from postbot.ops.alerts import url_secrets

T0 = datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC)
ZONE = ZoneInfo("Europe/Berlin")


def recorded(
    status: Status,
    outcome: Outcome,
    *,
    platform: str = "mastodon",
    http: int | None = None,
    error: str | None = None,
    error_class: str | None = "PermanentError",
    dry_run: bool = False,
) -> Recorded:
    item = Claimed(7, 3, "news", platform, "k", "Text", T0, 1, T0, None, None, (), ())
    return Recorded(
        item,
        Result(
            7,
            outcome,
            T0,
            T0,
            status,
            error_class=error_class,
            error_message=error,
            http_status=http,
            dry_run=dry_run,
        ),
    )


def test_a_refused_token_is_one_condition_per_account_not_a_failure_per_post() -> None:
    found = incidents.of_records(
        [
            recorded(
                Status.FAILED, Outcome.PERMANENT, http=401, error="access token rejected (HTTP 401)"
            )
        ]
    )
    [incident] = found
    assert incident.key == "credentials:news" and incident.condition
    assert incident.kind == IncidentKind.CREDENTIALS and "HTTP 401" in incident.subject


def test_x_forbidding_a_text_is_a_failure_not_a_credential() -> None:
    for error in (
        "X create tweet: 403 Forbidden: You are not permitted",
        "duplicate content: X refused the post",
    ):
        [incident] = incidents.of_records(
            [recorded(Status.FAILED, Outcome.PERMANENT, platform="x", http=403, error=error)]
        )
        assert incident.kind == IncidentKind.FAILED and incident.key == "failed:7:1"


def test_a_missing_variable_is_a_credentials_condition() -> None:
    [incident] = incidents.of_records(
        [recorded(Status.FAILED, Outcome.PERMANENT, error_class="ConfigError", error="not set")]
    )
    assert incident.kind == IncidentKind.CREDENTIALS


def test_unknown_and_transient_and_dry_runs() -> None:
    [unknown] = incidents.of_records([recorded(Status.UNKNOWN, Outcome.UNKNOWN, error="timeout")])
    assert unknown.key == "unknown:7:1" and "postbot resolve 3 --published URL" in unknown.subject
    assert incidents.of_records([recorded(Status.QUEUED, Outcome.TRANSIENT, http=503)]) == []
    assert (
        incidents.of_records([recorded(Status.FAILED, Outcome.PERMANENT, http=401, dry_run=True)])
        == []
    )
    published = recorded(Status.PUBLISHED, Outcome.PUBLISHED, error_class=None)
    assert incidents.working_accounts([published]) == {"news"}


def test_the_dead_man_fires_only_without_a_fresh_heartbeat() -> None:
    worker = Worker("h:1:a", "h", 1, False, T0, T0)
    assert (
        incidents.heartbeat_silence(
            [worker], T0 + timedelta(minutes=14), timedelta(minutes=15), ZONE
        )
        is None
    )
    late = incidents.heartbeat_silence(
        [worker], T0 + timedelta(minutes=16), timedelta(minutes=15), ZONE
    )
    assert late is not None and late.key == "heartbeat" and "h:1:a" in late.subject
    none = incidents.heartbeat_silence([], T0, timedelta(minutes=15), ZONE)
    assert none is not None and "none is registered" in none.subject


def test_a_digest_lists_every_incident() -> None:
    made = [
        Incident(
            i,
            f"failed:{i}:1",
            IncidentKind.FAILED,
            f"post {i} failed",
            "news",
            i,
            False,
            T0,
            T0,
            2 if i == 1 else 1,
            None,
            None,
        )
        for i in range(1, 4)
    ]
    title, body = incidents.message(made, ZONE)
    assert title == "postbot: 3 alerts (failed)"
    assert body.splitlines()[1:] == ["- post 1 failed (x2)", "- post 2 failed", "- post 3 failed"]
    title, body = incidents.message(made[:1], ZONE)
    assert title == "postbot: failed (news)" and "seen 2 times" in body


def test_every_part_of_an_alert_url_that_can_be_a_token_is_secret() -> None:
    found = url_secrets(
        [
            "json://127.0.0.1:9/hook/SECRET-TOKEN-4711?key=abcdefgh123",
            "mailto://user:pa%24%24word@example.org",
        ]
    )
    assert "SECRET-TOKEN-4711" in found and "abcdefgh123" in found
    assert "127.0.0.1:9/hook/SECRET-TOKEN-4711?key=abcdefgh123" in found  # as Apprise logs it
    assert "pa$$word" in found and "hook" not in found
