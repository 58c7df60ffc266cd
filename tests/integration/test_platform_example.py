"""A platform added from outside postbot: tests/example_platform.py (one module) and one
registration line. It goes through the whole live path - config, drafts.plan, the store, the
dispatcher, the attempt log - over real HTTP against its fake server, with nothing of postbot
changed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from postbot.config import Settings, parse_settings
from postbot.dispatch import Dispatcher
from postbot.domain import Status
from postbot.drafts import Draft, plan
from postbot.errors import UserError
from postbot.store import Store, open_store
from tests.fakes.example_server import TOKEN, FakeExample
from tests.fakes.registry import registered

ENV = {"EXAMPLE_TOKEN": TOKEN}
T0 = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def example_platform() -> Iterator[None]:
    # The one line that adds the platform: PLATFORMS.register(name, "module:Class"), here for
    # the length of each test only.
    with registered("example", "tests.example_platform:ExamplePlatform"):
        yield


@pytest.fixture
def fake() -> Iterator[FakeExample]:
    with FakeExample() as server:
        yield server


@pytest.fixture
def settings(fake: FakeExample) -> Settings:
    account = {
        "platform": "example",
        "base_url": fake.base_url,
        "timeout": 2,
        "credentials": {"token": "EXAMPLE_TOKEN"},
    }
    raw = {"timezone": "Europe/Berlin", "accounts": {"ex": account}}
    return parse_settings(raw, Path("test.toml"), {})


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    db = open_store(f"sqlite:///{tmp_path}/example.db")
    db.ensure_schema()
    yield db
    db.dispose()


def test_a_registered_platform_is_planned_published_and_recorded(
    fake: FakeExample, settings: Settings, store: Store
) -> None:
    post_id = store.enqueue(
        plan(Draft(teaser="Hallo aus dem Newsroom", language="de"), settings), T0, T0
    )
    dispatcher = Dispatcher(store, settings, "w1", environ=ENV, clock=lambda: T0)
    assert dispatcher.run_pass() == 1
    dispatcher.close()

    [(key, stored)] = fake.posts.items()
    assert stored["text"] == "Hallo aus dem Newsroom" and stored["language"] == "de"
    [delivery] = store.get_post(post_id).deliveries
    assert key == f"postbot-{delivery.key}"  # the delivery's own idempotency key
    assert (delivery.status, delivery.remote_id) == (Status.PUBLISHED, stored["id"])
    assert delivery.remote_url == stored["url"]
    [attempt] = store.attempts(post_id)
    assert (attempt.outcome, attempt.http_status, attempt.dry_run) == ("published", 201, False)


def test_its_limits_and_media_policy_are_checked_at_enqueue(
    settings: Settings, tmp_path: Path
) -> None:
    with pytest.raises(UserError, match=r"text too long for example \(ex\): 501 characters"):
        plan(Draft(teaser="a" * 501), settings)
    from postbot.domain import MediaItem
    from tests.fakes.images import image

    photo = MediaItem(str(image(tmp_path / "a.png")), "Foto")
    with pytest.raises(UserError, match=r"1 images; at most 0 allowed for example \(ex\)"):
        plan(Draft(teaser="Bild", media=(photo,)), settings)


def test_its_failures_read_like_every_other_platforms(
    fake: FakeExample, settings: Settings, store: Store
) -> None:
    post_id = store.enqueue(plan(Draft(teaser="Gleich zurück"), settings), T0, T0)
    host = fake.base_url.split("://")[1]
    fake.stop()
    dispatcher = Dispatcher(store, settings, "w1", environ=ENV, clock=lambda: T0)
    dispatcher.run_pass()
    dispatcher.close()
    [delivery] = store.get_post(post_id).deliveries
    assert delivery.status == Status.QUEUED  # never sent: tried again later
    assert delivery.last_error == f"Example: connection refused by {host}"
