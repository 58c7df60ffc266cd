"""The `[web]` table: a login (user and argon2 password hash) and the trusted proxies."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from postbot.config import WebSettings, load_settings
from postbot.errors import ConfigError

HASH = (
    "$argon2id$v=19$m=65536,t=3,p=4$s36q4mLY5p3MoA+VXeXs5w"
    "$B3XWPu0h0rr09wXFLU+KEdaifMdOzHwC9sTHJmJroTI"
)


def _load(tmp_path: Path, text: str) -> WebSettings:
    path = tmp_path / "postbot.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return load_settings(path, environ={}).web


def _refused(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, text)
    return str(info.value)


def test_without_a_web_table_there_is_no_login(tmp_path: Path) -> None:
    web = _load(tmp_path, 'timezone = "Europe/Berlin"\n')
    assert web == WebSettings()
    assert not web.login


def test_a_login_and_trusted_proxies(tmp_path: Path) -> None:
    web = _load(
        tmp_path,
        f"""
        [web]
        user = "redaktion"
        password_hash = "{HASH}"
        trusted_proxies = ["127.0.0.1", "::1"]
        """,
    )
    assert web.login
    assert web.user == "redaktion" and web.password_hash == HASH
    assert web.trusted_proxies == ("127.0.0.1", "::1")


def test_half_a_login_is_refused(tmp_path: Path) -> None:
    message = _refused(tmp_path, '[web]\nuser = "redaktion"\n')
    assert message.endswith(
        "postbot.toml:2: web.password_hash is missing: a login needs both user and"
        " password_hash (make them with `postbot passwd`)"
    )
    assert "web.user is missing" in _refused(tmp_path, f'[web]\npassword_hash = "{HASH}"\n')


@pytest.mark.parametrize(
    "value",
    ["hunter2hunter2", "$2b$12$abcdefghijklmnopqrstuv", HASH.replace("argon2id", "argon2i")],
)
def test_a_password_hash_that_is_not_argon2id_is_refused_and_never_shown(
    tmp_path: Path, value: str
) -> None:
    message = _refused(tmp_path, f'[web]\nuser = "a"\npassword_hash = "{value}"\n')
    assert "web.password_hash must be an argon2id hash as `postbot passwd` prints it" in message
    assert value not in message


def test_typos_and_bad_values_are_refused_with_the_line(tmp_path: Path) -> None:
    assert "postbot.toml:3: web.pasword_hash: unknown key; did you mean 'password_hash'?" in (
        _refused(tmp_path, '[web]\nuser = "a"\npasword_hash = "x"\n')
    )
    assert "web.user must be a user name" in _refused(tmp_path, '[web]\nuser = "two words"\n')
    assert "'proxy.internal' is not an IP address" in _refused(
        tmp_path, '[web]\ntrusted_proxies = ["proxy.internal"]\n'
    )
    assert "web.trusted_proxies: wrong type (str)" in _refused(
        tmp_path, '[web]\ntrusted_proxies = "127.0.0.1"\n'
    )
