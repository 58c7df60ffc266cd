"""`postbot run`: the daemon."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from postbot.cli.base import cli, pass_app

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

    if not dry_run:
        service.require_credentials(app)
    setup_logging(log_format, log_level, configured_secrets(app.settings))
    daemon = Daemon(app, dry_run=dry_run)
    if once:
        handled = daemon.run_once()
        click.echo(f"handled {handled} deliveries", err=True)
    else:
        daemon.run_forever()
