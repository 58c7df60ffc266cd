"""`postbot status`: the queue, the workers, the last import."""

from __future__ import annotations

from typing import TYPE_CHECKING

from postbot.cli.base import cli, json_option, pass_app

if TYPE_CHECKING:
    from postbot.service import App


@cli.command()
@json_option
@pass_app
def status(app: App, as_json: bool) -> None:
    """Queue depth by status, the next due post, the daemons' last heartbeat, what the
    last import of the posts folder found, and each X account's spend this month (with
    its monthly_budget and the posts it holds).

    \b
    Example:
        postbot status --json
    """
    from postbot import service
    from postbot.output import json, print_json, text

    result = service.status(app)
    if as_json:
        print_json(json.status(result))
    else:
        text.queue_status(result, app.zone)
