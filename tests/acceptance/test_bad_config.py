"""The config through the CLI: a typo or a bad value is refused by every command, in one line
naming the file, the line and the key; a pasted secret is refused and never shown; relative
paths and `.env` are read from the project folder, so postbot works from any folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.acceptance.conftest import Platforms
from tests.support import (
    DRY_CONFIG,
    assert_refused,
    clean_env,
    make_project,
    postbot_json,
    run_postbot,
    snapshot,
)

PASTED_TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJuZXdzIn0.Zt8yQ2vN4kLm9PqR7sTu1w"


def _with(old: str, new: str) -> str:
    assert old in DRY_CONFIG
    return DRY_CONFIG.replace(old, new, 1)


def _line(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


# name -> (config text, the line's marker, what the message says after "file:line: ")
CONFIGS = {
    "a misspelt top-level key": (
        _with('timezone = "Europe/Berlin"', 'timezon = "Europe/Berlin"'),
        "timezon",
        "timezon: unknown key; did you mean 'timezone'?",
    ),
    "a misspelt table": (
        _with("[accounts.x]", "[acounts.x]"),
        "[acounts.x]",
        "acounts: unknown key; did you mean 'accounts'?",
    ),
    "a misspelt daemon key": (
        _with("poll_interval = 0.2", "poll_intervall = 0.2"),
        "poll_intervall",
        "daemon.poll_intervall: unknown key; did you mean 'poll_interval'?",
    ),
    "a misspelt platform option": (
        _with('platform = "mastodon"', 'platform = "mastodon"\nvisibilty = "public"'),
        "visibilty",
        "accounts.mastodon.visibilty: unknown key; did you mean 'visibility'?",
    ),
    "an option of another platform": (
        _with('platform = "x"', 'platform = "x"\nvisibility = "public"'),
        'visibility = "public"',
        "accounts.x.visibility: unknown key",
    ),
    "a bad choice": (
        _with('platform = "mastodon"', 'platform = "mastodon"\nvisibility = "publik"'),
        "publik",
        "accounts.mastodon.visibility must be one of public, unlisted, private, direct,"
        " not 'publik'; did you mean 'public'?",
    ),
    "a bad pace": (
        _with('platform = "x"', 'platform = "x"\npace = "lots"'),
        "lots",
        "accounts.x.pace: pace 'lots' must look like '300/3h' or 'off'",
    ),
    "a char_limit above X's own": (
        _with('platform = "x"', 'platform = "x"\nchar_limit = 50000'),
        "char_limit = 50000",
        "accounts.x.char_limit: 50000 is more than x takes (25000): write at most"
        " char_limit = 25000",
    ),
    "a char_limit above Bluesky's own": (
        _with('platform = "bluesky"', 'platform = "bluesky"\nchar_limit = 1000'),
        "char_limit = 1000",
        "accounts.bluesky.char_limit: 1000 is more than bluesky takes (300)",
    ),
    "a bad lateness": (
        _with('platform = "bluesky"', 'platform = "bluesky"\nmax_lateness = "a while"'),
        "a while",
        "accounts.bluesky.max_lateness: 'a while' is not a duration",
    ),
    "a bad date order": (
        _with('language = "de"', 'language = "de"\ndate_order = "TMJ"'),
        "TMJ",
        "date_order must be one of DMY, MDY, YMD, not 'TMJ'",
    ),
    "a dotted key with a typo": (
        _with(
            'credentials = { handle = "BLUESKY_HANDLE", app_password = "BLUESKY_APP_PASSWORD" }',
            'credentials = { handle = "BLUESKY_HANDLE", app_password = "BLUESKY_APP_PASSWORD" }'
            "\nsession.file = 'x'",
        ),
        "session.file",
        "accounts.bluesky.session: unknown key; did you mean 'session_file'?",
    ),
    "a posts folder that is not there": (
        _with('language = "de"', 'language = "de"\n[posts]\ndir = "postings"'),
        "postings",
        "posts.dir: there is no folder",
    ),
}
COMMANDS = {
    "enqueue": ["enqueue", "Text", "--at", "+1h"],
    "list": ["list"],
    "status": ["status"],
    "run": ["run", "--once", "--dry-run"],
    "accounts check": ["accounts", "check"],
    "preview": ["preview", "Text"],
}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = make_project(tmp_path_factory.mktemp("bad-config"))
    assert postbot_json(root, "enqueue", "Schon da", "--at", "+1d")["id"] == 1
    for name, (text, _marker, _message) in CONFIGS.items():
        (root / "config" / f"{name.replace(' ', '-')}.toml").write_text(text, encoding="utf-8")
    return root


@pytest.mark.parametrize("name", CONFIGS)
def test_a_typo_or_bad_value_is_refused_with_file_line_and_key(project: Path, name: str) -> None:
    text, marker, message = CONFIGS[name]
    config = f"config/{name.replace(' ', '-')}.toml"
    line = _line(text, marker)
    refusal = assert_refused(project, "--config", config, "enqueue", "Text", "--at", "+1h")
    assert refusal.startswith(f"{config}:{line}: {message}"), refusal


@pytest.mark.parametrize("command", COMMANDS.values(), ids=COMMANDS.keys())
def test_every_command_checks_the_config(project: Path, command: list[str]) -> None:
    # pace = "lots" used to pass `enqueue` and fail only `run`: now every command refuses it.
    config = "config/a-bad-pace.toml"
    refusal = assert_refused(project, "--config", config, *command)
    assert refusal.startswith(f"{config}:") and "pace 'lots'" in refusal


@pytest.mark.parametrize(
    "credentials",
    [
        f'{{ access_token = "{PASTED_TOKEN}" }}',
        '{ access_token = "Zt8yQ2vN4kLm9PqR7sTu1wXy3zAb5cDe6fGh0iJk" }',
        '{ access_token = "AKIAIOSFODNN7EXAMPLE" }',
    ],
)
def test_a_pasted_secret_is_refused_and_never_printed(
    project: Path, tmp_path: Path, credentials: str
) -> None:
    text = _with(
        'credentials = { access_token = "MASTODON_ACCESS_TOKEN" }', f"credentials = {credentials}"
    )
    config = tmp_path / "pasted.toml"
    config.write_text(text.replace('project_dir = ".."', f'project_dir = "{project}"'), "utf-8")
    refusal = assert_refused(project, "--config", str(config), "list")
    line = _line(text, "credentials = { access_token")
    assert refusal.startswith(
        f"{config}:{line}: accounts.mastodon.credentials.access_token must name an environment"
        " variable"
    )
    secret = credentials.split('"')[1]
    assert secret[:12] not in refusal  # the refusal is all of stderr


def test_from_any_folder_the_config_finds_its_database_and_posts(
    project: Path, tmp_path: Path
) -> None:
    # cron and systemd start postbot anywhere: `cd /tmp && postbot --config ... status`
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    config = str(project / "config" / "postbot.toml")
    status = postbot_json(elsewhere, "--config", config, "status")
    assert status["counts"].get("queued", 0) >= 1  # the project's queue, not an empty one
    new = postbot_json(elsewhere, "--config", config, "enqueue", "Von woanders", "--at", "+2h")
    assert [p["id"] for p in postbot_json(project, "list")][-1] == new["id"]
    assert not (elsewhere / "var").exists()
    assert list(elsewhere.iterdir()) == []


def test_dotenv_beside_the_project_is_read_from_any_folder(tmp_path: Path) -> None:
    root = make_project(tmp_path / "project")
    other_db = tmp_path / "from-dotenv.db"
    (root / ".env").write_text(f"POSTBOT_DATABASE_URL=sqlite:///{other_db}\n", encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    config = str(root / "config" / "postbot.toml")
    post = postbot_json(elsewhere, "--config", config, "enqueue", "Aus .env", "--at", "+2h")
    assert [row[0] for row in snapshot(other_db)["post"]] == [post["id"]]
    assert not (root / "var" / "postbot.db").exists()


def test_the_environment_wins_over_dotenv(tmp_path: Path) -> None:
    root = make_project(tmp_path / "project")
    (root / ".env").write_text("POSTBOT_DATABASE_URL=sqlite:////nonexistent/x.db\n", "utf-8")
    real = tmp_path / "real.db"
    env = clean_env(POSTBOT_DATABASE_URL=f"sqlite:///{real}")
    postbot_json(root, "enqueue", "Echt", "--at", "+2h", env=env)
    assert len(snapshot(real)["post"]) == 1


def test_dotenv_parse_problems_are_one_warning_line(tmp_path: Path) -> None:
    root = make_project(tmp_path / "project")
    dotenv = root / ".env"
    dotenv.write_text("GOOD=1\nthis line is broken\nALSO_GOOD=2\n", encoding="utf-8")
    done = run_postbot(root, "list")
    assert done.returncode == 0, done.stderr
    warnings = [line for line in done.stderr.splitlines() if line.strip()]
    assert warnings == [
        f"postbot: warning: {dotenv}:2: cannot read this line (write NAME=value); ignored"
    ]


def test_a_relative_session_file_follows_the_project(platforms: Platforms, tmp_path: Path) -> None:
    root = platforms.project(
        tmp_path / "project", account_options={"bluesky": {"session_file": "var/b.session"}}
    )
    env = platforms.env()
    assert (
        run_postbot(root, "enqueue", "Sitzung", "--now", "--to", "bluesky", env=env).returncode == 0
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    config = str(root / "config" / "postbot.toml")
    done = run_postbot(elsewhere, "--config", config, "run", "--once", env=env)
    assert done.returncode == 0, done.stderr
    assert (root / "var" / "b.session").is_file()
    assert list(elsewhere.iterdir()) == []
