"""postbot.config: the TOML file plus the environment -> Settings; secrets only from the env."""

from __future__ import annotations

import os
import re
import textwrap
from collections.abc import Iterator
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
    assert settings.accounts == {"main": Account("main", "dryrun", home=tmp_path)}
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
        home=tmp_path,
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


# -- the schema: every key at every level, one line with the file, the line and the key ------


@pytest.fixture
def path_platform() -> Iterator[None]:
    from postbot.platforms import PLATFORMS

    PLATFORMS.register("pathtest", "tests.unit.path_platform:PathPlatform")
    yield
    PLATFORMS._targets.pop("pathtest", None)
    PLATFORMS._loaded.pop("pathtest", None)


def _line_refusal(tmp_path: Path, text: str) -> tuple[str, int, str]:
    """(the message, its line number, what follows) for a config that must be refused."""
    path = _config(tmp_path, text)
    message = _refused(path)
    assert "\n" not in message, message
    match = re.match(rf"{re.escape(str(path))}:(\d+): (.*)$", message)
    assert match, f"no file:line: in {message!r}"
    return message, int(match.group(1)), match.group(2)


@pytest.mark.parametrize(
    ("text", "line", "key", "suggestion"),
    [
        ('timezon = "Europe/Berlin"\n', 1, "timezon", "timezone"),
        ('timezone = "UTC"\nlanguag = "de"\n', 2, "languag", "language"),
        ('date_ordr = "DMY"\n', 1, "date_ordr", "date_order"),
        ('[acounts.x]\nplatform = "x"\n', 1, "acounts", "accounts"),
        ('[databse]\nurl = "sqlite://"\n', 1, "databse", "database"),
        ('[database]\nulr = "sqlite://"\n', 2, "database.ulr", "url"),
        ("[daemon]\nconcurency = 2\n", 2, "daemon.concurency", "concurrency"),
        ("[retry]\nmax_attempt = 2\n", 2, "retry.max_attempt", "max_attempts"),
        ('[posts]\ndirectory = "posts"\n', 2, "posts.directory", None),
        ('[posts]\non_delet = "keep"\n', 2, "posts.on_delet", "on_delete"),
        (
            '[accounts.m]\nplatform = "mastodon"\nvisibilty = "public"\n',
            3, "accounts.m.visibilty", "visibility",
        ),
        ('[accounts.x]\nplatform = "x"\nlink_placment = "reply"\n', 3,
         "accounts.x.link_placment", "link_placement"),
        ('[accounts.x]\nplatform = "x"\npaces = "10/1h"\n', 3, "accounts.x.paces", "pace"),
        ('[accounts.b]\nplatform = "bluesky"\nsession = "s"\n', 3, "accounts.b.session",
         "session_file"),
        # visibility belongs to Mastodon: an X account does not take it
        ('[accounts.x]\nplatform = "x"\nvisibility = "public"\n', 3, "accounts.x.visibility",
         None),
        # dotted keys, inline tables and quoted keys are found on their own line
        ('[accounts]\nx.platform = "x"\nx.tmeout = 3\n', 3, "accounts.x.tmeout", "timeout"),
        ('accounts = { x = { platform = "x", timout = 3 } }\n', 1, "accounts.x.timout",
         "timeout"),
        ('[accounts."we.ird"]\nplatform = "dryrun"\n\n"pac e" = "off"\n', 4,
         "accounts.we.ird.pac e", "pace"),
    ],
)  # fmt: skip
def test_unknown_keys_are_refused_with_line_and_suggestion(
    tmp_path: Path, text: str, line: int, key: str, suggestion: str | None
) -> None:
    _message, found_line, rest = _line_refusal(tmp_path, text)
    assert found_line == line
    assert rest.startswith(f"{key}: unknown key"), rest
    if suggestion:
        assert f"did you mean '{suggestion}'?" in rest
    else:
        assert "did you mean" not in rest
    assert "known here:" in rest


