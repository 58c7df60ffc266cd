"""Going live after a demo: what a dry run set goes back in the queue, example posts are
cancelled (they never reach real accounts), and a live daemon refuses while any is queued."""

from __future__ import annotations

from dataclasses import dataclass

from postbot.domain import EXAMPLE_KEY_PREFIX, DryRunReset, Status
from postbot.service import App


@dataclass(frozen=True)
class WentLive:
    reset: DryRunReset  # what a dry run had set, now back in the queue
    examples: tuple[int, ...]  # example posts whose deliveries were cancelled instead


def go_live(app: App) -> WentLive:
    """After a demo: put back in the queue what a dry run "published" or marked missed, so a
    live daemon sends it for real (and may start: it refuses while dry-run results remain).
    Example posts are cancelled instead: they never go out for real."""
    now = app.now()
    reset = app.store.reset_dry_run(now)
    examples = queued_examples(app)
    for post_id in examples:
        app.store.cancel(post_id, now)
    return WentLive(reset, examples)


def queued_examples(app: App) -> tuple[int, ...]:
    """Example posts with deliveries still queued (a live daemon refuses to start over them)."""
    queued = app.store.list_posts(Status.QUEUED, key_prefix=EXAMPLE_KEY_PREFIX)
    return tuple(p.id for p in queued if p.example)
