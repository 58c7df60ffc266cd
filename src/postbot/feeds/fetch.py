"""The conditional GET of a feed (ETag, Last-Modified) and of its images, with a timeout and a
size cap, through one `requests` session per poller (connections are kept)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from postbot.errors import PostbotError

MAX_BYTES = 20 * 1024 * 1024
USER_AGENT = "postbot feeds (+https://github.com/) feedparser"


class FetchError(PostbotError):
    """The feed (or image) could not be fetched: unreachable, too slow, an error status."""


@dataclass(frozen=True)
class Fetched:
    status: int  # 200, or 304: not modified since the ETag / Last-Modified given
    body: bytes = b""
    etag: str | None = None
    last_modified: str | None = None


def session() -> Any:
    import requests

    s = requests.Session()
    s.headers["User-Agent"] = USER_AGENT
    return s


def fetch(
    http: Any, url: str, timeout: float, etag: str | None = None, modified: str | None = None
) -> Fetched:
    import requests

    headers = {
        "Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.5"
    }
    if etag:
        headers["If-None-Match"] = etag
    if modified:
        headers["If-Modified-Since"] = modified
    try:
        with http.get(url, headers=headers, timeout=(timeout, timeout), stream=True) as answer:
            if answer.status_code == 304:
                return Fetched(304, b"", etag, modified)
            if answer.status_code != 200:
                raise FetchError(f"HTTP {answer.status_code} from {url}")
            body = _read(answer, url, timeout)
            return Fetched(
                200, body, answer.headers.get("ETag"), answer.headers.get("Last-Modified")
            )
    except requests.Timeout:
        raise FetchError(f"no answer from {url} within {timeout:g} s") from None
    except requests.RequestException as exc:
        raise FetchError(f"cannot fetch {url}: {type(exc).__name__}") from None


def _read(answer: Any, url: str, timeout: float) -> bytes:
    import time

    chunks, size, deadline = [], 0, time.monotonic() + 3 * timeout
    for chunk in answer.iter_content(65536):
        size += len(chunk)
        if size > MAX_BYTES:
            raise FetchError(f"{url} is larger than {MAX_BYTES // 1024 // 1024} MB")
        if time.monotonic() > deadline:
            raise FetchError(f"{url} took longer than {3 * timeout:g} s to send")
        chunks.append(chunk)
    return b"".join(chunks)


def fetch_image(http: Any, url: str, timeout: float) -> bytes:
    got = fetch(http, url, timeout)
    return got.body
