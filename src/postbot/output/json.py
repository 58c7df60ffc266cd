"""The `--json` shapes, exactly as the README documents them (scripts and tests parse them).

All times are ISO 8601 in UTC, to the second, with a `Z`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from postbot.costs import usd
from postbot.domain import Attempt, Delivery, PaceState, Part, Post, Wait
from postbot.drafts import Target
from postbot.output import iso
from postbot.pacing import describe_period
from postbot.platforms.limits import LimitCheck
from postbot.service import Listing, QueueStatus
from postbot.service.accounts import AccountCheck
from postbot.service.costs import Spend
from postbot.service.golive import WentLive
from postbot.store import ImportResult
from postbot.variants import as_json as variants_json


def listing(shown: Listing) -> list[dict[str, Any]]:
    from postbot.output.slots import recurrence_json

    return [
        {**post(p, shown.waits), "recurrence": recurrence_json(shown.recurring.get(p.id))}
        for p in shown.posts
    ]


def post(p: Post, waits: Mapping[int, Wait] | None = None) -> dict[str, Any]:
    return {
        "id": p.id,
        "key": p.key,
        "headline": p.headline,
        "text": p.teaser,
        "hashtags": list(p.hashtags),
        "link": p.link,
        "language": p.language,
        "media": [{"path": m.path, "alt": m.alt} for m in p.media],
        "source": p.source,
        "created_at": iso(p.created_at),
        "parts": list(p.parts),
        "variants": variants_json(p.variants),
        "deliveries": [delivery(d, (waits or {}).get(d.id)) for d in p.deliveries],
    }


def delivery(d: Delivery, wait: Wait | None = None) -> dict[str, Any]:
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
        "dry_run": d.dry_run,
        "waiting": None if wait is None else waiting(wait),
        "parts": parts(d),
        "scheduled_id": d.scheduled_id,
        "slot_at": iso(d.slot_at),
    }


def parts(d: Delivery) -> list[dict[str, Any]]:
    """Every part as sent, with its remote id and URL once published (a single post: one)."""
    found = d.parts or (Part(1, d.text, d.remote_id, d.remote_url, dry_run=d.dry_run),)
    return [
        {"part": p.index, "text": p.text, "remote_id": p.remote_id, "remote_url": p.remote_url,
         "published_at": iso(p.published_at), "dry_run": p.dry_run}
        for p in found
    ]  # fmt: skip


def waiting(w: Wait) -> dict[str, Any]:
    return {
        "reason": str(w.reason),
        "until": iso(w.until),
        "pace": None if w.pace is None else pace(w.pace),
        "note": w.note,  # reason "budget": why it is held, in one line
    }


def spend(s: Spend) -> dict[str, Any]:
    held = s.held
    return {
        "account": s.account,
        "month_start": iso(s.month_start),
        "spent_usd": usd(s.spent),
        "in_flight_usd": usd(s.in_flight),
        "posts": s.posts,
        "monthly_budget_usd": None if s.budget is None else usd(s.budget),
        "held": 0 if held is None else held.held,
        "held_reason": None if held is None else held.reason(),
    }


def pace(p: PaceState) -> dict[str, Any]:
    return {
        "account": p.account,
        "pace": f"{p.count}/{describe_period(p.period)}",
        "used": p.used,
        "next_slot": iso(p.next_slot),
        "waiting": p.waiting,
    }


def attempt(a: Attempt) -> dict[str, Any]:
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


def status(s: QueueStatus) -> dict[str, Any]:
    summary = s.summary
    last = s.last_import
    next_send = s.outlook.next_send if s.outlook else None
    paced_out = [p for p in (s.outlook.paces.values() if s.outlook else ()) if p.paced_out]
    return {
        "counts": dict(summary.counts),
        "dry_run": dict(summary.dry_run),
        "next_due": iso(summary.next_due),
        "next_send": None
        if next_send is None
        else {
            "at": iso(next_send.at),
            "account": next_send.account,
            "paced": next_send.pace is not None,
        },
        "paced_out": [pace(p) for p in paced_out],
        "spend": [spend(x) for x in s.spend],
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
        "last_import": None
        if last is None
        else {
            "at": iso(last.at),
            "folder": last.folder,
            **last.summary,
            "broken_files": [{"path": b.path, "message": b.message} for b in last.broken],
        },
    }


def preview(
    targets: Sequence[Target],
    slots: Mapping[str, datetime] | None = None,
    recurrence: dict[str, Any] | None = None,
    costs: Mapping[str, Decimal] | None = None,
) -> list[dict[str, Any]]:
    """`text`, `count`, `limit`, `checks`: the first part's; `fits`: every part's; `parts`:
    each part (one for a single post); `variant`: the variant the account is sent, or null;
    `slot_at`: the posting slot a stored post holds there; `recurrence`: its series' rule;
    `cost_usd`: what X bills for it, as a decimal string ("0.215"), null elsewhere."""
    costs = costs or {}
    return [
        {
            "account": t.account,
            "platform": t.platform,
            "text": t.text,
            "count": t.count,
            "limit": t.limit,
            "fits": t.fits,
            "checks": checks(t.checks),
            "variant": t.variant,
            "slot_at": iso((slots or {}).get(t.account)),
            "recurrence": recurrence,
            "cost_usd": usd(costs[t.account]) if t.account in costs else None,
            "parts": [
                {
                    "part": n,
                    "text": text,
                    "count": c[0].count,
                    "limit": c[0].limit,
                    "fits": all(x.fits for x in c),
                    "checks": checks(c),
                }
                for n, (text, c) in enumerate(
                    [(p.text, p.checks) for p in t.parts] or [(t.text, t.checks)], 1
                )
            ],
        }
        for t in targets
    ]


def checks(found: Sequence[LimitCheck]) -> list[dict[str, Any]]:
    return [{"name": c.name, "count": c.count, "limit": c.limit, "fits": c.fits} for c in found]


def import_results(results: Sequence[ImportResult]) -> list[dict[str, Any]]:
    return [
        {"post_id": r.post_id, "key": r.key, "action": r.action, "message": r.message}
        for r in results
    ]


def accounts(rows: Sequence[AccountCheck]) -> list[dict[str, Any]]:
    return [
        {
            "account": r.account,
            "platform": r.platform,
            "identity": r.identity,
            "ok": r.ok,
            "error": r.error,
        }
        for r in rows
    ]


def go_live(w: WentLive) -> dict[str, Any]:
    r = w.reset
    return {
        "requeued": r.requeued,
        "posts": list(r.posts),
        "by_status": dict(r.by_status),
        "examples_cancelled": list(w.examples),
    }
