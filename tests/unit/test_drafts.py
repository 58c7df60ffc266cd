"""postbot.drafts: a post is checked and rendered for every target account before it is stored."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from postbot.config import Settings, parse_settings
from postbot.domain import MediaItem
from postbot.drafts import Draft, clean, plan
from postbot.errors import UserError
from tests.fakes.images import blank, image, noise

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


def test_bluesky_counts_graphemes_and_refuses_300_family_emoji_by_their_bytes() -> None:
    # 300 family emoji are 1500 code points but 300 graphemes ...
    (target,) = plan(_draft(FAMILY * 300, to=("sky",)), _settings(), check_length=False).targets
    assert (target.count, target.limit) == (300, 300)
    # ... and 5,400 UTF-8 bytes: Bluesky's other limit (3,000) refuses them, so enqueue does.
    assert not target.fits
    message = _refused(_draft(FAMILY * 300, to=("sky",)))
    assert "text too long for bluesky (sky): 5400 UTF-8 bytes, limit 3000" in message
    message = _refused(_draft(FAMILY * 301, to=("sky",)))
    assert "text too long for bluesky (sky): 301 characters, limit 300" in message


def test_bluesky_300_graphemes_within_3000_bytes_fit_and_every_limit_is_shown() -> None:
    thumbs = "\U0001f44d\U0001f3fd"  # one grapheme, 8 bytes
    (target,) = plan(_draft(thumbs * 292 + " #Gipfel", to=("sky",)), _settings()).targets
    assert target.fits
    assert [(c.name, c.count, c.limit) for c in target.checks] == [
        ("graphemes", 300, 300),
        ("UTF-8 bytes", 292 * 8 + 8, 3000),
        ("graphemes in the longest hashtag", 6, 64),
        ("UTF-8 bytes in the longest hashtag", 6, 640),
    ]
    assert (target.count, target.limit) == (300, 300)  # the main check, as before
    assert str(target.checks[1]) == "UTF-8 bytes 2344/3000"  # how preview can show it


def test_bluesky_hashtag_over_64_graphemes_is_refused_64_fit() -> None:
    message = _refused(_draft("Text", hashtags=("a" * 65,), to=("sky",)))
    assert "bluesky (sky): 65 graphemes in the longest hashtag, limit 64" in message
    (target,) = plan(_draft("Text", hashtags=("a" * 64,), to=("sky",)), _settings()).targets
    assert target.fits
    # X and Mastodon put no limit on a hashtag of its own.
    assert plan(_draft("Text", hashtags=("a" * 65,), to=("xacct", "masto")), _settings())


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
    images = [MediaItem(str(image(tmp_path / f"{i}.png")), f"Bild {i}") for i in range(5)]
    message = _refused(_draft(media=tuple(images)))
    assert "5 images; at most 4 allowed for" in message
    for account in ("dryrun (dry)", "mastodon (masto)", "x (xacct)", "bluesky (sky)"):
        assert account in message
    # four are fine
    assert len(clean(_draft(media=tuple(images[:4]))).media) == 4
    assert len(plan(_draft(media=tuple(images[:4])), _settings()).draft.media) == 4


def test_a_text_file_named_jpg_is_refused_by_its_bytes(tmp_path: Path) -> None:
    fake = tmp_path / "gipfel.jpg"
    fake.write_text("Das ist kein Bild.\n", encoding="utf-8")
    message = _refused(_draft(media=(MediaItem(str(fake), "Gipfelfoto"),), to=("xacct",)))
    assert message == (
        f"{WHERE}: media gipfel.jpg is not an image (its name says image/jpeg);"
        " only JPEG, PNG, WebP allowed for x (xacct)"
    )


def test_a_markdown_file_as_media_is_refused_for_every_platform(tmp_path: Path) -> None:
    notes = tmp_path / "notes.md"
    notes.write_text("# Notizen\n", encoding="utf-8")
    message = _refused(_draft(media=(MediaItem(str(notes), "Notizen"),)))
    assert "media notes.md is not an image" in message
    for account in ("dryrun (dry)", "mastodon (masto)", "x (xacct)", "bluesky (sky)"):
        assert account in message
    assert "\n" not in message  # one line


def test_the_type_comes_from_the_bytes_not_the_name(tmp_path: Path) -> None:
    png_named_jpg = image(tmp_path / "foto.jpg", fmt="PNG")
    assert plan(_draft(media=(MediaItem(str(png_named_jpg), "Foto"),)), _settings())
    bmp = image(tmp_path / "grafik.bmp")
    message = _refused(_draft(media=(MediaItem(str(bmp), "Grafik"),), to=("xacct",)))
    assert "media grafik.bmp is a BMP image; only JPEG, PNG, WebP allowed for x (xacct)" in message


def test_an_image_over_a_size_limit_names_the_file_each_platform_and_its_limit(
    tmp_path: Path,
) -> None:
    big = noise(tmp_path / "gross.png", 5_000_001)
    size = big.stat().st_size
    message = _refused(_draft(media=(MediaItem(str(big), "Groß"),)))
    assert message == (  # Mastodon takes 16 MB
        f"{WHERE}: media gross.png is {size:,} bytes; at most 5,000,000 allowed for x (xacct),"
        " at most 2,000,000 allowed for bluesky (sky)"
    )


def test_mastodon_refuses_too_many_pixels_and_warns_where_it_downscales(tmp_path: Path) -> None:
    huge = blank(tmp_path / "riesig.png", (8000, 4200))  # 33.6 megapixels, a few KB
    message = _refused(_draft(media=(MediaItem(str(huge), "Riesig"),), to=("masto",)))
    assert message == (
        f"{WHERE}: media riesig.png is 8000x4200 pixels (33.6 megapixels);"
        " at most 33.2 megapixels allowed for mastodon (masto)"
    )
    large = blank(tmp_path / "gross.png", (4000, 2500))  # 10 megapixels: accepted, shrunk
    result = plan(_draft(media=(MediaItem(str(large), "Groß"),), to=("masto", "sky")), _settings())
    masto, sky = result.targets
    assert masto.warnings == (
        "media gross.png is 4000x2500 pixels (10.0 megapixels); Mastodon will downscale it to"
        " 8.3 megapixels",
    )
    assert sky.warnings == ()
    assert result.warnings == (f"{WHERE}: mastodon (masto): {masto.warnings[0]}",)


def test_alt_text_over_a_platform_limit_is_refused(tmp_path: Path) -> None:
    photo = MediaItem(str(image(tmp_path / "foto.png")), "a" * 1001)
    message = _refused(_draft(media=(photo,)))
    assert message == (
        f"{WHERE}: the alt text of foto.png is 1,001 characters; at most 1,000 allowed"
        " for x (xacct)"
    )
    photo = MediaItem(photo.path, "a" * 1000)
    assert plan(_draft(media=(photo,), to=("xacct",)), _settings())


def test_planning_without_media_never_imports_pillow() -> None:
    code = (
        "import sys; from pathlib import Path; from postbot.config import parse_settings;"
        " from postbot.drafts import Draft, plan;"
        " s = parse_settings({'accounts': {'d': {'platform': 'dryrun'}}}, Path('t.toml'), {});"
        " plan(Draft(teaser='Hallo'), s); assert 'PIL' not in sys.modules, 'Pillow imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


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
