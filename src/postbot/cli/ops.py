"""`postbot doctor`, `postbot backup`, `postbot restore`: running postbot as a service."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from postbot.cli.base import cli, json_option, pass_app
from postbot.errors import EXIT_RUNTIME

if TYPE_CHECKING:
    from postbot.service import App


@cli.command()
@click.option("--online", is_flag=True, help="Also log in to every account and compare clocks.")
@click.option("--alert", is_flag=True, help="Alert on failing checks (the dead-man alert, cron).")
@json_option
@click.pass_context
def doctor(ctx: click.Context, online: bool, alert: bool, as_json: bool) -> None:
    """Check everything a running postbot needs, one line per check: OK or the reason.
    Exit 0 when all pass, 1 otherwise.

    \b
    Examples:
        postbot doctor
        postbot doctor --online --json
        */5 * * * *  cd /srv/postbot && .venv/bin/postbot doctor --alert >/dev/null
    """
    from postbot.output import print_json
    from postbot.output.ops import doctor_json, doctor_lines
    from postbot.service.ops import doctor as run

    report = run(ctx.find_root().params.get("config"), online=online, alert=alert)
    if as_json:
        print_json(doctor_json(report))
    else:
        click.echo("\n".join(doctor_lines(report)))
    if not report.ok:
        ctx.exit(EXIT_RUNTIME)


@cli.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--overwrite", is_flag=True, help="Replace PATH if it exists.")
@json_option
@pass_app
def backup(app: App, path: Path, overwrite: bool, as_json: bool) -> None:
    """Copy the SQLite database to PATH, consistently, while the daemon runs.

    \b
    Example:
        postbot backup var/backups/postbot-$(date +%F).db
    """
    from postbot.output import print_json
    from postbot.output.ops import copied_json, copied_line
    from postbot.service.ops import backup as take

    copied = take(app, path, overwrite=overwrite)
    if as_json:
        print_json(copied_json(copied))
    else:
        click.echo(copied_line("backed up to", copied))


@cli.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@json_option
@click.pass_context
def restore(ctx: click.Context, path: Path, as_json: bool) -> None:
    """Put a backup in place of the SQLite database (stop the daemon first). The copy is
    checked first; a copy from a newer postbot is refused. The database it replaces is kept
    beside it.

    \b
    Example:
        systemctl stop postbot && postbot restore var/backups/postbot-2026-12-01.db
    """
    from postbot.output import print_json
    from postbot.output.ops import copied_json, copied_line
    from postbot.service.ops import restore as put_back

    copied = put_back(ctx.find_root().params.get("config"), path)
    if as_json:
        print_json(copied_json(copied))
    else:
        click.echo(copied_line("restored from", copied, source=path))
