"""`postbot serve`: the web calendar; `postbot passwd`: a login for it."""

from __future__ import annotations

import json
import sys

import click

from postbot.cli.base import cli, staying_up
from postbot.errors import UserError

MIN_PASSWORD = 10


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", default=8750, show_default=True, type=click.IntRange(1, 65535), help="TCP port."
)
@click.pass_context
def serve(ctx: click.Context, host: str, port: int) -> None:
    """Serve the web calendar: the week, each post's preview, what needs attention, compose.

    On 127.0.0.1 (the default) it needs no login. Any other address is refused unless a login
    is configured ([web] user and password_hash, from `postbot passwd`). Behind a reverse
    proxy with TLS, see the README, "The web calendar".

    \b
    Examples:
        postbot serve                       # http://127.0.0.1:8750/
        postbot serve --host 0.0.0.0 --port 8080   # with a login configured
    """
    from postbot.config import load_settings
    from postbot.web.security import check_binding, signing_key

    config = ctx.find_root().params.get("config")
    settings = load_settings(config)
    check_binding(host, settings.web)  # before the database is opened (or created)
    key = signing_key(settings)

    from postbot.service import open_app
    from postbot.web.app import create_app, server

    app = open_app(config)
    login = f"with a login for {settings.web.user}" if settings.web.login else "without a login"
    shown = f"[{host}]" if ":" in host else host
    where = "" if settings.web.login else " (loopback only)"
    click.echo(f"postbot: serving http://{shown}:{port}/ {login}{where}", err=True)
    staying_up()
    server(create_app(app, key), host, port).run()


@cli.command()
@click.option("--user", "-u", required=True, help="The user name to log in with.")
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from the first line of stdin."
)
def passwd(user: str, password_stdin: bool) -> None:
    """Make a login for `postbot serve`: prints the [web] lines to put in the config.

    The password is asked twice (or read from stdin) and stored only as its argon2id hash.
    The hash is no secret token, but keep it out of sight all the same.

    \b
    Examples:
        postbot passwd --user redaktion >> config/postbot.toml
        printf '%s\\n' "$PASSWORD" | postbot passwd --user redaktion --password-stdin
    """
    from argon2 import PasswordHasher

    from postbot.config import TABLES

    parse_user = TABLES["web"]["user"].parse
    assert parse_user is not None
    try:
        parse_user(user)
    except ValueError as exc:
        raise UserError(f"--user {exc}") from None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
    if len(password) < MIN_PASSWORD:
        raise UserError(f"the password is too short: give at least {MIN_PASSWORD} characters")
    hashed = PasswordHasher().hash(password)
    click.echo(f"[web]\nuser = {json.dumps(user)}\npassword_hash = {json.dumps(hashed)}")
