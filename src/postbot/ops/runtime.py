"""What a daemon runs beside dispatch: alerts (always; they send only with `[alerts] urls_from`)
and, on the opt-in `[daemon] metrics` address, metrics and the health endpoints. Both hang off
the dispatch loop's events (`dispatch/events.py`); the daemon only starts and stops this."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta

from postbot.accounts import redactor
from postbot.dispatch import Dispatcher
from postbot.ops.alerts import Alerts, check_urls
from postbot.ops.checks import Check, readiness
from postbot.service import App

# /readyz: this worker's heartbeat is stale after this many heartbeat intervals.
STALE_BEATS = 3


class OpsRuntime:
    def __init__(
        self,
        app: App,
        dispatcher: Dispatcher,
        *,
        serve: bool,
        live: Callable[[], bool] = lambda: True,
    ) -> None:
        from postbot.ops.health import OpsServer
        from postbot.ops.metrics import Metrics

        settings = app.settings
        self.app, self.dispatcher = app, dispatcher
        self.alerts = Alerts(
            app.store,
            settings,
            clock=dispatcher.clock,
            dry_run=dispatcher.dry_run,
            redactor=redactor(settings),
        )
        if self.alerts.urls:
            check_urls(self.alerts.urls)  # a URL Apprise cannot read: refused at start
        dispatcher.events.subscribe(self.alerts)
        self.server: OpsServer | None = None
        address = settings.daemon.metrics
        if serve and address:
            metrics = Metrics(
                app.store,
                settings,
                dispatcher.worker,
                dry_run=dispatcher.dry_run,
                clock=dispatcher.clock,
            )
            dispatcher.events.subscribe(metrics)
            self.server = OpsServer(address, metrics=metrics.render, ready=self.ready, live=live)

    def ready(self) -> Sequence[Check]:
        d = self.app.settings.daemon
        return readiness(
            self.app.store,
            self.dispatcher.worker,
            self.dispatcher.clock(),
            timedelta(seconds=STALE_BEATS * d.heartbeat_seconds),
            self.app.zone,
        )

    def start(self) -> None:
        if self.server is not None:
            self.server.start()
        # The first heartbeat check once this daemon's own first heartbeat is in.
        self.alerts.start(first_check=2 * self.app.settings.daemon.heartbeat_seconds)

    def stop(self) -> None:
        self.alerts.stop()
        if self.server is not None:
            self.server.stop()
