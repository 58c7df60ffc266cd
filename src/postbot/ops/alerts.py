"""Alerts through Apprise (email, Matrix, Slack, Telegram, ntfy, a JSON webhook and more):
deduplicated and rate-limited in the database, so every process that raises the same incident
(two workers, a daemon and `postbot doctor --alert` from cron) tells of it once, and together
they send at most `[alerts] rate` messages per period. Incidents beyond the rate wait and go
out as one digest when the period allows.

The flow: an incident is opened in the database as soon as it is found (a recorded attempt, a
check), so it survives the process; `sweep` then takes what is pending as one message within
the rate (`Store.take_alerts`), sends it, and gives it back to the queue if no target took it.
The daemon sweeps from a thread of its own (a slow mail server never holds up a publish), and
every minute checks the heartbeats (the dead-man alert any live process can send).

Secrets: the text passes through the Redactor of every account credential and every alert URL
(an Apprise URL holds a token or a password), and Apprise's own log is kept to warnings.
A dry run sends nothing and stores nothing: it logs the alert it would send.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import unquote, urlsplit

from postbot.config import Settings
from postbot.dispatch.events import Observer, Recorded
from postbot.errors import ConfigError, PostbotError
from postbot.operations import Incident, IncidentKind, NewIncident
from postbot.ops import incidents
from postbot.redact import MIN_LENGTH, Redactor
from postbot.store import Store

log = logging.getLogger("postbot.alerts")

CHECK_EVERY = 60.0  # seconds between the daemon's heartbeat checks and sweeps
SECRET_PART = 8  # characters: a URL's path segment or query value this long may be a token


def url_secrets(urls: Sequence[str]) -> list[str]:
    """What of each Apprise URL must never be shown: the URL, the part after its scheme (Apprise
    logs the http:// form of a json:// URL), its user and password, and every path segment or
    query value long enough to be a token."""
    found: list[str] = []
    for url in urls:
        found.append(url)
        parts = urlsplit(url)
        found.append(url.split("://", 1)[-1])
        for value in (parts.username, parts.password):
            if value:
                found += [value, unquote(value)]
        pieces = [*parts.path.split("/"), *(q.partition("=")[2] for q in parts.query.split("&"))]
        found += [unquote(p) for p in pieces if len(p) >= SECRET_PART]
    return [s for s in found if len(s) >= MIN_LENGTH]


def configured_url_secrets(
    settings: Settings, environ: Mapping[str, str] | None = None
) -> list[str]:
    """The alert URLs' secrets, for the log's Redactor (nothing for a variable not set)."""
    try:
        return url_secrets(settings.alerts.urls(environ))
    except ConfigError:
        return []


def _notifier(urls: Sequence[str]) -> Any:
    """An Apprise object with every target; ConfigError if it cannot read one (never shown)."""
    import apprise

    logging.getLogger("apprise").setLevel(logging.WARNING)  # its debug lines show the URLs
    notifier = apprise.Apprise()
    for url in urls:
        if not notifier.add(url):
            raise ConfigError(
                "alerts.urls_from: a variable holds a URL Apprise cannot read (the value is not"
                " shown; see https://github.com/caronc/apprise/wiki for the URL forms)"
            )
    return notifier


def check_urls(urls: Sequence[str]) -> None:
    """ConfigError if Apprise cannot read one of the URLs."""
    _notifier(urls)


def apprise_send(urls: Sequence[str], title: str, body: str) -> bool:
    """True if every target took the message."""
    return bool(_notifier(urls).notify(body=body, title=title))


class Alerts(Observer):
    """The alerts of one process: opens incidents as dispatch records them, and sends."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        *,
        clock: Callable[[], datetime],
        dry_run: bool = False,
        environ: Mapping[str, str] | None = None,
        redactor: Redactor | None = None,
        urls: Sequence[str] | None = None,
        send: Callable[[Sequence[str], str, str], bool] = apprise_send,
    ) -> None:
        """`urls` None: the configured ones (ConfigError if a variable is not set)."""
        self.store = store
        self.settings = settings
        self.clock = clock
        self.dry_run = dry_run
        if urls is None:  # a dry run sends nothing, so it needs no URL
            urls = settings.alerts.urls(environ) if settings.alerts.enabled and not dry_run else []
        self.urls = list(urls)
        self.redact = (redactor or Redactor()).with_secrets(*url_secrets(self.urls))
        self._send = send
        self._rate = settings.alerts.pace()
        self._failing: set[str] = set()  # accounts with credentials incidents open
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # one sweep at a time in this process

    # -- dispatch events (in the dispatch thread: database writes only, no sending) --------
    def recorded(self, records: Sequence[Recorded]) -> None:
        self.raise_all(incidents.of_records(records))
        back = incidents.working_accounts(records) & self._failing
        if back:
            self.store.resolve_incidents([incidents.credentials_key(a) for a in back], self.clock())
            self._failing -= back
            log.info("credentials of %s work again", ", ".join(sorted(back)))

    def missed(self, account: str, count: int, now: datetime, *, dry_run: bool) -> None:
        self.raise_all([incidents.missed(account, count, now)])

    # -- incidents ---------------------------------------------------------------------------
    def raise_all(self, found: Sequence[NewIncident]) -> int:
        """Open the incidents (each once, whoever else raises it); wake the sender. Returns how
        many were new."""
        if not found:
            return 0
        if self.dry_run:
            for new in found:
                log.info("alert (dry run, not sent): %s", self.redact(new.subject))
            return 0
        now = self.clock()
        opened = 0
        for new in found:
            if new.kind == IncidentKind.CREDENTIALS and new.account:
                self._failing.add(new.account)
            if self.store.open_incident(new, now) is not None:
                opened += 1
                log.warning("incident: %s", self.redact(new.subject))
        if opened:
            self._wake.set()
        return opened

    def resolve(self, keys: Sequence[str]) -> int:
        return 0 if self.dry_run else self.store.resolve_incidents(keys, self.clock())

    def check_heartbeats(self) -> None:
        """The dead-man alert: no worker seen within `dead_man_minutes`; resolved once one is."""
        if self.dry_run:
            return
        now = self.clock()
        workers = self.store.workers()
        silence = incidents.heartbeat_silence(
            workers, now, self.settings.alerts.dead_man, self.settings.timezone
        )
        if silence is None:
            self.resolve([incidents.HEARTBEAT_KEY])
        else:
            self.raise_all([silence])

    # -- sending -----------------------------------------------------------------------------
    def sweep(self) -> int:
        """Send what is pending, as one message per rate slot; returns how many incidents went
        out. Without alert URLs, incidents are only recorded (status and doctor show them)."""
        if self.dry_run or not self.urls:
            return 0
        sent = 0
        with self._lock:
            while True:
                batch = self.store.take_alerts(self.clock(), self._rate)
                if not batch:
                    return sent
                if not self._deliver(batch):
                    self.store.release_alerts([i.id for i in batch])
                    return sent
                sent += len(batch)

    def _deliver(self, batch: Sequence[Incident]) -> bool:
        title, body = incidents.message(batch, self.settings.timezone)
        title, body = self.redact(title), self.redact(body)
        try:
            ok = self._send(self.urls, title, body)
        except Exception as exc:  # a plugin's surprise: never the URL, which it may quote
            log.error("alert not sent: %s", self.redact(f"{type(exc).__name__}: {exc}"))
            return False
        if ok:
            log.info("alert sent: %s (%d incident(s))", title, len(batch))
        else:
            log.error(
                "alert not sent: a target refused it or cannot be reached; tried again within %g s",
                CHECK_EVERY,
            )
        return ok

    # -- the daemon's thread -------------------------------------------------------------------
    def start(self, first_check: float) -> None:
        """Sweep when woken, check heartbeats every minute (the first after `first_check` s,
        once this daemon's own heartbeat is in)."""
        self._failing = {i.account for i in self._open_credentials() if i.account}
        self._thread = threading.Thread(
            target=self._run, args=(first_check,), name="alerts", daemon=True
        )
        self._thread.start()

    def _open_credentials(self) -> list[Incident]:
        try:
            return self.store.open_incidents(IncidentKind.CREDENTIALS)
        except PostbotError:
            return []

    def _run(self, first_check: float) -> None:
        check_at = time.monotonic() + first_check
        while not self._stop.is_set():
            self._wake.wait(max(0.0, check_at - time.monotonic()))
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                if time.monotonic() >= check_at:
                    check_at = time.monotonic() + CHECK_EVERY
                    self.check_heartbeats()
                self.sweep()
            except PostbotError as exc:
                log.warning("alerts: %s", exc)
            except Exception:
                log.exception("alerts: unexpected failure")

    def stop(self) -> None:
        """Stop the thread, then send what is pending (a last sweep)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(10)
        try:
            self.sweep()
        except PostbotError as exc:
            log.warning("alerts: %s", exc)
