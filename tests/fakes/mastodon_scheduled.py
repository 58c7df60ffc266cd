"""Scheduled statuses for the fake Mastodon (mixed into FakeMastodon), as Mastodon 4.x keeps them.

- POST /api/v1/statuses with `scheduled_at` more than 5 minutes ahead (the fake's clock) stores
  a ScheduledStatus and answers it: {"id", "scheduled_at", "params", "media_attachments"}, params
  as Mastodon stores them (text, media_ids, visibility, language, in_reply_to_id,
  application_id, idempotency and scheduled_at null, ...). A time closer than that is not
  refused: the status is published at once, as Mastodon's PostStatusService does. The same
  Idempotency-Key within the hour answers the same scheduled status.
- Limits: 300 scheduled statuses per account, 25 per day of `scheduled_at` (UTC): 422.
- GET /api/v1/scheduled_statuses (newest first; limit up to 40, max_id), GET, PUT
  (scheduled_at, at least 5 minutes ahead, else 422) and DELETE /api/v1/scheduled_statuses/:id.
- Publication: every request first publishes what is due by the fake's clock (the scheduled
  status is removed, then the status created with `created_at` = `scheduled_at`, by the token's
  application), like the instance's scheduler; `advance(seconds)` moves the clock and publishes.

Sources: mastodon/mastodon app/models/scheduled_status.rb (TOTAL_LIMIT 300, DAILY_LIMIT 25,
MINIMUM_OFFSET 5 minutes), app/services/post_status_service.rb, app/workers/
publish_scheduled_status_worker.rb; docs.joinmastodon.org/entities/ScheduledStatus.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

MINIMUM_OFFSET = timedelta(minutes=5)
TOTAL_LIMIT = 300
DAILY_LIMIT = 25
OVER_TOTAL = "Validation failed: You have exceeded the limit of {limit} scheduled posts"
OVER_DAILY = (
    "Validation failed: You have exceeded the limit of {limit} scheduled posts for that day"
)
TOO_SOON = "Validation failed: Scheduled at The scheduled date must be in the future"


class ScheduledStatuses:
    """The fake's scheduled statuses. FakeMastodon provides _lock, _media, _media_entity,
    _create_status, _next_id, app_name and _answer."""

    _lock: threading.Lock | threading.RLock
    _media: dict[str, dict[str, Any]]
    app_name: str

    # -- provided by FakeMastodon --------------------------------------------------------------
    def _create_status(
        self, params: Mapping[str, Any], key: str | None, *, created_at: datetime | None = None,
        app: str | None = None,
    ) -> Any:  # fmt: skip
        raise NotImplementedError

    def _next_id(self, when: datetime | None = None) -> str:
        raise NotImplementedError

    def _media_entity(self, media: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def _answer(self, status: int, body: Any) -> Any:
        raise NotImplementedError

    def _init_scheduled(self) -> None:
        self.clock_offset = 0.0  # seconds the fake's clock runs ahead of the real one
        self.total_limit = TOTAL_LIMIT
        self.daily_limit = DAILY_LIMIT
        self._scheduled: dict[str, dict[str, Any]] = {}  # id -> {"entity", "key", "published"}
        self._published_from: dict[str, str] = {}  # scheduled id -> the status published

    # -- for tests ---------------------------------------------------------------------------
    def now(self) -> datetime:
        return datetime.fromtimestamp(time.time() + self.clock_offset, UTC)

    def advance(self, seconds: float) -> None:
        """Move the fake's clock on and publish every scheduled status that is due by then."""
        with self._lock:
            self.clock_offset += seconds
        self.publish_due()

    @property
    def scheduled(self) -> list[dict[str, Any]]:
        """The scheduled statuses still waiting, oldest first (their ScheduledStatus bodies)."""
        with self._lock:
            return [dict(s["entity"]) for s in self._scheduled.values()]

    def published_from(self, scheduled_id: str) -> str | None:
        """The id of the status a scheduled status became, once published."""
        with self._lock:
            return self._published_from.get(str(scheduled_id))

    def publish_due(self) -> None:
        now = self.now()
        with self._lock:
            due = [s for s in self._scheduled.values() if _when(s["entity"]) <= now]
            for stored in sorted(due, key=lambda s: _when(s["entity"])):
                entity = stored["entity"]
                # Like PublishScheduledStatusWorker: the scheduled status goes, then the post.
                del self._scheduled[entity["id"]]
                params = entity["params"]
                fields = {k: v for k, v in params.items() if v is not None and k != "text"}
                fields["status"] = params["text"]
                answer = self._create_status(
                    fields, None, created_at=_when(entity), app=self.app_name
                )
                if answer.status == 200:
                    self._published_from[entity["id"]] = str(answer.body["id"])

    # -- request handling (called by FakeMastodon._handle, under no lock) --------------------
    def _schedule(self, params: Mapping[str, Any], key: str | None) -> Any:
        """POST /api/v1/statuses with scheduled_at: the ScheduledStatus, or the status itself
        when the time is too close (published at once)."""
        when = _parse(params.get("scheduled_at"))
        if when is None:
            return self._answer(422, {"error": "Validation failed: Scheduled at is invalid"})
        fields = {k: v for k, v in params.items() if k != "scheduled_at"}
        if when <= self.now() + MINIMUM_OFFSET:
            return self._create_status(fields, key, app=self.app_name)
        with self._lock:
            if key:
                known = next((s for s in self._scheduled.values() if s["key"] == key), None)
                if known is not None:
                    return self._answer(200, known["entity"])
            refused = self._over_limits(when)
            if refused:
                return self._answer(422, {"error": refused})
            media_ids = [str(m) for m in _as_list(params.get("media_ids"))]
            scheduled_id = self._next_id()
            entity = {
                "id": scheduled_id,
                "scheduled_at": _timestamp(when),
                "params": {
                    "poll": None,
                    "text": str(params.get("status") or ""),
                    "language": params.get("language"),
                    "media_ids": media_ids or None,
                    "sensitive": None,
                    "visibility": params.get("visibility"),
                    "idempotency": None,
                    "scheduled_at": None,
                    "spoiler_text": params.get("spoiler_text"),
                    "application_id": 2,
                    "in_reply_to_id": params.get("in_reply_to_id"),
                    "with_rate_limit": False,
                },
                "media_attachments": [
                    self._media_entity(self._media[m]) for m in media_ids if m in self._media
                ],
            }
            self._scheduled[scheduled_id] = {"entity": entity, "key": key}
            return self._answer(200, entity)

    def _scheduled_route(self, method: str, path: str, record: Any) -> Any | None:
        """The /api/v1/scheduled_statuses routes; None for any other path."""
        if path == "/api/v1/scheduled_statuses" and method == "GET":
            return self._list_scheduled(record.query)
        match = re.fullmatch(r"/api/v1/scheduled_statuses/(\d+)", path)
        if not match:
            return None
        scheduled_id = match.group(1)
        with self._lock:
            stored = self._scheduled.get(scheduled_id)
            if stored is None:
                return self._answer(404, {"error": "Record not found"})
            if method == "GET":
                return self._answer(200, stored["entity"])
            if method == "DELETE":
                del self._scheduled[scheduled_id]
                return self._answer(200, {})
            if method == "PUT":
                when = _parse(record.params.get("scheduled_at"))
                if when is None or when <= self.now() + MINIMUM_OFFSET:
                    return self._answer(422, {"error": TOO_SOON})
                refused = self._over_limits(when, leaving=scheduled_id)
                if refused:
                    return self._answer(422, {"error": refused})
                stored["entity"] = {**stored["entity"], "scheduled_at": _timestamp(when)}
                return self._answer(200, stored["entity"])
        return self._answer(404, {"error": "Record not found"})

    def _list_scheduled(self, query: Mapping[str, list[str]]) -> Any:
        def number(name: str) -> int | None:
            values = query.get(name)
            return int(values[-1]) if values and values[-1].isdigit() else None

        limit = min(number("limit") or 20, 40)
        max_id = number("max_id")
        with self._lock:
            entities = [s["entity"] for s in self._scheduled.values()]
        entities.sort(key=lambda e: int(e["id"]), reverse=True)
        if max_id is not None:
            entities = [e for e in entities if int(e["id"]) < max_id]
        return self._answer(200, entities[:limit])

    def _over_limits(self, when: datetime, leaving: str | None = None) -> str | None:
        others = [s["entity"] for i, s in self._scheduled.items() if i != leaving]
        if leaving is None and len(others) >= self.total_limit:
            return OVER_TOTAL.format(limit=self.total_limit)
        if sum(1 for e in others if _when(e).date() == when.date()) >= self.daily_limit:
            return OVER_DAILY.format(limit=self.daily_limit)
        return None


def _parse(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _when(entity: Mapping[str, Any]) -> datetime:
    parsed = _parse(entity["scheduled_at"])
    assert parsed is not None
    return parsed


def _timestamp(when: datetime) -> str:
    when = when.astimezone(UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]
