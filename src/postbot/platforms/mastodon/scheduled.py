"""Mastodon's scheduled statuses: the account options that hand posts to them, the instance's
rules, and the calls (POST /api/v1/statuses with `scheduled_at`, GET/PUT/DELETE
/api/v1/scheduled_statuses).

The instance's rules (mastodon/mastodon, app/models/scheduled_status.rb and
app/services/post_status_service.rb; docs/platforms/mastodon.md):
- `scheduled_at` must be more than 5 minutes ahead (MINIMUM_OFFSET); a time closer than that
  is not refused but published at once, so postbot hands a post over only while it is due more
  than MIN_AHEAD (5 minutes and a margin) from now;
- an account holds at most 300 scheduled statuses (TOTAL_LIMIT) and 25 for any one day, by the
  date of `scheduled_at` in UTC (DAILY_LIMIT); the instance refuses more with 422;
- an Idempotency-Key works for scheduled statuses as for statuses (the same one is answered
  within the hour).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from postbot.domain import Account
from postbot.errors import ConfigError
from postbot.platforms.base import Outgoing, PermanentError, Published, Scheduled, ServerSide

if TYPE_CHECKING:
    from mastodon import Mastodon

MINIMUM_OFFSET = timedelta(minutes=5)  # the instance's own minimum
# Handed over only this far ahead at least: the instance's minimum, and a minute for clocks
# that disagree and for the request itself.
MIN_AHEAD = MINIMUM_OFFSET + timedelta(minutes=1)
TOTAL_LIMIT = 300
DAILY_LIMIT = 25
PAGE_SIZE = 40  # the most GET /api/v1/scheduled_statuses returns per page
MAX_PAGES = 10  # 400 > TOTAL_LIMIT: every pending one


def _duration(value: str, key: str) -> timedelta:
    from postbot.pacing import parse_duration

    try:
        return parse_duration(value, key)
    except ConfigError as exc:
        raise ValueError(str(exc).removeprefix(f"{key}: ")) from None


def lead_option(value: str) -> str:
    if _duration(value, "server_side_lead") <= MIN_AHEAD:
        raise ValueError(
            f"must be more than {int(MIN_AHEAD.total_seconds() // 60)} minutes: the instance"
            ' takes a post at least 5 minutes ahead (e.g. "1h")'
        )
    return value


def check_option(value: str) -> str:
    if _duration(value, "server_side_check") <= timedelta(0):
        raise ValueError('must be a positive duration, e.g. "1m"')
    return value


def server_side_of(account: Account) -> ServerSide | None:
    """The account's server-side scheduling, or None. A lead or check interval given without
    `server_side = true` would change nothing: refused, never ignored."""
    options = account.options
    if not options.get("server_side"):
        given = [k for k in ("server_side_lead", "server_side_check") if k in options]
        if given:
            raise ConfigError(
                f"account '{account.name}': {', '.join(given)} is set but server_side is not"
                " true: set server_side = true, or remove it"
            )
        return None
    return ServerSide(
        lead=_duration(str(options.get("server_side_lead", "1h")), "server_side_lead"),
        check=_duration(str(options.get("server_side_check", "1m")), "server_side_check"),
        min_ahead=MIN_AHEAD,
        total_limit=TOTAL_LIMIT,
        daily_limit=DAILY_LIMIT,
    )


class ScheduledStatuses:
    """The scheduled-status calls of MastodonPlatform (mixed into it), through its client and
    its error mapping (`_client`, `_call`, `_post_status`, `_published`)."""

    # -- provided by MastodonPlatform --------------------------------------------------------
    def _client(self) -> Mastodon:
        raise NotImplementedError

    def _call(self, fn: Callable[[], Any], action: str, *, creates: bool = False) -> Any:
        raise NotImplementedError

    def _post_status(
        self, outgoing: Outgoing, scheduled_at: datetime | None = None
    ) -> tuple[Any, dict[str, object]]:
        raise NotImplementedError

    def _published(self, status: Any, detail: dict[str, object]) -> Published:
        raise NotImplementedError

    def _last_status(self) -> int | None:
        raise NotImplementedError

    # -- the calls ---------------------------------------------------------------------------
    def schedule(self, outgoing: Outgoing, at: datetime) -> Scheduled | Published:
        entity, detail = self._post_status(outgoing, scheduled_at=at)
        if not is_scheduled_status(entity):
            # Published at once: the instance found the time too close (it must not be).
            return self._published(entity, {**detail, "published_at_once": True})
        return self._scheduled(entity, detail)

    def pending_scheduled(self) -> list[Scheduled]:
        api = self._client()

        def page(max_id: Any) -> Any:
            return self._call(
                partial(api.scheduled_statuses, max_id=max_id, limit=PAGE_SIZE),
                "reading the scheduled statuses",
            )

        return [self._scheduled(entity) for entity in pending(page)]

    def move_scheduled(self, scheduled_id: str, at: datetime) -> Scheduled | None:
        api = self._client()
        try:
            entity = self._call(
                partial(api.scheduled_status_update, scheduled_id, at),
                "moving the scheduled status",
            )
        except PermanentError as exc:
            if exc.http_status == 404:
                return None
            raise
        return self._scheduled(entity)

    def cancel_scheduled(self, scheduled_id: str) -> bool:
        api = self._client()
        try:
            self._call(
                partial(api.scheduled_status_delete, scheduled_id),
                "deleting the scheduled status",
            )
        except PermanentError as exc:
            if exc.http_status == 404:
                return False
            raise
        return True

    def _scheduled(self, entity: Any, detail: dict[str, object] | None = None) -> Scheduled:
        at = as_utc(entity.get("scheduled_at"))
        assert at is not None, entity
        params = entity.get("params") or {}
        return Scheduled(
            scheduled_id=str(entity["id"]),
            at=at,
            text=str(params.get("text") or ""),
            http_status=self._last_status() or 200,
            detail={**(detail or {}), "scheduled_at": at.isoformat()},
        )


# -- the calls -------------------------------------------------------------------------------
def is_scheduled_status(entity: Any) -> bool:
    """A ScheduledStatus entity (id, scheduled_at, params, media_attachments), not a Status:
    the instance publishes a `scheduled_at` too close at once and answers with the Status."""
    return isinstance(entity, dict) and "params" in entity and "scheduled_at" in entity


def as_utc(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and value:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    return None


def pending(fetch_page: Callable[[Any], Sequence[Any]]) -> list[Any]:
    """Every scheduled status of the account, newest first (`fetch_page(max_id)`)."""
    found: list[Any] = []
    max_id: Any = None
    for _ in range(MAX_PAGES):
        page = list(fetch_page(max_id))
        found += page
        if len(page) < PAGE_SIZE:
            return found
        max_id = page[-1]["id"]
    return found
