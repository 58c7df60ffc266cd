"""Commands on feeds: `postbot feeds` (what every feed did) and `postbot feeds poll [NAME]`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from postbot.cli.base import cli, json_option, pass_app

if TYPE_CHECKING:
    from postbot.service import App


@cli.group(invoke_without_command=True)
@json_option
@click.pass_context
def feeds(ctx: click.Context, as_json: bool) -> None:
    """Show every configured feed: the last poll and its result, the items seen, the posts
    created, the next poll.

    \b
    Examples:
        postbot feeds
        postbot feeds --json
        postbot feeds poll politik
    """
    if ctx.invoked_subcommand is None:
        ctx.invoke(_show, as_json=as_json)


@pass_app
def _show(app: App, as_json: bool) -> None:
    from postbot.output import feeds as out
    from postbot.output import print_json
    from postbot.service import feeds as service

    views = service.feeds(app)
    if as_json:
        print_json(out.feeds_json(views))
    else:
        out.feeds_text(views, app.zone)


@feeds.command(name="poll")
@click.argument("name", required=False)
@json_option
@pass_app
def poll(app: App, name: str | None, as_json: bool) -> None:
    """Poll one feed (or all) now, for cron and for tests; each new article becomes a teaser
    (queued, or a draft with review), exactly once.

    \b
    Examples:
        postbot feeds poll
        postbot feeds poll politik --json
    """
    from postbot.output import feeds as out
    from postbot.output import print_json
    from postbot.service import feeds as service

    reports = service.poll_now(app, name)
    if as_json:
        print_json(out.polls_json(reports))
    else:
        out.polls_text(reports, app.zone)
