"""Finding the status a Mastodon publish may have created, among the account's recent ones.

Mastodon keeps an Idempotency-Key about an hour; after that, or after a crash whose outcome is
unknown, the only way to know whether a status exists is to look. A status is ours when its
text (HTML stripped, white space collapsed) equals the outgoing text, it has as many media
attachments, it was posted by the same application as our token (when the server says), and
it is not older than the delivery (minus a few minutes for clock differences).
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from postbot.platforms._http import as_utc

PAGE_SIZE = 40  # the most Mastodon returns per page of an account's statuses
MAX_PAGES = 5
# Our clock and the server's may disagree a little: a status may look this much older than
# the delivery it was posted for.
CLOCK_SLACK = timedelta(minutes=5)

# "@user@example.social" is rendered (and counted) by Mastodon as "@user".
_REMOTE_MENTION = re.compile(r"(@[\w.]+)@[\w.-]+\.\w+")
_PARAGRAPH_BREAK = re.compile(r"</p>\s*<p[^>]*>", re.IGNORECASE)
_LINE_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")


class CannotTell(Exception):
    """Looked through the pages allowed without getting back to the delivery's time."""


def find_status(
    fetch_page: Callable[[Any], Sequence[Any]],
    text: str,
    media_count: int,
    app_name: str | None,
    created_at: datetime | None,
) -> Any | None:
    """The status that matches, None if there is none, CannotTell if the pages ran out.

    `fetch_page(max_id)` returns one page, newest first (max_id None: the newest). Pages back
    until statuses get older than `created_at`; without `created_at`, only the first page.
    """
    wanted = comparable(text)
    since = as_utc(created_at)
    if since is not None:
        since -= CLOCK_SLACK
    max_id: Any = None
    for _ in range(MAX_PAGES if since is not None else 1):
        page = fetch_page(max_id)
        for status in page:
            created = as_utc(status.get("created_at"))
            if since is not None and created is not None and created < since:
                return None  # newest first: everything from here on predates the delivery
            if is_ours(status, wanted, media_count, app_name):
                return status
        if len(page) < PAGE_SIZE:
            return None  # that was the account's oldest status
        max_id = page[-1]["id"]
    if since is None:
        return None
    raise CannotTell(
        f"looked through the {MAX_PAGES * PAGE_SIZE} most recent statuses of the account"
        " without getting back to the delivery's time: cannot tell whether the post exists"
    )


def html_to_text(content: str) -> str:
    """Mastodon's rendered HTML back to its text: paragraphs, line breaks, tags, entities.
    Links keep their full URL (the hidden "https://" and tail are spans inside the link)."""
    text = _PARAGRAPH_BREAK.sub("\n\n", content)
    text = _LINE_BREAK.sub("\n", text)
    return html.unescape(_TAG.sub("", text))


def comparable(text: str) -> str:
    text = unicodedata.normalize("NFC", _REMOTE_MENTION.sub(r"\1", text))
    return " ".join(text.split())


def is_ours(status: Any, wanted: str, media_count: int, app_name: str | None) -> bool:
    if status.get("reblog"):
        return False
    if comparable(html_to_text(status.get("content") or "")) != wanted:
        return False
    if len(status.get("media_attachments") or ()) != media_count:
        return False
    application = status.get("application")
    posted_by = application.get("name") if application else None
    # Only where both are known: a server may hide the application.
    return not (app_name and posted_by and posted_by != app_name)
