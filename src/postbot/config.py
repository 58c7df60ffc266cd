"""Settings: `config/postbot.toml` plus the environment (and `.env`), as typed frozen objects.

Every key at every level is checked against a schema when the file is loaded (`SCHEMA` below,
each account's platform adding the options it declares), so a typo or a bad value is refused
in one line naming the file, the line and the key, never turned into a default.

Relative paths in the file (the SQLite database, `posts.dir`, path options such as Bluesky's
`session_file`) are resolved against the project folder: the config file's own folder, or
`project_dir` (relative to that folder; the shipped config/postbot.toml says ".."). So postbot
does the same from any working folder (cron, systemd).

Secrets never live in the TOML file: an account names the *environment variables* that hold
its credentials, and `Account.credentials()` reads them only when a platform needs them.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from postbot import config_values as values
from postbot import dotenv_files
from postbot.config_values import language_tag
from postbot.costs import DEFAULT_POST, DEFAULT_POST_WITH_LINK, Prices, parse_money
from postbot.domain import Account
from postbot.errors import ConfigError
from postbot.ops.settings import ALERTS, METRICS, AlertSettings, metrics_address
from postbot.options import (
    Option,
    non_negative_seconds,
    positive_int,
    positive_seconds,
)
from postbot.platforms import PLATFORMS, platform_class
from postbot.schema import Where, check_keys, check_options, check_value, label, suggest, table
from postbot.slot_config import SLOTS, Queue, parse_queues
from postbot.when import DATE_ORDERS, order_for_language

DEFAULT_CONFIG_PATH = Path("config/postbot.toml")
DEFAULT_DATABASE_URL = "sqlite:///var/postbot.db"
ON_DELETE = ("cancel", "keep")  # the first is the default


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
    metrics: str | None = None  # "host:port" for /metrics, /healthz, /readyz; None: off


@dataclass(frozen=True)
class WebSettings:
    """`postbot serve`: who may log in, and which reverse proxies are believed."""

    user: str | None = None
    password_hash: str | None = None  # argon2, made by `postbot passwd`; never shown
    # Addresses of reverse proxies whose X-Forwarded-Proto and X-Forwarded-For are honoured.
    trusted_proxies: tuple[str, ...] = ()

    @property
    def login(self) -> bool:
        return self.user is not None and self.password_hash is not None


@dataclass(frozen=True)
class Settings:
    timezone: ZoneInfo
    database_url: str  # a relative SQLite path is already resolved against project_dir
    accounts: Mapping[str, Account]
    retry: RetrySettings = RetrySettings()
    daemon: DaemonSettings = DaemonSettings()
    source: Path | None = None  # the file these settings came from
    language: str | None = None  # for posts that do not say (e.g. the plain-text seed)
    posts_dir: Path | None = None  # imported by the daemon at start and when files change
    project_dir: Path | None = None  # absolute: what relative paths in the file mean
    date_order: str | None = None  # DMY, MDY or YMD; None: numeric dates are refused
    on_delete: str = "cancel"  # a deleted post file: cancel its unpublished deliveries, or keep
    web: WebSettings = WebSettings()
    alerts: AlertSettings = field(default_factory=AlertSettings)  # [alerts] (postbot.ops)
    queues: Mapping[str, Queue] = field(default_factory=dict)  # [queues.NAME]: shared slots
    x_prices: Prices = field(default_factory=Prices)  # [x_prices]: X per post (postbot.costs)
    feeds: Mapping[str, Any] = field(default_factory=dict)  # [feeds.NAME]: feeds.FeedSettings

    def account(self, name: str) -> Account:
        try:
            return self.accounts[name]
        except KeyError:
            known = ", ".join(sorted(self.accounts)) or "none configured"
            raise ConfigError(f"unknown account '{name}' (known: {known})") from None


# -- the schema: every key postbot reads ---------------------------------------------------------
_USD = "a number of US dollars, e.g. 0.015"
TOP: Mapping[str, Option] = {
    "project_dir": Option(str, ".", help='a folder, relative to this file, e.g. ".."'),
    "timezone": Option(str, "UTC", parse=values.zone, help='a zone name, e.g. "Europe/Berlin"'),
    "language": Option(str, None, parse=language_tag, help='a language tag, e.g. "de"'),
    "date_order": Option(str, None, choices=DATE_ORDERS),
}
TABLES: Mapping[str, Mapping[str, Option]] = {
    "database": {"url": Option(str, DEFAULT_DATABASE_URL, parse=values.database_url)},
    "posts": {
        "dir": Option(
            str, None, path=True, parse=values.existing_folder, help='a folder, e.g. "posts"'
        ),
        "on_delete": Option(str, ON_DELETE[0], choices=ON_DELETE),
    },
    "daemon": {
        "concurrency": Option(int, DaemonSettings.concurrency, parse=positive_int),
        "batch_size": Option(int, DaemonSettings.batch_size, parse=positive_int),
        "poll_interval": Option((int, float), DaemonSettings.poll_interval, parse=positive_seconds),
        "lease_seconds": Option((int, float), DaemonSettings.lease_seconds, parse=positive_seconds),
        "heartbeat_seconds": Option(
            (int, float), DaemonSettings.heartbeat_seconds, parse=positive_seconds
        ),
        "shutdown_grace": Option(
            (int, float), DaemonSettings.shutdown_grace, parse=non_negative_seconds
        ),
        "metrics": METRICS,
    },
    "alerts": ALERTS,
    "retry": {
        "max_attempts": Option(int, RetrySettings.max_attempts, parse=values.at_least_one),
        "base_delay": Option((int, float), RetrySettings.base_delay, parse=non_negative_seconds),
        "max_delay": Option((int, float), RetrySettings.max_delay, parse=non_negative_seconds),
    },
    # What X bills per post, in US dollars (README, "Cost guard for X").
    "x_prices": {
        "post": Option((int, float), float(DEFAULT_POST), parse=parse_money, help=_USD),
        "post_with_link": Option(
            (int, float), float(DEFAULT_POST_WITH_LINK), parse=parse_money, help=_USD
        ),
    },
    "web": {
        "user": Option(str, parse=values.web_user),
        "password_hash": Option(str, parse=values.password_hash),
        "trusted_proxies": Option(
            list, parse=values.addresses, help='addresses, e.g. ["127.0.0.1"]'
        ),
    },
}
# Keys every account takes, beside `credentials` and the options its platform declares.
ACCOUNT: Mapping[str, Option] = {
    "platform": Option(str),
    "base_url": Option(str, parse=values.http_url),
    "char_limit": Option(int, parse=positive_int),
    "pace": Option(str, parse=values.pace, help='a count per period, e.g. "300/3h", or "off"'),
    # Without it: pacing.DEFAULT_MAX_LATENESS (2 h).
    "max_lateness": Option((str, int, float), parse=values.lateness, help='e.g. "2h" or "off"'),
    "slots": SLOTS,  # weekly posting slots (slot_config.py)
}
_ACCOUNT_FIELDS = ("platform", "base_url", "credentials", "char_limit")  # the rest: options
# An environment variable's name: capitals, digits and _. A long run of letters and digits
# without an underscore (AKIA…, a pasted token) is a secret, not a name.
_VARIABLE_NAME = re.compile(r"[A-Z_][A-Z0-9_]{0,63}")
_SECRET_LIKE = re.compile(r"(?=[A-Z0-9]*\d)[A-Z0-9]{16,}")


def load_settings(
    path: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    dotenv: bool = True,
    warn: Callable[[str], None] | None = None,
) -> Settings:
    """Load settings from `path`, `$POSTBOT_CONFIG` or `config/postbot.toml`, in that order.

    With the process environment (`environ` None), `.env` files are read too, never overriding
    a real variable: first the one in the project folder, then the one in the working folder
    (which may name POSTBOT_CONFIG). `warn` gets one line per `.env` file with lines it cannot
    read (default: printed to stderr).
    """
    use_dotenv = dotenv and environ is None
    local_env = dotenv_files.read(Path.cwd() / ".env", warn) if use_dotenv else {}
    env = os.environ if environ is None else environ
    config_path = Path(
        path or env.get("POSTBOT_CONFIG") or local_env.get("POSTBOT_CONFIG") or DEFAULT_CONFIG_PATH
    )
    try:
        text = config_path.read_text(encoding="utf-8")
        raw = tomllib.loads(text)
    except FileNotFoundError:
        raise ConfigError(
            f"{config_path}: config file not found (set POSTBOT_CONFIG or --config)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{config_path}: cannot read config: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{config_path}: invalid TOML: {exc}") from None
    where = Where(config_path, text)
    if use_dotenv:
        project = _project_dir(raw, where)
        if project / ".env" != Path.cwd() / ".env":
            dotenv_files.apply(dotenv_files.read(project / ".env", warn))
        dotenv_files.apply(local_env)
    return parse_settings(raw, config_path, env, where=where)


def parse_settings(
    raw: Mapping[str, Any], source: Path, env: Mapping[str, str], *, where: Where | None = None
) -> Settings:
    """Check `raw` (the parsed TOML of `source`) against the schema and build the Settings."""
    where = where or Where(source)
    check_keys(raw, [*TOP, *TABLES, "accounts", "queues", "feeds"], (), where)
    project = _project_dir(raw, where)
    top = check_options(raw, TOP, (), where, project, defaults=True)
    sections: dict[str, dict[str, Any]] = {}
    for name, options in TABLES.items():
        given = table(raw, name, (), where)
        check_keys(given, options, (name,), where)
        sections[name] = check_options(given, options, (name,), where, project, defaults=True)
    language = top.get("language")
    database_url = env.get("POSTBOT_DATABASE_URL") or _database_in(
        sections["database"]["url"], project, where
    )
    accounts_raw = table(raw, "accounts", (), where)
    accounts = {
        name: _parse_account(name, value, where, project) for name, value in accounts_raw.items()
    }
    queues = parse_queues(table(raw, "queues", (), where), accounts, where)
    retry = RetrySettings(**sections["retry"])
    if retry.max_delay < retry.base_delay:
        raise where.error(("retry", "max_delay"), "retry.max_delay must not be below base_delay")
    posts_dir = sections["posts"].get("dir")
    web = WebSettings(**sections["web"])
    if (web.user is None) != (web.password_hash is None):
        missing = "password_hash" if web.password_hash is None else "user"
        raise where.error(
            ("web", "user" if web.user is not None else "password_hash"),
            f"web.{missing} is missing: a login needs both user and password_hash"
            " (make them with `postbot passwd`)",
        )
    daemon = sections["daemon"]
    daemon["metrics"] = metrics_address(daemon.get("metrics"), env)
    return Settings(
        timezone=top["timezone"],
        database_url=database_url,
        accounts=accounts,
        retry=retry,
        daemon=DaemonSettings(**daemon),
        source=source,
        language=language,
        posts_dir=Path(posts_dir) if posts_dir else None,
        project_dir=project,
        date_order=top.get("date_order") or order_for_language(language),
        on_delete=sections["posts"]["on_delete"],
        web=web,
        alerts=AlertSettings(**sections["alerts"]),
        queues=queues,
        x_prices=Prices(**sections["x_prices"]),
        feeds=_feeds(raw, where, project, accounts, top["timezone"]),
    )


def _feeds(raw: Mapping[str, Any], where: Where, project: Path, accounts: Any, zone: Any) -> Any:
    if "feeds" not in raw:
        return {}
    from postbot.feeds.config import parse_feeds

    return parse_feeds(table(raw, "feeds", (), where), where, project, accounts, zone, language_tag)


def _project_dir(raw: Mapping[str, Any], where: Where) -> Path:
    folder = os.path.dirname(os.path.abspath(where.file))
    option = TOP["project_dir"]
    given = check_value(raw.get("project_dir", "."), option, ("project_dir",), where, Path(folder))
    return Path(os.path.normpath(os.path.join(folder, os.path.expanduser(given))))


def _database_in(url: str, project: Path, where: Where) -> str:
    """sqlite:///var/x.db (a relative path) -> sqlite:////abs/project/var/x.db."""
    match = re.fullmatch(r"(sqlite(?:\+\w+)?):///([^?]*)(\?.*)?", url)
    if not match:
        return url  # another database, or sqlite:// (in memory)
    scheme, database, query = match.group(1), match.group(2), match.group(3) or ""
    if not database or database == ":memory:" or database.startswith(("/", "file:")):
        return url
    resolved = project / database
    # Before project folders, a relative path followed the working folder: a queue there must
    # not be left behind for a new, empty database without a word.
    if (
        not resolved.exists()
        and os.path.isfile(database)
        and os.path.abspath(database) != str(resolved)
    ):
        raise where.error(
            ("database", "url"),
            f"database.url: {database} is read from the project folder ({project}), where there"
            f" is no such file, but the working folder has one ({os.path.abspath(database)}):"
            " set project_dir, or write the database's absolute path",
        )
    return f"{scheme}:///{resolved.as_posix()}{query}"