@pytest.mark.parametrize(
    ("text", "line", "expected"),
    [
        ('[accounts.m]\nplatform = "mastodon"\nvisibility = "publik"\n', 3,
         "accounts.m.visibility must be one of public, unlisted, private, direct, not 'publik';"
         " did you mean 'public'?"),
        ('[accounts.x]\nplatform = "x"\nlink_placement = "replies"\n', 3,
         "accounts.x.link_placement must be one of inline, reply, not 'replies'"),
        ('[accounts.x]\nplatform = "x"\npace = "lots"\n', 3, "accounts.x.pace: pace 'lots'"),
        ('[accounts.x]\nplatform = "x"\npace = "0/1h"\n', 3, "accounts.x.pace: pace '0/1h'"),
        ('[accounts.x]\nplatform = "x"\nmax_lateness = "soon"\n', 3,
         "accounts.x.max_lateness: 'soon' is not a duration"),
        ('[accounts.x]\nplatform = "x"\ntimeout = 0\n', 3,
         "accounts.x.timeout must be a positive number of seconds"),
        ('[accounts.x]\nplatform = "x"\nchar_limit = 0\n', 3, "accounts.x.char_limit must be"),
        ('[accounts.m]\nplatform = "mastodon"\nbase_url = "mastodon.social"\n', 3,
         "accounts.m.base_url must be an http:// or https:// address"),
        ('[accounts.m]\nplatform = "mastadon"\n', 2,
         "accounts.m.platform: unknown platform 'mastadon'"),
        ('date_order = "DYM"\n', 1, "date_order must be one of DMY, MDY, YMD, not 'DYM'"),
        ('date_order = "dmy"\n', 1, "did you mean 'DMY'?"),
        ('language = "Deutsch"\n', 1, "language must be a language tag"),
        ('timezone = "Europe/Berln"\n', 1, "did you mean 'Europe/Berlin'?"),
        ('[posts]\non_delete = "delete"\n', 2, "posts.on_delete must be one of cancel, keep"),
        ('[database]\nurl = "var/postbot.db"\n', 2, "database.url must be a database URL"),
        ("[daemon]\nshutdown_grace = -1\n", 2, "daemon.shutdown_grace must be"),
        ("[daemon]\nlease_seconds = 0\n", 2, "daemon.lease_seconds must be a positive"),
        ("[retry]\nbase_delay = 60\nmax_delay = 30\n", 3, "retry.max_delay must not be below"),
        ('[posts]\ndir = "nowhere"\n', 2, "posts.dir: there is no folder"),
    ],
)  # fmt: skip
def test_bad_values_are_refused_with_line(
    tmp_path: Path, text: str, line: int, expected: str
) -> None:
    _message, found_line, rest = _line_refusal(tmp_path, text)
    assert found_line == line
    assert expected in rest, rest


def test_the_line_is_found_among_many_tables(tmp_path: Path) -> None:
    text = REPO_CONFIG.read_text(encoding="utf-8").replace(
        'visibility = "public"', 'visibility = "publik"'
    )
    (tmp_path / "posts").mkdir()
    path = tmp_path / "config" / "postbot.toml"
    path.parent.mkdir()
    path.write_text(text, encoding="utf-8")
    message = _refused(path)
    line = next(i for i, s in enumerate(text.splitlines(), 1) if "publik" in s)
    assert message.startswith(f"{path}:{line}: accounts.mastodon.visibility must be one of")


def test_platform_options_are_checked_and_parsed(tmp_path: Path) -> None:
    path = _config(
        tmp_path,
        '[accounts.x]\nplatform = "x"\ntimeout = 2\nlink_placement = "reply"\n'
        'pace = "100/24h"\nmax_lateness = "off"\n',
    )
    account = load_settings(path, environ={}).accounts["x"]
    assert account.options == {
        "timeout": 2.0, "link_placement": "reply", "pace": "100/24h", "max_lateness": "off",
    }  # fmt: skip


def test_a_missing_platform_is_reported_on_the_table_line(tmp_path: Path) -> None:
    _message, line, rest = _line_refusal(tmp_path, 'timezone = "UTC"\n\n[accounts.news]\n')
    assert line == 3
    assert rest.startswith("accounts.news.platform is missing (one of: ")


def test_parse_settings_without_text_names_the_file_only() -> None:
    from postbot.config import parse_settings

    with pytest.raises(ConfigError) as info:
        parse_settings({"timezon": "UTC"}, Path("test.toml"), {})
    assert str(info.value).startswith("test.toml: timezon: unknown key; did you mean 'timezone'?")


# -- credentials: names of variables, never the secrets -----------------------------------------

PASTED = [
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJl",  # a JWT
    "Zt8yQ2vN4kLm9PqR7sTu1wXy3zAb5cDe6fGh0iJk",  # 40 characters, mixed case
    "AKIAIOSFODNN7EXAMPLE",  # capitals and digits, but no name: a key id
    "abcd-efgh-ijkl-mnop",  # a Bluesky app password
    "news.example.com",  # a handle
    "mastodon_access_token",  # a name, but not written as environment variables are
    "MASTODON ACCESS TOKEN",
]


