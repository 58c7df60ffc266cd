"""Threads before they are stored: where the parts come from (body, `parts:`, --part), where
the link and the hashtags go, and every part checked against every limit of every target."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from postbot.config import Settings, parse_settings
from postbot.drafts import Draft, plan
from postbot.errors import UserError
from postbot.postfile import read_post_file
from postbot.threads import split_body

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
LINK = "https://example.org/politik/soz-gipfel"
X_CREDENTIALS = {
    "consumer_key": "X_CONSUMER_KEY",
    "consumer_secret": "X_CONSUMER_SECRET",
    "access_token": "X_ACCESS_TOKEN",
    "access_token_secret": "X_ACCESS_TOKEN_SECRET",
}


def settings(**x_options: Any) -> Settings:
    accounts = {
        "masto": {"platform": "mastodon", "base_url": "https://m.example",
                  "credentials": {"access_token": "MASTODON_ACCESS_TOKEN"}},
        "x": {"platform": "x", "credentials": X_CREDENTIALS, **x_options},
        "sky": {"platform": "bluesky",
                "credentials": {"handle": "BLUESKY_HANDLE", "app_password": "BLUESKY_PW"}},
    }  # fmt: skip
    return parse_settings({"timezone": "Europe/Berlin", "accounts": accounts}, Path("t.toml"), {})


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def read(path: Path) -> Draft:
    return read_post_file(path, BERLIN, NOW)


def refused(draft: Draft, config: Settings | None = None) -> str:
    with pytest.raises(UserError) as info:
        plan(draft, config or settings())
    return str(info.value)


# -- where the parts come from -------------------------------------------------------------
def test_a_body_splits_at_lines_holding_only_three_dashes(tmp_path: Path) -> None:
    path = write(
        tmp_path / "t.md",
        """
        ---
        id: thread
        ---
        Teil 1: Der Gipfel
        in Astana.
        ---
        Teil 2: Die Gäste.
          ---
        Teil 3 --- mit Strichen im Text.
    """,
    )
    draft = read(path)
    assert draft.teaser == "Teil 1: Der Gipfel in Astana."
    assert draft.parts == ("Teil 2: Die Gäste.", "Teil 3 --- mit Strichen im Text.")


def test_a_body_without_separators_is_one_post_with_the_hash_it_always_had(
    tmp_path: Path,
) -> None:
    draft = read(write(tmp_path / "one.md", "---\nid: one\n---\nNur ein Text\n"))
    assert (draft.teaser, draft.parts, draft.variants) == ("Nur ein Text", (), ())
    # The hash of a post without parts or variants is computed exactly as before threads, so
    # an upgrade does not make every post file "changed".
    import hashlib
    import json

    legacy: list[Any] = ["Nur ein Text", [], None, None, [], None, [], None, "one", draft.source]
    expected = hashlib.sha256(json.dumps(legacy, ensure_ascii=False).encode()).hexdigest()
    assert draft.content_hash() == expected
    assert (
        Draft(teaser="Nur ein Text", parts=("Zwei",)).content_hash()
        != Draft(teaser="Nur ein Text").content_hash()
    )


def test_an_empty_part_in_the_body_is_refused_with_its_line(tmp_path: Path) -> None:
    path = write(tmp_path / "e.md", "---\nid: e\n---\nTeil 1\n---\n\n---\nTeil 3\n")
    with pytest.raises(UserError) as info:
        read(path)
    assert str(info.value) == (
        f"{path}:5: part 2 of the thread is empty: a line holding only '---' separates two"
        " parts; remove the extra one"
    )


def test_parts_in_front_matter(tmp_path: Path) -> None:
    path = write(
        tmp_path / "p.md",
        """
        ---
        id: p
        parts:
          - "Teil 1"
          - "Teil 2\\nmit Zeilen"
        ---
    """,
    )
    draft = read(path)
    assert (draft.teaser, draft.parts) == ("Teil 1", ("Teil 2 mit Zeilen",))


@pytest.mark.parametrize(
    ("front", "body", "message"),
    [
        ('parts: ["A", "B"]', "Auch ein Text", "parts: and a body both give the post's text"),
        ("parts: Teil 1", "", "parts must be a list of texts"),
        ('parts: ["Nur einer"]', "", "parts lists one text"),
        ('parts: ["A", ""]', "", "parts: part 2 is empty"),
    ],
)
def test_bad_parts_in_front_matter_are_refused_with_the_line(
    tmp_path: Path, front: str, body: str, message: str
) -> None:
    path = write(tmp_path / "bad.md", f"---\nid: bad\n{front}\n---\n{body}\n")
    with pytest.raises(UserError) as info:
        read(path)
    assert str(info.value).startswith(f"{path}:3: {message}"), str(info.value)


def test_split_body_names_no_line_without_one() -> None:
    assert split_body("A\n---\nB", "cli") == ["A", "B"]
    with pytest.raises(UserError, match=r"^cli: part 2 of the thread is empty"):
        split_body("A\n---\n---\nB", "cli")


def test_an_empty_part_from_the_command_line_is_refused() -> None:
    message = refused(Draft(teaser="Teil 1", parts=("Teil 2", "  "), to=("masto",)))
    assert message == "command line: part 3 of the thread is empty"


# -- what each part is sent as -----------------------------------------------------------------
def test_link_and_hashtags_go_with_the_first_part() -> None:
    draft = Draft(
        teaser="Teil 1", parts=("Teil 2", "Teil 3 #Extra"), link=LINK, hashtags=("SOZ",),
        to=("masto", "sky"),
    )  # fmt: skip
    checked = plan(draft, settings())
    for target in checked.targets:
        assert target.texts == (f"Teil 1 {LINK} #SOZ", "Teil 2", "Teil 3 #Extra")
        assert target.text == target.texts[0]
        assert [p.fits for p in target.parts] == [True, True, True]
    masto, sky = checked.targets
    assert [p.count for p in masto.parts] == [len("Teil 1 ") + 23 + len(" #SOZ"), 6, 13]
    assert [p.count for p in sky.parts] == [len(f"Teil 1 {LINK} #SOZ"), 6, 13]
    # Bluesky checks each part against all four of its limits.
    assert [len(p.checks) for p in sky.parts] == [4, 4, 4]


def test_x_link_reply_is_a_part_right_after_the_first() -> None:
    draft = Draft(teaser="Teil 1", parts=("Teil 2",), link=LINK, hashtags=("SOZ",), to=("x",))
    [target] = plan(draft, settings(link_placement="reply")).targets
    assert target.texts == ("Teil 1 #SOZ", LINK, "Teil 2")
    # A single post with a link reply is a thread of two on X.
    reply = settings(link_placement="reply")
    [single] = plan(Draft(teaser="Nur", link=LINK, to=("x",)), reply).targets
    assert single.texts == ("Nur", LINK)
    # ... unless the text already holds the link.
    [inline] = plan(Draft(teaser=f"Siehe {LINK}", link=LINK, to=("x",)),
                    settings(link_placement="reply")).targets  # fmt: skip
    assert inline.texts == (f"Siehe {LINK}",) and inline.parts == ()


def test_each_part_is_checked_for_every_target_and_named_when_too_long() -> None:
    long = ("Wort " * 60).strip() + "!"  # 300 characters: Mastodon and Bluesky take it, X not
    message = refused(Draft(teaser="Kurz", parts=(long,), to=("masto", "x", "sky")))
    assert message == "command line: text too long for x (x): part 2: 300 characters, limit 280"
    message = refused(Draft(teaser="Kurz", parts=(long + "?",), to=("masto", "x", "sky")))
    assert message == (
        "command line: text too long for x (x): part 2: 301 characters, limit 280;"
        " bluesky (sky): part 2: 301 characters, limit 300"
    )


def test_a_part_over_the_limit_names_the_part_and_the_account() -> None:
    draft = Draft(teaser="Kurz", parts=("x" * 281, "Auch kurz"), to=("masto", "x"))
    assert refused(draft) == (
        "command line: text too long for x (x): part 2: 281 characters, limit 280"
    )
    checked = plan(draft, settings(), check_length=False)
    masto, x = checked.targets
    assert masto.fits and not x.fits
    assert [p.fits for p in x.parts] == [True, False, True]


def test_a_thread_to_a_server_side_mastodon_account_is_said_to_be_published_by_postbot() -> None:
    config = parse_settings(
        {"timezone": "UTC", "accounts": {"masto": {
            "platform": "mastodon", "base_url": "https://m.example", "server_side": True,
            "credentials": {"access_token": "MASTODON_ACCESS_TOKEN"}}}},
        Path("t.toml"), {},
    )  # fmt: skip
    checked = plan(Draft(teaser="Teil 1", parts=("Teil 2",)), config)
    assert checked.warnings == (
        "command line: mastodon (masto): a thread is published by postbot itself, not handed"
        " to the server: scheduled statuses cannot reply to one another",
    )
    assert plan(Draft(teaser="Einzeln"), config).warnings == ()
