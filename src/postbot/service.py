"""What the CLI (and any script) calls: enqueue, import, preview, cancel, reschedule, retry, read.

Each function validates everything first and writes in one transaction, so a refused
request leaves the database as it was.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from postbot.config import Settings, load_settings
from postbot.domain import Attempt, Delivery, Post, QueueSummary
from postbot.drafts import Draft, Plan, plan, render_for, targets_for
from postbot.errors import UserError
from postbot.postfile import find_post_files, read_post_file
from postbot.store import ImportResult, Store, open_store
from postbot.when import parse_when, require_future


@dataclass
class App:
    settings: Settings
    store: Store

    def now(self) -> datetime:
        return datetime.now(UTC)


def open_app(config_path: str | Path | None = None, *, migrate: bool = True) -> App:
    settings = load_settings(config_path)
    store = open_store(settings.database_url)
    if migrate:
        store.ensure_schema()
    return App(settings, store)


def due_time(app: App, at: str | None, now_flag: bool, now: datetime) -> datetime:
    if at and now_flag:
        raise UserError("give either --at or --now, not both")
    if not at:
        return now
    return require_future(parse_when(at, app.settings.timezone, now), now, at)


def enqueue_text(
    app: App,
    text: str,
    *,
    hashtags: Sequence[str] = (),
    link: str | None = None,
    at: str | None = None,
    now_flag: bool = False,
    to: Sequence[str] = (),
    language: str | None = None,
) -> int:
    now = app.now()
    due = due_time(app, at, now_flag, now)
    draft = Draft(
        teaser=text, hashtags=tuple(hashtags), link=link,
        language=language or app.settings.language, to=tuple(to),
    )  # fmt: skip
    return app.store.enqueue(plan(draft, app.settings), due, now)


def import_paths(app: App, paths: Sequence[str | Path]) -> list[ImportResult]:
    """Import post files and folders; all are checked before any is written."""
    now = app.now()
    items: list[tuple[Plan, datetime | None]] = []
    seen: dict[str, str] = {}
    for path in find_post_files(paths):
        draft = read_post_file(path, app.settings.timezone, now)
        if draft.language is None and app.settings.language:
            draft = replace(draft, language=app.settings.language)
        key = draft.key or ""
        if key in seen:
            raise UserError(f"{path}: id '{key}' is also used by {seen[key]}")
        seen[key] = str(path)
        checked = plan(draft, app.settings)
        if draft.at is not None and draft.at < now:
            stored = app.store.find_post_by_key(key)
            if stored is None or stored.content_hash != checked.draft.content_hash():
                raise UserError(
                    f"{path}: at {draft.at.isoformat()} is in the past; remove 'at' to post now"
                )
        items.append((checked, draft.at))
    return app.store.import_plans(items, now)


def preview(app: App, post_id_or_text: str, to: Sequence[str] = ()) -> list[dict[str, Any]]:
    """For each target: account, platform, rendered text, count, limit and whether it fits."""
    if post_id_or_text.isdigit():
        post = app.store.get_post(int(post_id_or_text))
        draft = Draft(
            teaser=post.teaser,
            hashtags=post.hashtags,
            link=post.link,
            language=post.language,
            to=tuple(to) or tuple(d.account for d in post.deliveries),
            where=f"post {post.id}",
        )
    else:
        draft = Draft(teaser=post_id_or_text, to=tuple(to))
    checked = plan(draft, app.settings, check_length=False).draft
    return [
        {
            "account": t.account, "platform": t.platform, "text": t.text,
            "count": t.count, "limit": t.limit, "fits": t.fits,
        }
        for t in (render_for(checked, a) for a in targets_for(checked, app.settings))
    ]  # fmt: skip


def reschedule(app: App, post_id: int, at: str) -> datetime:
    now = app.now()
    due = require_future(parse_when(at, app.settings.timezone, now), now, at)
    app.store.reschedule(post_id, due, now)
    return due


# -- JSON shapes (documented in the README; keep them stable) ------------------------------
def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def post_json(post: Post) -> dict[str, Any]:
    return {
        "id": post.id,
        "key": post.key,
        "headline": post.headline,
        "text": post.teaser,
        "hashtags": list(post.hashtags),
        "link": post.link,
        "language": post.language,
        "media": [{"path": m.path, "alt": m.alt} for m in post.media],
        "source": post.source,
        "created_at": iso(post.created_at),
        "deliveries": [delivery_json(d) for d in post.deliveries],
    }


def delivery_json(d: Delivery) -> dict[str, Any]:
    return {
        "id": d.id,
        "account": d.account,
        "platform": d.platform,
        "status": str(d.status),
        "due_at": iso(d.due_at),
        "next_attempt_at": iso(d.next_attempt_at),
        "text": d.text,
        "attempts": d.attempts,
        "remote_id": d.remote_id,
        "remote_url": d.remote_url,
        "last_error": d.last_error,
    }


def attempt_json(a: Attempt) -> dict[str, Any]:
    return {
        "id": a.id,
        "post_id": a.post_id,
        "delivery_id": a.delivery_id,
        "account": a.account,
        "platform": a.platform,
        "started_at": iso(a.started_at),
        "finished_at": iso(a.finished_at),
        "outcome": str(a.outcome),
        "error_class": a.error_class,
        "error_message": a.error_message,
        "http_status": a.http_status,
        "remote_id": a.remote_id,
        "remote_url": a.remote_url,
        "dry_run": a.dry_run,
        "sent": dict(a.detail),
    }


def status_json(summary: QueueSummary) -> dict[str, Any]:
    return {
        "counts": dict(summary.counts),
        "next_due": iso(summary.next_due),
        "workers": [
            {
                "worker": w.worker,
                "host": w.host,
                "pid": w.pid,
                "dry_run": w.dry_run,
                "started_at": iso(w.started_at),
                "seen_at": iso(w.seen_at),
            }
            for w in summary.workers
        ],
    }
