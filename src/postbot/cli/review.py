"""Commands of review: drafts, approve, reject."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from postbot.cli.base import at_help, cli, json_option, pass_app, post_id_argument

if TYPE_CHECKING:
    from postbot.service import App

by_option = click.option(
    "--by", "by", help="Who decides (default: $POSTBOT_EDITOR, else your login name)."
)


@cli.command()
@json_option
@pass_app
def drafts(app: App, as_json: bool) -> None:
    """List the drafts waiting for an editor, each with what every account would be sent.

    Drafts come from feeds with `review = true` and from post files with `draft: true`;
    the daemon never publishes one before it is approved.

    \b
    Examples:
        postbot drafts
        postbot drafts --json
    """
    from postbot.output import print_json
    from postbot.output import review as out
    from postbot.service import review

    views = review.drafts(app)
    if as_json:
        print_json(out.drafts_json(views))
    else:
        out.drafts_text(views, app.zone)


@cli.command()
@post_id_argument
@click.option("--at", "at", help=at_help + " Default: its own due time, or now.")
@click.option(
    "--next-slot", "next_slot", is_flag=True, help="Each account's first free posting slot."
)
@by_option
@click.option("--text", "text", help="A new text for the teaser (checked again).")
@click.option("--part", "-p", "parts", multiple=True, help="A new thread part. Repeatable.")
@click.option("--tag", "-t", "tags", multiple=True, help="New hashtags. Repeatable.")
@click.option("--link", "-l", help="A new link.")
@click.option("--lang", help="A new language code, e.g. de.")
@json_option
@pass_app
def approve(
    app: App,
    post_id: int,
    at: str | None,
    next_slot: bool,
    by: str | None,
    text: str | None,
    parts: tuple[str, ...],
    tags: tuple[str, ...],
    link: str | None,
    lang: str | None,
    as_json: bool,
) -> None:
    """Approve a draft: queue it, at its time, --at, or --next-slot (each account in its first
    free posting slot, as enqueue's); recorded with who, when and what.

    The text options are enqueue's; a changed text is checked against every account's
    limits again, and refused as a whole if it does not fit. A post file's text is changed
    in the file (git review), not here.

    \b
    Examples:
        postbot approve 12
        postbot approve 12 --at "2026-12-01 09:30" --by anna
        postbot approve 12 --next-slot
        postbot approve 12 --text "Gipfel in Tianjin: was auf dem Spiel steht" --tag SOZ
    """
    from postbot.output import print_json
    from postbot.output import review as out
    from postbot.service import review

    edit = review.Edit(
        text=text, hashtags=tags or None, link=link, language=lang, parts=parts or None
    )
    done = review.approve(app, post_id, at=at, by=by, edit=edit, next_slot=next_slot)
    if as_json:
        print_json(out.review_json(done.review, done.slots))
    else:
        out.decided_text(done, app.zone)


@cli.command()
@post_id_argument
@by_option
@json_option
@pass_app
def reject(app: App, post_id: int, by: str | None, as_json: bool) -> None:
    """Reject a draft: it is never published; recorded with who and when.

    \b
    Example:
        postbot reject 12 --by anna
    """
    from postbot.output import print_json
    from postbot.output import review as out
    from postbot.service import review

    done = review.reject(app, post_id, by=by)
    if as_json:
        print_json(out.review_json(done.review))
    else:
        out.decided_text(done, app.zone)