@pytest.mark.parametrize("value", PASTED)
def test_a_pasted_secret_is_refused_and_never_shown(tmp_path: Path, value: str) -> None:
    text = (
        '[accounts.m]\nplatform = "mastodon"\nbase_url = "https://m.example"\n'
        f'credentials = {{ access_token = "{value}" }}\n'
    )
    message, line, rest = _line_refusal(tmp_path, text)
    assert line == 4
    assert rest.startswith("accounts.m.credentials.access_token must name an environment variable")
    assert value not in message
    for part in re.split(r"[.\s-]", value):  # nor a piece of it (the example name aside)
        if len(part) >= 6 and part not in "MASTODON_ACCESS_TOKEN":
            assert part not in message


def test_a_pasted_secret_in_a_credentials_table_is_reported_on_its_line(tmp_path: Path) -> None:
    text = (
        '[accounts.x]\nplatform = "x"\n[accounts.x.credentials]\nconsumer_key = "X_CK"\n'
        'consumer_secret = "Zt8yQ2vN4kLm9PqR7sTu1wXy3zAb5cDe6fGh0iJk"\n'
    )
    message, line, _rest = _line_refusal(tmp_path, text)
    assert line == 5 and "Zt8yQ2vN" not in message


@pytest.mark.parametrize("name", ["MASTODON_ACCESS_TOKEN", "X_CK", "_TOKEN", "BSKY_PW_2"])
def test_variable_names_are_accepted(tmp_path: Path, name: str) -> None:
    path = _config(
        tmp_path, f'[accounts.d]\nplatform = "dryrun"\ncredentials = {{ t = "{name}" }}\n'
    )
    assert load_settings(path, environ={}).accounts["d"].credential_vars == {"t": name}


def test_declared_credential_roles_refuse_a_typo(tmp_path: Path, path_platform: None) -> None:
    text = '[accounts.p]\nplatform = "pathtest"\ncredentials = { tokn = "P_TOKEN" }\n'
    _message, line, rest = _line_refusal(tmp_path, text)
    assert line == 3
    assert rest.startswith("accounts.p.credentials.tokn: unknown key; did you mean 'token'?")


# -- relative paths: read from the project folder, never the working folder ----------------------


def test_relative_paths_follow_the_config_file_not_the_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path_platform: None
) -> None:
    project = tmp_path / "project"
    (project / "content").mkdir(parents=True)
    path = _config(
        project,
        '[database]\nurl = "sqlite:///var/p.db?timeout=5"\n[posts]\ndir = "content"\n'
        '[accounts.p]\nplatform = "pathtest"\nstate_file = "var/p.state"\n',
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    settings = load_settings(path, environ={})
    assert settings.project_dir == project
    assert settings.database_url == f"sqlite:///{project}/var/p.db?timeout=5"
    assert settings.posts_dir == project / "content"
    assert settings.accounts["p"].options["state_file"] == str(project / "var" / "p.state")


def test_project_dir_is_relative_to_the_config_file(tmp_path: Path) -> None:
    (tmp_path / "posts").mkdir()
    (tmp_path / "config").mkdir()
    path = _config(tmp_path / "config", 'project_dir = ".."\n[posts]\ndir = "posts"\n')
    settings = load_settings(path, environ={})
    assert settings.project_dir == tmp_path
    assert settings.database_url == f"sqlite:///{tmp_path}/var/postbot.db"
    assert settings.posts_dir == tmp_path / "posts"


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:////abs/olute.db",
        "sqlite://",
        "sqlite:///:memory:",
        "postgresql+psycopg://u@db:5432/postbot",
    ],
)
def test_absolute_and_non_file_databases_are_kept_as_written(tmp_path: Path, url: str) -> None:
    path = _config(tmp_path, f'[database]\nurl = "{url}"\n')
    assert load_settings(path, environ={}).database_url == url


def test_a_queue_left_in_the_working_folder_is_not_silently_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before project folders, var/postbot.db meant the working folder's: an upgrade must not
    # start a new, empty queue beside the config while the old one waits, unseen.
    (tmp_path / "config").mkdir()
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "postbot.db").write_bytes(b"")
    path = _config(tmp_path / "config", '[database]\nurl = "sqlite:///var/postbot.db"\n')
    monkeypatch.chdir(tmp_path)
    message = _refused(path)
    assert message.startswith(f"{path}:2: database.url: var/postbot.db is read from")
    assert "set project_dir" in message


