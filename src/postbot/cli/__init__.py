"""The `postbot` command: a shell over `service`. Each command parses its arguments, makes one
call into `service` and hands the result to `output` (`text` for people, `json` for scripts).

Exit codes: 0 success, 1 a runtime failure, 2 bad input or configuration. Every refusal is one
line on stderr, never a traceback (`base.PostbotCLI`). Commands live in one module per topic;
importing them here registers them on the root group.
"""

from __future__ import annotations

import gc

from postbot.cli import accounts, daemon, feeds, ops, posts, queue, review, slots, web
from postbot.cli.base import cli

__all__ = [
    "accounts",
    "cli",
    "daemon",
    "feeds",
    "main",
    "ops",
    "posts",
    "queue",
    "review",
    "slots",
    "web",
]


def main() -> None:
    # Most commands run once and exit. Python's cycle collector would walk the few hundred
    # thousand objects SQLAlchemy, pydantic and the tables build at import, again and again,
    # to free nothing: a sixth of `postbot enqueue`'s start-up. So it is off; a command that
    # stays up (`run`, `serve`) turns it back on (`base.staying_up`).
    gc.disable()
    cli(prog_name="postbot")
