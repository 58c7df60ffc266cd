"""The settings of operations: `[daemon] metrics` (where /metrics, /healthz and /readyz listen)
and the `[alerts]` table, declared as options so the config schema checks every key.

Apprise URLs carry secrets (a bot token, a password), so, like credentials, they never go in
the TOML file: `urls_from` names the environment variables that hold them, and the values are
read only when alerts are sent, and never shown.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from postbot.errors import ConfigError
from postbot.options import Option

if TYPE_CHECKING:
    from postbot.pacing import Pace

METRICS_ENV = "POSTBOT_METRICS"  # overrides [daemon] metrics (the container image sets it)
DEFAULT_RATE = "10/1h"
DEFAULT_DEAD_MAN_MINUTES = 15.0
_ADDRESS = re.compile(r"(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<host>[A-Za-z0-9.-]+)):(?P<port>\d{1,5})")
_VARIABLE = re.compile(r"[A-Z_][A-Z0-9_]{0,63}")


def listen_address(value: str) -> tuple[str, int]:
    """'127.0.0.1:9750' -> ('127.0.0.1', 9750); '[::1]:9750' -> ('::1', 9750)."""
    match = _ADDRESS.fullmatch(value.strip())
    port = int(match.group("port")) if match else 0
    if not match or not 1 <= port <= 65535:
        raise ValueError(
            f"'{value}' must be a host and port to listen on, e.g. \"127.0.0.1:9750\""
            ' ("0.0.0.0:9750" in a container)'
        )
    return match.group("v6") or match.group("host"), port


def _address(value: str) -> str:
    listen_address(value)
    return value


def _variables(value: list[Any]) -> tuple[str, ...]:
    for name in value:
        if not isinstance(name, str) or not _VARIABLE.fullmatch(name):
            # Never the value: it may be the URL itself, pasted in.
            raise ValueError(
                "must list the names of environment variables that hold Apprise URLs (capitals,"
                ' digits and _, e.g. ["POSTBOT_ALERT_URL"]), not the URLs themselves'
                " (the value is not shown)"
            )
    return tuple(value)


def _minutes(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ValueError("must be a positive number of minutes, e.g. 15")
    return float(value)


def _rate(value: str) -> str:
    from postbot.pacing import Pace

    try:
        pace = Pace.parse(value, "rate")
    except ConfigError as exc:
        raise ValueError(str(exc).removeprefix("rate: ").replace("pace ", "", 1)) from None
    if pace is None:
        raise ValueError('must be a count per period, e.g. "10/1h" (alerts are always limited)')
    return value


METRICS = Option(str, None, parse=_address, help='a host and port, e.g. "127.0.0.1:9750"')
ALERTS: Mapping[str, Option] = {
    "urls_from": Option(list, [], parse=_variables, help='a list, e.g. ["POSTBOT_ALERT_URL"]'),
    "dead_man_minutes": Option((int, float), DEFAULT_DEAD_MAN_MINUTES, parse=_minutes),
    "rate": Option(str, DEFAULT_RATE, parse=_rate, help='a count per period, e.g. "10/1h"'),
}


@dataclass(frozen=True)
class AlertSettings:
    urls_from: tuple[str, ...] = ()  # environment variables, each one or more Apprise URLs
    dead_man_minutes: float = DEFAULT_DEAD_MAN_MINUTES
    rate: str = DEFAULT_RATE  # alert messages per period; more wait, then go as one digest

    @property
    def enabled(self) -> bool:
        return bool(self.urls_from)

    @property
    def dead_man(self) -> timedelta:
        return timedelta(minutes=self.dead_man_minutes)

    def pace(self) -> Pace:
        from postbot.pacing import Pace

        pace = Pace.parse(self.rate, "alerts.rate")
        assert pace is not None  # refused when the config was read
        return pace

    def urls(self, environ: Mapping[str, str] | None = None) -> list[str]:
        """The Apprise URLs, from the variables `urls_from` names (several in one variable:
        separated by spaces or commas). ConfigError naming the variable, never its value."""
        env = os.environ if environ is None else environ
        urls: list[str] = []
        for name in self.urls_from:
            value = env.get(name, "").strip()
            if not value:
                raise ConfigError(
                    f"alerts.urls_from: environment variable {name} is not set (put an Apprise"
                    " URL in it, in the environment or in .env)"
                )
            urls += [part for part in re.split(r"[\s,]+", value) if part]
        return urls


def metrics_address(configured: str | None, environ: Mapping[str, str] | None = None) -> str | None:
    """`[daemon] metrics`, unless POSTBOT_METRICS says otherwise (checked alike)."""
    env = os.environ if environ is None else environ
    given = env.get(METRICS_ENV, "").strip()
    if not given:
        return configured
    try:
        listen_address(given)
    except ValueError as exc:
        raise ConfigError(f"{METRICS_ENV}: {exc}") from None
    return given
