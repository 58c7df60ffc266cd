"""postbot.redact.Redactor: the one place secrets are masked, and the two that use it besides
the adapters (the log filter and `accounts check`)."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from postbot.accounts import check_account, configured_secrets_of, redactor_of
from postbot.domain import Account
from postbot.logs import RedactSecrets, setup_logging
from postbot.redact import MASK, Redactor
from tests.fakes.registry import registered

TOKEN = "tok-Secret-4711-abcdef"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkaWQ6cGxjOnh5eiJ9.c2lnbmF0dXJlLXBhcnQ"


def test_every_known_secret_is_masked_and_nothing_else() -> None:
    redact = Redactor([TOKEN, "pass-word-99"])
    said = f"401 for token {TOKEN} (user alice, password pass-word-99)"
    assert redact(said) == "401 for token *** (user alice, password ***)"
    assert redact("nothing secret here") == "nothing secret here"


def test_a_secret_containing_another_is_masked_whole() -> None:
    redact = Redactor(["abcd", "abcdefgh"])
    assert redact("key=abcdefgh") == "key=***"


def test_short_and_empty_values_are_not_secrets() -> None:
    redact = Redactor(["", "ab", "abc"])
    assert redact.secrets == frozenset()
    assert redact("a b abc") == "a b abc"


def test_a_secret_is_also_masked_as_repr_quotes_it_and_line_by_line() -> None:
    secret = "first-half-token\r\nsecond-half-token"
    redact = Redactor([secret])
    # requests quotes a bad header value the way repr() does
    assert redact("Invalid header value 'first-half-token\\r\\nsecond-half-token'") == (
        f"Invalid header value '{MASK}'"
    )
    assert redact("got first-half-token only") == f"got {MASK} only"
    assert redact("and second-half-token") == f"and {MASK}"


def test_anything_shaped_like_a_jwt_is_masked_even_unknown() -> None:
    assert Redactor()(f"Bearer {JWT} expired") == f"Bearer {MASK} expired"


def test_with_secrets_returns_a_new_redactor_and_keeps_the_old_ones() -> None:
    base = Redactor([TOKEN])
    more = base.with_secrets("app-pass-1234")
    assert base("app-pass-1234") == "app-pass-1234"
    assert more(f"{TOKEN} app-pass-1234") == f"{MASK} {MASK}"
    assert more.with_secrets("app-pass-1234", "") is more  # nothing new: the same one


def test_its_repr_never_shows_a_secret() -> None:
    assert TOKEN not in repr(Redactor([TOKEN]))


# -- the log filter -------------------------------------------------------------------------------
@pytest.fixture
def log_text() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    setup_logging("text", "INFO", [TOKEN])
    stream = io.StringIO()
    handler = root.handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream)
    yield stream
    root.handlers[:], root.level = saved[0], saved[1]


def test_log_lines_are_masked_message_args_and_fields(log_text: io.StringIO) -> None:
    logging.getLogger("postbot.test").info(
        "publish failed: %s", f"HTTP 401 token={TOKEN}", extra={"error": f"said {TOKEN}"}
    )
    logging.getLogger("postbot.test").info("session %s refreshed", JWT)
    text = log_text.getvalue()
    assert TOKEN not in text and JWT not in text
    assert "publish failed: HTTP 401 token=***" in text
    assert "session *** refreshed" in text


def test_the_filter_masks_the_error_field_for_json_logs() -> None:
    url = "https://bsky.app/profile/nachrichten.test/post/3l"
    record = logging.makeLogRecord({"msg": "ok", "error": f"refused {TOKEN}", "remote_url": url})
    RedactSecrets(Redactor([TOKEN])).filter(record)
    assert record.__dict__["error"] == "refused ***"
    assert record.__dict__["remote_url"] == url


# -- accounts ------------------------------------------------------------------------------------
def test_the_secrets_of_accounts_leave_public_roles_alone() -> None:
    account = Account(
        "bsky", "bluesky", credential_vars={"handle": "H", "app_password": "P", "x": "MISSING"}
    )
    environ = {"H": "nachrichten.test", "P": "qwer-tyui-opas-dfgh"}
    assert configured_secrets_of([account], environ) == ["qwer-tyui-opas-dfgh"]
    redact = redactor_of([account], environ)
    assert redact("nachrichten.test qwer-tyui-opas-dfgh") == "nachrichten.test ***"


def test_accounts_check_masks_a_secret_an_unsorted_library_error_quoted() -> None:
    account = Account("leaky", "leaky", credential_vars={"token": "LEAKY_TOKEN"})
    with registered("leaky", "tests.fakes.leaky_platform:LeakyPlatform"):
        row = check_account(account, {"LEAKY_TOKEN": TOKEN})
    assert not row["ok"]
    assert row["error"] == "RuntimeError: handshake failed for Authorization: Bearer ***"
