"""MastodonPlatform through the real Mastodon.py over real HTTP, against the local fake server
(tests/fakes/mastodon_server.py, on 127.0.0.1). Nothing of ours is mocked: each test asserts
what the server received, or which error class, message and HTTP status came back."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
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
    TransientError,
)
from postbot.platforms.mastodon import MastodonPlatform
from tests.fakes.mastodon_server import FakeMastodon, Fault, tiny_png

TOKEN_VAR = "POSTBOT_TEST_MASTODON_TOKEN"
KEY = "postbot-delivery-1-3f9c"
GERMAN = (
    "Grüße aus Tianjin: Die Staatschefs der Schanghaier Organisation für Zusammenarbeit"
    " treffen sich – Überblick, Einschätzung und Ärger über Zölle. #XiJinping #SOZGipfel"
)
STATUSES = "/api/v1/statuses"

MakePlatform = Callable[..., MastodonPlatform]


@pytest.fixture
def fake() -> Iterator[FakeMastodon]:
    with FakeMastodon() as server:
        yield server


@pytest.fixture
def make(fake: FakeMastodon) -> Iterator[MakePlatform]:
    """make(environ=None, base_url=..., char_limit=None, **options) -> a MastodonPlatform for
    the fake (token in the environment unless `environ` is given); closed after the test."""
    made: list[MastodonPlatform] = []

    def factory(
        environ: dict[str, str] | None = None,
        base_url: str | None = "fake",
        char_limit: int | None = None,
        **options: Any,
    ) -> MastodonPlatform:
        account = Account(
            name="masto",
            platform="mastodon",
            base_url=fake.base_url if base_url == "fake" else base_url,
            credential_vars={"access_token": TOKEN_VAR},
            char_limit=char_limit,
            options={"timeout": 5, **options},
        )
        platform = MastodonPlatform(
            account, {TOKEN_VAR: fake.token} if environ is None else environ
        )
        made.append(platform)
        return platform

    yield factory
    for platform in made:
        platform.close()


def outgoing(
    text: str = GERMAN,
    *,
    key: str = KEY,
    media: tuple[MediaItem, ...] = (),
    language: str | None = "de",
    created_at: datetime | None = None,
) -> Outgoing:
    return Outgoing(
        delivery_id=1,
        post_id=1,
        account="masto",
        text=text,
        language=language,
        hashtags=("XiJinping", "SOZGipfel"),
        media=media,
        idempotency_key=key,
        created_at=created_at,
    )


def assert_no_secret(error: BaseException, *secrets: str) -> None:
    shown = " ".join([str(error), repr(error), *(str(a) for a in error.args)])
    if isinstance(error, PublishError):
        shown += " " + error.message
    for secret in secrets:
        assert secret not in shown


# -- what arrives -----------------------------------------------------------------------------
def test_publish_sends_the_exact_payload(fake: FakeMastodon, make: MakePlatform) -> None:
    result = make(visibility="unlisted").publish(outgoing())

    [post] = fake.requests_to(STATUSES, "POST")
    assert post.params == {
        "status": GERMAN,
        "sensitive": "0",
        "visibility": "unlisted",
        "language": "de",
    }
    assert post.headers["idempotency-key"] == KEY
    assert post.headers["authorization"] == f"Bearer {fake.token}"
    # UTF-8, percent-encoded: umlauts, ß, the en dash and the hashtags arrive unharmed.
    assert b"status=Gr%C3%BC%C3%9Fe+aus+Tianjin" in post.body
    assert b"%23XiJinping+%23SOZGipfel" in post.body

    [stored] = fake.statuses
    assert stored["status"] == GERMAN
    assert stored["language"] == "de"
    assert stored["visibility"] == "unlisted"
    assert stored["idempotency_key"] == KEY
    assert stored["media_ids"] == []
    assert {t["name"] for t in stored["entity"]["tags"]} == {"xijinping", "sozgipfel"}

    assert result.remote_id == stored["id"]
    assert result.url == stored["entity"]["url"]
    assert result.http_status == 200
    assert result.detail == {
        "text": GERMAN,
        "language": "de",
        "visibility": "unlisted",
        "media": [],
    }


def test_visibility_defaults_to_public_and_language_may_be_absent(
    fake: FakeMastodon, make: MakePlatform
) -> None:
    make().publish(outgoing("Hello", language=None))
    [post] = fake.requests_to(STATUSES, "POST")
    assert post.params == {"status": "Hello", "sensitive": "0", "visibility": "public"}


def test_bad_visibility_is_a_config_error(fake: FakeMastodon, make: MakePlatform) -> None:
    with pytest.raises(ConfigError, match="visibility must be one of") as caught:
        make(visibility="everyone").publish(outgoing())
    assert isinstance(caught.value, PermanentError)
    assert fake.requests_to(STATUSES) == []


def test_media_upload_sends_alt_text_and_waits_for_processing(
    fake: FakeMastodon, make: MakePlatform, tmp_path: Path
) -> None:
    fake.media_processing_polls = 1  # 202 on upload, 206 on the first poll, then 200
    png = tiny_png(2, 3)
    image = tmp_path / "flaggen.png"
    image.write_bytes(png)
    alt = "Zwei Flaggen vor der Kongresshalle – Foto: Jürgen Müller"

    result = make().publish(outgoing(media=(MediaItem(str(image), alt),)))

    [media] = fake.media
    assert media["description"] == alt
    assert media["content_type"] == "image/png"
    assert media["data"] == png
    assert len(fake.requests_to("/api/v2/media", "POST")) == 1
    assert fake.requests_to("/api/v1/media", "POST") == []  # never the old endpoint
    assert [r.status for r in fake.requests_to("/api/v1/media/*", "GET")] == [206, 200]
    [stored] = fake.statuses
    assert stored["media_ids"] == [media["id"]]
    assert stored["entity"]["media_attachments"][0]["description"] == alt
    assert result.detail["media"] == [{"path": str(image), "alt": alt}]


def test_media_processing_wait_is_bounded(
    fake: FakeMastodon, make: MakePlatform, tmp_path: Path
) -> None:
    fake.media_processing_polls = 1_000_000  # never finishes
    image = tmp_path / "a.png"
    image.write_bytes(tiny_png())
    started = time.monotonic()
    with pytest.raises(TransientError, match="still processing") as caught:
        make(media_timeout=0.6).publish(outgoing(media=(MediaItem(str(image), "alt"),)))
    assert time.monotonic() - started < 3
    assert not isinstance(caught.value, OutcomeUnknown)
    assert fake.statuses == []


def test_more_than_four_media_are_refused_before_any_request(
    fake: FakeMastodon, make: MakePlatform, tmp_path: Path
) -> None:
    image = tmp_path / "a.png"
    image.write_bytes(tiny_png())
    media = tuple(MediaItem(str(image), f"Bild {i}") for i in range(5))
    with pytest.raises(PermanentError, match="at most 4"):
        make().publish(outgoing(media=media))
    assert fake.requests == []


def test_missing_media_file_is_permanent(
    fake: FakeMastodon, make: MakePlatform, tmp_path: Path
) -> None:
    missing = tmp_path / "weg.png"
    with pytest.raises(PermanentError, match="media file not found") as caught:
        make().publish(outgoing(media=(MediaItem(str(missing), "alt"),)))
    assert str(missing) in caught.value.message
    assert fake.requests_to("/api/v2/media") == []


def test_retry_with_the_same_idempotency_key_creates_no_second_status(
    fake: FakeMastodon, make: MakePlatform
) -> None:
    platform = make()
    first = platform.publish(outgoing())
    platform.close()  # a new session, as after a daemon restart
    second = platform.publish(outgoing())

    assert second.remote_id == first.remote_id
    assert len(fake.statuses) == 1
    posts = fake.requests_to(STATUSES, "POST")
    assert [p.headers["idempotency-key"] for p in posts] == [KEY, KEY]

    platform.publish(outgoing(key="postbot-delivery-2"))  # another delivery: another status
    assert len(fake.statuses) == 2


def test_one_platform_object_serves_concurrent_publishes(
    fake: FakeMastodon, make: MakePlatform
) -> None:
    platform = make()  # the daemon shares one object per account between its workers
    with ThreadPoolExecutor(8) as pool:
        results = list(
            pool.map(lambda i: platform.publish(outgoing(f"Beitrag {i}", key=f"k{i}")), range(24))
        )
    assert len({r.remote_id for r in results}) == 24
    assert sorted(s["idempotency_key"] for s in fake.statuses) == sorted(f"k{i}" for i in range(24))
    assert len(fake.requests_to("/api/v2/instance", "GET")) == 1  # limits fetched once


# -- faults -----------------------------------------------------------------------------------
def test_server_error_is_transient(fake: FakeMastodon, make: MakePlatform) -> None:
    platform = make()
    fake.inject(STATUSES, Fault.server_error())
    with pytest.raises(TransientError) as caught:
        platform.publish(outgoing())
    error = caught.value
    assert type(error) is TransientError  # the server answered: the outcome is known
    assert error.http_status == 500
    assert "something went wrong on our end" in error.message
    assert fake.statuses == []
    assert_no_secret(error, fake.token)

    platform.publish(outgoing())  # the retry goes through
    assert len(fake.statuses) == 1


def test_rate_limit_is_transient_with_the_reset_time(
    fake: FakeMastodon, make: MakePlatform
) -> None:
    reset = (datetime.now(UTC) + timedelta(minutes=7)).replace(microsecond=524560)
    fake.inject(STATUSES, Fault.rate_limited(reset))
    with pytest.raises(TransientError) as caught:
        make().publish(outgoing())
    error = caught.value
    assert type(error) is TransientError
    assert error.http_status == 429
    assert error.retry_after == reset
    assert error.retry_after is not None and error.retry_after.utcoffset() == timedelta(0)
    assert "rate limited" in error.message
    assert fake.statuses == []
    assert_no_secret(error, fake.token)


def test_timeout_is_outcome_unknown_and_the_retry_is_safe(
    fake: FakeMastodon, make: MakePlatform
) -> None:
    platform = make(timeout=1)
    fake.inject(STATUSES, Fault.slow(1.6))  # the server stores it, after the client gave up
    with pytest.raises(OutcomeUnknown) as caught:
        platform.publish(outgoing())
    assert isinstance(caught.value, TransientError)
    assert "timed out" in caught.value.message.lower()
    assert_no_secret(caught.value, fake.token)

    assert fake.wait_for(lambda f: len(f.statuses) == 1, timeout=3)
    again = platform.publish(outgoing())  # same idempotency key: the same status
    assert again.remote_id == fake.statuses[0]["id"]
    assert len(fake.statuses) == 1


def test_connection_refused_is_transient_not_unknown(
    fake: FakeMastodon, make: MakePlatform
) -> None:
    platform = make(timeout=2)
    platform.instance_limits()  # cached: the next publish goes straight to the status POST
    fake.stop()  # nothing listens on the port any more
    with pytest.raises(TransientError) as caught:
        platform.publish(outgoing())
    assert not isinstance(caught.value, OutcomeUnknown)  # never sent: no status can exist
    assert "cannot reach" in caught.value.message


def test_connection_dropped_after_store_is_outcome_unknown(
    fake: FakeMastodon, make: MakePlatform
) -> None:
    platform = make()
    fake.inject(STATUSES, Fault.drop(store=True))
    with pytest.raises(OutcomeUnknown) as caught:
        platform.publish(outgoing(created_at=datetime.now(UTC)))
    assert_no_secret(caught.value, fake.token)
    [stored] = fake.statuses  # it does exist on the server

    found = platform.lookup(outgoing(created_at=datetime.now(UTC)))
    assert found is not None
    assert found.remote_id == stored["id"]
    assert found.url == stored["entity"]["url"]

    again = platform.publish(outgoing())
    assert again.remote_id == stored["id"]
    assert len(fake.statuses) == 1


def test_connection_dropped_before_store_is_outcome_unknown_and_lookup_says_none(
    fake: FakeMastodon, make: MakePlatform
) -> None:
    platform = make()
    fake.inject(STATUSES, Fault.drop(store=False))
    with pytest.raises(OutcomeUnknown):
        platform.publish(outgoing())
    assert fake.statuses == []
    assert platform.lookup(outgoing(created_at=datetime.now(UTC))) is None
    platform.publish(outgoing())
    assert len(fake.statuses) == 1


def test_unauthorized_is_permanent(fake: FakeMastodon, make: MakePlatform) -> None:
    fake.inject(STATUSES, Fault.unauthorized())
    with pytest.raises(PermanentError) as caught:
        make().publish(outgoing())
    error = caught.value
    assert error.http_status == 401
    assert "token rejected" in error.message
    assert "The access token is invalid" in error.message
    assert_no_secret(error, fake.token)


def test_forbidden_is_permanent_and_names_the_scopes(
    fake: FakeMastodon, make: MakePlatform
) -> None:
    fake.inject(STATUSES, Fault.forbidden())
    with pytest.raises(PermanentError) as caught:
        make().publish(outgoing())
    assert caught.value.http_status == 403
    assert "token rejected" in caught.value.message
    assert "outside the authorized scopes" in caught.value.message
    assert "write:statuses" in caught.value.message


def test_unprocessable_is_permanent_with_the_server_message(
    fake: FakeMastodon, make: MakePlatform
) -> None:
    fake.inject(STATUSES, Fault.unprocessable())
    with pytest.raises(PermanentError) as caught:
        make().publish(outgoing())
    error = caught.value
    assert error.http_status == 422
    assert "Validation failed: Text character limit of 500 exceeded" in error.message
    assert_no_secret(error, fake.token)


def test_text_over_the_instance_limit_is_refused_before_posting(
    fake: FakeMastodon, make: MakePlatform
) -> None:
    fake.max_characters = 100
    with pytest.raises(PermanentError) as caught:
        make().publish(outgoing("ä" * 101))
    assert caught.value.message == "text is 101 characters, instance limit is 100"
    assert fake.requests_to(STATUSES) == []


def test_urls_count_as_23_characters(fake: FakeMastodon, make: MakePlatform) -> None:
    fake.max_characters = 60
    text = "x" * 30 + " https://example.org/" + "a" * 200  # 30 + 1 + 23 = 54
    make().publish(outgoing(text))
    assert fake.statuses[0]["status"] == text


# -- check, credentials, secrets ----------------------------------------------------------------
def test_check_returns_the_account_name(fake: FakeMastodon, make: MakePlatform) -> None:
    assert make().check() == "@postbot_test"
    [request] = fake.requests_to("/api/v1/accounts/verify_credentials", "GET")
    assert request.headers["authorization"] == f"Bearer {fake.token}"


def test_check_with_a_wrong_token_is_permanent(fake: FakeMastodon, make: MakePlatform) -> None:
    wrong = "wrong-secret-token-4711"
    with pytest.raises(PermanentError) as caught:
        make(environ={TOKEN_VAR: wrong}).check()
    assert caught.value.http_status == 401
    assert "token rejected" in caught.value.message
    assert "The access token is invalid" in caught.value.message
    assert_no_secret(caught.value, wrong, fake.token)


def test_missing_credential_names_the_variable(fake: FakeMastodon, make: MakePlatform) -> None:
    platform = make(environ={})
    with pytest.raises(ConfigError, match=TOKEN_VAR):
        platform.check()
    with pytest.raises(ConfigError, match=TOKEN_VAR) as caught:
        platform.publish(outgoing())
    assert isinstance(caught.value, PermanentError)  # the daemon fails it, no retries
    assert fake.requests == []


def test_missing_base_url_is_a_config_error(fake: FakeMastodon, make: MakePlatform) -> None:
    with pytest.raises(ConfigError, match="base_url is missing") as caught:
        make(base_url=None).check()
    assert isinstance(caught.value, PermanentError)


def test_token_with_a_line_break_never_shows_in_the_message(make: MakePlatform) -> None:
    secret = "abc-secret-part\nxyz-other-part"
    with pytest.raises(PermanentError) as caught:
        make(environ={TOKEN_VAR: secret}).check()
    assert "access token" in caught.value.message
    assert_no_secret(caught.value, "abc-secret-part", "xyz-other-part")


# -- offline parts and lookup -----------------------------------------------------------------
def test_counting_and_limit_stay_offline(fake: FakeMastodon, make: MakePlatform) -> None:
    platform = make()
    assert platform.count("Grüße") == 5
    assert platform.count("https://example.com/" + "a" * 100) == 23
    assert platform.limit() == 500
    assert make(char_limit=300).limit() == 300
    assert fake.requests == []


def test_registry_builds_it_without_importing_mastodon_py(fake: FakeMastodon) -> None:
    account = Account("masto", "mastodon", fake.base_url, {"access_token": TOKEN_VAR})
    assert isinstance(platform_for(account, {}), MastodonPlatform)
    code = (
        "import sys, postbot.platforms.mastodon as m; m.MastodonPlatform;"
        " assert 'mastodon' not in sys.modules, 'Mastodon.py imported at module level'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_lookup_ignores_older_twins_and_other_apps_and_pages_back(
    fake: FakeMastodon, make: MakePlatform
) -> None:
    platform = make()
    now = datetime.now(UTC)
    fake.add_status(GERMAN, created_at=now - timedelta(days=2), app="postbot")  # an old twin
    fake.add_status(GERMAN, created_at=now - timedelta(minutes=1), app="Web")  # typed by hand
    assert platform.lookup(outgoing(created_at=now - timedelta(hours=1))) is None

    ours = platform.publish(outgoing(created_at=now))
    for i in range(45):  # pushes ours onto the second page of 40
        fake.add_status(f"Später {i}", created_at=datetime.now(UTC) + timedelta(seconds=i + 1))
    found = platform.lookup(outgoing(created_at=now))
    assert found is not None and found.remote_id == ours.remote_id
    assert len(fake.requests_to("/api/v1/accounts/*/statuses", "GET")) == 3


# -- the fake itself ----------------------------------------------------------------------------
def test_fake_fail_rate_is_seeded_and_answers_carry_rate_limit_headers() -> None:
    def outcomes(seed: int) -> list[str]:
        with FakeMastodon(fail_rate=0.4, seed=seed) as server:
            platform = MastodonPlatform(
                Account("m", "mastodon", server.base_url, {"access_token": TOKEN_VAR}),
                {TOKEN_VAR: server.token},
            )
            result = []
            for i in range(12):
                try:
                    platform.publish(outgoing(f"Beitrag {i}", key=f"k{i}"))
                    result.append("ok")
                except TransientError as error:
                    result.append(str(error.http_status))
            platform.close()
            return result

    first = outcomes(7)
    assert first == outcomes(7)
    assert "ok" in first and "500" in first

    import requests

    with FakeMastodon() as server:
        answer = requests.get(f"{server.base_url}/api/v2/instance/", timeout=5)
    assert answer.json()["configuration"]["statuses"]["max_characters"] == 500
    assert answer.headers["X-RateLimit-Limit"] == "300"
    assert answer.headers["X-RateLimit-Reset"].endswith("Z")


# -- limits from the server, media read from the bytes, failures in words -------------------------
def test_the_servers_max_media_attachments_is_used_at_publish(
    fake: FakeMastodon, make: MakePlatform, tmp_path: Path
) -> None:
    fake.max_media_attachments = 2
    image = tmp_path / "a.png"
    image.write_bytes(tiny_png())
    media = tuple(MediaItem(str(image), f"Bild {i}") for i in range(3))
    with pytest.raises(PermanentError) as caught:
        make().publish(outgoing(media=media))
    assert caught.value.message == (
        "media refused by the server's limits: 3 images; at most 2 allowed"
    )
    assert fake.requests_to("/api/v2/media") == []
    assert fake.statuses == []


def test_a_text_file_named_png_is_refused_before_any_request(
    fake: FakeMastodon, make: MakePlatform, tmp_path: Path
) -> None:
    fake_image = tmp_path / "foto.png"
    fake_image.write_text("kein Bild", encoding="utf-8")
    with pytest.raises(PermanentError, match=r"media foto\.png is not an image"):
        make().publish(outgoing(media=(MediaItem(str(fake_image), "Foto"),)))
    assert fake.requests == []


def test_the_media_type_sent_is_the_one_in_the_bytes(
    fake: FakeMastodon, make: MakePlatform, tmp_path: Path
) -> None:
    misnamed = tmp_path / "foto.jpg"
    misnamed.write_bytes(tiny_png())
    make().publish(outgoing(media=(MediaItem(str(misnamed), "Foto"),)))
    [media] = fake.media
    assert media["content_type"] == "image/png"


def test_connection_refused_names_the_server_in_words(
    fake: FakeMastodon, make: MakePlatform
) -> None:
    platform = make(timeout=2)
    platform.instance_limits()
    host = fake.base_url.split("://")[1]
    fake.stop()
    with pytest.raises(TransientError) as caught:
        platform.publish(outgoing())
    assert caught.value.message == (
        f"posting the status: cannot reach the server: connection refused by {host}"
    )


def test_a_timeout_says_how_long_it_waited_for_whom(fake: FakeMastodon, make: MakePlatform) -> None:
    platform = make(timeout=1)
    fake.inject(STATUSES, Fault.slow(1.6))
    with pytest.raises(OutcomeUnknown) as caught:
        platform.publish(outgoing())
    host = fake.base_url.split("://")[1]
    assert caught.value.message == (
        f"posting the status: timed out: no answer within 1 s from {host}, after sending:"
        " the status may or may not exist"
    )
