"""postbot.config: the TOML file plus the environment -> Settings; secrets only from the env."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from postbot.config import (
    DEFAULT_DATABASE_URL,
    Account,
    DaemonSettings,
    RetrySettings,
    load_settings,
)
from postbot.errors import ConfigError, UserError

REPO_CONFIG = Path(__file__).resolve().parents[2] / "config" / "postbot.toml"

MINIMAL = """
timezone = "Europe/Berlin"

[accounts.main]
platform = "dryrun"
"""


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "postbot.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def _refused(path: Path, environ: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        load_settings(path, environ={} if environ is None else environ)
    return str(info.value)


# -- the file ------------------------------------------------------------------------------


def test_minimal_config_and_defaults(tmp_path: Path) -> None:
    path = _config(tmp_path, MINIMAL)
    settings = load_settings(path, environ={})
    assert settings.timezone == ZoneInfo("Europe/Berlin")
    # The default database path is read from the config file's folder, not the working one.
    assert DEFAULT_DATABASE_URL == "sqlite:///var/postbot.db"
    assert settings.database_url == f"sqlite:///{tmp_path}/var/postbot.db"
    assert settings.accounts == {"main": Account("main", "dryrun")}
    assert settings.retry == RetrySettings()
    assert settings.daemon == DaemonSettings()
    assert settings.source == path
    assert (settings.language, settings.posts_dir) == (None, None)


def test_empty_config_means_utc_and_no_accounts(tmp_path: Path) -> None:
    settings = load_settings(_config(tmp_path, ""), environ={})
    assert settings.timezone == ZoneInfo("UTC")
    assert settings.accounts == {}


def test_repository_config_loads() -> None:
    settings = load_settings(REPO_CONFIG, environ={})
    assert settings.timezone == ZoneInfo("Europe/Berlin")
    assert settings.language == "de"
    assert settings.posts_dir == REPO_CONFIG.parents[1] / "posts"  # project_dir = ".."
    assert {name: a.platform for name, a in settings.accounts.items()} == {
        "mastodon": "mastodon",
        "x": "x",
        "bluesky": "bluesky",
    }
    mastodon = settings.accounts["mastodon"]
    assert mastodon.base_url == "https://mastodon.social"
    assert mastodon.char_limit == 500
    assert mastodon.credential_vars == {"access_token": "MASTODON_ACCESS_TOKEN"}
    assert mastodon.options == {"visibility": "public"}
    assert settings.accounts["x"].options == {"link_placement": "inline"}


def test_full_config(tmp_path: Path) -> None:
    (tmp_path / "content" / "posts").mkdir(parents=True)
    path = _config(
        tmp_path,
        """
        timezone = "America/New_York"
        language = "en"

        [database]
        url = "sqlite:///tmp/x.db"

        [posts]
        dir = "content/posts"

        [retry]
        max_attempts = 3
        base_delay = 1.5
        max_delay = 60

        [daemon]
        concurrency = 2
        batch_size = 10
        poll_interval = 1
        lease_seconds = 60.5

        [accounts.news]
        platform = "mastodon"
        base_url = "https://social.example"
        char_limit = 1000
        visibility = "unlisted"
        credentials = { access_token = "NEWS_TOKEN" }
        """,
    )
    settings = load_settings(path, environ={})
    assert settings.timezone == ZoneInfo("America/New_York")
    assert settings.language == "en"
    assert settings.database_url == f"sqlite:///{tmp_path}/tmp/x.db"  # beside the config
    assert settings.posts_dir == tmp_path / "content" / "posts"
    assert settings.retry == RetrySettings(max_attempts=3, base_delay=1.5, max_delay=60.0)
    assert settings.daemon == DaemonSettings(
        concurrency=2, batch_size=10, poll_interval=1.0, lease_seconds=60.5
    )
    assert isinstance(settings.daemon.poll_interval, float)
    assert settings.accounts["news"] == Account(
        "news",
        "mastodon",
        "https://social.example",
        {"access_token": "NEWS_TOKEN"},
        1000,
        {"visibility": "unlisted"},
    )


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "postbot.toml"
    message = _refused(missing)
    assert message.startswith(f"{missing}: ")
    assert "not found" in message


def test_path_from_postbot_config_variable(tmp_path: Path) -> None:
    path = _config(tmp_path, MINIMAL)
    settings = load_settings(environ={"POSTBOT_CONFIG": str(path)})
    assert settings.source == path
    missing = tmp_path / "other.toml"
    with pytest.raises(ConfigError, match="not found") as info:
        load_settings(environ={"POSTBOT_CONFIG": str(missing)})
    assert str(missing) in str(info.value)


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    path = _config(tmp_path, 'timezone = "Europe/Berlin\n[accounts.a\n')
    message = _refused(path)
    assert message.startswith(f"{path}: invalid TOML")
    assert "line 1" in message  # tomllib says where


def test_config_that_is_not_utf8_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes('language = "für"\n'.encode("latin-1"))
    assert _refused(path).startswith(f"{path}: cannot read config")


def test_config_errors_are_user_errors(tmp_path: Path) -> None:
    # The CLI prints a UserError's one line and exits 2, without a traceback.
    with pytest.raises(UserError):
        load_settings(tmp_path / "missing.toml", environ={})


# -- accounts ------------------------------------------------------------------------------


def test_unknown_platform_names_the_key(tmp_path: Path) -> None:
    path = _config(tmp_path, '[accounts.news]\nplatform = "myspace"\n')
    message = _refused(path)
    assert message.startswith(f"{path}:2: accounts.news.platform")
    assert "unknown platform 'myspace'" in message
    assert "bluesky, dryrun, mastodon, x" in message


def test_missing_platform_names_the_key(tmp_path: Path) -> None:
    path = _config(tmp_path, '[accounts.news]\nbase_url = "https://x.example"\n')
    assert "accounts.news.platform is missing" in _refused(path)


def test_account_that_is_not_a_table(tmp_path: Path) -> None:
    path = _config(tmp_path, '[accounts]\nnews = "mastodon"\n')
    assert "accounts.news must be a table" in _refused(path)


@pytest.mark.parametrize(
    "credentials", ['"MASTODON_ACCESS_TOKEN"', "{ access_token = 1 }", '["A", "B"]']
)
def test_credentials_must_name_variables(tmp_path: Path, credentials: str) -> None:
    path = _config(
        tmp_path, f'[accounts.news]\nplatform = "mastodon"\ncredentials = {credentials}\n'
    )
    assert "accounts.news.credentials must map" in _refused(path)


# -- wrong types and values ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("toml", "label"),
    [
        ("timezone = 1", "timezone: wrong type (int)"),
        ("language = true", "language: wrong type (bool)"),
        ('database = "sqlite://"', "[database] must be a table"),
        ("[database]\nurl = 5", "database.url: wrong type (int)"),
        ("[posts]\ndir = []", "posts.dir: wrong type (list)"),
        ('[retry]\nmax_attempts = "5"', "retry.max_attempts: wrong type (str)"),
        ("[retry]\nmax_attempts = 2.5", "retry.max_attempts: wrong type (float)"),
        ("[retry]\nbase_delay = true", "retry.base_delay: wrong type (bool)"),
        ("[daemon]\nconcurrency = true", "daemon.concurrency: wrong type (bool)"),
        ("[daemon]\nconcurrency = 2.5", "daemon.concurrency: wrong type (float)"),
        ('[daemon]\npoll_interval = "1s"', "daemon.poll_interval: wrong type (str)"),
        (
            '[accounts.a]\nplatform = "dryrun"\nchar_limit = "500"',
            "accounts.a.char_limit: wrong type (str)",
        ),
        (
            '[accounts.a]\nplatform = "dryrun"\nbase_url = 1',
            "accounts.a.base_url: wrong type (int)",
        ),
    ],
)
def test_wrong_types_name_the_key(tmp_path: Path, toml: str, label: str) -> None:
    path = _config(tmp_path, toml + "\n")
    line = toml.count("\n") + 1  # the value is on the last line of each case
    message = _refused(path)
    assert message.startswith(f"{path}:{line}: {label}"), message
    assert len(message.splitlines()) == 1


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[retry]\nmax_attempts = 0", "retry.max_attempts must be at least 1"),
        ("[daemon]\nconcurrency = 0", "must be positive"),
        ("[daemon]\nbatch_size = -1", "must be positive"),
    ],
)
def test_out_of_range_values_are_refused(tmp_path: Path, toml: str, message: str) -> None:
    assert message in _refused(_config(tmp_path, toml + "\n"))


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "CEST", "", "../../etc/passwd"])
def test_unknown_timezone_is_refused_naming_it(tmp_path: Path, zone: str) -> None:
    path = _config(tmp_path, f'timezone = "{zone}"\n')
    assert _refused(path).startswith(f"{path}:1: timezone: unknown time zone '{zone}'")


# -- environment ---------------------------------------------------------------------------


def test_database_url_from_environment_overrides_file(tmp_path: Path) -> None:
    path = _config(tmp_path, '[database]\nurl = "sqlite:///file.db"\n')
    env = {"POSTBOT_DATABASE_URL": "postgresql+psycopg://u@db:5432/postbot"}
    assert load_settings(path, environ=env).database_url == env["POSTBOT_DATABASE_URL"]
    in_file = f"sqlite:///{tmp_path}/file.db"  # the file's relative path, read beside it
    assert load_settings(path, environ={}).database_url == in_file
    # An empty variable does not count as set.
    assert load_settings(path, environ={"POSTBOT_DATABASE_URL": ""}).database_url == in_file


def test_dotenv_not_read_when_environ_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _config(tmp_path, MINIMAL)
    (tmp_path / ".env").write_text(
        "POSTBOT_DATABASE_URL=sqlite:///from-dotenv.db\nPOSTBOT_TEST_DOTENV_MARK=1\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("POSTBOT_DATABASE_URL", raising=False)
    monkeypatch.delenv("POSTBOT_TEST_DOTENV_MARK", raising=False)
    default = f"sqlite:///{tmp_path}/var/postbot.db"  # DEFAULT_DATABASE_URL, beside the file
    assert load_settings(path, environ={}).database_url == default
    assert load_settings(path, environ={}, dotenv=True).database_url == default
    assert "POSTBOT_TEST_DOTENV_MARK" not in os.environ


def test_dotenv_read_from_working_folder_without_overriding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _config(tmp_path, MINIMAL)
    (tmp_path / ".env").write_text(
        "POSTBOT_DATABASE_URL=sqlite:///from-dotenv.db\n", encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)
    # setenv then delenv: whatever load_dotenv writes to os.environ is undone after the test.
    monkeypatch.setenv("POSTBOT_DATABASE_URL", "placeholder")
    monkeypatch.delenv("POSTBOT_DATABASE_URL")
    assert load_settings(path).database_url == "sqlite:///from-dotenv.db"
    monkeypatch.setenv("POSTBOT_DATABASE_URL", "sqlite:///real-env.db")
    assert load_settings(path).database_url == "sqlite:///real-env.db"  # env wins over .env


# -- credentials ---------------------------------------------------------------------------

X_VARS = {
    "consumer_key": "X_CONSUMER_KEY",
    "consumer_secret": "X_CONSUMER_SECRET",
    "access_token": "X_ACCESS_TOKEN",
    "access_token_secret": "X_ACCESS_TOKEN_SECRET",
}
SECRETS = {
    "X_CONSUMER_KEY": "ck-s3cr3t-1",
    "X_CONSUMER_SECRET": "cs-s3cr3t-2",
    "X_ACCESS_TOKEN": "at-s3cr3t-3",
    "X_ACCESS_TOKEN_SECRET": "ats-s3cr3t-4",
}


def test_credentials_read_from_environ() -> None:
    account = Account("x", "x", credential_vars=X_VARS)
    assert account.credentials(SECRETS) == {
        "consumer_key": "ck-s3cr3t-1",
        "consumer_secret": "cs-s3cr3t-2",
        "access_token": "at-s3cr3t-3",
        "access_token_secret": "ats-s3cr3t-4",
    }


@pytest.mark.parametrize("missing", sorted(SECRETS))
@pytest.mark.parametrize("how", ["absent", "empty"])
def test_missing_credential_names_variable_never_a_secret(missing: str, how: str) -> None:
    environ = dict(SECRETS)
    if how == "absent":
        del environ[missing]
    else:
        environ[missing] = ""
    account = Account("x-main", "x", credential_vars=X_VARS)
    with pytest.raises(ConfigError) as info:
        account.credentials(environ)
    message = str(info.value)
    assert f"account 'x-main': environment variable {missing}" in message
    assert "is not set" in message
    for secret in SECRETS.values():
        assert secret not in message


def test_credentials_from_config_file(tmp_path: Path) -> None:
    path = _config(
        tmp_path,
        """
        [accounts.sky]
        platform = "bluesky"
        credentials = { handle = "SKY_HANDLE", app_password = "SKY_PASSWORD" }
        """,
    )
    # Loading the config reads no secret: missing variables only matter when used.
    account = load_settings(path, environ={}).accounts["sky"]
    env = {"SKY_HANDLE": "news.example", "SKY_PASSWORD": "abcd-efgh-ijkl-mnop"}
    assert account.credentials(env) == {
        "handle": "news.example",
        "app_password": "abcd-efgh-ijkl-mnop",
    }
    with pytest.raises(ConfigError, match="SKY_PASSWORD") as info:
        account.credentials({"SKY_HANDLE": "news.example"})
    assert "news.example" not in str(info.value)
