"""The `postbot` command: parses, calls the library (service, daemon), prints.

Exit codes: 0 success, 1 a runtime failure, 2 bad input or configuration.
A user mistake prints one line, never a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import click

from postbot.errors import EXIT_BAD_INPUT, PostbotError

F = TypeVar("F", bound=Callable[..., Any])
STATUSES = ["queued", "publishing", "published", "failed", "cancelled", "unknown", "missed"]


def fail(message: str, code: int) -> None:
    click.echo(f"postbot: error: {message}", err=True)
    sys.exit(code)


def handled(func: F) -> F:
    """Turn our errors into one line on stderr and the right exit code."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except PostbotError as exc:
            fail(str(exc), exc.exit_code)

    return wrapper  # type: ignore[return-value]


def app_from(ctx: click.Context) -> Any:
    from postbot.service import open_app

    if "app" not in ctx.meta:
        ctx.meta["app"] = open_app(ctx.find_root().params.get("config"))
    return ctx.meta["app"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "-c", type=click.Path(dir_okay=False), envvar="POSTBOT_CONFIG",
              help="Config file (default: config/postbot.toml, or $POSTBOT_CONFIG).")  # fmt: skip
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
@click.option(
    "--at", "at", help="When: ISO 8601, local 'YYYY-MM-DD HH:MM', '+2h', 'in 30 minutes'."
)
@click.option("--now", "now_flag", is_flag=True, help="Publish as soon as the daemon sees it.")
@click.option("--to", "to", multiple=True, help="Account name from the config. Repeatable.")
@click.option("--lang", help="Language code, e.g. de.")
@click.option("--file", "-f", "files", multiple=True, type=click.Path(),
              help="Post file or folder to import (idempotent). Repeatable.")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
@handled
def enqueue(
    ctx: click.Context, text: str | None, tags: tuple[str, ...], link: str | None,
    at: str | None, now_flag: bool, to: tuple[str, ...], lang: str | None,
    files: tuple[str, ...], as_json: bool,
) -> None:  # fmt: skip
    """Queue a post typed here, or import post files.

    \b
    Examples:
        postbot enqueue "Lesen Sie hier, wie ..." --tag XiJinping --tag SOZGipfel \\
            --link https://example.org/soz --at "2026-12-01 08:00" --to mastodon --lang de
        postbot enqueue "Breaking" --now
        postbot enqueue --file posts/
    """
    from postbot import service
    from postbot.output import print_json

    if files and text:
        raise click.UsageError("give TEXT or --file, not both")
    if not files and text is None:
        raise click.UsageError("give the post TEXT, or --file PATH")
    app = app_from(ctx)
    if files:
        results = service.import_paths(app, files)
        if as_json:
            print_json([r.__dict__ for r in results])
            return
        for r in results:
            line = f"{r.action}: post {r.post_id} ({r.key})" + (
                f": {r.message}" if r.message else ""
            )
            click.echo(line, err=r.action == "conflict")
        return
    assert text is not None
    post_id = service.enqueue_text(
        app, text, hashtags=tags, link=link, at=at, now_flag=now_flag, to=to, language=lang
    )
    if as_json:
        print_json(service.post_json(app.store.get_post(post_id)))
    else:
        click.echo(post_id)


@cli.command(name="list")
@click.option("--status", "-s", type=click.Choice(STATUSES), help="Only deliveries in this state.")
@click.option("--limit", "-n", type=int, default=None, help="At most this many posts.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (see README for the shape).")
@click.pass_context
@handled
def list_(ctx: click.Context, status: str | None, limit: int | None, as_json: bool) -> None:
    """List posts and their deliveries, latest due first.

    \b
    Examples:
        postbot list
        postbot list --status failed --json
    """
    from postbot import output, service

    app = app_from(ctx)
    posts = app.store.list_posts(status, limit)
    if as_json:
        output.print_json([service.post_json(p) for p in posts])
    else:
        output.posts_table(posts, app.settings.timezone)


