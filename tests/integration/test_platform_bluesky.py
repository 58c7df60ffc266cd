"""BlueskyPlatform through the real atproto Client, over real HTTP, against a local fake PDS.

Nothing of ours is mocked: the adapter builds the record, the SDK sends it, the fake stores it
exactly as received, and the tests read it back from the fake.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

# The fake lives in tests/fakes; make `tests.fakes` importable however pytest was started.
_ROOT = Path(__file__).resolve().parents[2]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from postbot.domain import Account  # noqa: E402
from postbot.errors import ConfigError  # noqa: E402
from postbot.platforms import platform_for  # noqa: E402
from postbot.platforms.base import (  # noqa: E402
    MediaItem,
    OutcomeUnknown,
    Outgoing,
    PermanentError,
    Published,
    PublishError,
    TransientError,
)
from postbot.platforms.bluesky import BlueskyPlatform  # noqa: E402
from tests.fakes.bluesky_server import (  # noqa: E402
    FakeBluesky,
    dropped,
    forbidden,
    invalid_request,
    rate_limited,
    server_error,
    tid_from_micros,
    unauthorized,
)

pytestmark = pytest.mark.timeout(60)

CREATE = "com.atproto.repo.createRecord"
GET = "com.atproto.repo.getRecord"
UPLOAD = "com.atproto.repo.uploadBlob"
LOGIN = "com.atproto.server.createSession"

HANDLE = "nachrichten.test"
APP_PASSWORD = "qwer-tyui-opas-dfgh"
TEASER = (
    "Lesen Sie hier, wie Xi Jinping am SOZ-Gipfel teilnimmt und über die Zukunft der"
    " Shanghaier Organisation für Zusammenarbeit spricht. #XiJinping #SOZGipfel"
)
LINK = "https://www.example.de/politik/soz-gipfel-xi-jinping-tianjin-2025"
CREATED = datetime(2025, 9, 1, 8, 30, 15, 123456, tzinfo=UTC)
# A minimal valid PNG (1x1), enough for the PDS and for mime sniffing.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)

MakePlatform = Callable[..., BlueskyPlatform]


# -- fixtures ------------------------------------------------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeBluesky]:
    with FakeBluesky(handle=HANDLE, password=APP_PASSWORD) as server:
        yield server


@pytest.fixture
def make_platform(fake: FakeBluesky, tmp_path: Path) -> Iterator[MakePlatform]:
    created: list[BlueskyPlatform] = []

    def make(
        *,
        password: str = APP_PASSWORD,
        session_file: Path | None = None,
        timeout: float = 5.0,
        base_url: str | None = None,
        environ: dict[str, str] | None = None,
    ) -> BlueskyPlatform:
        account = Account(
            name="bsky",
            platform="bluesky",
            base_url=base_url or fake.base_url,
            credential_vars={"handle": "BSKY_HANDLE", "app_password": "BSKY_APP_PASSWORD"},
            options={
                "session_file": str(session_file or tmp_path / "bsky.session"),
                "timeout": timeout,
            },
        )
        env = (
            environ
            if environ is not None
            else {
                "BSKY_HANDLE": HANDLE,
                "BSKY_APP_PASSWORD": password,
            }
        )
        platform = platform_for(account, env)
        assert isinstance(platform, BlueskyPlatform)
        created.append(platform)
        return platform

    yield make
    for platform in created:
        platform.close()


@pytest.fixture
def image(tmp_path: Path) -> Path:
    path = tmp_path / "gipfel.png"
    path.write_bytes(PNG)
    return path


def outgoing(
    delivery_id: int = 7,
    text: str | None = None,
    *,
    media: tuple[MediaItem, ...] = (),
    language: str | None = "de",
    created_at: datetime | None = CREATED,
) -> Outgoing:
    return Outgoing(
        delivery_id=delivery_id,
        post_id=1,
        account="bsky",
        text=text if text is not None else f"{TEASER} {LINK}",
        language=language,
        link=LINK,
        hashtags=("XiJinping", "SOZGipfel"),
        media=media,
        idempotency_key=f"delivery-{delivery_id}",
        created_at=created_at,
    )


def expected_rkey(out: Outgoing) -> str:
    """Computed here independently: the second the delivery was created, plus the serial
    number of (delivery, part) below a million; its millions in the clock id."""
    assert out.created_at is not None
    if out.legacy:  # queued before threads: time + part, the id's last 10 bits as clock id
        micros = int(out.created_at.timestamp()) * 1_000_000 + out.created_at.microsecond
        return tid_from_micros(micros + out.part - 1, out.delivery_id & 0x3FF)
    serial = out.delivery_id * 1000 + out.part - 1
    second = int(out.created_at.timestamp()) * 1_000_000
    return tid_from_micros(second + serial % 1_000_000, (serial // 1_000_000) & 0x3FF)


def assert_no_secrets(fake: FakeBluesky, *texts: str) -> None:
    tokens = fake.issued_tokens()
    for text in texts:
        assert APP_PASSWORD not in text
        assert "eyJ" not in text
        for token in tokens:
            assert token not in text
            for part in token.split("."):
                assert part not in text


def facet_tuples(facets: Any) -> list[tuple[int, int, str, str]]:
    return [
        (
            facet["index"]["byteStart"],
            facet["index"]["byteEnd"],
            facet["features"][0]["$type"],
            facet["features"][0].get("tag") or facet["features"][0].get("uri"),
        )
        for facet in facets
    ]


def publish_error(platform: BlueskyPlatform, out: Outgoing) -> PublishError:
    with pytest.raises(PublishError) as info:
        platform.publish(out)
    return info.value


# -- the record ----------------------------------------------------------------------------


def test_publish_sends_exact_record_with_byte_facets_langs_and_alt(
    fake: FakeBluesky, make_platform: MakePlatform, image: Path
) -> None:
    platform = make_platform()
    text = platform.render(TEASER, LINK, ("XiJinping", "SOZGipfel"))
    assert text == f"{TEASER} {LINK}"  # the teaser already carries both tags
    out = outgoing(text=text, media=(MediaItem(str(image), "Xi Jinping beim SOZ-Gipfel"),))

    published = platform.publish(out)

    rkey = expected_rkey(out)
    assert list(fake.records) == [rkey]
    record = fake.records[rkey]
    assert record["$type"] == "app.bsky.feed.post"
    assert record["text"] == text
    assert record["langs"] == ["de"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", record["createdAt"])

    # Expected offsets computed here, independently, over the UTF-8 bytes of the text.
    data = text.encode("utf-8")
    expected = []
    for needle, feature in (
        ("#XiJinping", ("app.bsky.richtext.facet#tag", "XiJinping")),
        ("#SOZGipfel", ("app.bsky.richtext.facet#tag", "SOZGipfel")),
        (LINK, ("app.bsky.richtext.facet#link", LINK)),
    ):
        start = data.index(needle.encode("utf-8"))
        expected.append((start, start + len(needle.encode("utf-8")), *feature))
    # "über" and "für" come before the tags: byte offsets differ from character offsets.
    assert data.index(b"#XiJinping") == text.index("#XiJinping") + 2
    got = facet_tuples(record["facets"])
    assert got == sorted(expected)
    for start, end, _, value in got:
        assert data[start:end].decode("utf-8").lstrip("#") == value

    embed = record["embed"]
    assert embed["$type"] == "app.bsky.embed.images"
    assert [img["alt"] for img in embed["images"]] == ["Xi Jinping beim SOZ-Gipfel"]
    blob = embed["images"][0]["image"]
    assert blob["$type"] == "blob"
    assert blob["mimeType"] == "image/png"
    assert blob["size"] == len(PNG)
    assert fake.blobs[blob["ref"]["$link"]].data == PNG
    assert fake.calls(UPLOAD)[0].headers["content-type"] == "image/png"

    assert published.remote_id == fake.post_uri(rkey)
    assert published.url == f"https://bsky.app/profile/{HANDLE}/post/{rkey}"
    assert published.http_status == 200
    assert published.detail["text"] == text
    assert published.detail["langs"] == ["de"]
    assert published.detail["images"] == [{"alt": "Xi Jinping beim SOZ-Gipfel"}]
    assert facet_tuples(published.detail["facets"]) == got

    create = fake.calls(CREATE)[0].json
    assert create["rkey"] == rkey
    assert create["repo"] == fake.did
    assert create["collection"] == "app.bsky.feed.post"


def test_record_key_is_a_tid_derived_from_the_delivery(make_platform: MakePlatform) -> None:
    from postbot.platforms.bluesky import record_key

    first = outgoing(delivery_id=7)
    assert record_key(first) == record_key(outgoing(delivery_id=7, text="other text"))
    assert record_key(first) == expected_rkey(first)
    assert re.fullmatch(r"[234567abcdefghij][234567a-z]{12}", record_key(first))
    assert record_key(outgoing(delivery_id=8)) != record_key(first)
    # Naive datetimes are UTC (how the store keeps them).
    naive = outgoing(created_at=CREATED.replace(tzinfo=None))
    assert record_key(naive) == record_key(first)
    with pytest.raises(PermanentError, match="created_at"):
        record_key(outgoing(created_at=None))
    # A delivery queued before threads existed keeps the key it had then.
    old = replace(outgoing(delivery_id=7), legacy=True)
    assert record_key(old) == expected_rkey(old) != record_key(first)


def test_record_keys_never_meet_for_deliveries_created_together() -> None:
    """A bulk import creates thousands of deliveries in one transaction, with one created_at:
    every delivery's every part has a key of its own (the first scheme gave ids 1,024 apart
    the same key, so the second post was taken for published and never sent)."""
    from postbot.platforms.bluesky import record_key

    keys = {
        record_key(replace(outgoing(delivery_id=d), part=p, parts=3))
        for d in range(1, 5001)
        for p in (1, 2, 3)
    }
    assert len(keys) == 5000 * 3
    # Keys of deliveries created a second apart never meet either.
    later = CREATED + timedelta(seconds=1)
    assert not keys & {record_key(outgoing(delivery_id=d, created_at=later)) for d in range(5001)}


def test_no_language_means_no_langs_not_english(
    fake: FakeBluesky, make_platform: MakePlatform
) -> None:
    make_platform().publish(outgoing(text="Hello #world", language=None))
    (record,) = fake.records.values()
    assert "langs" not in record


def test_count_is_graphemes_with_the_full_url(make_platform: MakePlatform) -> None:
    platform = make_platform()
    assert platform.count("Grüße 👍🏽") == 7
    assert platform.count(LINK) == len(LINK)
    assert platform.limit() == 300


def test_limits_are_refused_before_any_request(
    fake: FakeBluesky, make_platform: MakePlatform, image: Path
) -> None:
    platform = make_platform()
    err = publish_error(platform, outgoing(text="ä" * 301))
    assert isinstance(err, PermanentError)
    assert "301 graphemes" in err.message
    five = tuple(MediaItem(str(image), f"alt {i}") for i in range(5))
    err = publish_error(platform, outgoing(media=five))
    assert isinstance(err, PermanentError)
    assert "at most 4" in err.message
    err = publish_error(platform, outgoing(media=(MediaItem(str(image.with_name("no.png"))),)))
    assert isinstance(err, PermanentError)
    assert fake.requests == []


def test_module_does_not_import_atproto() -> None:
    code = (
        "import sys, postbot.platforms.bluesky as b;"
        "print(any(m.split('.')[0] in ('atproto', 'atproto_client') for m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "False"


# -- session -------------------------------------------------------------------------------


def test_session_is_reused_across_publishes_and_platform_objects(
    fake: FakeBluesky, make_platform: MakePlatform, tmp_path: Path
) -> None:
    session_file = tmp_path / "shared.session"
    first = make_platform(session_file=session_file)
    first.publish(outgoing(delivery_id=1))
    first.publish(outgoing(delivery_id=2))
    # A second object (a restarted daemon, `postbot accounts check`) reuses the stored session.
    second = make_platform(session_file=session_file)
    second.publish(outgoing(delivery_id=3))
    assert second.check() == f"@{HANDLE}"

    assert fake.login_count == 1
    assert len(fake.records) == 3
    assert stat.S_IMODE(session_file.stat().st_mode) == 0o600
    content = session_file.read_text()
    assert APP_PASSWORD not in content  # tokens only, never the app password
    assert_no_secrets(fake, str(session_file))


def test_default_session_file_is_under_var_and_named_after_the_account(
    fake: FakeBluesky, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    account = Account(
        "news de",
        "bluesky",
        fake.base_url,
        {"handle": "BSKY_HANDLE", "app_password": "BSKY_APP_PASSWORD"},
    )
    platform = BlueskyPlatform(account, {"BSKY_HANDLE": HANDLE, "BSKY_APP_PASSWORD": APP_PASSWORD})
    try:
        assert platform.check() == f"@{HANDLE}"
    finally:
        platform.close()
    path = tmp_path / "var" / "bluesky-news_de.session"
    assert platform.session_path() == Path("var/bluesky-news_de.session")
    assert path.exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_expiring_access_token_is_refreshed_not_relogged(
    fake: FakeBluesky, make_platform: MakePlatform, tmp_path: Path
) -> None:
    fake.access_ttl = 60  # the SDK refreshes tokens that expire within 15 minutes
    platform = make_platform()
    platform.publish(outgoing(delivery_id=1))
    before = (tmp_path / "bsky.session").read_text()
    platform.publish(outgoing(delivery_id=2))
    assert fake.login_count == 1
    assert fake.refresh_count >= 2
    # The refreshed (rotated) session is what the file holds now.
    assert (tmp_path / "bsky.session").read_text() != before


def test_session_rotated_by_another_process_is_taken_from_the_file(
    fake: FakeBluesky, make_platform: MakePlatform, tmp_path: Path
) -> None:
    fake.access_ttl = 60
    session_file = tmp_path / "shared.session"
    daemon = make_platform(session_file=session_file)
    daemon.publish(outgoing(delivery_id=1))  # login, then refresh
    other = make_platform(session_file=session_file)
    assert other.check() == f"@{HANDLE}"  # refreshes: the daemon's refresh token is now revoked
    daemon.publish(outgoing(delivery_id=2))
    assert fake.login_count == 1
    assert len(fake.records) == 2


def test_revoked_session_logs_in_again_once(fake: FakeBluesky, make_platform: MakePlatform) -> None:
    platform = make_platform()
    platform.publish(outgoing(delivery_id=1))
    fake.revoke_sessions()
    platform.publish(outgoing(delivery_id=2))
    assert fake.login_count == 2
    assert len(fake.records) == 2
    # The rejected call carried the old token; the retry carried a new one.
    auths = [r.headers["authorization"] for r in fake.calls(CREATE)]
    assert len(auths) == 3 and auths[1] == auths[0] and auths[2] != auths[1]


def test_single_401_is_recovered_by_a_new_login(
    fake: FakeBluesky, make_platform: MakePlatform
) -> None:
    platform = make_platform()
    platform.check()
    fake.fail_next(CREATE, unauthorized())
    published = platform.publish(outgoing())
    assert published.remote_id == fake.post_uri(expected_rkey(outgoing()))
    assert fake.login_count == 2
    assert len(fake.records) == 1


# -- exactly once ----------------------------------------------------------------------------


def test_dropped_connection_after_store_is_settled_by_lookup(
    fake: FakeBluesky, make_platform: MakePlatform
) -> None:
    platform = make_platform()
    fake.fail_next(CREATE, dropped(after_processing=True))
    out = outgoing()
    published = platform.publish(out)
    assert published.remote_id == fake.post_uri(expected_rkey(out))
    assert [r.status for r in fake.calls(CREATE)] == [None]
    assert [r.status for r in fake.calls(GET)] == [200]
    assert len(fake.records) == 1


def test_retry_after_dropped_connection_never_duplicates(
    fake: FakeBluesky, make_platform: MakePlatform
) -> None:
    platform = make_platform()
    out = outgoing()
    # The record is stored but the answer is lost, and the lookup cannot tell either.
    fake.fail_next(CREATE, dropped(after_processing=True))
    fake.fail_next(GET, server_error(503))
    err = publish_error(platform, out)
    assert isinstance(err, OutcomeUnknown)
    assert err.transient
    assert_no_secrets(fake, err.message)

    # The daemon's retry: same delivery, same rkey -> the PDS answers 500, the lookup finds it.
    published = platform.publish(out)
    assert published.remote_id == fake.post_uri(expected_rkey(out))
    assert published.http_status == 200
    assert published.detail["text"] == out.text
    assert [r.status for r in fake.calls(CREATE)] == [None, 500]
    assert list(fake.records) == [expected_rkey(out)]
    # And an explicit lookup agrees.
    found = platform.lookup(out)
    assert found is not None and found.remote_id == published.remote_id


def test_timeout_then_retry_stores_one_record(
    fake: FakeBluesky, make_platform: MakePlatform
) -> None:
    platform = make_platform(timeout=0.5)
    platform.check()
    out = outgoing()
    fake.delay_next(CREATE, 1.5)  # the PDS still stores it, after we gave up
    started = time.monotonic()
    err = publish_error(platform, out)
    assert time.monotonic() - started < 1.4
    assert isinstance(err, TransientError)
    assert "no answer within 0.5 s" in err.message
    assert "safe to retry" in err.message
    assert fake.wait_for(lambda f: len(f.records) == 1)

    published = platform.publish(out)
    assert published.remote_id == fake.post_uri(expected_rkey(out))
    assert len(fake.records) == 1


def test_lookup_found_absent_and_unreachable(
    fake: FakeBluesky, make_platform: MakePlatform
) -> None:
    platform = make_platform()
    out = outgoing()
    assert platform.lookup(out) is None
    platform.publish(out)
    found = platform.lookup(out)
    assert isinstance(found, Published)
    assert found.remote_id == fake.post_uri(expected_rkey(out))
    assert found.url == f"https://bsky.app/profile/{HANDLE}/post/{expected_rkey(out)}"
    assert found.detail["langs"] == ["de"]
    fake.fail_next(GET, server_error())
    with pytest.raises(TransientError) as info:
        platform.lookup(out)
    assert info.value.http_status == 500


def test_random_failures_still_give_exactly_one_record_per_delivery(
    fake: FakeBluesky, make_platform: MakePlatform
) -> None:
    fake.set_fail_rate(
        0.4, methods=[CREATE], faults=[server_error(), dropped(after_processing=True)], seed=7
    )
    platform = make_platform()
    deliveries = [outgoing(delivery_id=i, text=f"Beitrag {i} #test") for i in range(1, 21)]
    for out in deliveries:
        for _ in range(10):
            try:
                platform.publish(out)
                break
            except TransientError:
                continue
        else:
            pytest.fail(f"delivery {out.delivery_id} never published")
    assert sorted(fake.records) == sorted(expected_rkey(o) for o in deliveries)
    assert any(r.fault for r in fake.calls(CREATE))


# -- errors ----------------------------------------------------------------------------------


def test_5xx_without_a_stored_record_is_transient(
    fake: FakeBluesky, make_platform: MakePlatform
) -> None:
    fake.fail_next(CREATE, server_error())
    err = publish_error(make_platform(), outgoing())
    assert type(err) is TransientError
    assert err.http_status == 500
    assert "HTTP 500 InternalServerError" in err.message
    assert fake.records == {}
    assert len(fake.calls(GET)) == 1  # looked up before deciding


def test_rate_limit_gives_retry_after_from_reset_header(
    fake: FakeBluesky, make_platform: MakePlatform
) -> None:
    reset = int(time.time()) + 120
    fake.fail_next(CREATE, rate_limited(reset))
    err = publish_error(make_platform(), outgoing())
    assert type(err) is TransientError
    assert err.http_status == 429
    assert err.retry_after == datetime.fromtimestamp(reset, UTC)
    assert err.retry_after.tzinfo is not None
    assert "RateLimitExceeded" in err.message
    assert fake.calls(GET) == []  # a 429 wrote nothing: no lookup needed


def test_login_rate_limit_is_transient(fake: FakeBluesky, make_platform: MakePlatform) -> None:
    reset = int(time.time()) + 300
    fake.fail_next(LOGIN, rate_limited(reset, policy="30;w=300"))
    err = publish_error(make_platform(), outgoing())
    assert type(err) is TransientError
    assert err.http_status == 429
    assert err.retry_after == datetime.fromtimestamp(reset, UTC)
    assert_no_secrets(fake, err.message)


@pytest.mark.parametrize(
    ("fault_status", "fault", "fragment"),
    [
        (
            400,
            invalid_request("Invalid app.bsky.feed.post record: Record/text too long"),
            "too long",
        ),
        (403, forbidden(), "AccountTakedown"),
    ],
)
def test_refusals_are_permanent_with_the_server_message(
    fake: FakeBluesky,
    make_platform: MakePlatform,
    fault_status: int,
    fault: Any,
    fragment: str,
) -> None:
    fake.fail_next(CREATE, fault)
    err = publish_error(make_platform(), outgoing())
    assert type(err) is PermanentError
    assert err.http_status == fault_status
    assert fragment in err.message
    assert fake.records == {}
    assert_no_secrets(fake, err.message)


def test_persistent_401_is_permanent_after_one_new_login(
    fake: FakeBluesky, make_platform: MakePlatform
) -> None:
    platform = make_platform()
    platform.check()
    fake.fail_next(CREATE, unauthorized(), times=2)
    err = publish_error(platform, outgoing())
    assert type(err) is PermanentError
    assert err.http_status == 401
    assert "AuthenticationRequired" in err.message
    assert fake.login_count == 2
    assert_no_secrets(fake, err.message, str(err))


def test_wrong_app_password_is_permanent_and_names_the_variable(
    fake: FakeBluesky, make_platform: MakePlatform
) -> None:
    err = publish_error(make_platform(password="wrong-pass-word-1234"), outgoing())
    assert type(err) is PermanentError
    assert err.http_status == 401
    assert "Invalid identifier or password" in err.message
    assert "BSKY_APP_PASSWORD" in err.message
    assert "wrong-pass-word-1234" not in err.message
    assert fake.records == {}


def test_auth_factor_required_is_permanent(fake: FakeBluesky, make_platform: MakePlatform) -> None:
    fake.require_auth_factor = True
    platform = make_platform()
    with pytest.raises(PermanentError) as info:
        platform.check()
    assert info.value.http_status == 401
    assert "AuthFactorTokenRequired" in info.value.message
    assert_no_secrets(fake, info.value.message)


def test_upload_failure_is_transient_and_posts_nothing(
    fake: FakeBluesky, make_platform: MakePlatform, image: Path
) -> None:
    fake.fail_next(UPLOAD, server_error(502))
    err = publish_error(make_platform(), outgoing(media=(MediaItem(str(image), "alt"),)))
    assert type(err) is TransientError
    assert err.http_status == 502
    assert fake.calls(CREATE) == []


def test_unreachable_server_is_transient(fake: FakeBluesky, make_platform: MakePlatform) -> None:
    platform = make_platform()
    fake.stop()
    err = publish_error(platform, outgoing())
    assert type(err) is TransientError  # refused before sending: not an unknown outcome
    assert "connection failed" in err.message


def test_check_returns_the_handle(fake: FakeBluesky, make_platform: MakePlatform) -> None:
    assert make_platform().check() == f"@{HANDLE}"
    assert [r.method for r in fake.requests] == [LOGIN, "app.bsky.actor.getProfile"]


def test_missing_credential_is_a_config_error_naming_the_variable(
    fake: FakeBluesky, make_platform: MakePlatform
) -> None:
    platform = make_platform(environ={"BSKY_HANDLE": HANDLE})
    with pytest.raises(ConfigError, match="BSKY_APP_PASSWORD"):
        platform.publish(outgoing())
    with pytest.raises(ConfigError, match="BSKY_APP_PASSWORD"):
        platform.check()
    assert fake.requests == []


def test_fake_refuses_a_repeated_rkey_with_500_like_the_reference_pds(
    fake: FakeBluesky, make_platform: MakePlatform
) -> None:
    out = outgoing()
    platform = make_platform()
    platform.publish(out)
    platform.publish(out)  # the second write is refused with 500, the lookup finds the first
    assert [r.status for r in fake.calls(CREATE)] == [200, 500]
    assert len(fake.records) == 1


def test_session_file_is_not_group_readable_even_if_it_existed(
    fake: FakeBluesky, make_platform: MakePlatform, tmp_path: Path
) -> None:
    session_file = tmp_path / "old.session"
    session_file.write_text("garbage")
    os.chmod(session_file, 0o644)
    platform = make_platform(session_file=session_file)
    assert platform.check() == f"@{HANDLE}"  # the unreadable session is ignored: new login
    assert fake.login_count == 1
    assert stat.S_IMODE(session_file.stat().st_mode) == 0o600


# -- limits checked before sending, failures in words ---------------------------------------------
FAMILY = "\U0001f469\u200d\U0001f469\u200d\U0001f467"  # one grapheme, 18 UTF-8 bytes


def test_300_family_emoji_are_refused_by_their_bytes_before_any_request(
    fake: FakeBluesky, make_platform: MakePlatform
) -> None:
    err = publish_error(make_platform(), outgoing(text=FAMILY * 300))
    assert isinstance(err, PermanentError)
    assert err.message == "Bluesky: text is 5400 UTF-8 bytes, the limit is 3000"
    assert fake.requests == []


def test_images_up_to_the_lexicons_two_megabytes_go_through_larger_ones_do_not(
    fake: FakeBluesky, make_platform: MakePlatform, tmp_path: Path
) -> None:
    from tests.fakes.images import noise

    platform = make_platform()
    big = noise(tmp_path / "gross.png", 1_500_000)
    platform.publish(outgoing(media=(MediaItem(str(big), "Groß"),)))
    (record,) = fake.records.values()
    assert record["embed"]["images"][0]["image"]["size"] == big.stat().st_size
    too_big = noise(tmp_path / "zu-gross.png", 2_000_001)
    err = publish_error(platform, outgoing(delivery_id=8, media=(MediaItem(str(too_big), "x"),)))
    assert isinstance(err, PermanentError)
    size = too_big.stat().st_size
    assert (
        err.message == f"Bluesky: media zu-gross.png is {size:,} bytes; at most 2,000,000 allowed"
    )
    assert len(fake.calls(UPLOAD)) == 1  # only the first image was uploaded


def test_unreachable_server_says_so_in_words(
    fake: FakeBluesky, make_platform: MakePlatform
) -> None:
    platform = make_platform()
    host = fake.base_url.split("://")[1]
    fake.stop()
    err = publish_error(platform, outgoing())
    assert err.message == (
        f"Bluesky createSession (login): connection failed: connection refused by {host}"
    )
