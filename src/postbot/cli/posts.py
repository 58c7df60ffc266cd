"""Commands on posts: enqueue, list, show, cancel, reschedule, retry, resolve, log, preview."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from postbot.cli.base import at_help, cli, json_option, pass_app, post_id_argument
from postbot.domain import Status
from postbot.errors import EXIT_BAD_INPUT

if TYPE_CHECKING:
    from postbot.service import App


part_option = click.option(
    "--part",
    "-p",
    "parts",
    multiple=True,
    help="The next part of a thread, after TEXT (part 1). Repeatable, in order.",
)


@cli.command()
@click.argument("text", required=False)
@part_option
@click.option("--tag", "-t", "tags", multiple=True, help="Hashtag (with or without #). Repeatable.")
@click.option("--link", "-l", help="Link to put after the text.")
@click.option("--at", "at", help=at_help)
@click.option("--now", "now_flag", is_flag=True, help="Publish as soon as the daemon sees it.")
@click.option(
    "--next-slot",
    "next_slot",
    is_flag=True,
    help="Each account's first free posting slot (slots in the config).",
)
@click.option("--every", help='Recurring: "mon 09:00", "1st of month 08:00" or a cron expression.')
@click.option("--until", help="With --every: the series' end, a fixed date and time.")
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
@click.option(
    "--allow-duplicate",
    is_flag=True,
    help="Queue it even if the same text went, or goes, to an account within 24 hours.",
)
@json_option
@pass_app
def enqueue(
    app: App,
    text: str | None,
    parts: tuple[str, ...],
    tags: tuple[str, ...],
    link: str | None,
    at: str | None,
    now_flag: bool,
    next_slot: bool,
    every: str | None,
    until: str | None,
    to: tuple[str, ...],
    lang: str | None,
    files: tuple[str, ...],
    allow_duplicate: bool,
    as_json: bool,
) -> None:
    """Queue a post typed here, or import post files.

    Prints the post's id on stdout, and its due time and accounts on stderr. A post file
    says its own time, accounts, hashtags, link, language and parts: --at, --now,
    --next-slot, --every, --until, --to, --tag, --link, --lang and --part are refused with
    --file, never ignored. A thread: TEXT is its first part (with the link and the
    hashtags), each --part one more, published as a reply chain. --next-slot puts each
    account in its first free posting slot; --every makes the post recurring. The same
    text (whitespace, case and tracking parameters in links aside) to an account within 24
    hours is refused, unless --allow-duplicate.

    \b
    Examples:
        postbot enqueue "Lesen Sie hier, wie ..." --tag XiJinping --tag SOZGipfel \\
            --link https://example.org/soz --at "2027-12-01 08:00" --to mastodon --lang de
        postbot enqueue "Breaking" --now
        postbot enqueue "Guten Morgen aus der Redaktion" --next-slot --to mastodon
        postbot enqueue "Unser Newsletter: jeden Montag" --every "mon 09:00" \\
            --until "2027-06-30 23:59" --link https://example.org/newsletter
        postbot enqueue "Teil 1: Der Gipfel" --part "Teil 2: Die Gäste" --part "Teil 3" --now
        postbot enqueue --file posts/
        postbot enqueue "Erinnerung: heute 20 Uhr live" --now --allow-duplicate
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
            "--next-slot": (next_slot, "slot: next"),
            "--every": (every is not None, "every"),
            "--until": (until is not None, "until"),
            "--to": (to, "to"),
            "--tag": (tags, "hashtags"),
            "--link": (link is not None, "link"),
            "--lang": (lang is not None, "language"),
            "--part": (parts, "parts, or '---' lines in the body"),
        }
        clashing = {option: key for option, (value, key) in given.items() if value}
        if clashing:
            raise click.UsageError(
                f"{', '.join(clashing)} cannot be combined with --file: a post file says that"
                f" itself (front matter: {', '.join(dict.fromkeys(clashing.values()))})"
            )
        with out.import_progress() as progress:
            report = service.import_paths(
                app, files, progress=progress, allow_duplicate=allow_duplicate
            )
        if as_json:
            print_json(json.import_results(report.results))
            out.warn(report.warnings)
        else:
            out.import_report(report)
        return
    assert text is not None
    done = service.enqueue_text(
        app, text, hashtags=tags, link=link, at=at, now_flag=now_flag, to=to, language=lang,
        parts=parts, next_slot=next_slot, every=every, until=until,
        allow_duplicate=allow_duplicate,
    )  # fmt: skip
    if as_json:
        print_json(json.listing(service.show(app, done.post_id))[0])
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

    shown = service.list_posts(app, Status(status) if status else None, limit)
    if as_json:
        print_json(json.listing(shown))
    else:
        text.posts_table(shown, app.zone)


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
    from postbot.output import json, print_json, review, text

    shown = service.show(app, post_id)
    reviews = shown.reviews.get(post_id, ())
    if as_json:
        print_json({**json.listing(shown)[0], "reviews": [review.review_json(r) for r in reviews]})
    else:
        post = shown.posts[0]
        text.post_detail(post, shown.waits, app.zone, shown.recurring.get(post.id))
        review.review_lines(reviews, app.zone)


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
@click.option("--at", "at", help="New time (same forms as enqueue --at).")
@click.option(
    "--next-slot", "next_slot", is_flag=True, help="Each account's first free posting slot."
)
@pass_app
def reschedule(app: App, post_id: int, at: str | None, next_slot: bool) -> None:
    """Move a queued (or missed) post to another time, or to the next free posting slots
    (the slots it held are freed).

    \b
    Examples:
        postbot reschedule 12 --at "2027-12-01 09:30"
        postbot reschedule 12 --next-slot
    """
    from postbot import service
    from postbot.output import text

    done = service.reschedule(app, post_id, at, next_slot)
    text.changed("rescheduled", done, app.zone)


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
@part_option
@click.option("--to", "to", multiple=True, help="Account name. Repeatable. Default: all.")
@json_option
@pass_app
def preview(
    app: App, post_or_text: str, parts: tuple[str, ...], to: tuple[str, ...], as_json: bool
) -> None:
    """Show the text each account would be sent, its length and the limit (exit 2 if it does
    not fit somewhere); every part of a thread, and the variant each account gets; for X,
    what X bills for it (every part a post, a post with a URL at its own price: [x_prices]).

    \b
    Examples:
        postbot preview 12
        postbot preview "Lesen Sie hier ... #SOZGipfel" --to x --json
        postbot preview "Teil 1" --part "Teil 2" --to bluesky
    """
    from postbot import service
    from postbot.output import json, print_json, text

    result = service.preview(app, post_or_text, to, parts)
    if as_json:
        from postbot.output.slots import recurrence_json

        print_json(
            json.preview(
                result.targets, result.slots, recurrence_json(result.recurrence), result.costs
            )
        )
        text.warn(result.warnings)
    else:
        text.preview(result, app.zone)
    if not result.fits:
        click.get_current_context().exit(EXIT_BAD_INPUT)