@cli.command()
@click.argument("post_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handled
def show(ctx: click.Context, post_id: int, as_json: bool) -> None:
    """Show one post, what each account is sent, and where it stands.

    \b
    Example:
        postbot show 12 --json
    """
    from postbot import output, service

    app = app_from(ctx)
    post = app.store.get_post(post_id)
    if as_json:
        output.print_json(service.post_json(post))
    else:
        output.post_detail(post, app.settings.timezone)


@cli.command()
@click.argument("post_id", type=int)
@click.pass_context
@handled
def cancel(ctx: click.Context, post_id: int) -> None:
    """Cancel a post's queued deliveries.

    \b
    Example:
        postbot cancel 12
    """
    app = app_from(ctx)
    n = app.store.cancel(post_id, app.now())
    click.echo(f"cancelled {n} deliver{'y' if n == 1 else 'ies'} of post {post_id}")


@cli.command()
@click.argument("post_id", type=int)
@click.option("--at", "at", required=True, help="New time (same forms as enqueue --at).")
@click.pass_context
@handled
def reschedule(ctx: click.Context, post_id: int, at: str) -> None:
    """Move a queued (or missed) post to another time.

    \b
    Example:
        postbot reschedule 12 --at "2026-12-01 09:30"
    """
    from postbot import output, service

    app = app_from(ctx)
    due = service.reschedule(app, post_id, at)
    click.echo(f"post {post_id} now due {output.local(due, app.settings.timezone)}")


@cli.command()
@click.argument("post_id", type=int)
@click.pass_context
@handled
def retry(ctx: click.Context, post_id: int) -> None:
    """Queue a post's failed, unknown or missed deliveries again, to publish now.

    \b
    Example:
        postbot retry 12
    """
    app = app_from(ctx)
    n = app.store.retry(post_id, app.now())
    click.echo(f"queued {n} deliver{'y' if n == 1 else 'ies'} of post {post_id} again")


@cli.command()
@click.argument("post_id", type=int)
@click.option("--published", "url", required=True, help="URL of the post you found.")
@click.option("--to", "account", help="The account, if the post is unknown on several.")
@click.pass_context
@handled
def resolve(ctx: click.Context, post_id: int, url: str, account: str | None) -> None:
    """Mark an `unknown` delivery as published, after finding it on the platform.

    An X publish whose outcome was lost (connection dropped after sending, worker killed)
    is never sent again on its own: check the account, then either resolve it or retry it.

    \b
    Example:
        postbot resolve 12 --published https://x.com/newsroom/status/1790000000000000001
    """
    app = app_from(ctx)
    app.store.resolve(post_id, url, app.now(), account)
    click.echo(f"post {post_id}: recorded as published at {url}")


@cli.command(name="log")
@click.argument("post_id", type=int, required=False)
@click.option("--limit", "-n", type=int, default=200, help="Newest N attempts (default 200).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handled
def log_(ctx: click.Context, post_id: int | None, limit: int, as_json: bool) -> None:
    """Show the attempt log: every publish attempt and what came of it.

    \b
    Examples:
        postbot log
        postbot log 12 --json
    """
    from postbot import output, service

    app = app_from(ctx)
    if post_id is not None:
        app.store.get_post(post_id)  # a clear error for an unknown id
    attempts = app.store.attempts(post_id, limit)
    if as_json:
        output.print_json([service.attempt_json(a) for a in attempts])
        return
    zone = app.settings.timezone
    rows = [
        [a.post_id, a.account, output.local(a.finished_at, zone),
         a.outcome + (" (dry run)" if a.dry_run else ""), a.http_status,
         a.remote_url or a.remote_id or a.error_message]
        for a in attempts
    ]  # fmt: skip
    output.table(None, ["post", "account", "at", "outcome", "http", "url / error"], rows)


@cli.command()
@click.argument("post_or_text")
@click.option("--to", "to", multiple=True, help="Account name. Repeatable. Default: all.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handled
def preview(ctx: click.Context, post_or_text: str, to: tuple[str, ...], as_json: bool) -> None:
    """Show the text each account would be sent, its length and the limit.

    \b
    Examples:
        postbot preview 12
        postbot preview "Lesen Sie hier ... #SOZGipfel" --to x --json
    """
    from postbot import output, service

    rows = service.preview(app_from(ctx), post_or_text, to)
    if as_json:
        output.print_json(rows)
        return
    output.table(
        None, ["account", "platform", "count", "limit", "fits", "text"],
        [[r["account"], r["platform"], r["count"], r["limit"], "yes" if r["fits"] else "NO",
          r["text"]] for r in rows],
    )  # fmt: skip
    if not all(r["fits"] for r in rows):
        sys.exit(EXIT_BAD_INPUT)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handled
def status(ctx: click.Context, as_json: bool) -> None:
    """Queue depth by status, the next due post, and the daemons' last heartbeat.

    \b
    Example:
        postbot status --json
    """
    from postbot import output, service

    app = app_from(ctx)
    summary = app.store.status_summary()  # one read: counts, next due, heartbeats
    if as_json:
        output.print_json(service.status_json(summary))
        return
    zone = app.settings.timezone
    counts = summary.counts
    click.echo("queue: " + (", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "empty"))
    click.echo(f"next due: {output.local(summary.next_due, zone)}")
    if not summary.workers:
        click.echo("daemon: no heartbeat (not running?)")
    for w in summary.workers:
        mode = " (dry run)" if w.dry_run else ""
        click.echo(f"daemon {w.worker}{mode}: last heartbeat {output.local(w.seen_at, zone)}")


@cli.group()
def accounts() -> None:
    """Configured accounts."""


@accounts.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handled
def check(ctx: click.Context, as_json: bool) -> None:
    """Log in to every configured account and say who we are there. Exit 1 if any fails.

    \b
    Example:
        postbot accounts check
    """
    from postbot import output
    from postbot.accounts import check_accounts
    from postbot.config import load_settings

    settings = load_settings(ctx.find_root().params.get("config"))
    rows = check_accounts(settings)
    if as_json:
        output.print_json(rows)
    else:
        output.table(
            None, ["account", "platform", "logged in as", "result"],
            [[r["account"], r["platform"], r["identity"], "OK" if r["ok"] else r["error"]]
             for r in rows],
        )  # fmt: skip
    if not all(r["ok"] for r in rows):
        sys.exit(1)


@cli.command()
@click.option("--dry-run", is_flag=True, help="Send nothing; record exactly what would be sent.")
@click.option("--once", is_flag=True, help="Publish everything due now, then exit (for cron).")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text")
@click.option("--log-level", type=click.Choice(["DEBUG", "INFO", "WARNING"]), default="INFO")
@click.pass_context
@handled
def run(ctx: click.Context, dry_run: bool, once: bool, log_format: str, log_level: str) -> None:
    """Run the daemon: publish each post when it is due.

    \b
    Examples:
        postbot run --dry-run
        postbot run --once          # from cron
        postbot run --log-format json
    """
    from postbot.accounts import configured_secrets
    from postbot.daemon import Daemon
    from postbot.logs import setup_logging

    app = app_from(ctx)
    if not dry_run:  # refuse to start rather than fail every delivery later
        for account in app.settings.accounts.values():
            account.credentials()
    setup_logging(log_format, log_level, configured_secrets(app.settings))
    daemon = Daemon(app, dry_run=dry_run)
    if once:
        handled_count = daemon.run_once()
        click.echo(f"handled {handled_count} deliveries", err=True)
    else:
        daemon.run_forever()


def main() -> None:
    cli(prog_name="postbot")
