"""`postbot accounts check`: log in to every configured account."""

from __future__ import annotations

import click

from postbot.cli.base import cli, json_option
from postbot.errors import EXIT_RUNTIME


@cli.group()
def accounts() -> None:
    """Configured accounts."""


@accounts.command()
@json_option
@click.pass_context
def check(ctx: click.Context, as_json: bool) -> None:
    """Log in to every configured account and say who we are there. Exit 1 if any fails.

    \b
    Example:
        postbot accounts check
    """
    from postbot.output import json, print_json, text
    from postbot.service.accounts import check_accounts

    rows = check_accounts(ctx.find_root().params.get("config"))
    if as_json:
        print_json(json.accounts(rows))
    else:
        text.accounts(rows)
    if not all(r.ok for r in rows):
        ctx.exit(EXIT_RUNTIME)
