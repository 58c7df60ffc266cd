"""The reads the web calendar needs beyond the CLI's: a span of the calendar, what needs a
person's attention, a post with its preview per target, and a preview of text being typed.

Writes are the CLI's own service calls (`enqueue_text`, `retry`, `cancel`, `resolve`,
`reschedule`): a post made in the browser is the same as one from `postbot enqueue`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from postbot.domain import Attempt, Post, Status, Wait
from postbot.drafts import Draft, Target, plan
from postbot.errors import UserError
from postbot.platforms import platform_for
from postbot.platforms.facets import Facet
from postbot.platforms.limits import LimitCheck
from postbot.reviews import Review
from postbot.service import App, Listing, Preview, attempt_log, preview, show

if TYPE_CHECKING:
    from postbot.service.feeds import FeedView

NEEDS_ATTENTION = (Status.FAILED, Status.UNKNOWN, Status.MISSED)


@dataclass(frozen=True)
class Part:
    """One post as a platform gets it: its text, every limit it is checked against, the links
    and hashtags the platform makes of it. A thread has one per part, in the order sent."""

    text: str
    checks: tuple[LimitCheck, ...]
    facets: tuple[Facet, ...]

    @property
    def fits(self) -> bool:
        return all(check.fits for check in self.checks)


@dataclass(frozen=True)
class TargetView:
    account: str
    platform: str
    parts: tuple[Part, ...] = ()
    error: str | None = None  # why there is no preview (the account left the config ...)
    # The text stored with the delivery, when it is not what the preview renders now.
    stored_text: str | None = None
    variant: str | None = None  # the variant this account is sent, if any
    cost: Decimal | None = None  # what X bills for it, every part counted (None: not billed)


@dataclass(frozen=True)
class PostPage:
    post: Post
    waits: Mapping[int, Wait]  # delivery id -> why it has not gone out yet
    targets: tuple[TargetView, ...]  # one per delivery, in delivery order
    attempts: tuple[Attempt, ...]
    reviews: tuple[Review, ...] = ()  # who approved or rejected it as a draft, and when


@dataclass(frozen=True)
class DraftCard:
    """A draft on the Drafts page: what each account would be sent, and what to check."""

    post: Post
    targets: tuple[TargetView, ...]
    notes: tuple[str, ...]
    editable: bool  # its text can be changed here (a post file's is changed in its file)


def due_between(app: App, start: datetime, end: datetime) -> list[Post]:
    """The posts with deliveries due in [start, end), each with only those deliveries."""
    return app.store.posts_due_between(start, end)


def needs_attention(app: App) -> Listing:
    """Posts with a failed, unknown or missed delivery, with all their deliveries (a person
    retries, resolves or cancels the post), the latest due first."""
    latest: dict[int, datetime] = {}
    for status in NEEDS_ATTENTION:
        for post in app.store.list_posts(status):
            due = max(d.due_at for d in post.deliveries)
            latest[post.id] = max(due, latest.get(post.id, due))
    ids = sorted(latest, key=lambda i: (latest[i], i), reverse=True)
    return Listing(tuple(app.store.get_post(i) for i in ids), {})


def post_page(app: App, post_id: int) -> PostPage:
    """A post, each delivery's state and why it waits, its preview per target, its attempts."""
    shown = show(app, post_id)
    post = shown.posts[0]
    targets = []
    for delivery in post.deliveries:
        try:
            shown_preview = preview(app, str(post.id), [delivery.account])
        except UserError as exc:
            targets.append(TargetView(delivery.account, delivery.platform, error=str(exc)))
            continue
        [target] = shown_preview.targets
        view = target_view(app, target, shown_preview.costs.get(target.account))
        if delivery.text != target.text:
            view = replace(view, stored_text=delivery.text)
        targets.append(view)
    attempts = attempt_log(app, post_id).attempts
    return PostPage(post, shown.waits, tuple(targets), attempts, shown.reviews.get(post_id, ()))


def drafts_page(app: App) -> list[DraftCard]:
    """The drafts waiting for an editor (`postbot drafts`), each previewed per target."""
    from postbot.service import review

    return [
        DraftCard(
            v.post,
            tuple(target_view(app, t, v.preview.costs.get(t.account)) for t in v.preview.targets),
            v.notes,
            review.editable(v.post),
        )
        for v in review.drafts(app)
    ]


def target_view(app: App, target: Target, cost: Decimal | None = None) -> TargetView:
    """Every part `target` is sent (one for a single post), with its checks and facets, and
    what X bills for it (`cost`, from the preview)."""
    platform = platform_for(app.settings.account(target.account))
    checked = [(p.text, p.checks) for p in target.parts] or [(target.text, target.checks)]
    parts = tuple(Part(text, checks, platform.facets(text)) for text, checks in checked)
    return TargetView(target.account, target.platform, parts, variant=target.variant, cost=cost)


def preview_draft(app: App, draft: Draft) -> Preview:
    """What enqueueing `draft` (`typed_draft`, as `enqueue_text` makes it) would send to each
    account, counted the same way, without refusing a text that is too long (each target says
    whether it fits)."""
    return Preview(plan(draft, app.settings, check_length=False).targets)


def feeds_page(app: App) -> list[FeedView]:
    """Every configured feed with what its polls did (`postbot feeds`)."""
    from postbot.service.feeds import feeds

    return feeds(app)
