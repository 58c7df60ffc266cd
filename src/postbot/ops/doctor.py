"""`postbot doctor`: every check an operator would make by hand, one line each, OK or the reason.

The config is valid; the database reachable, migrated and writable; every account's credentials
present (`online`: it logs in, and the clock agrees with the platforms' `Date` headers); disk
space beside the SQLite database; the posts folder readable; a worker's heartbeat fresh
(within `[alerts] dead_man_minutes`); nothing stuck in `publishing` past its lease; alert URLs
readable by Apprise.

With `alert`, each failing check opens an incident (the dead-man alert when no heartbeat is
fresh) and each passing one ends its incident; then pending alerts are sent within the rate.
Offline, doctor reads a few indexed rows and never loads a client library.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

from postbot.config import Settings, load_settings
from postbot.errors import PostbotError
from postbot.operations import IncidentKind, NewIncident
from postbot.ops import checks, incidents
from postbot.ops.checks import Check
from postbot.store import Store, open_store

MIN_FREE = 100 * 2**20  # bytes free beside the database, at the least
MAX_SKEW = 60.0  # seconds the clock may differ from a platform's (Date has whole seconds)
POST_SUFFIXES = (".md", ".markdown", ".txt")


@dataclass(frozen=True)
class DoctorReport:
    checks: tuple[Check, ...]
    alerts_sent: int | None = None  # with --alert: incidents told of by this run

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)


def run_doctor(
    config_path: str | Path | None, *, online: bool = False, alert: bool = False
) -> DoctorReport:
    try:
        settings = load_settings(config_path)
    except PostbotError as exc:
        return DoctorReport((Check("config", False, str(exc)),))
    found = [Check("config", True, str(settings.source) if settings.source else "")]
    store: Store | None = None
    try:
        store = open_store(settings.database_url)
        found += checks.database(store)
    except PostbotError as exc:
        found.append(Check("database", False, str(exc)))
    if store is not None and not all(c.ok for c in found):
        store.dispose()
        store = None
    now = datetime.now(UTC)
    try:
        found += _accounts(settings, store, online)
        found.append(
            _clock(settings, now)
            if online
            else Check(
                "clock",
                True,
                "not compared offline; --online compares it with the platforms' Date headers",
            )
        )
        found += [_disk(settings), _posts(settings)]
        if store is not None:
            gauges = store.queue_gauges(now)
            found.append(
                checks.heartbeat(gauges.workers, now, settings.alerts.dead_man, settings.timezone)
            )
            found.append(checks.stuck(gauges, settings.timezone))
        else:
            unchecked = "not checked: the database failed its check above"
            found += [Check("heartbeat", False, unchecked), Check("publishing", False, unchecked)]
        found.append(_alert_urls(settings, required=alert))
        sent = _alert(settings, store, found, now) if alert and store is not None else None
        return DoctorReport(tuple(found), sent)
    finally:
        if store is not None:
            store.dispose()


def _accounts(settings: Settings, store: Store | None, online: bool) -> list[Check]:
    failing = {}
    if store is not None:
        failing = {i.account: i for i in store.open_incidents("credentials") if i.account}
    if online:
        from postbot.accounts import check_accounts

        rows = {r["account"]: r for r in check_accounts(settings)}
    found = []
    for name, account in sorted(settings.accounts.items()):
        label = f"account {name}"
        try:
            account.credentials()
        except PostbotError as exc:
            found.append(Check(label, False, str(exc).removeprefix(f"account '{name}': ")))
            continue
        if online:
            row = rows[name]
            ok = bool(row["ok"])
            found.append(
                Check(label, ok, f"logged in as {row['identity']}" if ok else row["error"])
            )
        elif name in failing:
            i = failing[name]
            found.append(Check(label, False, f"{i.subject} (postbot doctor --online logs in)"))
        else:
            found.append(Check(label, True, "credentials set; --online logs in"))
    return found


def _clock(settings: Settings, now: datetime) -> Check:
    """Compared with the `Date` header of each account's server."""
    import requests

    from postbot.platforms.x import API_HOST

    hosts = sorted(
        {a.base_url or (API_HOST if a.platform == "x" else "") for a in settings.accounts.values()}
        - {""}
    )
    worst: tuple[float, str] | None = None
    for host in hosts:
        try:
            answer = requests.head(host, timeout=10, allow_redirects=False)
            said = answer.headers.get("Date")
        except requests.RequestException as exc:
            return Check("clock", False, f"cannot ask {host} for its time: {type(exc).__name__}")
        if not said:
            continue
        skew = (datetime.now(UTC) - parsedate_to_datetime(said)).total_seconds()
        if worst is None or abs(skew) > abs(worst[0]):
            worst = (skew, host)
    if worst is None:
        return Check("clock", True, "no server said its time")
    skew, host = worst
    if abs(skew) > MAX_SKEW:
        ahead = "ahead of" if skew > 0 else "behind"
        return Check(
            "clock",
            False,
            f"{abs(skew):.0f} s {ahead} {host}: keep the clock in sync"
            " (NTP); due times, leases and pace windows depend on it",
        )
    return Check("clock", True, f"within {abs(skew):.0f} s of {len(hosts)} server(s)")


