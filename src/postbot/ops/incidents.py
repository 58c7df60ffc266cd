"""What an operator must hear of: pure functions from what dispatch recorded, or what a check
found, to `NewIncident`s, each with the key that makes it one incident however often it is
raised, and from incidents to the words of an alert.

- a delivery failed for good: one incident per delivery and attempt (`failed:ID:N`);
- its outcome is unknown: likewise (`unknown:ID:N`);
- deliveries were marked missed: one per account and pass;
- an account's credentials were refused (HTTP 401; 403 but on X, which answers 403 to texts
  it refuses too), or are not set: one condition per account (`credentials:NAME`), open until
  the account publishes again; the deliveries that fail meanwhile only count it up, so one
  broken token sends one alert, not one per post;
- no worker sent a heartbeat for `dead_man_minutes`: one condition (`heartbeat`), open until
  one does;
- a `postbot doctor --alert` check failed: one condition per check (`check:NAME`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, tzinfo

from postbot.dispatch.events import Recorded
from postbot.domain import Outcome, Result, Status, Worker
from postbot.operations import Incident, IncidentKind, NewIncident
from postbot.when import local_text

HEARTBEAT_KEY = "heartbeat"
MAX_DIGEST_LINES = 50


def credentials_key(account: str) -> str:
    return f"credentials:{account}"


def check_key(name: str) -> str:
    return HEARTBEAT_KEY if name == "heartbeat" else f"check:{name}"


# Platforms whose 403 refuses a text (a duplicate, a policy) as well as a token or its scopes:
# there, only a 401 says the credentials stopped working.
FORBIDS_TEXTS = frozenset({"x"})


def credentials_refused(result: Result, platform: str) -> bool:
    """A permanent failure that says the account cannot publish at all: its token was refused
    (401; 403 where a 403 means that) or a credential is not set."""
    if result.outcome != Outcome.PERMANENT:
        return False
    if result.error_class == "ConfigError":  # Account.credentials: a variable is not set
        return True
    return result.http_status == 401 or (
        result.http_status == 403 and platform not in FORBIDS_TEXTS
    )


def of_records(records: Sequence[Recorded]) -> list[NewIncident]:
    """The incidents a batch of recorded attempts raises (a dry run's raise none)."""
    found = []
    for record in records:
        item, r = record.claimed, record.result
        if r.dry_run:
            continue
        where = f"post {item.post_id} -> {item.account}"
        if credentials_refused(r, item.platform):
            found.append(
                NewIncident(
                    credentials_key(item.account),
                    IncidentKind.CREDENTIALS,
                    f"account {item.account} ({item.platform}): credentials refused: "
                    f"{r.error_message}; its posts fail until they are fixed"
                    " (postbot accounts check)",
                    account=item.account,
                    condition=True,
                )
            )
        elif r.status == Status.FAILED:
            found.append(
                NewIncident(
                    f"failed:{item.delivery_id}:{item.attempts}",
                    IncidentKind.FAILED,
                    f"{where}: failed: {r.error_message} (postbot retry {item.post_id})",
                    account=item.account,
                    delivery_id=item.delivery_id,
                )
            )
        elif r.status == Status.UNKNOWN:
            found.append(
                NewIncident(
                    f"unknown:{item.delivery_id}:{item.attempts}",
                    IncidentKind.UNKNOWN,
                    f"{where}: outcome unknown: {r.error_message}; check the account, then"
                    f" `postbot resolve {item.post_id} --published URL` or"
                    f" `postbot retry {item.post_id}`",
                    account=item.account,
                    delivery_id=item.delivery_id,
                )
            )
    return found


def working_accounts(records: Sequence[Recorded]) -> set[str]:
    """Accounts that published (for real) in this batch: their credentials work."""
    return {
        r.claimed.account
        for r in records
        if r.result.status == Status.PUBLISHED and not r.result.dry_run
    }


def missed(account: str, count: int, now: datetime) -> NewIncident:
    return NewIncident(
        f"missed:{account}:{now.isoformat()}",
        IncidentKind.MISSED,
        f"{account}: {count} post(s) missed, overdue by more than max_lateness; not sent"
        " (postbot list --status missed; postbot retry ID sends one anyway)",
        account=account,
    )


def heartbeat_silence(
    workers: Sequence[Worker], now: datetime, dead_man: timedelta, zone: tzinfo
) -> NewIncident | None:
    """The dead-man incident when no worker was seen within `dead_man`; None while one was."""
    if workers and max(w.seen_at for w in workers) >= now - dead_man:
        return None
    minutes = dead_man.total_seconds() / 60
    if workers:
        last = max(workers, key=lambda w: w.seen_at)
        seen = f"last: {last.worker} at {local_text(last.seen_at, zone)}"
    else:
        seen = "none is registered"
    return NewIncident(
        HEARTBEAT_KEY,
        IncidentKind.HEARTBEAT,
        f"no postbot worker sent a heartbeat for {minutes:g} min ({seen}): queued posts are not"
        " being published; start `postbot run`",
        condition=True,
    )


def failed_check(name: str, detail: str) -> NewIncident:
    kind = IncidentKind.HEARTBEAT if check_key(name) == HEARTBEAT_KEY else IncidentKind.CHECK
    return NewIncident(check_key(name), kind, f"postbot doctor: {name}: {detail}", condition=True)


def message(incidents: Sequence[Incident], zone: tzinfo) -> tuple[str, str]:
    """The title and body of one alert message: one incident, or a digest of several."""
    if len(incidents) == 1:
        i = incidents[0]
        title = f"postbot: {i.kind}" + (f" ({i.account})" if i.account else "")
        body = f"{i.subject}\nsince {local_text(i.opened_at, zone)}"
        if i.seen > 1:
            body += f", seen {i.seen} times"
        return title, body
    lines = [
        f"- {i.subject}" + (f" (x{i.seen})" if i.seen > 1 else "")
        for i in incidents[:MAX_DIGEST_LINES]
    ]
    if len(incidents) > MAX_DIGEST_LINES:
        lines.append(
            f"- and {len(incidents) - MAX_DIGEST_LINES} more (postbot status, postbot log)"
        )
    kinds = sorted({str(i.kind) for i in incidents})
    first = local_text(min(i.opened_at for i in incidents), zone)
    return (
        f"postbot: {len(incidents)} alerts ({', '.join(kinds)})",
        f"since {first}:\n" + "\n".join(lines),
    )
