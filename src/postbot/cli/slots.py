"""`postbot slots`: the coming week's posting slots and what fills each."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from postbot.cli.base import cli, json_option, pass_app

if TYPE_CHECKING:
    from postbot.service import App


@cli.command()
@click.option(
    "--week", "-w", type=click.IntRange(min=0), default=0,
    help="Weeks ahead: 0 (default) the 7 days from now, 1 the 7 days after those, ...",
)  # fmt: skip
@json_option
@pass_app
def slots(app: App, week: int, as_json: bool) -> None:
    """Show the posting slots of the coming 7 days, per account or queue, and which post
    fills each slot for each account (free ones are shown free).

    \b
    Examples:
        postbot slots
        postbot slots --week 1 --json
    """
    from postbot.output import print_json
    from postbot.output import slots as out
    from postbot.service import slots as service

    shown = service.week(app, week)
    if as_json:
        print_json(out.week_json(shown))
    else:
        out.week_text(shown, app.zone)
