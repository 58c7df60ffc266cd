"""What every command shares: the root group, the one error handler, the App, `--json`.

Exit codes: 0 success, 1 a runtime failure, 2 bad input or configuration. Every refusal, ours
or click's, is one line on stderr (`postbot: error: ...`), never a traceback: `PostbotCLI.main`
is the one place that turns errors into that line and an exit code.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable, Sequence
from functools import update_wrapper
from typing import Any, NoReturn, TypeVar

import click

from postbot.errors import EXIT_BAD_INPUT, EXIT_RUNTIME, PostbotError

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, code: int) -> NoReturn:
    click.echo(f"postbot: error: {message}", err=True)
    sys.exit(code)


def refuse_undecodable(args: Sequence[str]) -> None:
    """An argument that is not UTF-8 (a Latin-1 terminal's "ü") reaches Python as a surrogate
    escape; it would break later, deep in a write. Refuse it here, showing the bytes."""
    for position, arg in enumerate(args, 1):
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            shown = arg.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            fail(
                f"argument {position} ('{shown}') is not valid UTF-8;"
                " set the terminal to UTF-8 (e.g. LANG=de_DE.UTF-8) and type it again",
                EXIT_BAD_INPUT,
            )


class PostbotCLI(click.Group):
    """The root group: click's own errors and ours both become one line and an exit code."""

    def main(self, args: Sequence[str] | None = None, *pos: Any, **kwargs: Any) -> NoReturn:
        argv = list(sys.argv[1:] if args is None else args)
        refuse_undecodable(argv)
        kwargs["standalone_mode"] = False
        try:
            code = super().main(argv, *pos, **kwargs)
        except click.UsageError as exc:
            where = f" (see '{exc.ctx.command_path} --help')" if exc.ctx else ""
            fail(exc.format_message().rstrip(".") + where, exc.exit_code)
        except click.ClickException as exc:
            fail(exc.format_message(), exc.exit_code)
        except click.Abort:
            fail("interrupted", EXIT_RUNTIME)
        except PostbotError as exc:
            fail(str(exc), exc.exit_code)
        sys.exit(code if isinstance(code, int) else 0)


def staying_up() -> None:
    """The cycle collector back on, for a command that stays up (`run`, `serve`; `main` turns
    it off). What start-up built is frozen first, so the collections to come skip it."""
    gc.freeze()
    gc.enable()


def pass_app(func: F) -> F:
    """Give the command the App (settings and store), opened on first use."""

    @click.pass_context
    def wrapper(ctx: click.Context, /, *args: Any, **kwargs: Any) -> Any:
        from postbot.service import open_app

        if "app" not in ctx.meta:
            ctx.meta["app"] = open_app(ctx.find_root().params.get("config"))
        return ctx.invoke(func, ctx.meta["app"], *args, **kwargs)

    return update_wrapper(wrapper, func)  # type: ignore[return-value]


json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print JSON (the shapes are in the README)."
)
post_id_argument = click.argument("post_id", type=click.IntRange(min=1))
at_help = "When: ISO 8601, local 'YYYY-MM-DD HH:MM', '+2h', 'in 30 minutes'."


@click.group(cls=PostbotCLI, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "-c",
    type=click.Path(dir_okay=False),
    envvar="POSTBOT_CONFIG",
    help="Config file (default: config/postbot.toml, or $POSTBOT_CONFIG).",
)
@click.version_option(package_name="postbot-scheduler")
def cli(config: str | None) -> None:
    """postbot: schedule teaser posts to Mastodon, X and Bluesky, and publish them on time.

    \b
    Example:
        postbot enqueue "Neuer Artikel" --tag SOZGipfel --link https://example.org/a --at +2h
        postbot run --dry-run
    """
