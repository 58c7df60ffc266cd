"""What a Mastodon server says about statuses and media (GET /api/v2/instance, `configuration`),
and Mastodon's documented defaults for when it has not been asked yet (enqueue is offline).

Sources (docs/platforms/mastodon.md): the Instance entity (configuration.statuses and
configuration.media_attachments) and "Posting to your profile" (media) of the Mastodon
documentation, as of 2026-06.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from postbot.platforms.media import ImageRule, MediaPolicy

URL_WEIGHT = 23  # every URL counts 23 characters, however long
MAX_CHARACTERS = 500
MAX_MEDIA_ATTACHMENTS = 4
IMAGE_SIZE_LIMIT = 16 * 1024 * 1024  # bytes (16,777,216)
IMAGE_MATRIX_LIMIT = 33_177_600  # pixels (7680 x 4320): more is refused
DOWNSCALED_ABOVE = 8_294_400  # pixels (3840 x 2160): Mastodon shrinks larger images
GIF_MATRIX_LIMIT = 921_600  # pixels (1280 x 720): GIFs become looping videos, smaller ones
DESCRIPTION_LIMIT = 1_500  # characters of alt text
# The image types of Mastodon's supported_mime_types that postbot reads (HEIC needs a Pillow
# plugin, so it is not among them).
IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp", "image/avif")


class InstanceLimits(NamedTuple):
    max_characters: int = MAX_CHARACTERS
    characters_reserved_per_url: int = URL_WEIGHT
    max_media_attachments: int = MAX_MEDIA_ATTACHMENTS
    image_size_limit: int = IMAGE_SIZE_LIMIT
    image_matrix_limit: int = IMAGE_MATRIX_LIMIT
    description_limit: int = DESCRIPTION_LIMIT
    supported_mime_types: tuple[str, ...] = IMAGE_TYPES

    def media_policy(self) -> MediaPolicy:
        still = ImageRule(
            max_bytes=self.image_size_limit,
            max_pixels=self.image_matrix_limit,
            downscaled_above=min(DOWNSCALED_ABOVE, self.image_matrix_limit),
        )
        gif = ImageRule(max_bytes=self.image_size_limit, max_pixels=GIF_MATRIX_LIMIT)
        return MediaPolicy(
            "Mastodon",
            self.max_media_attachments,
            {
                mime: gif if mime == "image/gif" else still
                for mime in IMAGE_TYPES
                if mime in self.supported_mime_types
            },
            max_alt=self.description_limit,
        )


DEFAULTS = InstanceLimits()


def limits_from(info: Any) -> InstanceLimits:
    """The limits in an /api/v2 (or v1) instance answer; Mastodon's defaults where it is silent
    or says something odd."""
    configuration = (info.get("configuration") if hasattr(info, "get") else None) or {}
    statuses = configuration.get("statuses") or {}
    media = configuration.get("media_attachments") or {}

    def positive(section: Any, key: str, default: int) -> int:
        value = section.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
        return default

    types = media.get("supported_mime_types")
    return InstanceLimits(
        max_characters=positive(statuses, "max_characters", MAX_CHARACTERS),
        characters_reserved_per_url=positive(statuses, "characters_reserved_per_url", URL_WEIGHT),
        max_media_attachments=positive(statuses, "max_media_attachments", MAX_MEDIA_ATTACHMENTS),
        image_size_limit=positive(media, "image_size_limit", IMAGE_SIZE_LIMIT),
        image_matrix_limit=positive(media, "image_matrix_limit", IMAGE_MATRIX_LIMIT),
        description_limit=positive(media, "description_limit", DESCRIPTION_LIMIT),
        supported_mime_types=(
            tuple(t for t in types if isinstance(t, str))
            if isinstance(types, list)
            else IMAGE_TYPES
        ),
    )
