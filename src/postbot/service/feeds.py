"""Feeds: poll one feed (fetch, parse, decide what is new, build each teaser, record it all in
one transaction), and read what every feed did (`postbot feeds`).

Exactly one post per article: every key of every article a feed lists is stored for good
(`feed_item`, unique per feed and key) in the same transaction as the post made from it, so a
crash leaves either both or neither, and the next poll finds the article known.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from postbot.config import Settings
from postbot.domain import MediaItem
from postbot.drafts import Draft, Plan, plan
from postbot.errors import PostbotError, UserError
from postbot.feeds import keys as article
from postbot.feeds import schedule, template
from postbot.feeds.config import FeedSettings
from postbot.feeds.parse import Item
from postbot.feeds.records import FeedState, ItemOutcome, ItemWrite, PollResult, PollWrite
from postbot.service import App

log = logging.getLogger("postbot.feeds")
KEY_PREFIX = "feed:"
BACKLOG = "listed before postbot watched the feed: not posted"


@dataclass(frozen=True)
class PollReport:
    feed: str
    result: PollResult
    next_poll_at: datetime
    error: str | None = None
    listed: int = 0  # items in the feed
    outcomes: tuple[ItemOutcome, ...] = ()

    def count(self, action: str) -> int:
        return sum(o.action == action for o in self.outcomes)

    @property
    def created(self) -> tuple[int, ...]:
        return tuple(o.post_id for o in self.outcomes if o.action == "created" and o.post_id)


@dataclass(frozen=True)
class FeedView:
    """`postbot feeds`: a configured feed and what its polls did so far (None: never polled)."""

    settings: FeedSettings
    state: FeedState | None


def feed_of(settings: Settings, post_key: str) -> FeedSettings | None:
    """The feed a post came from (its key says), if it is still configured."""
    if not post_key.startswith(KEY_PREFIX):
        return None
    name = post_key[len(KEY_PREFIX) :].rsplit(":", 1)[0]
    feed: FeedSettings | None = settings.feeds.get(name)
    return feed


def post_key(feed: str, keys: tuple[str, ...]) -> str:
    return f"{KEY_PREFIX}{feed}:{hashlib.sha256(keys[0].encode()).hexdigest()[:32]}"


def feeds(app: App) -> list[FeedView]:
    states = {s.name: s for s in app.store.feed_states()}
    return [FeedView(f, states.get(name)) for name, f in sorted(app.settings.feeds.items())]


def selected(app: App, name: str | None) -> list[FeedSettings]:
    if name is None:
        if not app.settings.feeds:
            raise UserError(f"no feeds configured in {app.settings.source} (add [feeds.NAME])")
        return list(app.settings.feeds.values())
    if name not in app.settings.feeds:
        known = ", ".join(sorted(app.settings.feeds)) or "none configured"
        raise UserError(f"unknown feed '{name}' (known: {known})")
    return [app.settings.feeds[name]]


def poll_now(app: App, name: str | None = None, http: Any = None) -> list[PollReport]:
    """`postbot feeds poll [NAME]`: poll now, whatever the schedule says."""
    from postbot.feeds.fetch import session

    chosen = selected(app, name)
    http = http or session()
    states = {s.name: s for s in app.store.feed_states()}
    return [poll_feed(app, f, states.get(f.name), http) for f in chosen]


def poll_feed(app: App, feed: FeedSettings, state: FeedState | None, http: Any) -> PollReport:
    from postbot.feeds.fetch import FetchError, fetch
    from postbot.feeds.parse import FeedError, parse_feed

    now = app.now()
    etag, modified = (state.etag, state.last_modified) if state else (None, None)
    try:
        got = fetch(http, feed.url, feed.timeout, etag, modified)
        digest = hashlib.sha256(got.body).hexdigest() if got.status == 200 else None
        # A server that ignores the conditional GET but sends the same bytes sent the same
        # items: nothing to parse, nothing new (a first poll is always read).
        same = digest is not None and state is not None and state.body_hash == digest
        items = parse_feed(got.body) if got.status == 200 and not same else []
    except (FetchError, FeedError) as exc:
        failures = (state.failures if state else 0) + 1
        nxt = schedule.next_poll(now, feed.every, failures)
        app.store.record_poll(PollWrite(feed.name, feed.url, now, PollResult.ERROR, nxt,
                                        failures, str(exc)), now)  # fmt: skip
        log.warning("feed %s: %s (next poll %s)", feed.name, exc, nxt.isoformat())
        return PollReport(feed.name, PollResult.ERROR, nxt, str(exc))
    nxt = schedule.next_poll(now, feed.every, 0)
    result = PollResult.NOT_MODIFIED if got.status == 304 or same else PollResult.OK
    first = state is None or state.watched_since is None
    writes = decide(app, feed, items, first, now, http) if items else ()
    poll = PollWrite(feed.name, feed.url, now, result, nxt, 0, None, got.etag, got.last_modified,
                     tuple(writes), digest)  # fmt: skip
    outcomes = app.store.record_poll(poll, now)
    return PollReport(feed.name, result, nxt, None, len(items), tuple(outcomes))


def decide(
    app: App, feed: FeedSettings, items: list[Item], first: bool, now: datetime, http: Any
) -> list[ItemWrite]:
    """What to record of a poll's items: the new ones (posted, up to max_per_poll, newest
    first; remembered only on a first poll or over the cap), the changed ones (re-rendered),
    and new keys of known ones. Unchanged items are left out: a re-poll costs a read."""
    keyed = []
    for item in items:
        keys = article.article_keys(item.guid, item.link)
        digest = article.content_hash(item.title, item.summary, item.categories, item.image,
                                      item.alt)  # fmt: skip
        keyed.append((item, keys, digest))
    known = app.store.known_feed_items(feed.name, [k for _, keys, _ in keyed for k in keys])
    writes: list[ItemWrite] = []
    fresh: list[tuple[Item, tuple[str, ...], str]] = []
    batch: set[str] = set()
    for item, keys, digest in keyed:
        hit = next((known[k] for k in keys if k in known), None)
        if hit is None and batch.isdisjoint(keys):
            batch.update(keys)
            if schedule.is_backlog(item.published, first, feed.since):
                writes.append(ItemWrite(keys, digest, item.title, item.link, note=BACKLOG))
            else:
                fresh.append((item, keys, digest))
        elif hit is not None and (hit.content_hash != digest or any(k not in known for k in keys)):
            edited = hit.content_hash != digest and hit.post_id is not None
            built, note = teaser(app, feed, item, keys, now, http) if edited else (None, None)
            writes.append(ItemWrite(keys, digest, item.title, item.link, built, note=note))
    fresh.sort(key=lambda f: f[0].published or now, reverse=True)
    for n, (item, keys, digest) in enumerate(fresh):
        if n >= feed.max_per_poll:
            note = f"over max_per_poll ({feed.max_per_poll}) in one poll: not posted"
            writes.append(ItemWrite(keys, digest, item.title, item.link, note=note))
            continue
        built, note = teaser(app, feed, item, keys, now, http)
        due = schedule.due_of(item.published, now, feed.delay, feed.quiet_hours, app.zone)
        writes.append(ItemWrite(keys, digest, item.title, item.link, built, due, note))
    return writes


def teaser(
    app: App, feed: FeedSettings, item: Item, keys: tuple[str, ...], now: datetime, http: Any
) -> tuple[Plan | None, str | None]:
    """The item's teaser, checked for every account (the summary shortened until it fits);
    None and why, if it cannot be made."""
    notes: list[str] = []
    media: tuple[MediaItem, ...] = ()
    if item.image:
        if not item.alt:
            notes.append(f"image {item.image} has no description (alt text): not attached")
        else:
            saved = _image(app, feed, item.image, http)
            if isinstance(saved, str):
                notes.append(saved)
            else:
                media = (MediaItem(str(saved), item.alt),)
    tags = template.hashtags_of(item.categories, feed.hashtags)
    try:
        tags = tuple(t for t in tags if _valid_tag(t))
        built = _fit(app, feed, item, keys, tags, media)
    except UserError as exc:
        if media:  # the image refused (too large, not an image): the teaser without it
            notes.append(f"image {item.image} not attached: {exc}")
            try:
                built = _fit(app, feed, item, keys, tags, ())
            except UserError as again:
                return None, f"not posted: {again}"
        else:
            return None, f"not posted: {exc}"
    return built, "; ".join(notes) or None


def _fit(app: App, feed: FeedSettings, item: Item, keys: tuple[str, ...], tags: tuple[str, ...],
         media: tuple[MediaItem, ...]) -> Plan:  # fmt: skip
    summary = item.summary
    while True:
        shown = template.render(feed.template, item.title, summary, item.link, tags)
        draft = Draft(
            teaser=shown.text, hashtags=shown.hashtags, link=shown.link,
            language=feed.language or app.settings.language, media=media,
            headline=item.title or None, to=feed.to, key=post_key(feed.name, keys),
            source=f"feed {feed.name}", where=f"feed {feed.name}: {item.link or item.guid}",
            hold=feed.review,
        )  # fmt: skip
        try:
            return plan(draft, app.settings)
        except UserError as exc:
            shortened = summary and template.uses(feed.template, "summary")
            if "too long" not in str(exc) or not shortened:
                raise
            summary = template.shorten(summary, int(len(summary) * 0.8))


def _valid_tag(tag: str) -> bool:
    from postbot.compose import normalize_hashtag

    try:
        normalize_hashtag(tag)
    except UserError:
        return False
    return True


def _image(app: App, feed: FeedSettings, url: str, http: Any) -> Path | str:
    """The image saved under var/feed-media (once per address), or why not."""
    from postbot.feeds.fetch import fetch_image

    base = app.settings.project_dir or Path.cwd()
    suffix = Path(url.split("?", 1)[0]).suffix.lower()
    suffix = suffix if suffix in (".jpg", ".jpeg", ".png", ".gif", ".webp") else ".img"
    path = base / "var" / "feed-media" / (hashlib.sha256(url.encode()).hexdigest()[:32] + suffix)
    if path.is_file():
        return path
    try:
        body = fetch_image(http, url, feed.timeout)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
    except (PostbotError, OSError) as exc:
        return f"image {url} not attached: {exc}"
    return path
