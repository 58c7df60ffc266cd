"""How drafts and review decisions look: for people (text) and for scripts (JSON)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any

import click

from postbot.output import local

if TYPE_CHECKING:
    from postbot.reviews import Review
    from postbot.service.review import Decided, DraftView


def review_json(r: Review, slots: Mapping[str, datetime] | None = None) -> dict[str, Any]:
    from postbot.output import iso

    found = {"id": r.id, "decision": r.decision.value, "by": r.by, "at": iso(r.at),
             "detail": dict(r.detail)}  # fmt: skip
    if slots:
        found["slots"] = {account: iso(at) for account, at in slots.items()}
    return found


def drafts_json(views: Sequence[DraftView]) -> list[dict[str, Any]]:
    from postbot.output import json

    return [
        {**json.post(v.post), "preview": json.preview(v.preview.targets), "notes": list(v.notes)}
        for v in views
    ]


def drafts_text(views: Sequence[DraftView], zone: tzinfo) -> None:
    from postbot.output import text

    if not views:
        click.echo("no drafts")
        return
    for v in views:
        due = min(d.due_at for d in v.post.deliveries)
        click.echo(f"draft {v.post.id}  ({v.post.source}, due {local(due, zone)})")
        for note in v.notes:
            click.echo(f"  check: {note}")
        text.preview(v.preview)
        click.echo(f"  approve: postbot approve {v.post.id}    reject: postbot reject {v.post.id}")


def decided_text(d: Decided, zone: tzinfo) -> None:
    r = d.review
    if d.due is not None:
        click.echo(
            f"post {d.post_id} approved by {r.by} at {local(r.at, zone)}: due {local(d.due, zone)}"
            f" on {', '.join(r.detail.get('texts', {})) or '-'}"
        )
        for account, at in d.slots.items():
            click.echo(f"  {account}: slot {local(at, zone)}")
    else:
        click.echo(f"post {d.post_id} rejected by {r.by} at {local(r.at, zone)}")


def review_lines(reviews: Sequence[Review], zone: tzinfo) -> None:
    for r in reviews:
        edited = " (text edited)" if r.detail.get("edited") else ""
        click.echo(f"\n{r.decision.value} by {r.by} at {local(r.at, zone)}{edited}")
        for account, sent in (r.detail.get("texts") or {}).items():
            click.echo(f"  {account}: {sent}")
