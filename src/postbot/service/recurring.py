"""Recurring posts (`every:` / `--every`): the first occurrence at enqueue, each next one when
the one before is done, stopping a series, and what `list` and `show` say of it.

The rules (`postbot.recurring`): a series is its first post (holding the rule) and one post per
later occurrence, queued by the daemon once the occurrence before it is no longer queued. The
next occurrence is always the rule's next time *after now*: an occurrence missed while the
daemon was down is not made up for (the one already queued goes out late, within the
account's `max_lateness`, or is `missed`), so an outage never fires a burst. The store queues
each occurrence once (`uq_post_occurrence`), whichever daemon asks first.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from postbot.drafts import Draft, plan
from postbot.errors import PostbotError, StateError, UserError
from postbot.recurring import Recurrence, Rule, next_occurrence, parse_every
from postbot.when import read_time

if TYPE_CHECKING:
    from postbot.config import Settings
    from postbot.domain import Post
    from postbot.service import App
    from postbot.service.serverside import Withdrawal
    from postbot.store import Store

log = logging.getLogger("postbot.recurring")


def check_when(
    app: App,
    at: str | None,
    now_flag: bool,
    next_slot: bool,
    every: str | None,
    until: str | None,
    now: datetime,
) -> datetime | None:
    """The command line's ways of saying when, one at most; `--until` only with `--every`.
    Returns the series' end (`--until`), if given."""
    given = [o for o, v in (("--at", at), ("--now", now_flag), ("--next-slot", next_slot),
                            ("--every", every)) if v]  # fmt: skip
    if len(given) == 2:
        raise UserError(f"give either {given[0]} or {given[1]}, not both")
    if len(given) > 2:
        raise UserError(f"give one of {', '.join(given)}, not all of them")
    if until is not None and every is None:
        raise UserError("--until ends a recurring post: give it with --every")
    return parse_until(app, until, now) if until is not None else None


def recurrences(app: App, posts: Sequence[Post], now: datetime) -> dict[int, Recurrence]:
    """What each post of a series says of it (`list`, `show`): rule, next occurrence."""
    heads = {p.id: p for p in posts if p.every is not None}
    found = {}
    for post in posts:
        if post.every is None and post.series_id is None:
            continue
        head_id = post.series_id or post.id
        head = heads.get(head_id) or heads.setdefault(head_id, app.store.get_post(head_id))
        found[post.id] = recurrence(app.settings, post, head, now)
    return found


def rule_of(every: str, where: str = "--every") -> Rule:
    try:
        return parse_every(every)
    except ValueError as exc:
        raise UserError(f"{where}: {exc}") from None


def parse_until(app: App, text: str, now: datetime, where: str = "--until") -> datetime:
    """`--until`: an absolute date and time (a series' end must not move), in the future."""
    reading = read_time(text, app.zone, now, order=app.settings.date_order)
    if reading.relative:
        raise UserError(
            f"{where}: '{text}' is relative; give a fixed date and time, e.g. '2027-06-30 23:59'"
        )
    if reading.when <= now:
        raise UserError(f"{where}: '{text}' is in the past; give the series' end to come")
    return reading.when


def first_occurrence(
    settings: Settings, every: str, until: datetime | None, now: datetime, where: str
) -> datetime:
    """When a new series first goes out: the rule's next time after now."""
    found = next_occurrence(rule_of(every, where), settings.timezone, now, until)
    if found is None:
        end = " before until" if until is not None else ""
        raise UserError(f"{where}: '{every}' has no occurrence{end}; check the rule")
    return found


def recurrence(settings: Settings, post: Post, head: Post | None, now: datetime) -> Recurrence:
    """A series post as `list` and `show` describe it (`head`: the series' first post)."""
    head = head or post
    assert head.every is not None
    stopped = head.stopped_at is not None
    upcoming = [d.due_at for d in post.deliveries if d.status == "queued" and d.due_at > now]
    try:
        rule = parse_every(head.every)
    except ValueError:  # stored by this very parser; never refused on reading
        return Recurrence(head.every, head.id, head.until, None, stopped)
    after = next_occurrence(rule, settings.timezone, now, head.until)
    next_at = None if stopped else min([*upcoming, *([after] if after else [])], default=None)
    return Recurrence(head.every, head.id, head.until, next_at, stopped)


def draft_of(post: Post, accounts: Sequence[str]) -> Draft:
    """The series' content, to render an occurrence with the config as it is now."""
    return Draft(
        teaser=post.teaser, hashtags=post.hashtags, link=post.link, language=post.language,
        media=post.media, headline=post.headline, to=tuple(accounts), key=post.key,
        source=post.source, where=f"post {post.id}", parts=post.parts, variants=post.variants,
    )  # fmt: skip


def requeue(app: App) -> list[int]:
    """The daemon's job: queue the next occurrence of every series whose latest one is done.
    Returns the posts queued. A series that cannot be rendered (an account gone from the
    config) is logged and tried again next time."""
    now = app.now()
    queued = []
    for state in app.store.active_series():
        if state.open or not state.accounts or state.head.every is None:
            continue
        rule = parse_every(state.head.every)
        # After now (no catch-up), after the latest's own time (even if it was moved earlier).
        after = max(now, state.last_due, state.occurrence or now)
        due = next_occurrence(rule, app.zone, after, state.head.until)
        if due is None:
            continue  # the series has ended (until)
        try:
            checked = plan(draft_of(state.head, state.accounts), app.settings)
        except PostbotError as exc:
            log.error("recurring post %d: next occurrence not queued: %s", state.head.id, exc)
            continue
        post_id = app.store.queue_occurrence(state.head.id, checked, due, now)
        if post_id is not None:
            log.info("recurring post %d: occurrence queued as post %d", state.head.id, post_id)
            queued.append(post_id)
    return queued


def cancel_post(
    settings: Settings, store: Store, post_id: int, now: datetime, *, live: bool = True
) -> tuple[int, Withdrawal]:
    """Cancel a post, and stop its series if it is in one (no occurrence after this), with
    every occurrence of it still queued. A series' post already published can be cancelled
    this way too: the series stops."""
    from postbot.service import serverside

    open_posts = store.stop_series(post_id, now)
    stopped = bool(open_posts) or _in_series(store, post_id)
    total, last = 0, serverside.Withdrawal()
    for other in sorted({*open_posts} - {post_id}):
        with contextlib.suppress(StateError):  # published meanwhile: nothing to cancel
            total += serverside.cancel_post(settings, store, other, now, live=live)[0]
    try:
        changed, last = serverside.cancel_post(settings, store, post_id, now, live=live)
    except StateError:
        if not stopped:
            raise
        changed = 0
    return total + changed, last


def _in_series(store: Store, post_id: int) -> bool:
    post = store.get_post(post_id)
    return post.every is not None or post.series_id is not None