def _sqlite_path(settings: Settings) -> Path | None:
    url = settings.database_url
    if not url.startswith("sqlite") or ":///" not in url:
        return None
    path = url.split(":///", 1)[1].split("?", 1)[0]
    return Path(path) if path and path != ":memory:" else None


def _disk(settings: Settings) -> Check:
    path = _sqlite_path(settings)
    if path is None:
        return Check("disk", True, "not checked: the database is not a local SQLite file")
    folder = path.parent
    try:
        free = shutil.disk_usage(folder).free
    except OSError as exc:
        return Check("disk", False, f"cannot read the free space of {folder}: {exc.strerror}")
    size = sum(p.stat().st_size for p in (path, path.with_name(path.name + "-wal")) if p.exists())
    need = max(MIN_FREE, size)  # a backup, or a VACUUM, needs about one more copy
    shown = f"{free / 2**30:.1f} GiB free in {folder}"
    if free < need:
        return Check(
            "disk",
            False,
            f"only {shown}; the database needs {need / 2**20:.0f} MiB"
            " (its size, at least 100 MiB) to grow and to be backed up",
        )
    return Check("disk", True, shown)


def _posts(settings: Settings) -> Check:
    folder = settings.posts_dir
    if folder is None:
        return Check("posts", True, "no [posts] dir configured")
    try:
        files = [p for p in folder.iterdir() if p.suffix.lower() in POST_SUFFIXES]
    except OSError as exc:
        return Check("posts", False, f"cannot read the folder {folder}: {exc.strerror}")
    unreadable = [p.name for p in files if not os.access(p, os.R_OK)]
    if unreadable:
        return Check("posts", False, f"cannot read {', '.join(sorted(unreadable))} in {folder}")
    return Check("posts", True, f"{folder}, {len(files)} post file(s)")


def _alert_urls(settings: Settings, *, required: bool) -> Check:
    if not settings.alerts.enabled:
        if required:
            return Check("alerts", False, "--alert, but no [alerts] urls_from is configured")
        return Check("alerts", True, "none configured ([alerts] urls_from)")
    from postbot.ops.alerts import check_urls

    try:
        urls = settings.alerts.urls()
        check_urls(urls)
    except PostbotError as exc:
        return Check("alerts", False, str(exc))
    return Check("alerts", True, f"{len(urls)} target(s)")


def _alert(settings: Settings, store: Store, found: list[Check], now: datetime) -> int:
    """Open an incident for each failing check, end those of the passing ones, send."""
    from postbot.accounts import redactor
    from postbot.ops.alerts import Alerts

    # Without readable alert URLs (the alerts check says why) incidents are only recorded.
    usable = all(c.ok for c in found if c.name == "alerts") and settings.alerts.enabled
    urls = settings.alerts.urls() if usable else []
    alerts = Alerts(store, settings, clock=lambda: now, redactor=redactor(settings), urls=urls)
    raised, ended = [], []
    for check in found:
        if check.name == "alerts":
            continue
        if check.name.startswith("account "):
            account = check.name.removeprefix("account ")
            key = incidents.credentials_key(account)
            if check.ok:
                if "logged in" in check.detail:  # only a login proves the credentials work
                    ended.append(key)
            elif not any(i.account == account for i in store.open_incidents("credentials")):
                raised.append(_credentials(account, check.detail))
            continue
        if check.ok:
            ended.append(incidents.check_key(check.name))
        elif check.name == "heartbeat":
            workers = store.workers()
            silence = incidents.heartbeat_silence(
                workers, now, settings.alerts.dead_man, settings.timezone
            )
            raised.append(silence or incidents.failed_check(check.name, check.detail))
        else:
            raised.append(incidents.failed_check(check.name, check.detail))
    alerts.resolve(ended)
    alerts.raise_all(raised)
    return alerts.sweep()


def _credentials(account: str, detail: str) -> NewIncident:
    return NewIncident(
        incidents.credentials_key(account),
        IncidentKind.CREDENTIALS,
        f"account {account}: {detail}",
        account=account,
        condition=True,
    )
