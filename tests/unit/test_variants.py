"""Variants: a post file's overrides per platform or account, refused with the file and line
when they name nothing, and rendered and counted for each account they apply to."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from postbot.config import Settings, parse_settings
from postbot.domain import Account, Variant
from postbot.drafts import Draft, plan
from postbot.errors import UserError
from postbot.postfile import read_post_file
from postbot.variants import apply, for_account

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
LINK = "https://example.org/soz"
MASTO = {"platform": "mastodon", "base_url": "https://m.example",
         "credentials": {"access_token": "MASTODON_ACCESS_TOKEN"}}  # fmt: skip
X_ROLES = ("consumer_key", "consumer_secret", "access_token", "access_token_secret")
X = {"platform": "x", "credentials": {role: f"X_{role.upper()}" for role in X_ROLES}}


def settings() -> Settings:
    accounts: dict[str, Any] = {
        "mastodon": MASTO,
        "mastodon-news": MASTO,
        "x": X,
        "bluesky": {"platform": "bluesky", "credentials": {"handle": "H", "app_password": "P"}},
    }
    return parse_settings({"timezone": "UTC", "accounts": accounts}, Path("t.toml"), {})


def post_file(tmp_path: Path, front: str, body: str = "Der lange Teaser für alle.") -> Path:
    path = tmp_path / "v.md"
    path.write_text(f"---\nid: v\n{textwrap.dedent(front).strip()}\n---\n{body}\n", "utf-8")
    return path


def read(path: Path) -> Draft:
    return read_post_file(path, BERLIN, NOW)


def refused_file(path: Path) -> str:
    with pytest.raises(UserError) as info:
        plan(read(path), settings())
    return str(info.value)


def test_each_account_is_sent_its_variant_and_preview_names_it(tmp_path: Path) -> None:
    path = post_file(
        tmp_path,
        f"""
        hashtags: [SOZ]
        link: {LINK}
        variants:
          x:
            text: "Kürzer für X"
          mastodon:
            hashtags: [Mastodon, SOZ]
          mastodon-news:
            link: null
          bluesky:
            parts: ["Teil 1 für Bluesky", "Teil 2"]
    """,
    )
    checked = plan(read(path), settings())
    texts = {t.account: (t.variant, t.texts) for t in checked.targets}
    assert texts == {
        "mastodon": ("mastodon", (f"Der lange Teaser für alle. {LINK} #Mastodon #SOZ",)),
        "mastodon-news": ("mastodon-news", ("Der lange Teaser für alle. #SOZ",)),
        "x": ("x", (f"Kürzer für X {LINK} #SOZ",)),
        "bluesky": ("bluesky", (f"Teil 1 für Bluesky {LINK} #SOZ", "Teil 2")),
    }
    x = next(t for t in checked.targets if t.account == "x")
    assert x.count == len("Kürzer für X ") + 23 + len(" #SOZ")  # counted the way X counts


def test_an_account_variant_is_used_instead_of_its_platforms() -> None:
    variants = (
        Variant("mastodon", frozenset({"text"}), text="Plattform"),
        Variant("news", frozenset({"hashtags"}), hashtags=("Konto",)),
    )
    news = Account("news", "mastodon")
    other = Account("other", "mastodon")
    assert for_account(variants, news) is variants[1]
    assert for_account(variants, other) is variants[0]
    # Not merged: the account's variant gives hashtags only, so the text stays the post's.
    assert apply(for_account(variants, news), "Post", (), None, ("Post",)) == (
        ("Post",), None, ("Konto",),
    )  # fmt: skip


def test_a_variant_text_replaces_the_first_part_only() -> None:
    variant = Variant("x", frozenset({"text"}), text="Kurz")
    assert apply(variant, "Lang", ("Zwei", "Drei"), LINK, ()) == (
        ("Kurz", "Zwei", "Drei"),
        LINK,
        (),
    )


def test_variants_are_counted_and_refused_when_too_long(tmp_path: Path) -> None:
    path = post_file(tmp_path, f"""
        variants:
          x: {{text: "{'Zu lang für X ' * 21}"}}
    """, body="Kurz")  # fmt: skip
    assert refused_file(path) == f"{path}: text too long for x (x): 293 characters, limit 280"


@pytest.mark.parametrize(
    ("front", "line", "message"),
    [
        (
            "variants:\n  myspace: {text: A}",
            4,
            "variants.myspace: no account or platform of that name (accounts: bluesky, mastodon,"
            " mastodon-news, x; platforms: bluesky, mastodon, x)",
        ),
        (
            "variants:\n  mastodn: {text: A}",
            4,
            "variants.mastodn: no account or platform of that name; did you mean 'mastodon'?",
        ),
        (
            "variants:\n  x:\n    txt: A",
            5,
            "variants.x.txt: unknown key; did you mean 'text'?"
            " (known: hashtags, link, parts, text)",
        ),
        (
            "variants:\n  x: {text: A, parts: [B, C]}",
            4,
            "variants.x gives both text and parts: text replaces the first part, parts the whole"
            " thread; give one of them",
        ),
        ("variants:\n  x: A", 4, "variants.x must list what it overrides"),
        ("variants: [x]", 3, "variants must map a platform or account name to its overrides"),
        (
            "variants:\n  x: {link: ftp://a}",
            4,
            "variants.x.link must start with http:// or https://: ftp://a",
        ),
        (
            "variants:\n  x:\n    hashtags: [two words]",
            4,
            "variants.x: invalid hashtag 'two words'",
        ),
        (
            "to: [mastodon]\nvariants:\n  x: {text: A}",
            5,
            "variants.x applies to none of the post's accounts (mastodon); remove it, or add the"
            " account to `to:`",
        ),
    ],
)
def test_bad_variants_are_refused_with_the_file_and_line(
    tmp_path: Path, front: str, line: int, message: str
) -> None:
    path = tmp_path / "bad.md"
    path.write_text(f"---\nid: bad\n{front}\n---\nText\n", encoding="utf-8")
    with pytest.raises(UserError) as info:
        plan(read(path), settings())
    assert str(info.value).startswith(f"{path}:{line}: {message}"), str(info.value)


def test_a_variant_for_a_platform_without_its_own_account_name_applies_to_all_of_it(
    tmp_path: Path,
) -> None:
    config = parse_settings(
        {"timezone": "UTC", "accounts": {"a": MASTO, "b": MASTO, "x": X}}, Path("t.toml"), {}
    )
    path = post_file(tmp_path, "variants:\n  mastodon: {text: Für Mastodon}")
    checked = plan(read(path), config)
    assert {t.account: t.text for t in checked.targets} == {
        "a": "Für Mastodon", "b": "Für Mastodon", "x": "Der lange Teaser für alle.",
    }  # fmt: skip


def test_variants_change_the_content_hash(tmp_path: Path) -> None:
    plain = read(post_file(tmp_path, "hashtags: [A]"))
    varied = read(post_file(tmp_path, "hashtags: [A]\nvariants:\n  x: {text: B}"))
    assert plain.content_hash() != varied.content_hash()
