"""postbot.service against a real store: what each command does, and what it refuses.

Every test takes the `store` fixture (SQLite and PostgreSQL; any other store the fixture
offers runs the same tests), builds the App a command would get, and checks the store
afterwards: a refused call leaves it exactly as it was.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from postbot import import_record, service
from postbot.config import parse_settings
from postbot.domain import Outcome, Post, Status
from postbot.errors import NotFound, StateError, UserError
from postbot.importing import BrokenFiles, OnDelete, log_lines
from postbot.service import App
from postbot.store import Result, Store

ACCOUNTS: dict[str, dict[str, Any]] = {
    "mastodon": {"platform": "mastodon", "base_url": "https://mastodon.example"},
    "x": {"platform": "x"},
    "bluesky": {"platform": "bluesky", "base_url": "https://bsky.example"},
}
GOOD = "---\nid: {key}\nhashtags: [Gipfel]\n---\nLesen Sie hier, wie es weitergeht ({key}).\n"


@pytest.fixture
def app(store: Store) -> App:
    raw = {
        "timezone": "Europe/Berlin",
        "language": "de",
        "database": {"url": store.url},
        "accounts": ACCOUNTS,
    }
    return App(parse_settings(raw, Path("test.toml"), {}), store)


def everything(store: Store) -> list[Post]:
    return store.list_posts()


def make_unknown(app: App, post_id: int, account: str = "x") -> None:
    """Bring one delivery to `unknown` the way a worker does: claim it, record the outcome."""
    now = datetime.now(UTC)
    claimed = app.store.claim_due("w1", now, 100, timedelta(minutes=5))
    mine = [c for c in claimed if c.post_id == post_id and c.account == account]
    results = [
        Result(c.delivery_id, Outcome.UNKNOWN, now, now, Status.UNKNOWN)
        if c in mine
        else Result(c.delivery_id, Outcome.TRANSIENT, now, now, Status.QUEUED)
        for c in claimed
    ]
    app.store.record("w1", results)


# -- enqueue -------------------------------------------------------------------------------
def test_enqueue_returns_the_id_due_time_and_accounts(app: App) -> None:
    before = datetime.now(UTC)
    done = service.enqueue_text(app, "Neuer Artikel", hashtags=["Gipfel"], at="+2h")
    assert done.accounts == ("mastodon", "x", "bluesky")
    assert before + timedelta(hours=2) <= done.due <= datetime.now(UTC) + timedelta(hours=2)
    assert done.warnings == ()
    post = app.store.get_post(done.post_id)
    assert [d.account for d in post.deliveries] == list(done.accounts)
    assert {d.due_at for d in post.deliveries} == {done.due}
    assert post.language == "de"  # the configured language


def test_enqueue_to_some_accounts_now(app: App) -> None:
    done = service.enqueue_text(app, "Eilmeldung", to=["x"], now_flag=True)
    assert done.accounts == ("x",)
    assert abs(done.due - datetime.now(UTC)) < timedelta(seconds=5)


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        ({"at": ""}, "empty time"),
        ({"at": "   "}, "empty time"),
        ({"at": "+1h", "now_flag": True}, "not both"),
        ({"at": "2020-01-01 10:00"}, "in the past"),
        ({"to": ["myspace"]}, "myspace"),
    ],
    ids=["empty --at", "blank --at", "--at and --now", "past", "unknown account"],
)
def test_enqueue_refusals_write_nothing(app: App, kwargs: dict[str, Any], says: str) -> None:
    with pytest.raises(UserError, match=says):
        service.enqueue_text(app, "Text", **kwargs)
    assert everything(app.store) == []


def test_enqueue_warns_about_markdown_but_queues(app: App) -> None:
    done = service.enqueue_text(app, "Heute **SOZ-Gipfel** in Astana", to=["mastodon"])
    [warning] = done.warnings
    assert "**SOZ-Gipfel**" in warning and "mastodon" in warning
    assert app.store.get_post(done.post_id).teaser == "Heute **SOZ-Gipfel** in Astana"


# -- import --------------------------------------------------------------------------------
@pytest.fixture
def folder(tmp_path: Path) -> Path:
    posts = tmp_path / "posts"
    posts.mkdir()
    (posts / "a.md").write_text(GOOD.format(key="a"), encoding="utf-8")
    (posts / "b.md").write_text(GOOD.format(key="b"), encoding="utf-8")
    return posts


def break_two(folder: Path) -> None:
    (folder / "broken.md").write_text("---\nid: [unclosed\n---\nText\n", encoding="utf-8")
    (folder / "typo.md").write_text("---\nwhen: tomorrow\n---\nText\n", encoding="utf-8")


def test_import_all_or_nothing_names_every_broken_file(app: App, folder: Path) -> None:
    break_two(folder)
    with pytest.raises(BrokenFiles) as refused:
        service.import_paths(app, [folder])
    assert [Path(b.path).name for b in refused.value.broken] == ["broken.md", "typo.md"]
    message = str(refused.value)
    assert "\n" not in message
    assert message.startswith("2 post files are broken, nothing was imported: ")
    assert "broken.md:2: malformed front matter" in message and "typo.md: unknown" in message
    assert everything(app.store) == []


def test_a_missing_path_is_reported_with_the_broken_files(app: App, tmp_path: Path) -> None:
    (tmp_path / "typo.md").write_text("---\nwhen: tomorrow\n---\nText\n", encoding="utf-8")
    with pytest.raises(UserError) as refused:
        service.import_paths(app, [tmp_path / "typo.md", tmp_path / "gone.md"])
    assert str(refused.value).startswith("2 post files are broken")
    assert f"{tmp_path / 'gone.md'}: no such file or folder" in str(refused.value)


def test_import_keep_going_writes_the_good_files(app: App, folder: Path) -> None:
    break_two(folder)
    report = service.import_paths(app, [folder], keep_going=True)
    assert report.summary() == {
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "conflicts": 0,
        "broken": 2,
    }
    assert report.files == 4
    assert sorted(p.key for p in everything(app.store)) == ["a", "b"]

    again = service.import_paths(app, [folder], keep_going=True)
    assert again.summary()["unchanged"] == 2 and again.summary()["created"] == 0


def test_a_past_time_in_a_file_is_shown_in_the_configured_zone(app: App, tmp_path: Path) -> None:
    (tmp_path / "old.md").write_text("---\nat: 2020-01-01 10:00\n---\nText\n", "utf-8")
    with pytest.raises(UserError) as refused:
        service.import_paths(app, [tmp_path / "old.md"])
    assert str(refused.value) == (
        f"{tmp_path / 'old.md'}: at 2020-01-01 10:00:00 CET is in the past; remove 'at' to post now"
    )


def test_import_reports_progress_for_every_file(app: App, folder: Path) -> None:
    seen: list[tuple[int, int]] = []
    service.import_paths(app, [folder], progress=lambda done, total: seen.append((done, total)))
    assert seen == [(1, 2), (2, 2)]


def test_import_warns_about_markdown(app: App, folder: Path) -> None:
    (folder / "bold.md").write_text("---\nto: [x]\n---\nDer **Gipfel** _heute_\n", "utf-8")
    report = service.import_paths(app, [folder])
    [warning] = report.warnings
    assert warning.startswith(f"{folder / 'bold.md'}: Markdown formatting **Gipfel** _heute_")
    assert report.summary()["created"] == 3


def test_folder_import_can_keep_a_post_whose_file_is_gone(app: App, folder: Path) -> None:
    first = service.import_folder(app, folder, on_delete=OnDelete.KEEP)
    assert first.withdrawn == ()
    (folder / "a.md").unlink()
    report = service.import_folder(app, folder, on_delete=OnDelete.KEEP)
    [gone] = report.withdrawn
    post = app.store.find_post_by_key("a")
    assert post is not None and gone.post_id == post.id
    assert (gone.action, gone.cancelled) == (OnDelete.KEEP, 0)
    assert {d.status for d in app.store.get_post(gone.post_id).deliveries} == {Status.QUEUED}
    [(level, line)] = [entry for entry in log_lines(folder, report) if "is gone" in entry[1]]
    assert level == logging.WARNING
    assert f"post {gone.post_id} stays queued" in line and f"postbot cancel {gone.post_id}" in line


def test_folder_import_cancels_a_post_whose_file_is_gone_by_default(app: App, folder: Path) -> None:
    assert app.settings.on_delete == "cancel"
    service.import_folder(app, folder)
    (folder / "a.md").unlink()
    [gone] = service.import_folder(app, folder).withdrawn
    assert (gone.action, gone.cancelled) == (OnDelete.CANCEL, 3)
    assert {d.status for d in app.store.get_post(gone.post_id).deliveries} == {Status.CANCELLED}
    other = app.store.find_post_by_key("b")
    assert other is not None
    assert {d.status for d in app.store.get_post(other.id).deliveries} == {Status.QUEUED}
    # Reported once: a cancelled post is not withdrawn again at the next import.
    assert service.import_folder(app, folder, on_delete=OnDelete.CANCEL).withdrawn == ()


def test_a_broken_file_still_stands_for_its_post(app: App, folder: Path) -> None:
    service.import_folder(app, folder, on_delete=OnDelete.CANCEL)
    (folder / "a.md").write_text("---\nid: [unclosed\n---\n", encoding="utf-8")
    report = service.import_folder(app, folder, on_delete=OnDelete.CANCEL)
    assert report.withdrawn == () and len(report.broken) == 1
    post = app.store.find_post_by_key("a")
    assert post is not None
    assert {d.status for d in app.store.get_post(post.id).deliveries} == {Status.QUEUED}


def test_status_shows_what_the_last_folder_import_found(app: App, folder: Path) -> None:
    break_two(folder)
    service.import_folder(app, folder)
    last = service.status(app).last_import
    if not app.store.url.startswith("sqlite"):
        assert last is None  # recorded beside an SQLite database only
        return
    assert last is not None
    assert last.summary["created"] == 2 and last.summary["broken"] == 2
    assert [Path(b.path).name for b in last.broken] == ["broken.md", "typo.md"]
    assert abs(last.at - datetime.now(UTC)) < timedelta(minutes=1)


def test_an_import_that_cannot_be_recorded_still_imports_and_says_so(
    app: App, folder: Path
) -> None:
    record = import_record.record_path(app.settings)
    if record is None:
        assert not app.store.url.startswith("sqlite")  # recorded beside SQLite databases only
        return
    (record / "in-the-way").mkdir(parents=True)  # a folder where the record should go
    report = service.import_folder(app, folder)
    assert report.summary()["created"] == 2
    assert any(
        w.startswith("cannot record this import for `postbot status`") for w in report.warnings
    )


# -- changing ------------------------------------------------------------------------------
def test_cancel_reschedule_retry_say_how_many_changed(app: App) -> None:
    post_id = service.enqueue_text(app, "Text", at="+1h").post_id
    moved = service.reschedule(app, post_id, "+3h")
    assert moved.deliveries == 3 and moved.due is not None
    assert {d.due_at for d in app.store.get_post(post_id).deliveries} == {moved.due}
    assert service.cancel(app, post_id).deliveries == 3
    with pytest.raises(StateError, match="cannot cancel"):
        service.cancel(app, post_id)
    with pytest.raises(StateError, match="cannot retry"):
        service.retry(app, post_id)
    with pytest.raises(NotFound):
        service.cancel(app, 999)


def test_retry_requeues_an_unknown_delivery_now(app: App) -> None:
    post_id = service.enqueue_text(app, "Text", now_flag=True, to=["x"]).post_id
    make_unknown(app, post_id)
    again = service.retry(app, post_id)
    assert again.deliveries == 1
    [delivery] = app.store.get_post(post_id).deliveries
    assert delivery.status == Status.QUEUED and delivery.attempts == 0


@pytest.mark.parametrize(
    "url",
    ["not a url", "https://mastodon.example/@news/1", "ftp://x.com/a/status/1", "https://x.com"],
)
def test_resolve_refuses_what_is_not_a_post_url_of_the_platform(app: App, url: str) -> None:
    post_id = service.enqueue_text(app, "Text", now_flag=True, to=["x"]).post_id
    make_unknown(app, post_id)
    before = (app.store.get_post(post_id), app.store.attempts(post_id))
    with pytest.raises(UserError, match="is not the address of a post on x"):
        service.resolve(app, post_id, url)
    assert (app.store.get_post(post_id), app.store.attempts(post_id)) == before


def test_resolve_records_the_post_url(app: App) -> None:
    post_id = service.enqueue_text(app, "Text", now_flag=True, to=["x", "mastodon"]).post_id
    make_unknown(app, post_id)
    url = "https://x.com/newsroom/status/1790000000000000001"
    done = service.resolve(app, post_id, url)
    assert (done.account, done.url) == ("x", url)
    by_account = {d.account: d for d in app.store.get_post(post_id).deliveries}
    assert by_account["x"].status == Status.PUBLISHED
    assert by_account["x"].remote_url == url
    assert by_account["mastodon"].status == Status.QUEUED
    with pytest.raises(StateError, match="no delivery in state unknown"):
        service.resolve(app, post_id, url)


# -- reading -------------------------------------------------------------------------------
def test_preview_renders_for_each_account_and_says_what_does_not_fit(app: App) -> None:
    result = service.preview(app, "Gipfel " * 45, to=["x", "mastodon"])
    assert [(t.account, t.fits) for t in result.targets] == [("x", False), ("mastodon", True)]
    assert not result.fits
    post_id = service.enqueue_text(app, "Der _Gipfel_", to=["bluesky"]).post_id
    stored = service.preview(app, str(post_id))
    assert [t.account for t in stored.targets] == ["bluesky"]
    assert stored.fits and stored.warnings and "_Gipfel_" in stored.warnings[0]
    assert everything(app.store) == [app.store.get_post(post_id)]  # preview wrote nothing


def test_preview_shows_every_limit_a_text_is_checked_against(app: App) -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"  # 25 UTF-8 bytes
    result = service.preview(app, family * 150, to=["bluesky"])
    [target] = result.targets
    checks = {c.name: (c.count, c.limit, c.fits) for c in target.checks}
    assert checks["graphemes"] == (150, 300, True)
    assert checks["UTF-8 bytes"] == (3750, 3000, False)
    assert not target.fits and not result.fits


def test_attempt_log_of_a_post_without_attempts(app: App) -> None:
    post_id = service.enqueue_text(app, "Text", at="+1h").post_id
    log = service.attempt_log(app, post_id)
    assert log.attempts == () and log.post is not None and log.post.id == post_id
    assert service.attempt_log(app).post is None
    with pytest.raises(NotFound):
        service.attempt_log(app, 999)


def test_list_filters_by_status_and_limits(app: App) -> None:
    first = service.enqueue_text(app, "Eins", at="+1h").post_id
    second = service.enqueue_text(app, "Zwei", at="+2h").post_id
    service.cancel(app, first)
    assert [p.id for p in service.list_posts(app).posts] == [second, first]
    assert [p.id for p in service.list_posts(app, limit=1).posts] == [second]
    assert [p.id for p in service.list_posts(app, Status.CANCELLED).posts] == [first]
    [shown] = service.show(app, second).posts
    assert shown.teaser == "Zwei"


def test_status_counts_deliveries(app: App) -> None:
    post_id = service.enqueue_text(app, "Text", at="+1h").post_id
    service.enqueue_text(app, "Mehr", at="+2h", to=["x"])
    service.cancel(app, post_id)
    result = service.status(app)
    assert dict(result.summary.counts) == {"cancelled": 3, "queued": 1}
    assert result.summary.next_due is not None


def test_a_typed_post_is_never_taken_for_a_deleted_file(
    app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A post typed at the command line has the source "cli": it has no file to lose, even
    when the posts folder is the working folder."""
    post_id = service.enqueue_text(app, "Getippt", at="+1h").post_id
    monkeypatch.chdir(tmp_path)
    report = service.import_folder(app, Path("."), on_delete=OnDelete.CANCEL)
    assert report.withdrawn == ()
    assert {d.status for d in app.store.get_post(post_id).deliveries} == {Status.QUEUED}
