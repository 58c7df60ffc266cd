"""The `postbot` command: a shell over `service`. Each command parses its arguments, makes one
call into `service` and hands the result to `output` (`text` for people, `json` for scripts).

Exit codes: 0 success, 1 a runtime failure, 2 bad input or configuration. Every refusal, ours
or click's, is one line on stderr (`postbot: error: ...`), never a traceback: `PostbotCLI.main`
is the one place that turns errors into that line and an exit code.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from functools import update_wrapper
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from postbot.domain import Status
from postbot.errors import EXIT_BAD_INPUT, EXIT_RUNTIME, PostbotError

if TYPE_CHECKING:
    from postbot.service import App

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


@cli.command()
@click.argument("text", required=False)
@click.option("--tag", "-t", "tags", multiple=True, help="Hashtag (with or without #). Repeatable.")
@click.option("--link", "-l", help="Link to put after the text.")
@click.option("--at", "at", help=at_help)
@click.option("--now", "now_flag", is_flag=True, help="Publish as soon as the daemon sees it.")
@click.option("--to", "to", multiple=True, help="Account name from the config. Repeatable.")
@click.option("--lang", help="Language code, e.g. de.")
@click.option(
    "--file",
    "-f",
    "files",
    multiple=True,
    type=click.Path(),
    help="Post file or folder to import (idempotent). Repeatable.",
)
@json_option
@pass_app
def enqueue(
    app: App,
    text: str | None,
    tags: tuple[str, ...],
    link: str | None,
    at: str | None,
    now_flag: bool,
    to: tuple[str, ...],
    lang: str | None,
    files: tuple[str, ...],
    as_json: bool,
) -> None:
    """Queue a post typed here, or import post files.

    Prints the post's id on stdout, and its due time and accounts on stderr. A post file
    says its own time, accounts, hashtags, link and language: --at, --now, --to, --tag,
    --link and --lang are refused with --file, never ignored.

    \b
    Examples:
        postbot enqueue "Lesen Sie hier, wie ..." --tag XiJinping --tag SOZGipfel \\
            --link https://example.org/soz --at "2026-12-01 08:00" --to mastodon --lang de
        postbot enqueue "Breaking" --now
        postbot enqueue --file posts/
    """
    from postbot import service
    from postbot.output import json, print_json
    from postbot.output import text as out

    if files and text is not None:
        raise click.UsageError("give TEXT or --file, not both")
    if not files and text is None:
        raise click.UsageError("give the post TEXT, or --file PATH")
    if files:
        # option -> (given?, what a post file says it with in its front matter)
        given = {
            "--at": (at is not None, "at"),
            "--now": (now_flag, "at"),
            "--to": (to, "to"),
            "--tag": (tags, "hashtags"),
            "--link": (link is not None, "link"),
            "--lang": (lang is not None, "language"),
        }
        clashing = {option: key for option, (value, key) in given.items() if value}
        if clashing:
            raise click.UsageError(
                f"{', '.join(clashing)} cannot be combined with --file: a post file says that"
                f" itself (front matter: {', '.join(dict.fromkeys(clashing.values()))})"
            )
        with out.import_progress() as progress:
            report = service.import_paths(app, files, progress=progress)
        if as_json:
            print_json(json.import_results(report.results))
            out.warn(report.warnings)
        else:
            out.import_report(report)
        return
    assert text is not None
    done = service.enqueue_text(
        app, text, hashtags=tags, link=link, at=at, now_flag=now_flag, to=to, language=lang
    )
    if as_json:
        print_json(json.post(service.show(app, done.post_id)))
        out.warn(done.warnings)
    else:
        out.enqueued(done, app.zone)


@cli.command(name="list")
@click.option(
    "--status",
    "-s",
    type=click.Choice([s.value for s in Status]),
    help="Only deliveries in this state.",
)
@click.option("--limit", "-n", type=click.IntRange(min=1), help="At most this many posts.")
@json_option
@pass_app
def list_(app: App, status: str | None, limit: int | None, as_json: bool) -> None:
    """List posts and their deliveries, latest due first.

    \b
    Examples:
        postbot list
        postbot list --status failed --json
    """
    from postbot import service
    from postbot.output import json, print_json, text

    posts = service.list_posts(app, Status(status) if status else None, limit)
    if as_json:
        print_json([json.post(p) for p in posts])
    else:
        text.posts_table(posts, app.zone)


@cli.command()
@post_id_argument
@json_option
@pass_app
def show(app: App, post_id: int, as_json: bool) -> None:
    """Show one post, what each account is sent, and where it stands.

    \b
    Example:
        postbot show 12 --json
    """
    from postbot import service
    from postbot.output import json, print_json, text

    post = service.show(app, post_id)
    if as_json:
        print_json(json.post(post))
    else:
        text.post_detail(post, app.zone)


@cli.command()
@post_id_argument
@pass_app
def cancel(app: App, post_id: int) -> None:
    """Cancel a post's queued deliveries.

    \b
    Example:
        postbot cancel 12
    """
    from postbot import service
    from postbot.output import text

    text.changed("cancelled", service.cancel(app, post_id), app.zone)


@cli.command()
@post_id_argument
@click.option("--at", "at", required=True, help="New time (same forms as enqueue --at).")
@pass_app
def reschedule(app: App, post_id: int, at: str) -> None:
    """Move a queued (or missed) post to another time.

    \b
    Example:
        postbot reschedule 12 --at "2026-12-01 09:30"
    """
    from postbot import service
    from postbot.output import text

    text.changed("rescheduled", service.reschedule(app, post_id, at), app.zone)


@cli.command()
@post_id_argument
@pass_app
def retry(app: App, post_id: int) -> None:
    """Queue a post's failed, unknown or missed deliveries again, to publish now.

    \b
    Example:
        postbot retry 12
    """
    from postbot import service
    from postbot.output import text

    text.changed("requeued", service.retry(app, post_id), app.zone)


@cli.command()
@post_id_argument
@click.option("--published", "url", required=True, help="URL of the post you found.")
@click.option("--to", "account", help="The account, if the post is unknown on several.")
@pass_app
def resolve(app: App, post_id: int, url: str, account: str | None) -> None:
    """Mark an `unknown` delivery as published, after finding it on the platform.

    An X publish whose outcome was lost (connection dropped after sending, worker killed)
    is never sent again on its own: check the account, then either resolve it or retry it.
    The URL must be a post's address on that account's platform.

    \b
    Example:
        postbot resolve 12 --published https://x.com/newsroom/status/1790000000000000001
    """
    from postbot import service
    from postbot.output import text

    text.resolved(service.resolve(app, post_id, url, account))


@cli.command(name="log")
@click.argument("post_id", type=click.IntRange(min=1), required=False)
@click.option(
    "--limit",
    "-n",
    type=click.IntRange(min=1),
    default=200,
    help="Newest N attempts (default 200).",
)
@json_option
@pass_app
def log_(app: App, post_id: int | None, limit: int, as_json: bool) -> None:
    """Show the attempt log: every publish attempt and what came of it.

    \b
    Examples:
        postbot log
        postbot log 12 --json
    """
    from postbot import service
    from postbot.output import json, print_json, text

    log = service.attempt_log(app, post_id, limit)
    if as_json:
        print_json([json.attempt(a) for a in log.attempts])
    else:
        text.attempt_log(log, app.zone)


@cli.command()
@click.argument("post_or_text")
@click.option("--to", "to", multiple=True, help="Account name. Repeatable. Default: all.")
@json_option
@pass_app
def preview(app: App, post_or_text: str, to: tuple[str, ...], as_json: bool) -> None:
    """Show the text each account would be sent, its length and the limit (exit 2 if it does
    not fit somewhere).

    \b
    Examples:
        postbot preview 12
        postbot preview "Lesen Sie hier ... #SOZGipfel" --to x --json
    """
    from postbot import service
    from postbot.output import json, print_json, text

    result = service.preview(app, post_or_text, to)
    if as_json:
        print_json(json.preview(result.targets))
        text.warn(result.warnings)
    else:
        text.preview(result)
    if not result.fits:
        click.get_current_context().exit(EXIT_BAD_INPUT)


@cli.command()
@json_option
@pass_app
def status(app: App, as_json: bool) -> None:
    """Queue depth by status, the next due post, the daemons' last heartbeat, and what the
    last import of the posts folder found.

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
    from postbot import service
    from postbot.output import json, print_json, text

    rows = service.check_accounts(ctx.find_root().params.get("config"))
    if as_json:
        print_json(json.accounts(rows))
    else:
        text.accounts(rows)
    if not all(r.ok for r in rows):
        ctx.exit(EXIT_RUNTIME)


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


def main() -> None:
    cli(prog_name="postbot")
