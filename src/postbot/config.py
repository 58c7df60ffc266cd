"""Settings: `config/postbot.toml` plus the environment (and `.env`), as typed frozen objects.

Secrets never live in the TOML file: an account names the *environment variables* that hold
its credentials, and `Account.credentials()` reads them only when a platform needs them.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from postbot.domain import Account
from postbot.errors import ConfigError

DEFAULT_CONFIG_PATH = Path("config/postbot.toml")
DEFAULT_DATABASE_URL = "sqlite:///var/postbot.db"

# Keys an account table may carry besides its platform-specific options.
_ACCOUNT_KEYS = {"platform", "base_url", "credentials", "char_limit"}


@dataclass(frozen=True)
class RetrySettings:
    max_attempts: int = 5
    base_delay: float = 30.0  # seconds before the second attempt; doubles each time
    max_delay: float = 3600.0


@dataclass(frozen=True)
class DaemonSettings:
    concurrency: int = 8  # publishes in flight at once
    batch_size: int = 200  # deliveries claimed per statement
    poll_interval: float = 0.5  # seconds between cheap "did anything change?" checks
    lease_seconds: float = 300.0  # a claim older than this belongs to a dead worker
    heartbeat_seconds: float = 10.0
    shutdown_grace: float = 30.0  # how long SIGTERM waits for publishes in flight


@dataclass(frozen=True)
class Settings:
    timezone: ZoneInfo
    database_url: str
    accounts: Mapping[str, Account]
    retry: RetrySettings = RetrySettings()
    daemon: DaemonSettings = DaemonSettings()
    source: Path | None = None  # the file these settings came from
    language: str | None = None  # for posts that do not say (e.g. the plain-text seed)
    posts_dir: Path | None = None  # imported by the daemon at start and when files change

    def account(self, name: str) -> Account:
        try:
            return self.accounts[name]
        except KeyError:
            known = ", ".join(sorted(self.accounts)) or "none configured"
            raise ConfigError(f"unknown account '{name}' (known: {known})") from None


def load_settings(
    path: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    dotenv: bool = True,
) -> Settings:
    """Load settings from `path`, `$POSTBOT_CONFIG` or `config/postbot.toml`, in that order.

    `.env` in the working directory is read first (without overriding the real environment),
    so `POSTBOT_CONFIG` and `POSTBOT_DATABASE_URL` may live there too.
    """
    if dotenv and environ is None:
        from dotenv import load_dotenv

        load_dotenv(Path.cwd() / ".env", override=False)
    env = os.environ if environ is None else environ
    config_path = Path(path or env.get("POSTBOT_CONFIG") or DEFAULT_CONFIG_PATH)
    try:
        raw = tomllib.loads(config_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"{config_path}: config file not found (set POSTBOT_CONFIG or --config)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{config_path}: cannot read config: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{config_path}: invalid TOML: {exc}") from None
    return parse_settings(raw, config_path, env)


def parse_settings(raw: Mapping[str, Any], where: Path, env: Mapping[str, str]) -> Settings:
    tz_name = _get(raw, "timezone", str, where, "UTC")
    try:
        timezone = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{where}: timezone: unknown time zone '{tz_name}'") from None

    database = _table(raw, "database", where)
    database_url = env.get("POSTBOT_DATABASE_URL") or _get(
        database, "url", str, where, DEFAULT_DATABASE_URL, "database.url"
    )

    accounts_raw = _table(raw, "accounts", where)
    accounts = {name: _parse_account(name, table, where) for name, table in accounts_raw.items()}
    retry_raw = _table(raw, "retry", where)
    retry = RetrySettings(
        max_attempts=_get(retry_raw, "max_attempts", int, where, 5, "retry.max_attempts"),
        base_delay=float(
            _get(retry_raw, "base_delay", (int, float), where, 30, "retry.base_delay")
        ),
        max_delay=float(_get(retry_raw, "max_delay", (int, float), where, 3600, "retry.max_delay")),
    )
    if retry.max_attempts < 1:
        raise ConfigError(f"{where}: retry.max_attempts must be at least 1")
    daemon_raw = _table(raw, "daemon", where)
    defaults = DaemonSettings()
    daemon = DaemonSettings(
        **{
            key: _daemon_value(daemon_raw, key, getattr(defaults, key), where)
            for key in defaults.__dataclass_fields__
        }
    )
    if daemon.concurrency < 1 or daemon.batch_size < 1:
        raise ConfigError(f"{where}: daemon.concurrency and daemon.batch_size must be positive")
    language = _get(raw, "language", str, where, None)
    posts = _table(raw, "posts", where)
    posts_dir = _get(posts, "dir", str, where, None, "posts.dir")
    return Settings(
        timezone, database_url, accounts, retry, daemon, where, language,
        Path(posts_dir) if posts_dir else None,
    )  # fmt: skip


def _parse_account(name: str, table: Any, where: Path) -> Account:
    key = f"accounts.{name}"
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: {key} must be a table")
    platform = table.get("platform")
    if not isinstance(platform, str) or not platform:
        raise ConfigError(f"{where}: {key}.platform is missing")
    from postbot.platforms import PLATFORMS  # the registry only: no platform module

    if platform not in PLATFORMS:
        raise ConfigError(
            f"{where}: {key}.platform: unknown platform '{platform}'"
            f" (known: {', '.join(PLATFORMS.names())})"
        )
    credentials = table.get("credentials", {})
    if not isinstance(credentials, dict) or not all(
        isinstance(v, str) for v in credentials.values()
    ):
        raise ConfigError(
            f"{where}: {key}.credentials must map each credential to an environment variable name"
        )
    char_limit = _get(table, "char_limit", int, where, None, f"{key}.char_limit")
    base_url = _get(table, "base_url", str, where, None, f"{key}.base_url")
    options = {k: v for k, v in table.items() if k not in _ACCOUNT_KEYS}
    return Account(name, platform, base_url, dict(credentials), char_limit, options)


def _daemon_value(raw: Mapping[str, Any], key: str, default: int | float, where: Path) -> Any:
    # A count (concurrency, batch_size) must be a whole number: 2.5 is refused, not cut to 2.
    kind: type | tuple[type, ...] = int if isinstance(default, int) else (int, float)
    return type(default)(_get(raw, key, kind, where, default, f"daemon.{key}"))


def _table(raw: Mapping[str, Any], key: str, where: Path) -> dict[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: [{key}] must be a table")
    return value


def _get(
    raw: Mapping[str, Any],
    key: str,
    kind: type | tuple[type, ...],
    where: Path,
    default: Any,
    label: str | None = None,
) -> Any:
    value = raw.get(key, default)
    if value is default:
        return value
    if isinstance(value, bool) or not isinstance(value, kind):
        raise ConfigError(f"{where}: {label or key}: wrong type ({type(value).__name__})")
    return value
