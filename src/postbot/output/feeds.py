"""How feeds look: `postbot feeds` and `postbot feeds poll`, for people and for scripts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import tzinfo
from typing import TYPE_CHECKING, Any

import click

from postbot.output import local

if TYPE_CHECKING:
    from postbot.service.feeds import FeedView, PollReport


def feeds_json(views: Sequence[FeedView]) -> list[dict[str, Any]]:
    from postbot.output import iso

    out = []
    for v in views:
        s = v.state
        out.append({
            "name": v.settings.name, "url": v.settings.url, "review": v.settings.review,
            "every_seconds": v.settings.every.total_seconds(),
            "last_poll": iso(s.polled_at) if s else None,
            "result": s.result.value if s and s.result else None,
            "error": s.error if s else None,
            "failures": s.failures if s else 0,
            "items_seen": s.items_seen if s else 0,
            "posts_created": s.posts_created if s else 0,
            "next_poll": iso(s.next_poll_at) if s else None,
            "watched_since": iso(s.watched_since) if s else None,
        })  # fmt: skip
    return out


def feeds_text(views: Sequence[FeedView], zone: tzinfo) -> None:
    if not views:
        click.echo("no feeds configured ([feeds.NAME] in the config)")
        return
    for v in views:
        s = v.state
        review = ", review" if v.settings.review else ""
        click.echo(f"{v.settings.name}  {v.settings.url}  (every {_every(v)}{review})")
        if s is None:
            click.echo("  never polled: the daemon polls it when it starts")
            continue
        result = s.result.value if s.result else "-"
        if s.error:
            result += f": {s.error} ({s.failures} in a row, backing off)"
        click.echo(f"  last poll {local(s.polled_at, zone)}: {result}")
        click.echo(f"  items seen {s.items_seen}, posts created {s.posts_created},"
                   f" next poll {local(s.next_poll_at, zone)}")  # fmt: skip


def _every(v: FeedView) -> str:
    from postbot.pacing import describe_period

    return describe_period(v.settings.every)


def polls_json(reports: Sequence[PollReport]) -> list[dict[str, Any]]:
    from postbot.output import iso

    return [
        {
            "feed": r.feed, "result": r.result.value, "error": r.error, "listed": r.listed,
            "next_poll": iso(r.next_poll_at),
            "items": [{"keys": list(o.keys), "action": o.action, "post_id": o.post_id,
                       "note": o.note} for o in r.outcomes],
        }
        for r in reports
    ]  # fmt: skip


def polls_text(reports: Sequence[PollReport], zone: tzinfo) -> None:
    for r in reports:
        if r.error:
            click.echo(f"{r.feed}: error: {r.error}; next poll {local(r.next_poll_at, zone)}")
            continue
        counts = ", ".join(f"{r.count(a)} {a}" for a in
                           ("created", "updated", "seen", "noted", "conflict", "kept")
                           if r.count(a))  # fmt: skip
        click.echo(f"{r.feed}: {r.result.value}, {r.listed} item(s) listed"
                   f"{': ' + counts if counts else ', nothing new'}")  # fmt: skip
        for o in r.outcomes:
            if o.action == "created":
                click.echo(
                    f"  post {o.post_id} created" + (f" (check: {o.note})" if o.note else "")
                )
            elif o.note and o.action != "seen":
                click.echo(f"  {o.action}: {o.note}")
