"""XPlatform through the real tweepy and requests, over real HTTP, against the local fake X."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from postbot.domain import Account
from postbot.errors import ConfigError
from postbot.platforms import platform_for
from postbot.platforms.base import (
    MediaItem,
    OutcomeUnknown,
    Outgoing,
    PermanentError,
    PublishError,
    ReplyTo,
    TransientError,
)
from postbot.platforms.x import XPlatform

# tests/ is not a package and the repository root is not on sys.path under plain `pytest`:
# make `tests.fakes` importable (harmless once pytest's `pythonpath` includes the root).
_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from tests.fakes.x_server import DUPLICATE_DETAIL, FakeX, Fault  # noqa: E402

pytestmark = pytest.mark.timeout(30)

OAUTH1_VARS = {
    "consumer_key": "X_CONSUMER_KEY",
    "consumer_secret": "X_CONSUMER_SECRET",
    "access_token": "X_ACCESS_TOKEN",
    "access_token_secret": "X_ACCESS_TOKEN_SECRET",
}
ENV = {
    "X_CONSUMER_KEY": "ck-Secret-Consumer-4711",
    "X_CONSUMER_SECRET": "cs-Secret-Consumer-0815",
    "X_ACCESS_TOKEN": "1790000000000000001-at-Secret-Access-42",
    "X_ACCESS_TOKEN_SECRET": "ats-Secret-Access-Token-99",
    "X_USER_TOKEN": "ut-Secret-OAuth2-User-Token-7",
}
SECRETS = tuple(ENV.values())
TIMEOUT = 0.3  # seconds: the delay faults sleep longer than this

TEASER = (
    "Gipfeltreffen in Tianjin: Xi Jinping empfängt Staats- und Regierungschefs, "
    "Putin und Modi kommen – Größere Bühne für Chinas Außenpolitik?"
)
LINK = "https://example.org/politik/soz-gipfel-tianjin-2025"
HASHTAGS = ("XiJinping", "SOZGipfel")
# A minimal valid PNG (1x1, transparent): the fake does not decode it, X would.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6300010000000500010d0a2db40000000049454e44ae426082"
)


@pytest.fixture
def fake() -> Iterator[FakeX]:
    with FakeX() as server:
        yield server


@pytest.fixture
def make_platform(fake: FakeX) -> Iterator[Callable[..., XPlatform]]:
    made: list[XPlatform] = []

    def make(
        *,
        credentials: Mapping[str, str] = OAUTH1_VARS,
        environ: Mapping[str, str] = ENV,
        base_url: str | None = None,
        **options: Any,
    ) -> XPlatform:
        options.setdefault("timeout", TIMEOUT)
        account = Account(
            name="xtest",
            platform="x",
            base_url=base_url or fake.base_url,
            credential_vars=dict(credentials),
            options=options,
        )
        platform = platform_for(account, environ)
        assert isinstance(platform, XPlatform)
        made.append(platform)
        return platform

    yield make
    for platform in made:
        platform.close()


def outgoing(
    text: str, *, link: str | None = None, media: tuple[MediaItem, ...] = (), n: int = 1
) -> Outgoing:
    return Outgoing(
        delivery_id=n,
        post_id=n,
        account="xtest",
        text=text,
        language="de",
        link=link,
        hashtags=HASHTAGS,
        media=media,
        idempotency_key=f"delivery-{n}",
    )


def assert_clean(error: BaseException) -> None:
    """No credential in anything a log could show, and no chained exception carrying one."""
    shown = f"{error} {error!r} {getattr(error, 'message', '')}"
    for secret in SECRETS:
        assert secret not in shown
    assert error.__cause__ is None
    assert error.__context__ is None or error.__suppress_context__


def publish_error(platform: XPlatform, out: Outgoing) -> PublishError:
    with pytest.raises(PublishError) as caught:
        platform.publish(out)
    assert_clean(caught.value)
    return caught.value


# -- what is sent ------------------------------------------------------------------------------
def test_exact_payload_german_text_with_hashtags(
    fake: FakeX, make_platform: Callable[..., XPlatform]
) -> None:
    platform = make_platform()
    text = platform.render(TEASER, LINK, HASHTAGS)
    assert text == f"{TEASER} {LINK} #XiJinping #SOZGipfel"
    assert platform.count(text) <= platform.limit() == 280

    published = platform.publish(outgoing(text, link=LINK))

    assert fake.tweets == [{"text": text}]
    [tweet_id] = fake.tweet_ids
    assert published.remote_id == tweet_id
    assert published.url == f"https://x.com/i/web/status/{tweet_id}"
    assert published.http_status == 201
    assert published.detail == {"text": text, "reply": None, "media": []}
    [request] = fake.requests_to("/2/tweets")
    assert request.json == {"text": text}
    assert "Größere Bühne".encode() in request.body or b"\\u00f6" in request.body
    assert request.auth_scheme == "OAuth"
    assert 'oauth_consumer_key="ck-Secret-Consumer-4711"' in request.headers["authorization"]


def test_hashtags_already_in_teaser_are_not_repeated(
    make_platform: Callable[..., XPlatform],
) -> None:
    platform = make_platform()
    text = platform.render("Heute: #SOZGipfel in Tianjin", None, HASHTAGS)
    assert text == "Heute: #SOZGipfel in Tianjin #XiJinping"


# test_link_as_first_reply and test_failed_link_reply_keeps_the_published_post moved to
# tests/integration/test_dispatch.py: the link reply is a thread's part now, published and
# recorded by the dispatcher's thread plumbing, not inside publish().


def test_a_part_of_a_thread_replies_to_the_part_before_it(
    fake: FakeX, make_platform: Callable[..., XPlatform]
) -> None:
    platform = make_platform()
    head = platform.publish(outgoing("Teil 1"))
    reply = replace(
        outgoing("Teil 2"), part=2, parts=2,
        reply_to=ReplyTo(parent_id=head.remote_id, root_id=head.remote_id),
    )  # fmt: skip
    published = platform.publish(reply)
    assert fake.tweets == [
        {"text": "Teil 1"},
        {"text": "Teil 2", "reply": {"in_reply_to_tweet_id": head.remote_id}},
    ]
    assert published.detail == {"text": "Teil 2", "reply": head.remote_id, "media": []}
    # X's answer to a reply to a post that is not there (deleted meanwhile): refused.
    gone = replace(reply, reply_to=ReplyTo(parent_id="1", root_id="1"))
    assert "reply to a Tweet that is deleted" in publish_error(platform, gone).message


def test_inline_placement_ignores_outgoing_link(
    fake: FakeX, make_platform: Callable[..., XPlatform]
) -> None:
    platform = make_platform()
    text = platform.render(TEASER, LINK, ())
    platform.publish(outgoing(text, link=LINK))
    assert fake.tweets == [{"text": text}]


def test_media_upload_with_alt_text_through_v2_endpoints(
    fake: FakeX, make_platform: Callable[..., XPlatform], tmp_path: Path
) -> None:
    image = tmp_path / "gipfel.png"
    image.write_bytes(PNG)
    platform = make_platform()
    alt = "Xi Jinping begrüßt Gäste vor dem Tagungsgebäude"

    published = platform.publish(outgoing("Bilder vom Gipfel", media=(MediaItem(str(image), alt),)))

    [media] = fake.media
    assert media["data"] == PNG
    assert media["filename"] == "gipfel.png"
    assert media["media_category"] == "tweet_image"
    assert media["media_type"] == "image/png"
    assert media["alt_text"] == alt
    assert fake.tweets == [{"text": "Bilder vom Gipfel", "media": {"media_ids": [media["id"]]}}]
    assert [(r.method, r.path) for r in fake.requests] == [
        ("POST", "/2/media/upload"),
        ("POST", "/2/media/metadata"),
        ("POST", "/2/tweets"),
    ]
    metadata = fake.requests_to("/2/media/metadata")[0]
    assert metadata.json == {"id": media["id"], "metadata": {"alt_text": {"text": alt}}}
    assert all(r.auth_scheme == "OAuth" for r in fake.requests)
    assert published.detail["media"] == [{"path": str(image), "id": media["id"], "alt": alt}]


def test_media_without_alt_text_skips_metadata(
    fake: FakeX, make_platform: Callable[..., XPlatform], tmp_path: Path
) -> None:
    image = tmp_path / "a.png"
    image.write_bytes(PNG)
    make_platform().publish(outgoing("ohne Alt-Text", media=(MediaItem(str(image)),)))
    assert [r.path for r in fake.requests] == ["/2/media/upload", "/2/tweets"]


def test_unsupported_media_refused_before_any_request(
    fake: FakeX, make_platform: Callable[..., XPlatform], tmp_path: Path
) -> None:
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"\0" * 16)
    error = publish_error(make_platform(), outgoing("Video", media=(MediaItem(str(video)),)))
    assert isinstance(error, PermanentError)
    assert "video/mp4" in error.message
    assert fake.requests == []


def test_oauth2_user_token(
    fake: FakeX, make_platform: Callable[..., XPlatform], tmp_path: Path
) -> None:
    image = tmp_path / "b.png"
    image.write_bytes(PNG)
    platform = make_platform(credentials={"user_token": "X_USER_TOKEN"})

    assert platform.check() == "@postbot_test"
    platform.publish(outgoing("Mit OAuth 2.0", media=(MediaItem(str(image), "Alt"),)))

    assert {r.headers["authorization"] for r in fake.requests} == {f"Bearer {ENV['X_USER_TOKEN']}"}
    assert fake.tweets == [{"text": "Mit OAuth 2.0", "media": {"media_ids": [fake.media[0]["id"]]}}]


def test_check_returns_username(fake: FakeX, make_platform: Callable[..., XPlatform]) -> None:
    assert make_platform().check() == "@postbot_test"
    [request] = fake.requests
    assert (request.method, request.path, request.auth_scheme) == ("GET", "/2/users/me", "OAuth")


def test_debug_logging_does_not_leak_credentials(
    fake: FakeX, make_platform: Callable[..., XPlatform], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        make_platform(credentials={"user_token": "X_USER_TOKEN"}).check()
        make_platform().publish(outgoing("Protokoll"))
    for secret in SECRETS:
        assert secret not in caplog.text


def test_client_is_built_once_and_close_releases_it(
    fake: FakeX, make_platform: Callable[..., XPlatform]
) -> None:
    platform = make_platform()
    platform.publish(outgoing("eins", n=1))
    platform.publish(outgoing("zwei", n=2))
    platform.close()
    platform.publish(outgoing("drei", n=3))  # a closed platform reconnects when used again
    assert [t["text"] for t in fake.tweets] == ["eins", "zwei", "drei"]


# -- faults ------------------------------------------------------------------------------------
@pytest.mark.parametrize("status", [500, 503])
def test_server_error_is_transient(
    status: int, fake: FakeX, make_platform: Callable[..., XPlatform]
) -> None:
    fake.inject("/2/tweets", Fault.server_error(status))
    error = publish_error(make_platform(), outgoing("Serverfehler"))
    assert type(error) is TransientError
    assert error.http_status == status
    assert str(status) in error.message
    assert "Internal Server Error" in error.message or "Service Unavailable" in error.message
    assert fake.tweets == []


def test_rate_limit_is_transient_until_reset(
    fake: FakeX, make_platform: Callable[..., XPlatform]
) -> None:
    reset = int(time.time()) + 600
    fake.inject("/2/tweets", Fault.rate_limited(reset))
    started = time.monotonic()
    error = publish_error(make_platform(), outgoing("Zu viele"))
    assert time.monotonic() - started < 5  # tweepy must not sleep until the reset
    assert type(error) is TransientError
    assert error.http_status == 429
    assert error.retry_after == datetime.fromtimestamp(reset, tz=UTC)
    assert "Too Many Requests" in error.message


def test_timeout_on_post_is_an_unknown_outcome(
    fake: FakeX, make_platform: Callable[..., XPlatform]
) -> None:
    fake.inject("/2/tweets", Fault.slow(TIMEOUT * 4))
    started = time.monotonic()
    error = publish_error(make_platform(), outgoing("Langsam"))
    assert time.monotonic() - started < TIMEOUT * 3
    # The request reached X; it may publish it after we gave up (and here the fake does).
    assert isinstance(error, OutcomeUnknown)
    assert "may or may not have been published" in error.message
    assert fake.wait_for(lambda f: len(f.tweets) == 1)


def test_timeout_on_check_is_transient(
    fake: FakeX, make_platform: Callable[..., XPlatform]
) -> None:
    fake.inject("/2/users/me", Fault.slow(TIMEOUT * 4))
    with pytest.raises(PublishError) as caught:
        make_platform().check()
    assert type(caught.value) is TransientError
    assert_clean(caught.value)


def test_dropped_connection_after_store_is_unknown_and_posted(
    fake: FakeX, make_platform: Callable[..., XPlatform]
) -> None:
    fake.inject("/2/tweets", Fault.drop(store=True))
    error = publish_error(make_platform(), outgoing("Verbindung weg"))
    assert isinstance(error, OutcomeUnknown)
    assert error.http_status is None
    assert fake.tweets == [{"text": "Verbindung weg"}]


def test_dropped_connection_before_store_is_still_unknown(
    fake: FakeX, make_platform: Callable[..., XPlatform]
) -> None:
    # From the client's side nothing tells the two cases apart: both are unknown.
    fake.inject("/2/tweets", Fault.drop(store=False))
    error = publish_error(make_platform(), outgoing("Verbindung weg"))
    assert isinstance(error, OutcomeUnknown)
    assert fake.tweets == []


def test_failed_media_upload_is_transient_not_unknown(
    fake: FakeX, make_platform: Callable[..., XPlatform], tmp_path: Path
) -> None:
    image = tmp_path / "c.png"
    image.write_bytes(PNG)
    platform = make_platform()
    for fault in (Fault.drop(), Fault.slow(TIMEOUT * 4), Fault.server_error(500)):
        fake.inject("/2/media/upload", fault)
        error = publish_error(platform, outgoing("Bild", media=(MediaItem(str(image)),)))
        # Nothing is published before the upload succeeds: resending is safe.
        assert type(error) is TransientError, fault
    assert fake.tweets == []


def test_connection_refused_is_transient(make_platform: Callable[..., XPlatform]) -> None:
    closed = FakeX().start()
    base_url = closed.base_url
    closed.stop()
    error = publish_error(make_platform(base_url=base_url), outgoing("Niemand da"))
    assert type(error) is TransientError
    assert "cannot connect" in error.message


def test_unauthorized_is_permanent(fake: FakeX, make_platform: Callable[..., XPlatform]) -> None:
    fake.inject("/2/tweets", Fault.unauthorized())
    error = publish_error(make_platform(), outgoing("401"))
    assert type(error) is PermanentError
    assert error.http_status == 401
    assert "Unauthorized" in error.message


def test_bad_token_is_refused_by_the_server(
    fake: FakeX, make_platform: Callable[..., XPlatform]
) -> None:
    env = {**ENV, "X_ACCESS_TOKEN": "1790000000000000001-bad-token"}
    platform = make_platform(environ=env)
    error = publish_error(platform, outgoing("falscher Token"))
    assert type(error) is PermanentError
    assert error.http_status == 401
    assert env["X_ACCESS_TOKEN"] not in error.message
    with pytest.raises(PermanentError) as caught:
        platform.check()
    assert caught.value.http_status == 401


def test_bad_request_is_permanent_with_the_platform_message(
    fake: FakeX, make_platform: Callable[..., XPlatform]
) -> None:
    fake.inject("/2/tweets", Fault.bad_request("Post text is too long."))
    error = publish_error(make_platform(), outgoing("400"))
    assert type(error) is PermanentError
    assert error.http_status == 400
    assert "Post text is too long." in error.message


def test_duplicate_fault_is_permanent(fake: FakeX, make_platform: Callable[..., XPlatform]) -> None:
    fake.inject("/2/tweets", Fault.duplicate())
    error = publish_error(make_platform(), outgoing("doppelt"))
    assert type(error) is PermanentError
    assert error.http_status == 403
    assert "duplicate" in error.message
    assert DUPLICATE_DETAIL in error.message


def test_same_text_twice_is_refused_as_duplicate(
    fake: FakeX, make_platform: Callable[..., XPlatform]
) -> None:
    platform = make_platform()
    platform.publish(outgoing("Zweimal derselbe Text", n=1))
    error = publish_error(platform, outgoing("Zweimal derselbe Text", n=2))
    assert type(error) is PermanentError
    assert "duplicate content" in error.message
    assert len(fake.tweets) == 1


def test_secrets_echoed_by_the_server_are_scrubbed(
    fake: FakeX, make_platform: Callable[..., XPlatform]
) -> None:
    fake.inject("/2/tweets", Fault.forbidden(f"token {ENV['X_ACCESS_TOKEN']} may not post"))
    error = publish_error(make_platform(), outgoing("Echo"))
    assert type(error) is PermanentError
    assert "token *** may not post" in error.message


def test_random_failures_for_load_tests() -> None:
    with FakeX(fail_rate=0.5, seed=7) as server:
        account = Account("load", "x", server.base_url, OAUTH1_VARS, options={"timeout": TIMEOUT})
        platform = XPlatform(account, ENV)
        outcomes = []
        for n in range(20):
            try:
                platform.publish(outgoing(f"Last {n}", n=n))
                outcomes.append("ok")
            except TransientError as exc:
                assert exc.http_status == 503
                outcomes.append("503")
        platform.close()
    assert 0 < outcomes.count("503") < 20
    assert len(server.tweets) == outcomes.count("ok")


# -- configuration -----------------------------------------------------------------------------
def test_missing_credential_variable_is_named(
    fake: FakeX, make_platform: Callable[..., XPlatform]
) -> None:
    env = {k: v for k, v in ENV.items() if k != "X_ACCESS_TOKEN_SECRET"}
    platform = make_platform(environ=env)
    with pytest.raises(ConfigError, match="X_ACCESS_TOKEN_SECRET"):
        platform.publish(outgoing("ohne Geheimnis"))
    with pytest.raises(ConfigError, match="X_ACCESS_TOKEN_SECRET"):
        platform.check()
    assert fake.requests == []


def test_incomplete_oauth1_roles_are_named(make_platform: Callable[..., XPlatform]) -> None:
    roles = {k: v for k, v in OAUTH1_VARS.items() if k != "consumer_secret"}
    with pytest.raises(ConfigError, match="missing: consumer_secret"):
        make_platform(credentials=roles).check()


def test_both_credential_kinds_are_refused(make_platform: Callable[..., XPlatform]) -> None:
    roles = {**OAUTH1_VARS, "user_token": "X_USER_TOKEN"}
    with pytest.raises(ConfigError, match="not both"):
        make_platform(credentials=roles).check()


@pytest.mark.parametrize("options", [{"link_placement": "footer"}, {"timeout": 0}])
def test_bad_options_fail_when_the_platform_is_made(
    options: dict[str, Any], make_platform: Callable[..., XPlatform]
) -> None:
    with pytest.raises(ConfigError):
        make_platform(**options)


def test_module_does_not_import_tweepy_or_requests() -> None:
    import subprocess

    code = (
        "import sys, postbot.platforms.x as x;"
        "print(any(m in sys.modules for m in ('tweepy', 'requests', 'requests_oauthlib')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "False"


# -- failures in words, limits checked before sending -----------------------------------------
def test_connection_refused_says_so_in_words(make_platform: Callable[..., XPlatform]) -> None:
    closed = FakeX().start()
    base_url = closed.base_url
    closed.stop()
    error = publish_error(make_platform(base_url=base_url), outgoing("Niemand da"))
    host = base_url.split("://")[1]
    assert error.message == f"X post: cannot connect to X: connection refused by {host}"


def test_a_timeout_on_post_says_how_long_it_waited(
    fake: FakeX, make_platform: Callable[..., XPlatform]
) -> None:
    fake.inject("/2/tweets", Fault.slow(TIMEOUT * 4))
    error = publish_error(make_platform(), outgoing("Langsam"))
    host = fake.base_url.split("://")[1]
    assert error.message.startswith(
        f"X post: timed out: no answer within {TIMEOUT:g} s from {host};"
    )


@pytest.mark.parametrize("status", [502, 504])
def test_a_gateway_that_gave_up_on_a_post_leaves_it_unknown(
    status: int, fake: FakeX, make_platform: Callable[..., XPlatform], tmp_path: Path
) -> None:
    # X has no idempotency key: a proxy's 502/504 may hide a post that went out.
    fake.inject("/2/tweets", Fault.server_error(status))
    error = publish_error(make_platform(), outgoing("Gateway"))
    assert isinstance(error, OutcomeUnknown)
    assert error.http_status == status
    assert "may or may not have been published" in error.message
    # The same answer to a media upload is only transient: nothing is published yet.
    image = tmp_path / "c.png"
    image.write_bytes(PNG)
    fake.inject("/2/media/upload", Fault.server_error(status))
    error = publish_error(make_platform(), outgoing("Bild", media=(MediaItem(str(image)),)))
    assert type(error) is TransientError


def test_text_over_the_limit_is_refused_before_any_request(
    fake: FakeX, make_platform: Callable[..., XPlatform]
) -> None:
    error = publish_error(make_platform(), outgoing("a" * 281))
    assert type(error) is PermanentError
    assert error.message == "X: text is 281 characters, the limit is 280"
    assert fake.requests == []


def test_media_is_judged_by_its_bytes_before_any_request(
    fake: FakeX, make_platform: Callable[..., XPlatform], tmp_path: Path
) -> None:
    from tests.fakes.images import image

    gif = image(tmp_path / "anim.gif")
    error = publish_error(make_platform(), outgoing("GIF", media=(MediaItem(str(gif)),)))
    assert error.message == "X media: media anim.gif is a GIF image; only JPEG, PNG, WebP allowed"
    long_alt = MediaItem(str(image(tmp_path / "a.png")), "a" * 1001)
    error = publish_error(make_platform(), outgoing("Alt", media=(long_alt,)))
    assert "the alt text of a.png is 1,001 characters; at most 1,000 allowed" in error.message
    assert fake.requests == []


def test_accounts_check_reports_an_unreachable_server_in_words(
    make_platform: Callable[..., XPlatform],
) -> None:
    from postbot.accounts import check_account

    closed = FakeX().start()
    base_url = closed.base_url
    closed.stop()
    account = Account("xtest", "x", base_url, OAUTH1_VARS, options={"timeout": TIMEOUT})
    row = check_account(account, ENV)
    host = base_url.split("://")[1]
    assert row["ok"] is False
    assert row["error"] == f"X account check: cannot connect to X: connection refused by {host}"
