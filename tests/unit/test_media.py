"""postbot.platforms.media: each platform's media policy, judged against real files.

`read_image` reads files that Pillow made in the test (nothing binary is committed); `judge` is
pure and is also fed ImageFile values directly, for sizes no test should write to disk.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest

from postbot.domain import MediaItem
from postbot.platforms.bluesky import BlueskyPlatform
from postbot.platforms.mastodon import MastodonPlatform
from postbot.platforms.mastodon.instance import limits_from
from postbot.platforms.media import (
    ImageFile,
    ImageRule,
    MediaError,
    MediaPolicy,
    checked_images,
    judge,
    read_image,
)
from postbot.platforms.x import XPlatform
from tests.fakes.images import blank, image

POLICY = MediaPolicy(
    "Example",
    max_items=2,
    types={
        "image/jpeg": ImageRule(max_bytes=1000, max_pixels=100, downscaled_above=50),
        "image/png": ImageRule(),
    },
    max_alt=10,
)


def jpeg(size: int = 500, width: int = 5, height: int = 5) -> ImageFile:
    return ImageFile("/posts/foto.jpg", "image/jpeg", size, width, height)


# -- reading ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "fmt", "mime"),
    [
        ("a.png", "PNG", "image/png"),
        ("a.jpg", "JPEG", "image/jpeg"),
        ("a.gif", "GIF", "image/gif"),
        ("a.webp", "WEBP", "image/webp"),
        ("a.bmp", "BMP", "image/bmp"),
        ("a.tiff", "TIFF", "image/tiff"),
        ("really-a-png.jpg", "PNG", "image/png"),  # the bytes decide, not the name
    ],
)
def test_read_image_tells_the_real_type_size_and_pixels(
    tmp_path: Path, name: str, fmt: str, mime: str
) -> None:
    path = image(tmp_path / name, (7, 3), fmt=fmt)
    found = read_image(str(path))
    assert (found.mime, found.width, found.height, found.pixels) == (mime, 7, 3, 21)
    assert found.size == path.stat().st_size


@pytest.mark.parametrize("content", [b"Kein Bild\n", b"# Markdown\n", b"\x89PNG", b""])
def test_what_is_not_an_image_has_no_type(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "x.jpg"
    path.write_bytes(content)
    assert read_image(str(path)).mime is None


def test_a_missing_file_or_a_folder_is_a_media_error(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match=r"media file not found: .*nope\.png"):
        read_image(str(tmp_path / "nope.png"))
    with pytest.raises(MediaError, match="cannot read media"):
        read_image(str(tmp_path))


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def test_a_decompression_bomb_is_refused_without_being_decoded(tmp_path: Path) -> None:
    # 20000 x 20000 pixels (400 megapixels) in a few dozen bytes: a header and no real data.
    header = struct.pack(">IIBBBBB", 20000, 20000, 8, 2, 0, 0, 0)
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(b""))
        + _chunk(b"IEND", b"")
    )
    with pytest.raises(MediaError, match="no platform takes an image that large"):
        read_image(str(bomb))


# -- judging (pure) ---------------------------------------------------------------------------
def test_within_every_limit_nothing_is_said() -> None:
    assert judge(POLICY, [jpeg()], ["Ein Foto"]).refusals == ()
    assert judge(POLICY, [jpeg()], ["Ein Foto"]).warnings == ()


def test_each_limit_is_refused_with_what_it_allows() -> None:
    verdict = judge(
        POLICY,
        [
            jpeg(size=1001, width=20, height=10),
            ImageFile("/p/a.gif", "image/gif", 10, 1, 1),
            jpeg(),
        ],
        ["kurz", "kurz", "viel zu lang"],
    )
    assert [str(r) for r in verdict.refusals] == [
        "3 images; at most 2 allowed",
        "media foto.jpg is 1,001 bytes; at most 1,000 allowed",
        "media foto.jpg is 20x10 pixels (0.0 megapixels); at most 0.0 megapixels allowed",
        "media a.gif is a GIF image; only JPEG, PNG allowed",
        "the alt text of foto.jpg is 12 characters; at most 10 allowed",
    ]


def test_not_an_image_says_what_its_name_claims() -> None:
    (refusal,) = judge(POLICY, [ImageFile("/p/clip.mp4", None, 16)], [""]).refusals
    assert refusal.subject == "media clip.mp4 is not an image (its name says video/mp4)"
    assert refusal.allowed == "only JPEG, PNG allowed"


def test_what_the_platform_would_shrink_is_a_warning_not_a_refusal() -> None:
    verdict = judge(POLICY, [jpeg(width=8, height=8)], [""])
    assert verdict.refusals == ()
    assert verdict.warnings == (
        "media foto.jpg is 8x8 pixels (0.0 megapixels); Example will downscale it to"
        " 0.0 megapixels",
    )


def test_checked_images_refuses_too_many_before_reading_any(tmp_path: Path) -> None:
    missing = [MediaItem(str(tmp_path / f"{i}.png")) for i in range(3)]
    with pytest.raises(MediaError, match="3 images; at most 2 allowed"):
        checked_images(POLICY, missing)
    with pytest.raises(MediaError, match="media file not found"):
        checked_images(POLICY, missing[:2])
    ok = image(tmp_path / "ok.png")
    assert [i.mime for i in checked_images(POLICY, [MediaItem(str(ok), "Alt")])] == ["image/png"]


# -- the platforms' own policies ----------------------------------------------------------------
def test_each_platform_declares_its_documented_limits() -> None:
    x, bluesky, mastodon = XPlatform.media, BlueskyPlatform.media, MastodonPlatform.media
    assert (x.max_items, x.max_alt, sorted(x.types)) == (
        4, 1000, ["image/jpeg", "image/png", "image/webp"],
    )  # fmt: skip
    assert {rule.max_bytes for rule in x.types.values()} == {5_000_000}
    assert (bluesky.max_items, bluesky.max_alt) == (4, None)
    assert {rule.max_bytes for rule in bluesky.types.values()} == {2_000_000}
    assert "image/gif" in bluesky.types
    assert (mastodon.max_items, mastodon.max_alt) == (4, 1500)
    assert mastodon.types["image/jpeg"] == ImageRule(16_777_216, 33_177_600, 8_294_400)
    assert mastodon.types["image/gif"].max_pixels == 921_600


def test_mastodon_media_policy_follows_what_the_server_says() -> None:
    policy = limits_from(
        {
            "configuration": {
                "statuses": {"max_media_attachments": 6},
                "media_attachments": {
                    "image_size_limit": 8_000_000,
                    "image_matrix_limit": 4_000_000,
                    "description_limit": 420,
                    "supported_mime_types": ["image/jpeg", "image/png", "video/mp4"],
                },
            }
        }
    ).media_policy()
    assert (policy.max_items, policy.max_alt, sorted(policy.types)) == (
        6, 420, ["image/jpeg", "image/png"],
    )  # fmt: skip
    # The server's matrix limit is below Mastodon's downscale size: nothing to warn about.
    assert policy.types["image/png"] == ImageRule(8_000_000, 4_000_000, 4_000_000)


def test_a_silent_or_odd_server_leaves_mastodons_defaults() -> None:
    odd = {"configuration": {"statuses": {"max_media_attachments": "4"}, "media_attachments": []}}
    assert limits_from(odd).media_policy() == MastodonPlatform.media
    assert limits_from({}).media_policy() == MastodonPlatform.media


def test_pixels_are_read_from_the_header_of_a_huge_image(tmp_path: Path) -> None:
    huge = read_image(str(blank(tmp_path / "huge.png", (8000, 4200))))
    assert huge.pixels == 33_600_000 and huge.size < 100_000
    (refusal,) = judge(MastodonPlatform.media, [huge], ["Alt"]).refusals
    assert str(refusal) == (
        "media huge.png is 8000x4200 pixels (33.6 megapixels); at most 33.2 megapixels allowed"
    )
