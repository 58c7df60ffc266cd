"""`postbot run`: the daemon; `postbot golive`: from a dry run to the real thing."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from postbot.cli.base import cli, json_option, pass_app, staying_up

if TYPE_CHECKING:
    from postbot.service import App


@cli.command()
@click.option("--dry-run", is_flag=True, help="Send nothing; record exactly what would be sent.")
@click.option("--once", is_flag=True, help="Publish everything due now, then exit (for cron).")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text")
@click.option("--log-level", type=click.Choice(["DEBUG", "INFO", "WARNING"]), default="INFO")
@pass_app
def run(app: App, dry_run: bool, once: bool, log_format: str, log_level: str) -> None:
    """Run the daemon: publish each post when it is due.

    \b
    Examples:
        postbot run --dry-run
        postbot run --once          # from cron
        postbot run --log-format json
    """
    from postbot import service
    from postbot.accounts import configured_secrets
    from postbot.daemon import Daemon
    from postbot.logs import setup_logging
    from postbot.ops.alerts import configured_url_secrets

    if not dry_run:
        service.require_credentials(app)
    secrets = [*configured_secrets(app.settings), *configured_url_secrets(app.settings)]
    setup_logging(log_format, log_level, secrets, app.zone)
    daemon = Daemon(app, dry_run=dry_run)
    staying_up()  # `--once` too: a pass over a long backlog is long
    if once:
        handled = daemon.run_once()
        click.echo(f"handled {handled} deliveries", err=True)
    else:
        daemon.run_forever()


@cli.command()
@json_option
@pass_app
def golive(app: App, as_json: bool) -> None:
    """After a dry run: queue for real what it "published" (or marked missed).

    A live `postbot run` refuses to start while dry-run results are in the queue, so that a
    demo's posts are never silently taken as sent. See the README, "Going live".

    \b
    Example:
        postbot run --dry-run --once && postbot golive && postbot run
    """
    from postbot.output import json, print_json, text
    from postbot.service.golive import go_live

    reset = go_live(app)
    if as_json:
        print_json(json.go_live(reset))
    else:
        text.go_live(reset)