# -- settings other parts read -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "order"),
    [
        ('language = "de"\n', "DMY"),
        ('language = "de-AT"\n', "DMY"),
        ('language = "en-US"\n', "MDY"),
        ('language = "en-GB"\n', "DMY"),
        ('language = "en"\n', None),  # Americans and Britons write 2/5 differently
        ('language = "ja"\n', "YMD"),
        ("", None),
        ('language = "en"\ndate_order = "DMY"\n', "DMY"),
        ('language = "de"\ndate_order = "YMD"\n', "YMD"),
    ],
)
def test_date_order_from_config_or_language(tmp_path: Path, text: str, order: str | None) -> None:
    assert load_settings(_config(tmp_path, text), environ={}).date_order == order


def test_on_delete_defaults_to_cancel(tmp_path: Path) -> None:
    assert load_settings(_config(tmp_path, ""), environ={}).on_delete == "cancel"
    path = _config(tmp_path, '[posts]\non_delete = "keep"\n')
    assert load_settings(path, environ={}).on_delete == "keep"


# -- .env: beside the project, then in the working folder; the environment wins -----------------


@pytest.fixture
def clean_process_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Whatever load_settings writes to os.environ is undone after the test."""
    for name in ("POSTBOT_DATABASE_URL", "POSTBOT_DOTENV_A", "POSTBOT_DOTENV_B", "POSTBOT_CONFIG"):
        monkeypatch.setenv(name, "placeholder")
        monkeypatch.delenv(name)
    yield monkeypatch


def test_dotenv_beside_the_project_is_read_from_any_folder(
    tmp_path: Path, clean_process_env: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    path = _config(project, MINIMAL)
    (project / ".env").write_text("POSTBOT_DOTENV_A=from-project\n", encoding="utf-8")
    (tmp_path / "cwd").mkdir()
    (tmp_path / "cwd" / ".env").write_text(
        "POSTBOT_DOTENV_A=from-cwd\nPOSTBOT_DOTENV_B=only-in-cwd\n", encoding="utf-8"
    )
    clean_process_env.chdir(tmp_path / "cwd")
    load_settings(path)
    assert os.environ["POSTBOT_DOTENV_A"] == "from-project"  # the project's .env wins
    assert os.environ["POSTBOT_DOTENV_B"] == "only-in-cwd"


def test_the_real_environment_wins_over_every_dotenv(
    tmp_path: Path, clean_process_env: pytest.MonkeyPatch
) -> None:
    path = _config(tmp_path, MINIMAL)
    (tmp_path / ".env").write_text("POSTBOT_DOTENV_A=from-file\n", encoding="utf-8")
    clean_process_env.setenv("POSTBOT_DOTENV_A", "real")
    clean_process_env.chdir(tmp_path)
    load_settings(path)
    assert os.environ["POSTBOT_DOTENV_A"] == "real"


def test_dotenv_in_the_working_folder_may_name_the_config(
    tmp_path: Path, clean_process_env: pytest.MonkeyPatch
) -> None:
    (tmp_path / "conf").mkdir()
    path = _config(tmp_path / "conf", MINIMAL)
    (tmp_path / ".env").write_text(f"POSTBOT_CONFIG={path}\n", encoding="utf-8")
    clean_process_env.chdir(tmp_path)
    assert load_settings().source == path


def test_dotenv_parse_warnings_once_naming_file_and_line(
    tmp_path: Path, clean_process_env: pytest.MonkeyPatch
) -> None:
    path = _config(tmp_path, MINIMAL)
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        "POSTBOT_DOTENV_A=ok\nthis is not a line\nPOSTBOT_DOTENV_B=fine\n", encoding="utf-8"
    )
    clean_process_env.chdir(tmp_path)
    warnings: list[str] = []
    load_settings(path, warn=warnings.append)
    load_settings(path, warn=warnings.append)  # the same process reads it again: no repeat
    assert warnings == [f"{dotenv}:2: cannot read this line (write NAME=value); ignored"]
    assert os.environ["POSTBOT_DOTENV_A"] == "ok" and os.environ["POSTBOT_DOTENV_B"] == "fine"


def test_dotenv_with_several_bad_lines_gives_one_warning(
    tmp_path: Path, clean_process_env: pytest.MonkeyPatch
) -> None:
    path = _config(tmp_path, MINIMAL)
    (tmp_path / ".env").write_text("bad one\nPOSTBOT_DOTENV_A=1\nbad two\n", encoding="utf-8")
    clean_process_env.chdir(tmp_path)
    warnings: list[str] = []
    load_settings(path, warn=warnings.append)
    assert warnings == [
        f"{tmp_path / '.env'}: lines 1, 3: cannot read these lines (write NAME=value); ignored"
    ]
