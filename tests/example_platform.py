"""An example platform: everything a new platform needs, in one module.

It posts to a small JSON API (the fake in tests/fakes/example_server.py speaks it):
`POST /api/posts` with a Bearer token and the delivery's Idempotency-Key, answered 201 with
`{"id", "url"}`; `GET /api/posts?key=…` finds the post a key made; `GET /api/me` says who the
token belongs to. Adding it to postbot is this module plus one registry line:

    PLATFORMS.register("example", "tests.example_platform:ExamplePlatform")

(or one line in `postbot/platforms/__init__.py`, or one entry point in another package).
The shared plumbing does the rest: the `timeout` option, the error table, never-sent versus
may-have-been-sent, network failures in words, the Redactor, text limits and media policy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from postbot.options import Option
from postbot.platforms._http import (
    TIMEOUT,
    describe_network_error,
    error_class,
    host_of,
    never_sent,
)
from postbot.platforms.base import (
    OutcomeUnknown,
    Outgoing,
    Platform,
    Published,
    TransientError,
)
from postbot.platforms.media import MediaPolicy
from postbot.redact import Redactor


class ExamplePlatform(Platform):
    name: ClassVar[str] = "example"
    default_limit: ClassVar[int] = 500
    safe_to_resend: ClassVar[bool] = True  # the server answers a repeated key with the first post
    options: ClassVar[Mapping[str, Option]] = {"timeout": TIMEOUT}
    media = MediaPolicy("Example", max_items=0, types={})  # text only

    def count(self, text: str) -> int:
        from postbot.compose import count_graphemes

        return count_graphemes(text)

    def publish(self, outgoing: Outgoing) -> Published:
        self.refuse_overrun(outgoing.text, prefix="Example: ")
        body = {"text": outgoing.text, "language": outgoing.language}
        headers = {"Idempotency-Key": outgoing.idempotency_key}
        post = self._call("POST", "/api/posts", creates=True, json=body, headers=headers)
        return Published(post["id"], post["url"], 201, {"text": outgoing.text})

    def lookup(self, outgoing: Outgoing) -> Published | None:
        found = self._call("GET", "/api/posts", params={"key": outgoing.idempotency_key})
        return Published(found["id"], found["url"], 200) if found else None

    def check(self) -> str:
        return f"@{self._call('GET', '/api/me')['name']}"

    def _call(self, method: str, path: str, *, creates: bool = False, **kwargs: Any) -> Any:
        import requests

        token = self.account.credentials(self.environ)["token"]
        redact = Redactor([token])
        base_url = (self.account.base_url or "").rstrip("/")
        timeout = self.seconds_option("timeout", TIMEOUT.default)
        headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
        try:
            answer = requests.request(
                method, base_url + path, headers=headers, timeout=timeout, **kwargs
            )
        except requests.RequestException as exc:
            said = describe_network_error(exc, host_of(base_url), timeout) or type(exc).__name__
            lost = OutcomeUnknown if creates and not never_sent(exc) else TransientError
            raise lost(redact(f"Example: {said}")) from None
        if answer.status_code == 404 and method == "GET":
            return None
        if answer.status_code >= 400:
            refused = error_class(answer.status_code, creates=creates)
            message = f"Example: HTTP {answer.status_code}: {answer.text[:200]}"
            raise refused(redact(message), http_status=answer.status_code)
        return answer.json()
