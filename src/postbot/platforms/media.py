"""Which images a platform takes: a `MediaPolicy` each platform declares (`Platform.media`),
checked at enqueue (`drafts.plan`) and again at publish (the adapters), against the real file.

The type comes from the bytes, never from the name: Pillow reads the file's header (no
decoding, so it is fast even for a large photo) and says what it is and how many pixels it
has. Pillow is imported on first use only: `postbot enqueue` without media never loads it.

`judge` is pure: images in, refusals and warnings out. A refusal is what the platform would
refuse; a warning is what it would accept but change (Mastodon downscales large images). postbot
itself never changes a file. (NamedTuples, not dataclasses, for the same reason as in
limits.py: every platform module imports this on `postbot enqueue`.)
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

from postbot.domain import MediaItem

# Pillow's format names for the types we send. MPO is how Pillow reads the JPEG photos of many
# phone cameras (a JPEG with a second picture appended): a JPEG to every platform.
_MIME_BY_FORMAT = {
    "JPEG": "image/jpeg",
    "MPO": "image/jpeg",
    "PNG": "image/png",
    "GIF": "image/gif",
    "WEBP": "image/webp",
    "AVIF": "image/avif",
    "HEIF": "image/heif",
    "BMP": "image/bmp",
    "TIFF": "image/tiff",
}
_NAMES = {
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/gif": "GIF",
    "image/webp": "WebP",
    "image/avif": "AVIF",
    "image/heif": "HEIF",
    "image/bmp": "BMP",
    "image/tiff": "TIFF",
}


class MediaError(ValueError):
    """A media file that cannot be read (missing, a folder, no permission, absurdly large)."""


class ImageRule(NamedTuple):
    """The limits of one image type."""

    max_bytes: int | None = None
    max_pixels: int | None = None  # width x height
    # The platform shrinks images with more pixels than this itself (a warning, not a refusal).
    downscaled_above: int | None = None


class MediaPolicy(NamedTuple):
    """What a platform takes, as its documentation says (docs/platforms/*.md cites each number)."""

    name: str  # the platform, for messages
    max_items: int
    types: Mapping[str, ImageRule]  # MIME type -> its limits; only these types are sent
    max_alt: int | None = None  # characters of alt text; None: no limit

    def type_names(self) -> str:
        return ", ".join(_NAMES.get(t, t) for t in self.types)


class ImageFile(NamedTuple):
    """What a media file really is."""

    path: str
    mime: str | None  # from the bytes; None: not an image Pillow can read
    size: int  # bytes
    width: int = 0
    height: int = 0

    @property
    def pixels(self) -> int:
        return self.width * self.height

    @property
    def name(self) -> str:
        return Path(self.path).name


class Refusal(NamedTuple):
    """What is wrong (`media a.png is 6,000,000 bytes`) and what the platform allows."""

    subject: str
    allowed: str  # "at most 5,000,000 allowed"

    def __str__(self) -> str:
        return f"{self.subject}; {self.allowed}"


class Verdict(NamedTuple):
    refusals: tuple[Refusal, ...] = ()
    warnings: tuple[str, ...] = ()


# -- reading a file (I/O) -------------------------------------------------------------------
def read_image(path: str) -> ImageFile:
    """The real type, size and dimensions of `path`. Raises MediaError if it cannot be read."""
    Image = _pillow()
    from PIL import UnidentifiedImageError

    try:
        size = os.stat(path).st_size
        with Image.open(path) as image:  # reads the header only
            mime = _MIME_BY_FORMAT.get(image.format or "")
            width, height = image.size
    except FileNotFoundError:
        raise MediaError(f"media file not found: {path}") from None
    except UnidentifiedImageError:
        return ImageFile(path, None, size)
    except Image.DecompressionBombError:
        raise MediaError(
            f"media {path} has more than {2 * (Image.MAX_IMAGE_PIXELS or 0):,} pixels;"
            " no platform takes an image that large"
        ) from None
    except OSError as exc:
        raise MediaError(f"cannot read media {path}: {exc.strerror or exc}") from None
    return ImageFile(path, mime, size, width, height)


@cache
def _pillow() -> Any:
    from PIL import Image

    # Above Image.MAX_IMAGE_PIXELS Pillow warns, at twice that it refuses: the warning is noise
    # here (only the header is read), the refusal is caught in read_image.
    warnings.simplefilter("ignore", Image.DecompressionBombWarning)
    return Image


def read_images(media: Sequence[MediaItem]) -> list[ImageFile]:
    return [read_image(item.path) for item in media]


# -- judging (pure) -------------------------------------------------------------------------
def judge(policy: MediaPolicy, images: Sequence[ImageFile], alts: Sequence[str]) -> Verdict:
    """Every way `images` (with their alt texts) break `policy`, and what it would change."""
    refusals: list[Refusal] = []
    notes: list[str] = []
    if len(images) > policy.max_items:
        refusals.append(Refusal(f"{len(images)} images", f"at most {policy.max_items} allowed"))
    for image, alt in zip(images, alts, strict=True):
        rule = policy.types.get(image.mime or "")
        if rule is None:
            allowed = f"only {policy.type_names()} allowed"
            refusals.append(Refusal(f"media {image.name} is {_what(image)}", allowed))
            continue
        if rule.max_bytes is not None and image.size > rule.max_bytes:
            refusals.append(
                Refusal(
                    f"media {image.name} is {image.size:,} bytes",
                    f"at most {rule.max_bytes:,} allowed",
                )
            )
        if rule.max_pixels is not None and image.pixels > rule.max_pixels:
            refusals.append(
                Refusal(
                    f"media {image.name} is {_dimensions(image)}",
                    f"at most {_megapixels(rule.max_pixels)} allowed",
                )
            )
        elif rule.downscaled_above is not None and image.pixels > rule.downscaled_above:
            notes.append(
                f"media {image.name} is {_dimensions(image)}; {policy.name} will downscale it to"
                f" {_megapixels(rule.downscaled_above)}"
            )
        if policy.max_alt is not None and len(alt) > policy.max_alt:
            refusals.append(
                Refusal(
                    f"the alt text of {image.name} is {len(alt):,} characters",
                    f"at most {policy.max_alt:,} allowed",
                )
            )
    return Verdict(tuple(refusals), tuple(notes))


def checked_images(policy: MediaPolicy, media: Sequence[MediaItem]) -> list[ImageFile]:
    """For publish: every file read and judged. Raises MediaError with one line if any fails."""
    if len(media) > policy.max_items:  # before reading anything: nothing to upload anyway
        raise MediaError(f"{len(media)} images; at most {policy.max_items} allowed")
    images = read_images(media)
    verdict = judge(policy, images, [item.alt for item in media])
    if verdict.refusals:
        raise MediaError("; ".join(map(str, verdict.refusals)))
    return images


def _what(image: ImageFile) -> str:
    if image.mime is not None:
        return f"a {_NAMES.get(image.mime, image.mime)} image"
    import mimetypes

    named = mimetypes.guess_type(image.path)[0]
    return "not an image" + (f" (its name says {named})" if named else "")


def _dimensions(image: ImageFile) -> str:
    return f"{image.width}x{image.height} pixels ({_megapixels(image.pixels)})"


def _megapixels(pixels: int) -> str:
    return f"{pixels / 1_000_000:.1f} megapixels"


# -- a policy for platforms that declare none ----------------------------------------------
COMMON_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")
GENERIC = MediaPolicy("the platform", 4, {mime: ImageRule() for mime in COMMON_TYPES})
