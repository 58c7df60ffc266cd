"""Uploading a post's images to Mastodon: /api/v2/media, then a bounded wait for processing.

/api/v2/media answers 202 while the server processes a file; its `url` stays null until it is
done. We poll /api/v1/media/:id for at most `media_timeout` seconds (one deadline for all the
files: uploaded first, waited for after, so the server processes them side by side) instead
of Mastodon.py's `synchronous=True`, which polls forever.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from postbot.domain import MediaItem
from postbot.platforms.base import PermanentError, TransientError
from postbot.platforms.media import ImageFile

# Runs one Mastodon.py call under a description of it, turning failures into PublishErrors.
Call = Callable[[Callable[[], Any], str], Any]


def upload_all(
    api: Any,
    call: Call,
    media: Sequence[MediaItem],
    images: Sequence[ImageFile],
    *,
    host: str,
    media_timeout: float,
) -> list[str]:
    """The media ids of `media`, uploaded with their alt text and processed."""
    uploaded: list[tuple[str, Any]] = []
    for index, (item, image) in enumerate(zip(media, images, strict=True), 1):
        action = f"uploading media {index} of {len(media)} ({Path(item.path).name})"
        uploaded.append((action, _upload(api, call, item, image, action)))
    deadline = time.monotonic() + media_timeout
    return [
        str(_wait_processed(api, call, attachment, action, deadline, host, media_timeout)["id"])
        for action, attachment in uploaded
    ]


def _upload(api: Any, call: Call, item: MediaItem, image: ImageFile, action: str) -> Any:
    try:
        # Our own file handle, closed after the upload (Mastodon.py leaves its own open).
        with Path(item.path).open("rb") as handle:
            upload = partial(
                api.media_post,
                handle,
                mime_type=image.mime,  # the real type, read from the bytes
                description=item.alt or None,
            )
            return call(upload, action)
    except OSError as exc:
        raise PermanentError(f"{action}: cannot read {item.path}: {exc.strerror or exc}") from None


def _wait_processed(
    api: Any,
    call: Call,
    attachment: Any,
    action: str,
    deadline: float,
    host: str,
    media_timeout: float,
) -> Any:
    media_id = attachment["id"]
    delay = 0.25
    while attachment.get("url") is None:  # url stays null until processing is done
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TransientError(
                f"{action}: {host} was still processing it after {media_timeout:g} s"
                " (media_timeout)"
            )
        time.sleep(min(delay, remaining))
        delay = min(delay * 2, 5.0)
        attachment = call(partial(api.media, media_id), f"{action}, waiting for it")
    return attachment