def _parse_account(name: str, table_: Any, where: Where, project: Path) -> Account:
    path = ("accounts", name)
    key = label(path)
    if not isinstance(table_, dict):
        raise where.error(path, f"{key} must be a table")
    platform = table_.get("platform")
    if platform is None:
        known = ", ".join(PLATFORMS.names())
        raise where.error((*path, "platform"), f"{key}.platform is missing (one of: {known})")
    check_value(platform, ACCOUNT["platform"], (*path, "platform"), where, project)
    if platform not in PLATFORMS:
        raise where.error(
            (*path, "platform"),
            f"{key}.platform: unknown platform '{platform}'"
            f" (known: {', '.join(PLATFORMS.names())}){suggest(platform, PLATFORMS.names())}",
        )
    platform_options = platform_class(platform).options
    options = {**ACCOUNT, **platform_options}
    check_keys(table_, [*options, "credentials"], path, where)
    values = check_options(table_, options, path, where, project)
    most = platform_class(platform).max_char_limit
    if most is not None and values.get("char_limit", 0) > most:
        raise where.error(
            (*path, "char_limit"),
            f"{key}.char_limit: {values['char_limit']} is more than {platform} takes"
            f" ({most}): write at most char_limit = {most}",
        )
    credentials = _credentials(table_.get("credentials", {}), platform, path, where)
    return Account(
        name,
        platform,
        values.get("base_url"),
        credentials,
        values.get("char_limit"),
        {k: v for k, v in values.items() if k not in _ACCOUNT_FIELDS},
        home=project,
    )


def _credentials(value: Any, platform: str, path: tuple[str, ...], where: Where) -> dict[str, str]:
    here = (*path, "credentials")
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise where.error(
            here,
            f"{label(here)} must map each credential to an environment variable name,"
            ' e.g. { access_token = "MASTODON_ACCESS_TOKEN" }',
        )
    # Platforms that declare their credential roles get a typo in a role refused too.
    roles = getattr(platform_class(platform), "credential_roles", None)
    if roles:
        check_keys(value, roles, here, where)
    for role, variable in value.items():
        if not _VARIABLE_NAME.fullmatch(variable) or _SECRET_LIKE.search(variable):
            # Never show the value: it may be the secret itself, pasted in.
            raise where.error(
                (*here, role),
                f"{label((*here, role))} must name an environment variable (capitals, digits"
                " and _, e.g. MASTODON_ACCESS_TOKEN) that holds the secret, not the secret"
                " itself; put the secret in the environment or .env (the value is not shown)",
            )
    return dict(value)
