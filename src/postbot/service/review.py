"""Review: list the drafts with their previews, approve one (its text changed and checked again
if the editor says so), reject one. Every decision is recorded (`Store.approve`, `reject`).

Post files keep git as their review path: a file with `draft: true` is a draft until someone
approves it here or removes the flag in a reviewed commit; its text is changed in the file,
never here (the next import would otherwise undo the change).
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from postbot.domain import Post, Status
from postbot.drafts import Draft, plan
from postbot.errors import UserError
from postbot.reviews import Review
from postbot.service import App, Preview, parse_due, preview


@dataclass(frozen=True)
class DraftView:
    post: Post
    preview: Preview  # what each account would be sent, counted against its limits
    notes: tuple[str, ...] = ()  # what the editor should check (a feed image's alt text ...)


@dataclass(frozen=True)
class Decided:
    post_id: int
    review: Review
    due: datetime | None
    warnings: tuple[str, ...] = ()
    slots: Mapping[str, datetime] = field(default_factory=dict)  # next slot: per account


@dataclass(frozen=True)
class Edit:
    """Text options of `approve`, as `enqueue` takes them; None: keep what the draft says."""

    text: str | None = None
    hashtags: Sequence[str] | None = None
    link: str | None = None
    language: str | None = None
    parts: Sequence[str] | None = None

    @property
    def given(self) -> bool:
        return any(v is not None for v in (self.text, self.hashtags, self.link, self.language,
                                           self.parts))  # fmt: skip


def drafts(app: App) -> list[DraftView]:
    posts = app.store.list_posts(Status.DRAFT)
    notes = app.store.feed_notes([p.id for p in posts]) if posts else {}
    return [
        DraftView(p, preview(app, str(p.id)), tuple(notes.get(p.id, ())))
        for p in sorted(posts, key=lambda p: p.id)
    ]


def who(by: str | None, environ: Mapping[str, str] | None = None) -> str:
    """The editor: `--by`, else the login name."""
    if by is not None:
        if not by.strip() or len(by) > 200:
            raise UserError("--by must name the editor in 1 to 200 characters, e.g. --by anna")
        return by.strip()
    env = os.environ if environ is None else environ
    return env.get("POSTBOT_EDITOR") or getpass.getuser()


def approve(
    app: App,
    post_id: int,
    *,
    at: str | None = None,
    due: datetime | None = None,
    by: str | None = None,
    edit: Edit | None = None,
    next_slot: bool = False,
) -> Decided:
    """Queue a draft at `due` (a caller's decision), at `at` (a time typed by the editor), each
    account in its first free posting slot (`next_slot`, as `enqueue --next-slot`: taken in the
    approving transaction, never shared), or else at its own due time (now, if that passed),
    quiet hours of its feed respected."""
    if next_slot and at is not None:
        raise UserError("give either --at or --next-slot, not both")
    if sum(x is not None for x in (at, due)) + next_slot > 1:
        raise UserError("give either a time or a slot, not both")
    now = app.now()
    post = app.store.get_post(post_id)
    editor = who(by)
    schedules = None
    if next_slot:
        from postbot.slot_config import schedules_for

        accounts = tuple(d.account for d in post.deliveries if d.status == Status.DRAFT)
        schedules = schedules_for(app.settings, accounts)
    if due is None:
        due = parse_due(app, at, now) if at is not None else _default_due(app, post, now)
    checked = None
    if edit is not None and edit.given:
        checked = plan(_edited(app, post, edit), app.settings)
    review = app.store.approve(post_id, due, now, editor, checked, schedules)
    if schedules is None:
        return Decided(post_id, review, due)
    held = app.store.get_post(post_id).deliveries
    slots = {
        d.account: d.due_at
        for d in held
        if d.account in schedules and d.slot_at is not None and d.status == Status.QUEUED
    }
    return Decided(post_id, review, min(slots.values(), default=due), slots=slots)


def reject(app: App, post_id: int, *, by: str | None = None) -> Decided:
    review = app.store.reject(post_id, app.now(), who(by))
    return Decided(post_id, review, None)


def _default_due(app: App, post: Post, now: datetime) -> datetime:
    drafted = [d.due_at for d in post.deliveries if d.status == Status.DRAFT]
    due = max([now, *drafted[:1]])
    from postbot.feeds.schedule import out_of_quiet_hours
    from postbot.service.feeds import feed_of

    feed = feed_of(app.settings, post.key)
    if feed is not None and feed.quiet_hours is not None:
        due = out_of_quiet_hours(due, feed.quiet_hours, app.zone)
    return due


def editable(post: Post) -> bool:
    """A draft's text can be changed at approval: a feed's or a typed one, not a post file's."""
    return post.key.startswith(("cli:", "feed:"))


def _edited(app: App, post: Post, edit: Edit) -> Draft:
    if not editable(post):
        raise UserError(
            f"post {post.id} comes from the post file {post.source}: change its text in the file"
            " (git is its review path), then approve it here or remove `draft: true`"
        )
    return Draft(
        teaser=edit.text if edit.text is not None else post.teaser,
        hashtags=tuple(edit.hashtags) if edit.hashtags is not None else post.hashtags,
        link=edit.link if edit.link is not None else post.link,
        language=edit.language if edit.language is not None else post.language,
        media=post.media,
        headline=post.headline,
        to=tuple(d.account for d in post.deliveries if d.status == Status.DRAFT),
        key=post.key,
        source=post.source,
        where=f"post {post.id}",
        parts=tuple(edit.parts) if edit.parts is not None else post.parts,
        variants=post.variants,
    )
