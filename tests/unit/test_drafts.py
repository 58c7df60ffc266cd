"""postbot.drafts: a post is checked and rendered for every target account before it is stored."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from postbot.config import Settings, parse_settings
from postbot.domain import MediaItem
from postbot.drafts import Draft, clean, plan
from postbot.errors import UserError

FAMILY = "\U0001f469\u200d\U0001f469\u200d\U0001f467"  # one grapheme, five code points
WHERE = "posts/a.md"

ACCOUNTS: dict[str, dict[str, Any]] = {
    "dry": {"platform": "dryrun"},
    "masto": {
        "platform": "mastodon",
        "base_url": "https://mastodon.example",
        "credentials": {"access_token": "MASTODON_ACCESS_TOKEN"},
    },
    "xacct": {
        "platform": "x",
        "credentials": {
            "consumer_key": "X_CONSUMER_KEY",
            "consumer_secret": "X_CONSUMER_SECRET",
            "access_token": "X_ACCESS_TOKEN",
            "access_token_secret": "X_ACCESS_TOKEN_SECRET",
        },
    },
    "sky": {
        "platform": "bluesky",
        "credentials": {"handle": "BLUESKY_HANDLE", "app_password": "BLUESKY_APP_PASSWORD"},
    },
}


def _settings(accounts: dict[str, dict[str, Any]] | None = None) -> Settings:
    raw = {"timezone": "Europe/Berlin", "accounts": ACCOUNTS if accounts is None else accounts}
    return parse_settings(raw, Path("test.toml"), {})


def _draft(teaser: str = "Hallo Welt", **kwargs: Any) -> Draft:
    return Draft(teaser=teaser, where=WHERE, **kwargs)


def _refused(draft: Draft, settings: Settings | None = None) -> str:
    with pytest.raises(UserError) as info:
        plan(draft, settings or _settings())
    message = str(info.value)
    assert message.startswith(f"{draft.where}: "), message
    return message


# -- what every platform gets --------------------------------------------------------------


def test_plan_renders_for_every_account_in_config_order() -> None:
    draft = _draft(" Teaser. ", hashtags=("#One", "two"), link="https://example.org/a")
    result = plan(draft, _settings())
    assert [(t.account, t.platform) for t in result.targets] == [
        ("dry", "dryrun"),
        ("masto", "mastodon"),
        ("xacct", "x"),
        ("sky", "bluesky"),
    ]
    for target in result.targets:
        assert target.text == "Teaser. https://example.org/a #One #two"
        assert target.fits
    counts = {t.platform: (t.count, t.limit) for t in result.targets}
    text_length = len("Teaser. https://example.org/a #One #two")
    assert counts == {
        "dryrun": (text_length, 500),
        "mastodon": (len("Teaser. ") + 23 + len(" #One #two"), 500),  # URL counts 23
        "x": (len("Teaser. ") + 23 + len(" #One #two"), 280),
        "bluesky": (text_length, 300),
    }
    # The stored draft is the cleaned one.
    assert result.draft.teaser == "Teaser."
    assert result.draft.hashtags == ("One", "two")


def test_plan_only_named_accounts_once_each() -> None:
    result = plan(_draft(to=("sky", "xacct", "sky")), _settings())
    assert [t.account for t in result.targets] == ["sky", "xacct"]


def test_no_accounts_configured_is_refused() -> None:
    message = _refused(_draft(), _settings({}))
    assert "no accounts configured in test.toml" in message


def test_unknown_account_is_refused_naming_it() -> None:
    message = _refused(_draft(to=("xacct", "nope")))
    assert "unknown account 'nope'" in message
    assert "dry, masto, sky, xacct" in message  # and says which exist


# -- text --------------------------------------------------------------------------------


@pytest.mark.parametrize("teaser", ["", "   ", "\n\t"])
def test_empty_text_is_refused(teaser: str) -> None:
    assert "the post text is empty" in _refused(_draft(teaser))


def test_x_281_characters_refused_280_fits() -> None:
    message = _refused(_draft("a" * 281, to=("xacct",)))
    assert "text too long for x (xacct): 281 characters, limit 280" in message
    (target,) = plan(_draft("a" * 280, to=("xacct",)), _settings()).targets
    assert (target.count, target.limit, target.fits) == (280, 280, True)


def test_x_counts_cjk_double() -> None:
    assert "x (xacct): 282 characters, limit 280" in _refused(_draft("日" * 141, to=("xacct",)))
    (target,) = plan(_draft("日" * 140, to=("xacct",)), _settings()).targets
    assert target.count == 280


def test_bluesky_301_graphemes_refused_300_fit() -> None:
    # 300 family emoji are 1500 code points but 300 graphemes: Bluesky takes them.
    (target,) = plan(_draft(FAMILY * 300, to=("sky",)), _settings()).targets
    assert (target.count, target.limit) == (300, 300)
    message = _refused(_draft(FAMILY * 301, to=("sky",)))
    assert "text too long for bluesky (sky): 301 characters, limit 300" in message


def test_mastodon_501_refused_with_default_limit_500() -> None:
    message = _refused(_draft("a" * 501, to=("masto",)))
    assert "text too long for mastodon (masto): 501 characters, limit 500" in message


def test_mastodon_long_url_counts_23() -> None:
    draft = _draft("a" * 470, link="https://example.org/" + "p" * 200, to=("masto",))
    (target,) = plan(draft, _settings()).targets
    assert len(target.text) > 500
    assert target.count == 470 + 1 + 23
    assert target.fits


def test_char_limit_from_config_is_used() -> None:
    accounts = {"masto": {**ACCOUNTS["masto"], "char_limit": 1000}}
    (target,) = plan(_draft("a" * 501), _settings(accounts)).targets
    assert (target.count, target.limit) == (501, 1000)
    accounts = {"masto": {**ACCOUNTS["masto"], "char_limit": 100}}
    assert "limit 100" in _refused(_draft("a" * 101), _settings(accounts))


def test_every_platform_too_long_is_named_at_once() -> None:
    message = _refused(_draft("a" * 400))
    for part in (
        "x (xacct): 400 characters, limit 280",
        "bluesky (sky): 400 characters, limit 300",
    ):
        assert part in message
    assert "masto" not in message and "dry" not in message  # those fit


def test_hashtags_count_toward_the_limit() -> None:
    # 275 + " #Gipfel" = 283 > 280
    assert "x (xacct): 283 characters" in _refused(
        _draft("a" * 275, hashtags=("Gipfel",), to=("xacct",))
    )


def test_check_length_false_plans_without_refusing() -> None:
    (target,) = plan(_draft("a" * 281, to=("xacct",)), _settings(), check_length=False).targets
    assert (target.count, target.limit, target.fits) == (281, 280, False)


# -- hashtags, link, media -----------------------------------------------------------------


def test_invalid_hashtag_is_refused_naming_it() -> None:
    message = _refused(_draft(hashtags=("Gipfel", "foo bar")))
    assert "invalid hashtag 'foo bar'" in message


@pytest.mark.parametrize(
    "link", ["ftp://example.org/a", "example.org/a", "www.example.org", "javascript:alert(1)"]
)
def test_link_must_be_http_or_https(link: str) -> None:
    message = _refused(_draft(link=link))
    assert "link must start with http:// or https://" in message
    assert link in message


@pytest.mark.parametrize("link", ["http://example.org", "HTTPS://EXAMPLE.ORG/A"])
def test_http_and_https_links_are_accepted(link: str) -> None:
    assert clean(_draft(link=link)).link == link


def test_more_than_four_media_refused(tmp_path: Path) -> None:
    images = []
    for i in range(5):
        path = tmp_path / f"{i}.png"
        path.write_bytes(b"\x89PNG")
        images.append(MediaItem(str(path), f"Bild {i}"))
    assert "5 images; at most 4 allowed" in _refused(_draft(media=tuple(images)))
    # four are fine
    assert len(clean(_draft(media=tuple(images[:4]))).media) == 4


@pytest.mark.parametrize("alt", ["", "   "])
def test_media_without_alt_text_refused(tmp_path: Path, alt: str) -> None:
    path = tmp_path / "gipfel.jpg"
    path.write_bytes(b"\xff\xd8\xff")
    message = _refused(_draft(media=(MediaItem(str(path), alt),)))
    assert f"media {path} has no alt text" in message


def test_missing_media_file_refused(tmp_path: Path) -> None:
    missing = tmp_path / "nope.jpg"
    message = _refused(_draft(media=(MediaItem(str(missing), "alt"),)))
    assert f"media file not found: {missing}" in message


def test_clean_keeps_what_is_valid() -> None:
    draft = _draft("  Text  ", hashtags=("#A", "a", "B"), link="https://example.org")
    cleaned = clean(draft)
    assert cleaned == replace(draft, teaser="Text", hashtags=("A", "B"))


# -- identity of a post --------------------------------------------------------------------


def test_content_hash_follows_content_not_where() -> None:
    draft = _draft("Text", hashtags=("A",))
    assert draft.content_hash() == replace(draft, where="elsewhere.md").content_hash()
    assert draft.content_hash() != replace(draft, teaser="Text!").content_hash()
    assert draft.content_hash() != replace(draft, to=("xacct",)).content_hash()
