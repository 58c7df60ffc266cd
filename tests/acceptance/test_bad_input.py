"""Bad input: one line that says what and where, a non-zero exit, and the database unchanged."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support import clean_env, make_project, run_postbot, snapshot

LONG_FOR_BLUESKY = "Ä" * 290 + " " + "ü" * 20  # 311 graphemes: over Bluesky's 300
# 150 graphemes, within Bluesky's 300, but 3,750 UTF-8 bytes: over its record's 3,000.
BYTES_FOR_BLUESKY = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466" * 150
LONG_FOR_X = "Gipfel " * 41  # 286 weighted once the trailing space is trimmed: over X's 280


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = make_project(tmp_path_factory.mktemp("bad-input"))
    # Something in the database to stay unchanged: one queued post and one cancelled post.
    assert run_postbot(root, "enqueue", "Erster Beitrag", "--at", "+1d").returncode == 0
    assert run_postbot(root, "enqueue", "Zweiter Beitrag", "--at", "+1d").returncode == 0
    assert run_postbot(root, "cancel", "2").returncode == 0
    posts = root / "posts"
    (posts / "broken.md").write_text("---\nid: [unclosed\n---\nText\n", encoding="utf-8")
    (posts / "unknown-key.md").write_text("---\nwhen: tomorrow\n---\nText\n", encoding="utf-8")
    (posts / "past.md").write_text("---\nat: 2020-01-01 10:00\n---\nText\n", encoding="utf-8")
    (posts / "notags.txt").write_text("Headline\n\nNo tags here.\n", encoding="utf-8")
    (posts / "latin1.md").write_bytes("---\nid: x\n---\nGr\xfc\xdfe\n".encode("latin-1"))
    (posts / "bad-tag.md").write_text("---\nhashtags: [ok, 'not ok']\n---\nText\n", "utf-8")
    (posts / "too-long.md").write_text(f"---\nto: [bluesky]\n---\n{LONG_FOR_BLUESKY}\n", "utf-8")
    (posts / "nobody.md").write_text("---\nto: [myspace]\n---\nText\n", encoding="utf-8")
    (posts / "no-media.md").write_text(
        "---\nmedia: [{path: missing.png, alt: Bild}]\n---\nText\n", encoding="utf-8"
    )
    (posts / "not-an-image.jpg").write_text("Gipfelfoto, aber nur Text\n", encoding="utf-8")
    (posts / "fake-image.md").write_text(
        "---\nmedia: [{path: not-an-image.jpg, alt: Gruppenfoto}]\n---\nText\n", encoding="utf-8"
    )
    (posts / "empty.md").write_text("---\nid: empty\n---\n\n", encoding="utf-8")
    (root / "bad.toml").write_text("timezone = \n", encoding="utf-8")
    (root / "bad-platform.toml").write_text(
        '[accounts.a]\nplatform = "myspace"\n', encoding="utf-8"
    )
    (root / "bad-zone.toml").write_text('timezone = "Mars/Olympus"\n', encoding="utf-8")
    (root / "unwritable.toml").write_text(
        '[database]\nurl = "sqlite:////proc/postbot/x.db"\n', encoding="utf-8"
    )
    return root


CASES = {
    "empty text": ["enqueue", ""],
    "blank text": ["enqueue", "   "],
    "too long for bluesky": ["enqueue", LONG_FOR_BLUESKY],
    "too long for x": ["enqueue", LONG_FOR_X, "--to", "x"],
    "too many bytes for bluesky": ["enqueue", BYTES_FOR_BLUESKY, "--to", "bluesky"],
    "bad hashtag": ["enqueue", "Text", "--tag", "not ok"],
    "digits-only hashtag": ["enqueue", "Text", "--tag", "2026"],
    "garbage time": ["enqueue", "Text", "--at", "next blursday"],
    "time in the past": ["enqueue", "Text", "--at", "2020-01-01 10:00"],
    "non-existent local time": ["enqueue", "Text", "--at", "2027-03-28 02:30"],
    "ambiguous local time": ["enqueue", "Text", "--at", "2027-10-31 02:30"],
    "bad time unit": ["enqueue", "Text", "--at", "+3 fortnights"],
    "at and now": ["enqueue", "Text", "--at", "+1h", "--now"],
    "unknown account": ["enqueue", "Text", "--to", "myspace"],
    "bad link": ["enqueue", "Text", "--link", "example.org"],
    "language that is not a tag": ["enqueue", "Text", "--lang", "deutsch"],
    "language with a space": ["enqueue", "Text", "--lang", "de de"],
    "text and file": ["enqueue", "Text", "--file", "posts"],
    "nothing to enqueue": ["enqueue"],
    "missing post file": ["enqueue", "--file", "posts/nope.md"],
    "malformed front matter": ["enqueue", "--file", "posts/broken.md"],
    "unknown front matter key": ["enqueue", "--file", "posts/unknown-key.md"],
    "past at in post file": ["enqueue", "--file", "posts/past.md"],
    "txt without teaser": ["enqueue", "--file", "posts/notags.txt"],
    "not utf-8": ["enqueue", "--file", "posts/latin1.md"],
    "bad hashtag in file": ["enqueue", "--file", "posts/bad-tag.md"],
    "too long in file": ["enqueue", "--file", "posts/too-long.md"],
    "unknown account in file": ["enqueue", "--file", "posts/nobody.md"],
    "missing media": ["enqueue", "--file", "posts/no-media.md"],
    "media that is not an image": ["enqueue", "--file", "posts/fake-image.md"],
    "empty post file": ["enqueue", "--file", "posts/empty.md"],
    "a folder with one broken file": ["enqueue", "--file", "posts"],
    "second cancel": ["cancel", "2"],
    "cancel unknown id": ["cancel", "99"],
    "show unknown id": ["show", "99"],
    "retry a queued post": ["retry", "1"],
    "reschedule to the past": ["reschedule", "1", "--at", "2020-01-01 10:00"],
    "reschedule a cancelled post": ["reschedule", "2", "--at", "+2h"],
    "log unknown id": ["log", "99"],
    "preview unknown account": ["preview", "Text", "--to", "myspace"],
    "bad status filter": ["list", "--status", "lost"],
    "missing config": ["--config", "nope.toml", "list"],
    "broken toml": ["--config", "bad.toml", "list"],
    "unknown platform": ["--config", "bad-platform.toml", "list"],
    "unknown time zone": ["--config", "bad-zone.toml", "list"],
    "database path not writable": ["--config", "unwritable.toml", "list"],
    "run without credentials": ["run", "--once"],
}


@pytest.mark.parametrize("args", CASES.values(), ids=CASES.keys())
def test_bad_input_is_refused_cleanly(project: Path, args: list[str]) -> None:
    before = snapshot(project / "var" / "postbot.db")
    done = run_postbot(project, *args)
    assert done.returncode != 0
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) in (1, 2, 3), done.stderr  # click usage errors add a usage line
    assert lines[-1].startswith(("postbot: error:", "Error:")), done.stderr
    assert snapshot(project / "var" / "postbot.db") == before


def test_messages_say_what_and_where(project: Path) -> None:
    def error(*args: str) -> str:
        return run_postbot(project, *args).stderr.strip()

    assert "bluesky (bluesky): 311 characters, limit 300" in error("enqueue", LONG_FOR_BLUESKY)
    assert "x (x): 286 characters, limit 280" in error("enqueue", LONG_FOR_X, "--to", "x")
    assert "bluesky (bluesky): 3750 UTF-8 bytes, limit 3000" in error(
        "enqueue", BYTES_FOR_BLUESKY, "--to", "bluesky"
    )
    assert "media not-an-image.jpg is not an image" in error(
        "enqueue", "--file", "posts/fake-image.md"
    )
    assert "'not ok'" in error("enqueue", "Text", "--tag", "not ok")
    assert "myspace" in error("enqueue", "Text", "--to", "myspace")
    assert error("enqueue", "--file", "posts/broken.md").startswith(
        "postbot: error: posts/broken.md:"
    )
    assert "when" in error("enqueue", "--file", "posts/unknown-key.md")
    assert "does not exist in Europe/Berlin" in error("enqueue", "Text", "--at", "2027-03-28 02:30")
    assert "exists twice" in error("enqueue", "Text", "--at", "2027-10-31 02:30")
    assert "bad.toml" in error("--config", "bad.toml", "list")
    assert "accounts.a.platform" in error("--config", "bad-platform.toml", "list")
    assert "MASTODON_ACCESS_TOKEN" in error("run")


def test_missing_credential_is_named_and_the_secret_is_not(tmp_path: Path) -> None:
    config = """
[accounts.masto]
platform = "mastodon"
base_url = "http://127.0.0.1:9"
credentials = { access_token = "MASTO_TOKEN_FOR_TEST" }
"""
    root = make_project(tmp_path, config)
    done = run_postbot(root, "accounts", "check", env=clean_env())
    assert done.returncode == 1
    assert "MASTO_TOKEN_FOR_TEST" in done.stdout + done.stderr
    assert "Traceback" not in done.stderr

    (root / ".env").write_text("MASTO_TOKEN_FOR_TEST=s3cr3t-token-value-123\n", encoding="utf-8")
    done = run_postbot(root, "accounts", "check", "--json", env=clean_env())
    assert done.returncode == 1  # nothing listens on port 9
    assert "s3cr3t-token-value-123" not in done.stdout + done.stderr
    assert os.environ.get("MASTO_TOKEN_FOR_TEST") is None
