"""Dry run: goes through the whole path and records exactly what would be sent, sends nothing.

`postbot run --dry-run` routes every account here; an account may also be configured with
`platform = "dryrun"` (handy for a staging config).
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from postbot.compose import count_graphemes
from postbot.platforms.base import Outgoing, Platform, Published, Scheduled


class DryRunPlatform(Platform):
    name = "dryrun"
    default_limit = 500
    # Nothing was sent if we crashed: re-sending can never duplicate anything.
    safe_to_resend: ClassVar[bool] = True

    def count(self, text: str) -> int:
        return count_graphemes(text)

    def publish(self, outgoing: Outgoing) -> Published:
        part = f":{outgoing.part}" if outgoing.part > 1 else ""
        return Published(
            remote_id=f"dry-run:{outgoing.delivery_id}{part}",
            url=None,
            detail=describe(outgoing),
            ref="dry-run",  # what a reply to it would need, had it been sent
        )

    def schedule(self, outgoing: Outgoing, at: datetime) -> Scheduled:
        """What would be handed to the server (a dry run keeps its "scheduled" posts in the
        store alone: `pending_scheduled` knows none)."""
        detail = {**describe(outgoing), "scheduled_at": at.isoformat()}
        return Scheduled(f"dry-run:{outgoing.delivery_id}", at, outgoing.text, detail=detail)

    def pending_scheduled(self) -> list[Scheduled]:
        return []

    def check(self) -> str:
        return "dry run (nothing is sent)"

    def lookup(self, outgoing: Outgoing) -> Published | None:
        return None  # a dry run never reached a platform


def describe(outgoing: Outgoing) -> dict[str, object]:
    """What would be sent, as recorded in the attempt log and the log line."""
    return {
        "account": outgoing.account,
        "text": outgoing.text,
        "language": outgoing.language,
        "link": outgoing.link,
        "hashtags": list(outgoing.hashtags),
        "media": [{"path": m.path, "alt": m.alt} for m in outgoing.media],
        "idempotency_key": outgoing.idempotency_key,
        **(
            {"part": outgoing.part, "parts": outgoing.parts}
            if outgoing.parts > 1 else {}
        ),
        **({"reply_to": outgoing.reply_to.parent_id} if outgoing.reply_to is not None else {}),
    }  # fmt: skip
